"""The reader study's report (PDF and HTML with plots), from `study.analysis.analyze`'s result.

The content is built once (`study_content.build_study_content`, plots in a staging folder) and each
format's writer renders it; every file is written atomically, so a failed run leaves no half report.
The files are named after the study: `<study id>-report.pdf` and `.html`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from medgrad_desktop.atomic import make_dir, write_file_atomic
from medgrad_desktop.reports.study_content import build_study_content
from medgrad_desktop.reports.study_html import write_study_html
from medgrad_desktop.study.analysis import StudyAnalysis
from medgrad_desktop.study.spec import StudySpec

STUDY_FORMATS = ("pdf", "html")


def study_report_paths(spec: StudySpec, out_dir: Path, formats: Iterable[str]) -> list[Path]:
    return [Path(out_dir) / f"{spec.id}-report.{f}" for f in formats]


def write_study_report(
    analysis: StudyAnalysis,
    spec: StudySpec,
    out_dir: Path,
    formats: Iterable[str] = STUDY_FORMATS,
    *,
    model_sha256: str = "",
    created: str | None = None,
) -> list[Path]:
    """Write the report in each of `formats` ("pdf", "html") into `out_dir`; returns the paths written.
    `model_sha256`: the weights whose predictions the study froze (the store's studies row), printed on
    every page; `created`: ISO time (default now, UTC)."""
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in STUDY_FORMATS]
    if unknown:
        raise ValueError(
            f"unknown study report format(s) {', '.join(unknown)}; use {' or '.join(STUDY_FORMATS)}"
        )
    created = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out_dir = make_dir(out_dir)
    written = []
    with tempfile.TemporaryDirectory(prefix="medgrad-study-") as staging:
        content = build_study_content(
            analysis, spec, Path(staging), model_sha256=model_sha256, created=created
        )
        for fmt, path in zip(formats, study_report_paths(spec, out_dir, formats), strict=True):
            if fmt == "pdf":
                from medgrad_desktop.reports.study_pdf import write_study_pdf  # loads Qt: only for a PDF

                write_file_atomic(path, lambda tmp: write_study_pdf(content, tmp))
            else:
                write_study_html(content, path)
            written.append(path)
    return written
