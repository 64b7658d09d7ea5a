"""MedGrad's form is named in plain words where a user chooses it: the parameters dialog and the
method box's tooltip; every form can be chosen there and is kept."""

from __future__ import annotations

import pytest

from medgrad_desktop.core.explain import MedGradParams
from medgrad_desktop.core.method_params import COMBINE_FORMS


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "appdata"
    d.mkdir()
    monkeypatch.setenv("MEDGRAD_DATA_DIR", str(d))
    return d


def test_dialog_offers_every_form_in_plain_words(qtbot):
    from PySide6.QtCore import Qt

    from medgrad_desktop.ui.dialogs.params_dialog import ParamsDialog

    dlg = ParamsDialog(MedGradParams())
    qtbot.addWidget(dlg)
    box = dlg.editors["combine"]
    labels = {box.itemData(i): box.itemText(i) for i in range(box.count())}
    assert set(labels) == set(COMBINE_FORMS)
    assert labels["replace"] == "replace: literal slide equation"
    for i in range(box.count()):
        assert box.itemData(i, Qt.ItemDataRole.ToolTipRole) == COMBINE_FORMS[box.itemData(i)]
    for form in COMBINE_FORMS:
        box.setCurrentIndex(box.findData(form))
        assert dlg.params() == MedGradParams(combine=form)


def test_method_tooltip_names_the_current_form(qtbot, make_window):
    from PySide6.QtCore import Qt

    win = make_window()
    win.app.set_method("medgrad")
    combo = win.menus.method_combo
    default = MedGradParams()
    assert default.form_description in combo.toolTip()
    win.app.set_params("medgrad", MedGradParams(combine="pixel"))
    assert COMBINE_FORMS["pixel"] in combo.toolTip()
    assert COMBINE_FORMS["pixel"] in combo.itemData(2, Qt.ItemDataRole.ToolTipRole)
    win.app.set_params("medgrad", default)
    assert default.form_description in combo.toolTip()


@pytest.mark.parametrize("field", ["entropy_radius", "alpha", "entropy_levels", "entropy_smooth"])
def test_every_number_the_dialog_allows_is_a_valid_weight(qtbot, field):
    """The dialog's range for each entropy-weight number is one MedGradParams accepts at both ends, so
    the dialog cannot produce a setting that fails when the map is drawn."""
    from medgrad_desktop.ui.dialogs.params_dialog import ParamsDialog

    dlg = ParamsDialog(MedGradParams())
    qtbot.addWidget(dlg)
    box = dlg.editors[field]
    for end in (box.minimum(), box.maximum()):
        box.setValue(end)
        assert getattr(dlg.params(), field) == end
