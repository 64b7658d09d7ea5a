"""Help > About names the version and offers the third-party licences; the Licences button shows the
notices (made from this environment when run from source, the bundle's file when frozen)."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QPushButton

from medgrad_desktop import __version__
from medgrad_desktop.ui.dialogs.licences_dialog import LicencesDialog


def test_about_has_a_licences_button_that_shows_the_notices(qtbot, make_window):
    win = make_window()
    win.menus.show_about()
    box = next(b for b in win.findChildren(QMessageBox) if b.windowTitle() == "About MedGrad Desktop")
    assert f"MedGrad Desktop {__version__}" in box.text()
    button = next(b for b in box.findChildren(QPushButton) if b.text() == "Licences…")
    button.click()
    qtbot.waitUntil(lambda: bool(win.findChildren(LicencesDialog)), timeout=60_000)
    dlg = win.findChildren(LicencesDialog)[0]
    text = dlg.view.toPlainText()
    assert "Component: PySide6_Essentials" in text and "Replacing the Qt libraries" in text
    assert "Component: torch " in text and "third-party components" in dlg.summary.text()
    assert dlg.view.isReadOnly()
    dlg.close()
