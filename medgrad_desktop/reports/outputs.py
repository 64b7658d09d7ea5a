"""What a report is asked for and where it goes: formats, options, output paths and the errors.

Apart from the builder (which runs the model) so that the export dialog can offer formats and warn
about existing files without importing torch: the window is up before the model has loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from medgrad_desktop.atomic import PublishClashError
from medgrad_desktop.core.render import DEFAULT_COLORMAP, DEFAULT_OVERLAY_ALPHA

FORMATS = ("pdf", "html", "csv", "png")
DEFAULT_FORMATS = ("pdf", "html", "csv")


class ReportFailed(Exception):
    """The report stopped; `str()` names the image and the cause. Nothing was written."""


@dataclass(frozen=True)
class ReportOptions:
    deidentify: bool = True
    top_k: int = 5
    colormap: str = DEFAULT_COLORMAP
    opacity: float = 0.5
    overlay_alpha: str = DEFAULT_OVERLAY_ALPHA  # `core.render.OVERLAY_ALPHAS`: how opacity follows relevance
    max_side: int = 1024  # longest side of the pictures in a report, in pixels
    batch_size: int | None = None  # images per explanation pass; None: what the free memory allows
    title: str = "MedGrad Desktop report"
    groups: dict | None = None  # path -> data.patients.GroupLabel: patient / lesion / visit of each image
    identifying: frozenset[str] = field(default_factory=frozenset)  # values scrubbed from free text
    # a de-identified report includes the reviewers' notes, scrubbed, only when asked (named reports
    # always include them): a note is free text and may carry identifiers no rule finds
    include_notes: bool = False
    # each drawn map's stability figure (`core.stability`) beside it, in every format and the store:
    # about one more map per image and method (its noisy copy explained for the predicted class)
    stability: bool = True


class ReportExistsError(PublishClashError):
    """An output already exists and overwriting was not allowed."""


def output_paths(out_dir: Path, basename: str, formats: tuple[str, ...] | list[str]) -> dict[str, list[Path]]:
    """Final paths per format: html brings its manifest; png is a folder."""
    out_dir = Path(out_dir)
    paths: dict[str, list[Path]] = {}
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format '{fmt}'; choose from {', '.join(FORMATS)}")
        if fmt == "pdf":
            paths[fmt] = [out_dir / f"{basename}.pdf"]
        elif fmt == "html":
            paths[fmt] = [out_dir / f"{basename}.html", out_dir / f"{basename}.manifest.json"]
        elif fmt == "csv":
            paths[fmt] = [out_dir / f"{basename}.csv"]
        else:
            paths[fmt] = [out_dir / f"{basename}-png"]
    if "csv" in paths and "html" not in paths:  # the manifest travels with the CSV too
        paths["csv"].append(out_dir / f"{basename}.manifest.json")
    return paths


def existing_outputs(out_dir: Path, basename: str, formats, pseudonym_map: Path | None = None) -> list[Path]:
    found = [p for ps in output_paths(out_dir, basename, formats).values() for p in ps if p.exists()]
    if pseudonym_map is not None and Path(pseudonym_map).exists():
        found.append(Path(pseudonym_map))
    return found
