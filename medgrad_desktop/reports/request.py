"""What one report is asked for, settled before any model runs: `plan_report` is the one place that
turns a user's choices (from `medgrad report`, the app's export dialog or the self-test) into a
`ReportRequest`.

Planning groups the images by patient, lesion and visit (DICOM tags, a PATIENT/LESION/VISIT folder
layout or a patients.csv sidecar), puts them in report order (patient, lesion, visit; folder order
within) and, for a de-identified report, gathers every identifying DICOM header value that free text
must never carry. The privacy rules live here once: a pseudonym key belongs to a de-identified report
only, and never inside the report's folder, where it would travel with the report.

No torch and no Qt: the export dialog plans before the model has loaded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medgrad_desktop.core.method_params import MethodParams
from medgrad_desktop.data.patients import GroupLabel, group_images, identifying_values, labels
from medgrad_desktop.reports.outputs import DEFAULT_FORMATS, ReportOptions, existing_outputs, output_paths

UNGROUPED = (1 << 30, 0, 0)  # images of no patient come after every patient's, in folder order


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class ReportRequest:
    """A complete, checked order for one report: which images in which order, which maps, which
    formats, where, and how private. Construction raises `ValueError` for a request that must not run."""

    paths: tuple[Path, ...]  # in report order; the report's IMG-0001... follow it
    params: tuple[MethodParams, ...]
    out_dir: Path
    formats: tuple[str, ...] = DEFAULT_FORMATS
    basename: str = "report"
    force: bool = False  # replace an existing report of the same name
    options: ReportOptions = field(default_factory=ReportOptions)
    pseudonym_map: Path | None = None  # where the key IMG-0001 -> file goes (de-identified only)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # normalised once here, so every reader sees tuples and Paths
        set_(self, "paths", tuple(Path(p) for p in self.paths))
        set_(self, "params", tuple(self.params))
        set_(self, "out_dir", Path(self.out_dir))
        set_(self, "formats", tuple(dict.fromkeys(self.formats)))
        if self.pseudonym_map is not None:
            set_(self, "pseudonym_map", Path(self.pseudonym_map))
        if not self.paths:
            raise ValueError("no images to report")
        if not self.formats:
            raise ValueError("no report format chosen")
        if not self.params:
            raise ValueError("a report needs at least one explanation method")
        output_paths(self.out_dir, self.basename, self.formats)  # raises for an unknown format
        if self.pseudonym_map is not None:
            if not self.options.deidentify:
                raise ValueError("--pseudonym-map only applies to a de-identified report")
            if _is_inside(self.pseudonym_map, self.out_dir):
                raise ValueError(
                    f"{self.pseudonym_map}: keep the pseudonym map outside the report folder "
                    f"({self.out_dir}) so the key never travels with the report"
                )

    @property
    def steps(self) -> int:
        """Progress steps: one per image, then one per format written."""
        return len(self.paths) + len(self.formats)

    def existing_outputs(self) -> list[Path]:
        """Outputs (and the pseudonym key) that exist already and would be replaced."""
        return existing_outputs(self.out_dir, self.basename, self.formats, self.pseudonym_map)


def report_order(paths: Iterable[Path], groups: dict[Path, GroupLabel]) -> list[Path]:
    """Patient, lesion, visit; images of no patient last; folder order within (the sort is stable)."""
    return sorted((Path(p) for p in paths), key=lambda p: groups[p].order if p in groups else UNGROUPED)


def plan_report(
    paths: Iterable[Path],
    folder: Path,
    params: Sequence[MethodParams],
    out_dir: Path,
    *,
    options: ReportOptions | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    basename: str = "report",
    pseudonym_map: Path | None = None,
    force: bool = False,
) -> ReportRequest:
    """The report of `paths` (images of `folder`, whose patients.csv sidecar applies) as a checked
    request. `options` carries the user's choices; planning fills in the patient groups (pseudonyms
    when de-identified) and the identifying values to scrub. Raises `SidecarError` for a bad sidecar and
    `ValueError` for a request that must not run."""
    options = options or ReportOptions()
    paths = [Path(p) for p in paths]
    groups = labels(group_images(paths, Path(folder)), pseudonymize=options.deidentify)
    ordered = report_order(paths, groups)
    planned = dataclasses.replace(
        options,
        groups=groups or None,  # DICOM header values never reach a de-identified report
        identifying=frozenset(identifying_values(ordered)) if options.deidentify else frozenset(),
    )
    return ReportRequest(
        paths=tuple(ordered),
        params=tuple(params),
        out_dir=Path(out_dir),
        formats=tuple(formats),
        basename=basename,
        force=force,
        options=planned,
        pseudonym_map=pseudonym_map,
    )
