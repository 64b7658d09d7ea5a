"""While 40 images are processed, the UI thread keeps ticking: a 10 ms timer never waits long.

The design goal is 100 ms (51 ms was measured); the assertion allows twice that, because CI machines
are small and shared. `benchmarks/ui_responsiveness.py` records the measured figure in docs/BENCHMARKS.md.
"""

from __future__ import annotations

from medgrad_desktop.testing.responsiveness import measure_gaps
from medgrad_desktop.testing.sample_images import write_sample_folder

BOUND_MS = 100
MARGIN = 2  # CI runners are shared and slow; a real freeze (the model on the UI thread) is seconds


def test_ui_thread_never_waits_long_while_40_images_are_processed(qtbot, tmp_path, make_window):
    folder = tmp_path / "forty"
    write_sample_folder(folder, 40, size=(640, 480))
    win = make_window()
    report = measure_gaps(win, folder, timeout_s=300)
    print(report)
    assert report.analysed == 40
    assert report.maps_shown >= 1  # the simulated user saw overlays while the batch ran
    assert report.stability_shown >= 1  # and their stability, computed after each map, is measured too
    assert report.worst_gap_ms < BOUND_MS * MARGIN, report


def test_a_12_megapixel_photo_does_not_freeze_the_ui(qtbot, tmp_path, make_window):
    """Decoding and format conversion happen in the worker; the UI thread only copies a pixmap."""
    folder = tmp_path / "big"
    write_sample_folder(folder, 1, size=(4000, 3000))
    win = make_window()
    report = measure_gaps(win, folder, timeout_s=300)
    qtbot.waitUntil(lambda: win.viewers.viewer.map_values is not None, timeout=60_000)
    assert win.viewers.viewer.image_size == (4000, 3000)
    assert win.viewers.viewer.map_values.shape[1] <= 768  # the overlay is coloured at a capped size
    assert report.worst_gap_ms < BOUND_MS * MARGIN, report
