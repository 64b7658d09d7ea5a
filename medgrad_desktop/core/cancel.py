"""The one way a long job is stopped on request: a check between steps raises `Cancelled`.

The app's worker raises it from `JobContext.checkpoint()` when the user pressed Cancel; the report
export lets it through untouched (it is not a failure) and records the export as cancelled. No Qt and
no torch here, so every layer can name it.
"""

from __future__ import annotations


class Cancelled(Exception):
    """The user asked to stop; whatever was half-done has been (or is being) removed."""
