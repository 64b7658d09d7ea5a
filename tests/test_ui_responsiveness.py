"""While 40 images are processed, the UI thread keeps ticking: a 10 ms timer never waits long.

The design goal is 100 ms; the assertion allows a generous margin because CI machines are small and
shared. `benchmarks/ui_responsiveness.py` records the measured figure in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from medgrad_desktop.ui.main_window import MainWindow
from medgrad_desktop.ui.responsiveness import measure_gaps
from medgrad_desktop.ui.sample_images import write_sample_folder
from medgrad_desktop.ui.settings import AppSettings

BOUND_MS = 100
MARGIN = 5  # CI runners are shared and slow; a real freeze (the model on the UI thread) is seconds


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGRAD_DATA_DIR", str(tmp_path / "appdata"))


def _shown_window_with_model(qtbot, tmp_path, tiny_model) -> MainWindow:
    """The real main window, shown, with fresh settings, once its model has loaded."""
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings=settings, model_factory=lambda w, d: tiny_model)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model is not None, timeout=60_000)
    return win


def test_ui_thread_never_waits_long_while_40_images_are_processed(qtbot, tmp_path, tiny_model):
    folder = tmp_path / "forty"
    write_sample_folder(folder, 40, size=(640, 480))
    win = _shown_window_with_model(qtbot, tmp_path, tiny_model)
    report = measure_gaps(win, folder, timeout_s=300)
    print(report)
    assert report.analysed == 40
    assert report.maps_shown >= 1  # the simulated user saw overlays while the batch ran
    assert report.worst_gap_ms < BOUND_MS * MARGIN, report


def test_a_12_megapixel_photo_does_not_freeze_the_ui(qtbot, tmp_path, tiny_model):
    """Decoding and format conversion happen in the worker; the UI thread only copies a pixmap."""
    folder = tmp_path / "big"
    write_sample_folder(folder, 1, size=(4000, 3000))
    win = _shown_window_with_model(qtbot, tmp_path, tiny_model)
    report = measure_gaps(win, folder, timeout_s=300)
    qtbot.waitUntil(lambda: win.viewer.map_values is not None, timeout=60_000)
    assert win.viewer.image_size == (4000, 3000)
    assert win.viewer.map_values.shape[1] <= 768  # the overlay is coloured at a capped size
    assert report.worst_gap_ms < BOUND_MS * MARGIN, report
