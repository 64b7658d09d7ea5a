"""Reports: content built without Qt (`builder`, `content`), one writer per format, and `export`,
which writes them all-or-nothing with provenance and an audit trail."""

from medgrad_desktop.reports.builder import ReportFailed, ReportOptions, build_report
from medgrad_desktop.reports.content import ImageEntry, ReportContent
from medgrad_desktop.reports.export import (
    DEFAULT_FORMATS,
    FORMATS,
    ExportResult,
    ReportExistsError,
    existing_outputs,
    export_report,
    output_paths,
)

__all__ = [
    "DEFAULT_FORMATS", "FORMATS", "ExportResult", "ImageEntry", "ReportContent", "ReportExistsError",
    "ReportFailed", "ReportOptions", "build_report", "existing_outputs", "export_report", "output_paths",
]
