"""Reports: content built without Qt (`builder`, `content`), one writer per format, and `export`,
which writes them all-or-nothing with provenance and an audit trail.

The package itself exports only what needs no model (formats, options, output paths, the content
types), so the app's window can import it without torch; `build_report` is in
`medgrad_desktop.reports.builder`, `export_report` and `ExportResult` in `medgrad_desktop.reports.export`.
"""

from medgrad_desktop.reports.content import ImageEntry, ReportContent
from medgrad_desktop.reports.outputs import (
    DEFAULT_FORMATS,
    FORMATS,
    ReportExistsError,
    ReportFailed,
    ReportOptions,
    existing_outputs,
    output_paths,
)

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "ImageEntry",
    "ReportContent",
    "ReportExistsError",
    "ReportFailed",
    "ReportOptions",
    "existing_outputs",
    "output_paths",
]
