"""Wait for the app without blocking its event loop: a headless driver (the self-test, a benchmark, a
screenshot) has no `qtbot`, so it pumps events itself until the state it waits for has arrived."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QTimer


def wait_until(
    predicate: Callable[[], object], timeout_s: float, app: QCoreApplication | None = None
) -> bool:
    """Process events until `predicate()` holds or `timeout_s` runs out; the predicate's last answer."""
    app = app or QCoreApplication.instance()
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        app.processEvents()
        if predicate():
            return True
        QTimer.singleShot(0, lambda: None)
        time.sleep(0.005)
    app.processEvents()
    return bool(predicate())
