"""Asks for the reviewer's name, once: every review decision in the project store carries it."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget


def ask_reviewer_name(parent: QWidget | None) -> str:
    """The name typed, or "" when cancelled (decisions are then stored without one, and it is asked
    again next time). A window made without a person to ask (a test) is given another `ask_reviewer`."""
    name, ok = QInputDialog.getText(
        parent, "Reviewer", "Your name, recorded with each review decision:", QLineEdit.EchoMode.Normal, ""
    )
    if parent is not None:
        # The dialog asked in the middle of a keyboard review (A, D): give the keys back to the window, as
        # not every window manager does (under a bare X server the next A was lost)
        parent.window().activateWindow()
        parent.window().raise_()
    return name.strip() if ok else ""
