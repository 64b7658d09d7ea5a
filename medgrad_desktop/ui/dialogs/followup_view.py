"""Follow-up comparison: two visits of one lesion side by side, the later one roughly aligned onto the
earlier (scale and rotation from OpenCV feature matching; when that fails the images are shown as
taken and the view says so), zoom and pan synced between the two, each with its prediction and, when
it has been computed, its map of the current method; below, the change in every class probability and
each 7-point criterion between the visits, and whether that change is larger than the visits' own
test-retest noise (`core.retest`: each visit's image and K re-photographed copies, classified in the
worker in one batched pass after the view opens). The header names the visits by their dates
(`data.patients`), the file name only where no date is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGridLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from medgrad_desktop.core import retest
from medgrad_desktop.core.imageio import ImageLoadError, load_image
from medgrad_desktop.core.map_evidence import no_evidence_text
from medgrad_desktop.core.prediction import CriterionPrediction, Prediction, finding_word, format_probability
from medgrad_desktop.core.registration import register, warp_onto
from medgrad_desktop.data.patients import SidecarError, group_image, read_sidecar
from medgrad_desktop.reports.figures import overlay
from medgrad_desktop.ui.state.folder_image import FolderImage
from medgrad_desktop.ui.widgets.image_viewer import ImageViewer
from medgrad_desktop.ui.widgets.view_sync import ViewSync
from medgrad_desktop.ui.work.jobs import retest_spread
from medgrad_desktop.ui.work.qimages import display_qimage
from medgrad_desktop.ui.work.worker import ModelWorker

MEASURING_TEXT = "measuring the noise\u2026"


def row_keys(a: Prediction, b: Prediction) -> list[tuple[str, str]]:
    """(kind, key) of each row of `change_rows`, in its order: ('class', class id), ('criterion',
    criterion id), ('score', '')."""
    pb = dict(zip(b.class_ids, b.probabilities, strict=True))
    keys = [
        ("class", cid)
        for cid, p in sorted(
            zip(a.class_ids, a.probabilities, strict=True), key=lambda t: -max(t[1], pb.get(t[0], 0.0))
        )
    ]
    keys += [("criterion", c.criterion_id) for c in a.criteria]
    if a.criteria and b.criteria:
        keys.append(("score", ""))
    return keys


def noise_words(
    a: Prediction,
    b: Prediction,
    spreads: tuple[dict[str, float], dict[str, float]] | None,
    rule: retest.RetestRule = retest.RETEST_RULE,
) -> list[str]:
    """Per row of `change_rows`: whether its change is beyond both visits' noise under `rule`, in words
    (`MEASURING_TEXT` until the spreads are known; criteria the rule does not judge say so)."""
    keys = row_keys(a, b)
    if spreads is None:
        return [MEASURING_TEXT] * len(keys)
    classes = retest.class_verdicts(a, b, *spreads, rule)
    criteria = retest.criterion_verdicts(a, b, *spreads, rule)
    out = []
    for kind, key in keys:
        if kind == "score":
            out.append(retest.verdict_text(retest.score_verdict(a, b, *spreads, rule), "points"))
            continue
        if kind == "criterion" and not rule.judges_criteria:
            out.append(retest.NOT_JUDGED_TEXT)
            continue
        v = (classes if kind == "class" else criteria).get(key)
        out.append("" if v is None else retest.verdict_text(v, "pp"))
    return out


def visit_title(entry: FolderImage, folder: Path | None) -> str:
    """The visit's date (patients.csv, DICOM StudyDate or a dated visit folder), else the file name."""
    if folder is None:
        return entry.name
    try:
        group = group_image(entry.path, folder, read_sidecar(folder))
    except (SidecarError, OSError):
        return entry.name
    return group.visit_date if group is not None and group.visit_date else entry.name


def change_rows(a: Prediction, b: Prediction) -> list[tuple[str, str, str, str]]:
    """(what, first visit, second visit, change) for each class (probabilities, percentage points) and
    each criterion (predicted option and points), then the 7-point score."""
    rows = []
    pb = dict(zip(b.class_ids, b.probabilities, strict=True))
    for cid, name, p in sorted(
        zip(a.class_ids, a.class_names, a.probabilities, strict=True),
        key=lambda t: -max(t[2], pb.get(t[0], 0.0)),
    ):
        q = pb.get(cid)
        rows.append(
            (
                name,
                f"{p:.1%}",
                "" if q is None else f"{q:.1%}",
                "" if q is None else f"{100 * (q - p):+.1f} pp",
            )
        )
    cb = {c.criterion_id: c for c in b.criteria}
    for c in a.criteria:
        d = cb.get(c.criterion_id)
        rows.append(
            (
                c.display_name,
                _finding(c),
                _finding(d) if d else "",
                ""
                if d is None
                else ("same" if d.option_id == c.option_id else f"{d.points - c.points:+d} points"),
            )
        )
    if a.criteria and b.criteria:
        rows.append(
            (
                "7-point score",
                str(a.seven_point_score),
                str(b.seven_point_score),
                f"{b.seven_point_score - a.seven_point_score:+d}",
            )
        )
    return rows


def _finding(c: CriterionPrediction) -> str:
    """'absent, 99.7% (0 pts)': the finding beside its own probability, as in the prediction panel."""
    return f"{finding_word(c.option_id)}, {format_probability(c.probability)} ({c.points} pts)"


