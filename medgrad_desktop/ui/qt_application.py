"""The one QApplication of the process, named and with its icon, so QSettings and the window title
agree whoever starts the GUI (the app, the self-test, a benchmark or the screenshot tool)."""

from __future__ import annotations

import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from medgrad_desktop.resources_path import resources_dir
from medgrad_desktop.ui.state.settings import APPLICATION, ORGANIZATION


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    icon = resources_dir() / "icons" / "medgrad.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app
