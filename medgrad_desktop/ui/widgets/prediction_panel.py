"""The prediction panel: top-k differential, 7-point criteria and score, the model card with its
warnings, and the review controls (accept, override, note). It shows data; the main window acts.

Its widgets keep their places from image to image: the title, file and review rows have fixed
heights above a scrolling area that holds everything whose length varies, so a click aimed at
Override never lands on Accept because a title wrapped. With no image, or an image not analysed, it
says so instead of keeping the previous image's results."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from medgrad_desktop.core.card import ModelCard
from medgrad_desktop.core.prediction import OOD_FLAG_TEXT, Prediction, format_probability
from medgrad_desktop.review import ReviewRecord
from medgrad_desktop.ui.state.folder_image import NOT_ANALYSED
from medgrad_desktop.ui.widgets.elided_label import ElidedLabel
from medgrad_desktop.ui.widgets.probability_bars import ProbabilityBars

WARNING_STYLE = (
    "background:#fdecea; color:#8c1d18; border:1px solid #e5a29d; border-radius:4px;"
    "padding:6px; font-weight:bold;"
)


MAX_TOP_K = 5


def criteria_html(pred: Prediction) -> str:
    """Each criterion as its predicted finding and that finding's probability ('Blue-whitish veil:
    absent, 99.7%', `CriterionPrediction.text`), points on the right: two columns, so the table fits a
    narrow panel."""
    if not pred.criteria:
        return "<i>This model's catalogue has no 7-point criteria.</i>"
    rows = "".join(  # a narrow panel wraps after the name, never between a finding and its probability
        f"<tr><td>{html.escape(c.text).replace(', ', ',&nbsp;')}</td>"
        f"<td align='right'>{f'<b>+{c.points}</b>' if c.points else '+0'}</td></tr>"
        for c in pred.criteria
    )
    verdict = "≥ threshold: suggests melanoma work-up" if pred.seven_point_positive else "below threshold"
    return (
        f"<table width='100%' cellspacing='2'><tr style='color:#5a6270'><td>criterion: predicted finding, "
        f"its probability</td><td align='right'>pts</td></tr>{rows}</table>"
        f"<p><b>7-point score: {pred.seven_point_score}</b> (threshold {pred.seven_point_threshold}; "
        f"{verdict})</p>"
    )


LONG_WORD = 20  # characters: a longer word (a file name, a path) gets places to wrap
_BREAK_AFTER = re.compile(r"([_./\\])")
_UNBROKEN = re.compile(rf"[^\s\-_./\\\u200b]{{{LONG_WORD}}}(?=\S)")


def wrappable(text: str) -> str:
    """`text` with a zero-width space after each _ . / \\ of its long words, and inside long runs without
    any, so a weights file name or a path wraps in a narrow panel instead of running past its edge."""
    words = []
    for w in text.split(" "):
        if len(w) > LONG_WORD:
            w = _UNBROKEN.sub(lambda m: m.group(0) + "\u200b", _BREAK_AFTER.sub("\\1\u200b", w))
        words.append(w)
    return " ".join(words)


def card_html(card: ModelCard, device: str) -> str:
    """The card as one column, each name above its value: a two-column table in a QLabel was laid out
    wider than the label, cutting every value at the panel's edge at 1024 x 640."""
    items = [
        ("Model", card.name),
        ("Architecture", card.architecture),
        ("Weights SHA-256", card.short_hash + "…"),
        ("Device", device),
        ("Intended use", card.intended_use),
    ]
    if card.weights_path:
        items.insert(2, ("File", card.weights_path.replace("\\", "/").rsplit("/", 1)[-1]))
    items.append(("Out-of-distribution check", card.ood_description))
    extra = card.extra or {}
    if extra.get("date"):
        items.append(("Trained", str(extra["date"])))
    if extra.get("base_weights"):
        items.append(("Base weights", str(extra["base_weights"])))
    metrics = extra.get("metrics")
    if isinstance(metrics, dict):
        shown = [(k, v) for k, v in metrics.items() if isinstance(v, int | float)][:4]
        for k, v in shown:
            items.append((k.replace("_", " "), f"{v:.3f}" if isinstance(v, float) else str(v)))
    return "".join(
        f"<p style='margin:0 0 3px 0'><span style='color:#5a6270'>{html.escape(k)}</span><br>"
        f"{html.escape(wrappable(str(v)))}</p>"
        for k, v in items
    )


