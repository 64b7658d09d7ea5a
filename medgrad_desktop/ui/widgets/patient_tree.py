"""The patient -> lesion -> visit tree beside the thumbnails.

Built from the open folder's images when it opens (DICOM tags, PATIENT/LESION/VISIT folders or a
patients.csv sidecar, see `data.patients`). Each lesion reads as a timeline: its visits in date order,
first to last, with the span in its label. Clicking a visit or an image makes that image the current
one; choosing two visits of a lesion (Ctrl+click) and "Compare visits" opens the follow-up view.
The tree shows the real identifiers: it is the clinician's own screen; reports use pseudonyms.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medgrad_desktop.data.patients import GroupLabel, SidecarError, group_images, labels
from medgrad_desktop.ui.dialogs.followup_view import open_followup

ROW_ROLE = Qt.ItemDataRole.UserRole  # the entry row of an image item, or of a visit's first image


def build_tree(paths: list[Path], folder: Path) -> dict[str, dict[str, dict[tuple[str, str], list[int]]]]:
    """patient -> lesion -> (visit date, visit) -> entry rows, each level in date order."""
    groups: dict[Path, GroupLabel] = labels(group_images(paths, folder), pseudonymize=False)
    row_of = {p: i for i, p in enumerate(paths)}
    ordered = sorted(groups.items(), key=lambda kv: (kv[1].order, row_of[kv[0]]))
    tree: dict[str, dict[str, dict[tuple[str, str], list[int]]]] = {}
    for path, g in ordered:
        tree.setdefault(g.patient, {}).setdefault(g.lesion, {}).setdefault(
            (g.visit_date, g.visit), []
        ).append(row_of[path])
    return tree


class PatientTree(QWidget):
    found = Signal(bool)  # after each rebuild: whether the folder has patients to show

    def __init__(
        self, app, parent: QWidget | None = None, on_compare: Callable[[int, int], None] | None = None
    ):
        super().__init__(parent)
        self.app = app
        self.on_compare = on_compare
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Patient / lesion / visit", "Images"])
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.itemClicked.connect(self._clicked)
        self.note = QLabel("", self)
        self.note.setWordWrap(True)
        self.compare = QPushButton("Compare visits", self)
        self.compare.setToolTip(
            "Select two visits of one lesion (Ctrl+click), then compare them side by side"
        )
        self.compare.clicked.connect(self._compare)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tree)
        lay.addWidget(self.note)
        lay.addWidget(self.compare)
        app.folder_opened.connect(lambda _f: self.rebuild())

    def rebuild(self) -> None:
        self.tree.clear()
        app = self.app
        if app.current_folder is None:
            self.found.emit(False)
            return
        try:
            tree = build_tree([e.path for e in app.entries], app.current_folder)
        except SidecarError as exc:
            self.note.setText(str(exc))
            self.found.emit(True)  # the sidecar's error must be seen
            return
        self.found.emit(bool(tree))
        self.note.setText(
            ""
            if tree
            else "No patients found: use DICOM files, PATIENT/LESION/VISIT folders "
            "or a patients.csv (see docs/PATIENT-SETS.md)"
        )
        for patient, lesions in tree.items():
            p_item = QTreeWidgetItem(
                [patient, str(sum(len(r) for v in lesions.values() for r in v.values()))]
            )
            self.tree.addTopLevelItem(p_item)
            for lesion, visits in lesions.items():
                dates = [d for d, _ in visits if d]
                span = f"  ({dates[0]} \u2192 {dates[-1]})" if len(dates) > 1 else ""
                l_item = QTreeWidgetItem(
                    [
                        f"{lesion}: {len(visits)} visit{'s' if len(visits) != 1 else ''}{span}",
                        str(sum(len(r) for r in visits.values())),
                    ]
                )
                p_item.addChild(l_item)
                for n, ((date, visit), rows) in enumerate(visits.items(), start=1):
                    v_item = QTreeWidgetItem([f"{n}. {date or visit}", str(len(rows))])
                    v_item.setToolTip(0, visit)
                    v_item.setData(0, ROW_ROLE, rows[0])
                    l_item.addChild(v_item)
                    for r in rows:
                        i_item = QTreeWidgetItem([app.entries[r].name, ""])
                        i_item.setData(0, ROW_ROLE, r)
                        v_item.addChild(i_item)
            p_item.setExpanded(True)
            for i in range(p_item.childCount()):
                p_item.child(i).setExpanded(True)
        self.tree.resizeColumnToContents(0)

    def _clicked(self, item: QTreeWidgetItem, _col: int) -> None:
        row = item.data(0, ROW_ROLE)
        if row is not None:
            self.app.select(int(row))

    def selected_visit_rows(self) -> list[int]:
        return [
            int(it.data(0, ROW_ROLE))
            for it in self.tree.selectedItems()
            if it.data(0, ROW_ROLE) is not None and it.childCount() > 0
        ]

    def _compare(self) -> None:
        rows = self.selected_visit_rows()
        if len(rows) != 2:
            self.app.message.emit("Select two visits of a lesion (Ctrl+click) to compare them", 8000)
            return
        if self.on_compare is not None:
            self.on_compare(rows[0], rows[1])


def attach_patient_tree(window) -> QDockWidget:
    """Dock the tree at the left of a main window (beside the thumbnails) and wire "Compare visits" to
    the follow-up view."""
    dock = QDockWidget("Patients", window)
    dock.setObjectName("patients-dock")
    tree = PatientTree(window.app, dock, on_compare=lambda a, b: open_followup(window, a, b))
    dock.setWidget(tree)
    tree.setMinimumWidth(240)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    dock.setVisible(False)  # shown when a folder has patients: a loose folder gives the image the room
    tree.found.connect(dock.setVisible)
    window.patient_tree = tree
    return dock
