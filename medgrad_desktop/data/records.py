"""One labelled image as every reader returns it, and the errors readers raise.

All readers (folder-per-class, CSV manifest, PH2, Derm7pt, synthetic) produce the same `Record`, so
training and evaluation never care where the data came from. A bad row is never dropped silently:
readers collect `RowProblem`s with the file and line number and raise `DatasetError` listing them
(or return them when the caller asked to skip bad rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# The 7-point checklist's criteria in the checklist's order: a manifest's criteria columns, a record's
# `criteria` keys and the generator's captions all use these ids.
SEVEN_POINT_CRITERIA = (
    "pigment_network",
    "blue_whitish_veil",
    "vascular_structures",
    "pigmentation",
    "streaks",
    "dots_and_globules",
    "regression_structures",
)


@dataclass(frozen=True)
class Record:
    path: Path  # the image file
    label: str  # catalogue class id, e.g. "melanoma"
    caption: str  # MedGrad-style caption: diagnosis plus criteria phrases
    lesion_id: str  # images of one lesion share it; splits never separate them
    mask: Path | None = None
    criteria: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    source: str = ""  # "manifest:line 12", "ph2:IMD003", ... for messages
    split: str = ""  # a split the dataset itself defines (Derm7pt), else ""
    meta: dict = field(default_factory=dict, compare=False, hash=False)  # extra columns (skin tone, ...)


@dataclass(frozen=True)
class RowProblem:
    file: Path
    line: int  # 1-based line number in `file` (the header is line 1); 0 when not line-based
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message}"


class DatasetError(Exception):
    """A data set could not be read; `problems` lists every bad row with its line number."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None):
        self.problems = list(problems or [])
        lines = [message] + [f"  {p}" for p in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"  ... and {len(self.problems) - 20} more")
        super().__init__("\n".join(lines))


@dataclass
class Dataset:
    """Records plus the problems found while reading (empty unless bad rows were skipped on request)."""

    name: str
    root: Path
    kind: str
    records: list[Record]
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return sorted({r.label for r in self.records})

    def __len__(self) -> int:
        return len(self.records)


def finish_dataset(
    name: str, root: Path, kind: str, records: list[Record], problems: list[RowProblem], skip_bad: bool
) -> Dataset:
    """The reader's result: bad rows raise (listing them) unless `skip_bad`, and so does no record."""
    if problems and not skip_bad:
        raise DatasetError(
            f"{root}: {len(problems)} bad row(s) in the {kind} data set; fix them or pass "
            "--skip-bad to use the good rows",
            problems,
        )
    if not records:
        raise DatasetError(f"{root}: no usable images found in the {kind} data set", problems)
    return Dataset(name=name, root=root, kind=kind, records=records, problems=problems)