class FollowUpView(QDialog):
    def __init__(
        self,
        app,
        first: FolderImage,
        second: FolderImage,
        parent: QWidget | None = None,
        rule: retest.RetestRule = retest.RETEST_RULE,
    ):
        super().__init__(parent)
        self.app, self.first, self.second, self.rule = app, first, second, rule
        folder = app.current_folder
        self.titles = (visit_title(first, folder), visit_title(second, folder))
        self.setWindowTitle(f"Follow-up: {self.titles[0]} \u2192 {self.titles[1]}")
        self.left, self.right = ImageViewer(self), ImageViewer(self)
        self.sync = ViewSync([self.left, self.right])
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.maps = QCheckBox("Show maps (where computed)", self)
        self.maps.toggled.connect(lambda _on: self._show())
        self.captions = (QLabel(self), QLabel(self))
        self.table = QTableWidget(0, 5, self)
        self.table.setHorizontalHeaderLabels(["", *self.titles, "Change", "Beyond the noise?"])
        self.table.horizontalHeaderItem(4).setToolTip(rule.describe())
        self.spreads: tuple[dict[str, float], dict[str, float]] | None = None
        self.noise_handle = None
        grid = QGridLayout(self)
        grid.addWidget(self.captions[0], 0, 0)
        grid.addWidget(self.captions[1], 0, 1)
        grid.addWidget(self.left, 1, 0)
        grid.addWidget(self.right, 1, 1)
        grid.addWidget(self.status, 2, 0)
        grid.addWidget(self.maps, 2, 1)
        grid.addWidget(self.table, 3, 0, 1, 2)
        self.resize(1100, 800)
        self._rgb: tuple[np.ndarray, np.ndarray] | None = None
        self.registration = None
        self._load()

    def _load(self) -> None:
        try:
            a, b = load_image(self.first.path).rgb, load_image(self.second.path).rgb
        except ImageLoadError as exc:
            self.status.setText(str(exc))
            return
        taken = (a, b)  # as photographed: what the predictions and the noise copies are made from
        reg, why = register(a, b)
        self.registration = reg
        if reg is not None:
            b = warp_onto(b, reg, (a.shape[1], a.shape[0]))
            self.status.setText(f"Second visit {reg.describe()}")
        else:
            self.status.setText(f"Second visit {why}: both are shown as taken")
        self._rgb = (a, b)
        self._show()
        for label, e, title in zip(self.captions, (self.first, self.second), self.titles, strict=True):
            p = e.prediction
            label.setText(
                f"<b>{title}</b>: " + (f"{p.predicted_name} {p.confidence:.1%}" if p else "not analysed yet")
            )
            label.setToolTip(e.name)
        if self.first.prediction and self.second.prediction:
            rows = change_rows(self.first.prediction, self.second.prediction)
            self.table.setRowCount(len(rows))
            for r, values in enumerate(rows):
                for c, v in enumerate(values):
                    self.table.setItem(r, c, QTableWidgetItem(v))
            self._show_noise()
            self._measure_noise(*taken)

    def _measure_noise(self, a: np.ndarray, b: np.ndarray) -> None:
        """Both visits' spreads from the worker (one batched pass); the table fills in when they arrive."""
        self.noise_handle = self.app.worker.submit(
            retest_spread([a, b], self.rule),
            kind="follow-up noise",
            priority=ModelWorker.PRIORITY_INTERACTIVE,
        )
        self.noise_handle.result.connect(self._on_spreads)
        self.noise_handle.error.connect(self._on_noise_error)

    def _on_spreads(self, spreads: list[dict[str, float]]) -> None:
        self.spreads = (spreads[0], spreads[1])
        self._show_noise()

    def _on_noise_error(self, message: str) -> None:
        for r in range(self.table.rowCount()):
            self.table.setItem(r, 4, QTableWidgetItem(f"noise not measured: {message}"))

    def _show_noise(self) -> None:
        a, b = self.first.prediction, self.second.prediction
        if a is None or b is None:
            return
        for r, text in enumerate(noise_words(a, b, self.spreads, self.rule)):
            item = QTableWidgetItem(text)
            item.setToolTip(self.rule.describe())
            self.table.setItem(r, 4, item)
        self.table.resizeColumnsToContents()

    def _with_map(self, rgb: np.ndarray, entry: FolderImage, warp: bool) -> tuple[np.ndarray, str]:
        """The picture with its map over it, and what to say instead of an empty map (`Heatmap.empty`:
        not drawn)."""
        target = self.app.target_for(entry)
        h = self.app.cached_map(entry, self.app.current_method, target) if target is not None else None
        if h is None:
            return rgb, ""
        if h.empty:
            return rgb, no_evidence_text(h.target.label)
        base = load_image(entry.path).rgb if warp else rgb
        over = overlay(base, h.normalized, self.app.opacity, self.app.colormap, self.app.overlay_alpha)
        return (
            warp_onto(over, self.registration, (rgb.shape[1], rgb.shape[0]))
            if warp and self.registration
            else over
        ), ""

    def _show(self) -> None:
        if self._rgb is None:
            return
        a, b = self._rgb
        say_a = say_b = ""
        if self.maps.isChecked():
            a, say_a = self._with_map(a, self.first, False)
            b, say_b = self._with_map(b, self.second, True)
        self.left.set_pixmap(QPixmap.fromImage(display_qimage(a)))
        self.right.set_pixmap(QPixmap.fromImage(display_qimage(b)))
        self.left.set_message(say_a)
        self.right.set_message(say_b)
        self.fit()

    def fit(self) -> None:
        """Both pictures fitted to their panes, at the same scale (the first visit's fit, synced)."""
        self.left.fit()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.fit()  # the panes have their real size only once shown


def open_followup(window, row_a: int, row_b: int) -> FollowUpView:
    app = window.app
    first, second = app.entries[row_a], app.entries[row_b]
    view = FollowUpView(app, first, second, window)
    view.show()
    return view
