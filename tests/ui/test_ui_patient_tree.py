"""The patient tree beside the thumbnails and the follow-up view, in the real main window (offscreen):
a DICOM set groups into patient -> lesion -> visit in date order; two visits of a lesion open side by
side, the second one aligned (scale/rotation) onto the first, zoom synced, probability changes listed."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from medgrad_desktop.core import retest
from medgrad_desktop.testing import dicom_samples as ds_
from medgrad_desktop.testing.sample_images import draw_blob_image
from medgrad_desktop.ui.dialogs.followup_view import MEASURING_TEXT, FollowUpView
from medgrad_desktop.ui.main_window import MainWindow

WAIT = 60_000


def _visits(folder: Path) -> None:
    base = np.asarray(draw_blob_image(5, (400, 300)).convert("RGB")).astype(int)
    first = np.clip(base + np.random.default_rng(1).integers(-30, 30, base.shape), 0, 255).astype(np.uint8)
    m = cv2.getRotationMatrix2D((200, 150), 15, 1.1)
    later = cv2.warpAffine(first, m, (400, 300), borderMode=cv2.BORDER_REFLECT)
    for name, rgb, date, uid in (
        ("v2.dcm", later, "20240601", "1.2.3.2"),
        ("v1.dcm", first, "20231201", "1.2.3.1"),
    ):
        ds_.write(
            ds_.photo_dataset(rgb, study_uid=uid, study_date=date, lesion_label="MOLE_A"), folder / name
        )
    other = ds_.Person(name="Roe^Rick", patient_id="MRN-2")
    ds_.write(
        ds_.photo_dataset(ds_.lesion_rgb(120, 160, 9), person=other, study_date="20220101"), folder / "r.dcm"
    )


def test_tree_and_followup(qtbot, app_settings, tiny_model, tmp_path):
    _visits(tmp_path / "set")
    win = MainWindow(app_settings, model_factory=lambda w, d: tiny_model)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.app.model is not None, timeout=WAIT)
    assert win.app.open_folder(tmp_path / "set")
    qtbot.waitUntil(
        lambda: all(e.done for e in win.app.entries) and not win.app.predictions.running, timeout=WAIT
    )
    tree = win.patient_tree.tree
    assert tree.topLevelItemCount() == 2
    roe, doe = tree.topLevelItem(0), tree.topLevelItem(1)  # Roe's visit (2022) is the earliest
    assert roe.text(0) == "MRN-2" and doe.text(0) == ds_.Person().patient_id
    lesion = doe.child(0)
    assert lesion.text(0) == "MOLE_A: 2 visits  (2023-12-01 \u2192 2024-06-01)"
    v1, v2 = lesion.child(0), lesion.child(1)
    assert v1.text(0) == "1. 2023-12-01" and v2.text(0) == "2. 2024-06-01"
    v1.setSelected(True)
    v2.setSelected(True)
    opened: list[FollowUpView] = []
    win.patient_tree.on_compare = lambda a, b: opened.append(
        FollowUpView(win.app, win.app.entries[a], win.app.entries[b], win)
    )
    win.patient_tree.compare.click()
    view = opened[0]
    qtbot.addWidget(view)
    view.show()
    assert view.first.name == "v1.dcm" and view.second.name == "v2.dcm"
    assert view.registration is not None and abs(view.registration.scale - 1 / 1.1) < 0.06
    assert view.status.text().startswith("Second visit aligned: scale")
    assert view.table.rowCount() >= len(tiny_model.catalogue.classes)
    assert view.table.item(0, 3).text().endswith("pp")
    # visits named by their dates (DICOM StudyDate), not by file names
    assert view.windowTitle() == "Follow-up: 2023-12-01 \u2192 2024-06-01"
    assert view.captions[0].text().startswith("<b>2023-12-01</b>")
    assert view.table.horizontalHeaderItem(1).text() == "2023-12-01"
    # the noise arrives from the worker; then every row says in words whether its change exceeds it
    qtbot.waitUntil(lambda: view.spreads is not None, timeout=WAIT)
    words = [view.table.item(r, 4).text() for r in range(view.table.rowCount())]
    assert MEASURING_TEXT not in words
    assert all("the noise (limit \u00b1" in w or w == retest.NOT_JUDGED_TEXT for w in words)
    a, b = view.first.prediction, view.second.prediction
    first_class = retest.class_verdicts(a, b, *view.spreads, view.rule)[
        a.class_ids[a.class_names.index(view.table.item(0, 0).text())]
    ]
    assert words[0].startswith("change" if first_class.beyond_noise else retest.NO_CHANGE_TEXT)
    assert set(view.spreads[0]) >= set(a.class_ids)
    view.left.zoom_by(2.0)  # zoom and pan are synced by the viewers' ViewSync, as in the comparison
    assert view.right.zoom == pytest.approx(view.left.zoom)
    view.left.horizontalScrollBar().setValue(view.left.horizontalScrollBar().maximum() // 2)
    c, c0 = view.right.scene_center(), view.left.scene_center()
    assert abs(c.x() - c0.x()) <= 2 and abs(c.y() - c0.y()) <= 2
    keep = os.environ.get("MEDGRAD_KEEP_SCREENSHOT_DIR")  # where a person wants the screenshots
    if keep:
        view.fit()
        win.resize(1400, 850)
        win.grab().save(str(Path(keep) / "patient-tree.png"))
        view.grab().save(str(Path(keep) / "followup-view.png"))
    view.close()
    win.close()
