"""Reports: content built without Qt (`builder`, `content`), one writer per format, and `export`,
which writes them all-or-nothing with provenance and an audit trail.

The package itself exports only what needs no model (formats, options, output paths, the content
types), so the app's window can import it without torch. A report is planned once, by `plan_report`
into a `ReportRequest` (`medgrad_desktop.reports.request`, no torch), for the command line, the app's
export dialog and the self-test alike; `export_report(request, model, ...)` in
`medgrad_desktop.reports.export` runs it, through `build_report` in `medgrad_desktop.reports.builder`.
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
