"""Synced zoom and pan: the one mechanism by which several image viewers show the same part of their
images at the same scale (the three methods side by side, the two visits of a follow-up).

Each viewer announces any change of its view (zoom, fit, scroll, drag) through `view_changed`; the
others then copy its transform and centre. A flag stops the copies from echoing back and forth.
"""

from __future__ import annotations

from medgrad_desktop.ui.widgets.image_viewer import ImageViewer


class ViewSync:
    """Keeps zoom and pan of `viewers` identical: a change in any one is copied to all the others."""

    def __init__(self, viewers: list[ImageViewer]):
        self.viewers = viewers
        self._syncing = False
        for v in viewers:
            v.view_changed.connect(lambda v=v: self._sync_from(v))

    def _sync_from(self, source: ImageViewer) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            for v in self.viewers:
                if v is not source:
                    v.copy_view_from(source)
        finally:
            self._syncing = False
