"""The status bar: batch progress with ETA and Cancel, the model in use, its warnings and the research
notice (always visible). Progress repaints are throttled: a QProgressBar repaint is not free, and a
batch reports every image.

The progress bar and its Cancel button sit at the right end in a box of fixed width that keeps its
space when idle, so Cancel never moves as texts change and a status message never runs under the bar.
The model line is cut to its width (whole in its tooltip)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from medgrad_desktop.core.card import RESEARCH_NOTICE

if TYPE_CHECKING:  # the window imports no torch
    from medgrad_desktop.core.model import ClipModel

PROGRESS_REPAINT_MS = 120
MODEL_LABEL_MAX = 300  # px; the whole line is in the tooltip


def eta_text(eta: float) -> str:
    if math.isnan(eta):
        return "ETA …"
    if eta < 60:
        return f"ETA {eta:.0f} s"
    return f"ETA {eta // 60:.0f} min {eta % 60:02.0f} s"


def model_line(clip: ClipModel) -> str:
    card = clip.card
    return f"{card.display_name()} · {card.short_hash} · {clip.device}"


class AppStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(200)
        self.progress.setVisible(False)
        self._pending_progress: tuple[int, int, float] | None = None
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_REPAINT_MS)
        self._progress_timer.timeout.connect(self._show_progress)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop analysing; File > Analyse remaining images (Ctrl+R) goes on")
        self.cancel_button.setFixedWidth(self.cancel_button.sizeHint().width())
        self.cancel_button.setVisible(False)
        for w in (self.progress, self.cancel_button):
            policy = w.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            w.setSizePolicy(policy)
        self.batch_box = QWidget()
        bl = QHBoxLayout(self.batch_box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.progress)
        bl.addWidget(self.cancel_button)
        self.batch_box.setFixedWidth(self.progress.width() + self.cancel_button.width() + bl.spacing() + 4)
        self.model_label = QLabel("Loading model…")
        self.model_label.setMaximumWidth(MODEL_LABEL_MAX)
        self.model_label.setIndent(12)  # a gap after the status message, which is cut where this begins
        self.warning_status = QLabel()
        self.warning_status.setStyleSheet("color:#8c1d18; font-weight:bold;")
        self.notice_status = QLabel(RESEARCH_NOTICE)
        self.notice_status.setStyleSheet("color:#5c4400; font-weight:bold;")
        for w in (self.model_label, self.warning_status, self.notice_status, self.batch_box):
            self.addPermanentWidget(w)

    # ------------------------------------------------------------------ batch
    def batch_started(self, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.setFormat(f"0 / {total} · ETA …")
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)

    def batch_progress(self, done: int, total: int, eta: float) -> None:
        """Repaint the bar at most ~8 times a second."""
        self._pending_progress = (done, total, eta)
        if done >= total or not self._progress_timer.isActive():
            self._show_progress()
            self._progress_timer.start()

    def _show_progress(self) -> None:
        if self._pending_progress is None:
            return
        done, total, eta = self._pending_progress
        self._pending_progress = None
        bar = self.progress
        bar.setUpdatesEnabled(False)  # setValue would repaint synchronously; let the event loop paint once
        bar.setRange(0, max(1, total))
        bar.setValue(done)
        bar.setFormat(f"{done} / {total} · {eta_text(eta)}")
        bar.setUpdatesEnabled(True)

    def batch_finished(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    # ------------------------------------------------------------------ model
    def model_loading(self) -> None:
        self.model_label.setText("Loading model…")

    def model_ready(self, clip: ClipModel) -> None:
        card = clip.card
        line = model_line(clip)
        self.model_label.setText(
            self.model_label.fontMetrics().elidedText(
                line, Qt.TextElideMode.ElideMiddle, MODEL_LABEL_MAX - 24
            )
        )
        self.model_label.setToolTip(
            line + "\n" + f"weights SHA-256 {card.weights_sha256}\n{card.weights_path or ''}"
        )
        warns = card.warnings()
        self.warning_status.setText(" · ".join(w.split(":")[0] for w in warns))
        self.warning_status.setToolTip("\n".join(warns))

    def model_failed(self, clip: ClipModel | None) -> None:
        """A load failed: name the model still in use, if any."""
        self.model_label.setText(model_line(clip) if clip is not None else "No model")