class PredictionPanel(QWidget):
    accept_requested = Signal()
    override_requested = Signal(str)  # class id
    note_requested = Signal(str)
    reset_requested = Signal()
    note_left = Signal()  # Esc in the note box: give the keys back to the window

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        top = QWidget()  # fixed slots: never move between images
        lay = QVBoxLayout(top)
        lay.setContentsMargins(6, 6, 6, 0)
        lay.setSpacing(6)

        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(WARNING_STYLE)
        self.warning_label.setVisible(False)
        lay.addWidget(self.warning_label)

        self.title = ElidedLabel("No image selected")
        self.title.setStyleSheet("font-size:15px; font-weight:bold; color:#1d2330;")
        lay.addWidget(self.title)
        self.file_label = ElidedLabel("", Qt.TextElideMode.ElideMiddle)
        self.file_label.setStyleSheet("color:#5a6270;")
        lay.addWidget(self.file_label)

        self.review_box = QGroupBox("Review")
        rl = QVBoxLayout(self.review_box)
        self.review_state = QLabel("—")
        self.review_state.setWordWrap(True)
        self.review_state.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.review_state.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.review_state.setFixedHeight(3 * self.review_state.fontMetrics().lineSpacing() + 4)
        rl.addWidget(self.review_state)
        row = QHBoxLayout()
        self.accept_button = QPushButton("Accept (A)")
        self.accept_button.setToolTip("Accept the model's prediction for this image (A)")
        self.accept_button.clicked.connect(self.accept_requested)
        row.addWidget(self.accept_button)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to pending")
        self.reset_button.clicked.connect(self.reset_requested)
        row.addWidget(self.reset_button)
        rl.addLayout(row)
        row2 = QHBoxLayout()
        self.override_combo = QComboBox()
        self.override_combo.setToolTip(
            "The class you settle on instead of the prediction (D: choose by typing, Enter)"
        )
        self.override_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.override_combo.setMinimumContentsLength(8)
        row2.addWidget(self.override_combo, 1)
        self.override_button = QPushButton("Override (D)")
        self.override_button.setToolTip("Settle on the class chosen beside (D: choose by typing, Enter)")
        self.override_button.clicked.connect(
            lambda: self.override_requested.emit(self.override_combo.currentData() or "")
        )
        row2.addWidget(self.override_button)
        rl.addLayout(row2)
        row3 = QHBoxLayout()
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Note (N)")
        self.note_edit.setToolTip("A note on this image (N to type here; Enter saves, Esc leaves)")
        self.note_edit.returnPressed.connect(self._save_note)
        self.note_edit.installEventFilter(self)
        row3.addWidget(self.note_edit, 1)
        self.note_button = QPushButton("Save note")
        self.note_button.clicked.connect(self._save_note)
        row3.addWidget(self.note_button)
        rl.addLayout(row3)
        lay.addWidget(self.review_box)

        inner = QWidget()  # what varies in length scrolls here
        il = QVBoxLayout(inner)
        il.setContentsMargins(6, 0, 6, 6)
        il.setSpacing(8)
        self.ood_label = QLabel(f"⚠ {OOD_FLAG_TEXT[0].upper()}{OOD_FLAG_TEXT[1:]}")
        self.ood_label.setWordWrap(True)
        self.ood_label.setStyleSheet(WARNING_STYLE)
        self.ood_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.ood_label.setVisible(False)
        il.addWidget(self.ood_label)
        self.topk_box = QGroupBox(f"Differential (top {MAX_TOP_K})")
        self.topk_label = QLabel()
        self.topk_label.setTextFormat(Qt.TextFormat.RichText)
        self.topk_label.setWordWrap(True)
        self.topk_bars = ProbabilityBars()  # a prediction's differential; the label says why there is none
        self.topk_bars.setVisible(False)
        tl = QVBoxLayout(self.topk_box)
        tl.addWidget(self.topk_label)
        tl.addWidget(self.topk_bars)
        il.addWidget(self.topk_box)

        self.criteria_box = QGroupBox("7-point checklist")
        self.criteria_label = QLabel()
        self.criteria_label.setTextFormat(Qt.TextFormat.RichText)
        self.criteria_label.setWordWrap(True)
        QVBoxLayout(self.criteria_box).addWidget(self.criteria_label)
        il.addWidget(self.criteria_box)

        self.card_box = QGroupBox("Model card")
        self.card_label = QLabel("loading model…")
        self.card_label.setTextFormat(Qt.TextFormat.RichText)
        self.card_label.setWordWrap(True)
        self.card_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        QVBoxLayout(self.card_box).addWidget(self.card_label)
        il.addWidget(self.card_box)
        il.addStretch(1)
        for label in (self.topk_label, self.criteria_label, self.card_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # wrap, never widen

        self.scroll = QScrollArea()
        self.scroll.setWidget(inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # never sideways
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(6)
        outer.addWidget(top)
        outer.addWidget(self.scroll, 1)
        self._shown: tuple[str, str] | None = None
        self._saved_note = ""
        self.clear()

    def _save_note(self) -> None:
        self.note_requested.emit(self.note_edit.text())
        self.note_left.emit()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if (
            obj is self.note_edit
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape
        ):
            self.note_edit.setText(self._saved_note)  # leave without saving
            self.note_left.emit()
            return True
        return super().eventFilter(obj, event)

    def set_classes(self, classes: list[tuple[str, str]]) -> None:
        current = self.override_combo.currentData()
        self.override_combo.clear()
        for cid, name in classes:
            self.override_combo.addItem(name, cid)
        if current:
            i = self.override_combo.findData(current)
            if i >= 0:
                self.override_combo.setCurrentIndex(i)
        self.topk_box.setTitle(f"Differential (top {min(MAX_TOP_K, len(classes))})")

    def classes(self) -> list[tuple[str, str]]:
        """(class id, name) of every class the override can settle on."""
        c = self.override_combo
        return [(c.itemData(i), c.itemText(i)) for i in range(c.count())]

    def set_model(self, card: ModelCard | None, device: str = "", error: str = "") -> None:
        if card is None:
            self.card_label.setText(html.escape(error) if error else "loading model…")
            self.warning_label.setVisible(False)
            return
        text = card_html(card, device)
        if card.text_tower_note:
            text += f"<p style='color:#8c1d18'>⚠ {html.escape(card.text_tower_note)}</p>"
        if error:
            text += f"<p style='color:#8c1d18'>{html.escape(error)}</p>"
        self.card_label.setText(text)
        warnings = card.warnings()
        self.warning_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warning_label.setVisible(bool(warnings))

    def clear(self, message: str = "No image selected") -> None:
        """No current image: say so, and offer nothing to act on."""
        self.title.setText(message)
        self.file_label.setText("")
        self.topk_label.setText("<i>Select an image in the grid to see its prediction.</i>")
        self._show_differential(None)
        self.criteria_label.setText("")
        self.review_state.setText("—")
        self.ood_label.setVisible(False)
        self.note_edit.clear()
        self._saved_note = ""
        self._shown = None
        self.set_review_enabled(False)

    def set_entry(
        self, name: str, path: str, prediction: Prediction | None, error: str | None, waiting: bool = True
    ) -> None:
        """Show one image; without a prediction it is either still `waiting` for the batch or was left
        unanalysed by a cancelled batch."""
        self.file_label.setText(path)
        self._show_differential(prediction if not error else None)
        flagged = prediction is not None and not error and prediction.ood_flagged
        self.ood_label.setVisible(flagged)
        if flagged:
            o = prediction.ood
            self.ood_label.setToolTip(
                f"{o.method} score {o.score:.4g} is above the model's threshold {o.threshold:.4g}, set from "
                "held-out images of its training data"
            )
        if error:
            self.title.setText(f"⚠ {name}")
            self.topk_label.setText(f"<span style='color:#b3261e'>{html.escape(error)}</span>")
            self.criteria_label.setText("")
        elif prediction is None:
            self.title.setText(name)
            self.topk_label.setText("<i>analysing…</i>" if waiting else f"<i>{NOT_ANALYSED}</i>")
            self.criteria_label.setText("")
        else:
            self.title.setText(f"{prediction.predicted_name} — {format_probability(prediction.confidence)}")
            self.criteria_label.setText(criteria_html(prediction))
            i = self.override_combo.findData(prediction.predicted_id)
            shown = (path, prediction.predicted_id)
            if i >= 0 and shown != self._shown:  # a new image or prediction: start from the prediction
                self.override_combo.setCurrentIndex(i)
            self._shown = shown
        self.set_review_enabled(prediction is not None and not error)

    def _show_differential(self, prediction: Prediction | None) -> None:
        """The bars of a prediction's top classes, or the label's message when there is none."""
        if prediction is not None:
            self.topk_label.setText("")
            self.topk_bars.set_rows([(name, p) for _, name, p in prediction.top_k(MAX_TOP_K)])
        self.topk_bars.setVisible(prediction is not None)
        self.topk_label.setVisible(prediction is None)

    def set_review(self, rec: ReviewRecord | None, class_names: dict[str, str]) -> None:
        if rec is None or rec.decision == "pending":
            text = "<b>Pending</b> — not reviewed yet"
        elif rec.decision == "accepted":
            text = (
                f"<b style='color:#1e6b34'>✓ Accepted</b>: "
                f"{html.escape(class_names.get(rec.final_class or '', str(rec.final_class)))}"
            )
        else:
            text = (
                f"<b style='color:#1f4f9c'>✎ Overridden</b> to "
                f"{html.escape(class_names.get(rec.final_class or '', str(rec.final_class)))} "
                f"(model said {html.escape(class_names.get(rec.predicted_class or '', str(rec.predicted_class)))})"
            )
        note = rec.note if rec else ""
        self._saved_note = note
        if self.note_edit.text() != note and not self.note_edit.hasFocus():
            self.note_edit.setText(note)
        if note:
            text += f"<br><i>Note: {html.escape(note)}</i>"
        self.review_state.setText(text)
        self.review_state.setToolTip(note)

    def set_review_enabled(self, enabled: bool) -> None:
        for w in (
            self.accept_button,
            self.reset_button,
            self.override_combo,
            self.override_button,
            self.note_edit,
            self.note_button,
        ):
            w.setEnabled(enabled)
