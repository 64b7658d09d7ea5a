"""A map's stability in the real window: after the demo model's map is drawn, the line under its
caption gives the figure and its meaning, with how it was measured in the tooltip, from a job that
runs after the map's own, and the project store keeps it on the map's row; the comparison shows each
of its three maps' figures from one such job; the View menu's setting hides the lines and then no such
job is submitted."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

from medgrad_desktop.core.method_params import METHODS, default_params
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.core.stability import STABILITY_RULE, STABLE_TEXT, UNSTABLE_TEXT
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.ui import map_controller
from medgrad_desktop.ui.work.jobs import MapsStabilityRequest, compute_maps_stability
from medgrad_desktop.ui.work.worker import ModelWorker

LINE = r"Stability: (\d+\.\d\d) · (.+)"

WAIT = 60_000


@pytest.fixture
def demo_folder(demo_images):
    return demo_images(2)


def _record_submits(win) -> list[str]:
    """The kinds of the jobs the window submits to its worker, in order."""
    kinds: list[str] = []
    submit = win.worker.submit

    def recording(fn, *args, **kwargs):
        kinds.append(kwargs.get("kind", ""))
        return submit(fn, *args, **kwargs)

    win.worker.submit = recording
    return kinds


def test_the_stability_of_the_drawn_map_follows_it_with_figure_words_and_how_measured(
    qtbot, make_window, demo_model, demo_folder
):
    win = make_window(lambda weights, device: demo_model)
    kinds = _record_submits(win)
    label = win.viewers.stability_label
    map_seen_first = []

    def check():
        if label.isVisible() and label.text() != "Stability: measuring…":
            map_seen_first.append(win.viewers.viewer.map_values is not None)
            return True
        return False

    assert win.app.open_folder(demo_folder)
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
    win.app.select(0)
    qtbot.waitUntil(check, timeout=WAIT)
    assert map_seen_first == [True]  # the map was drawn before its stability arrived
    assert kinds.index("maps") < kinds.index("stability")
    m = re.fullmatch(LINE, label.text())
    assert m is not None, label.text()
    value = float(m.group(1))
    assert m.group(2) == (STABLE_TEXT if value <= STABILITY_RULE.unstable_above else UNSTABLE_TEXT)
    assert "Max-sensitivity" in label.toolTip() and "5/255" in label.toolTip()
    # the project store keeps the figure on the map's row, with its rule
    e, app = win.app.current_entry, win.app
    method, target = app.current_method, app.target_for(e)
    stored = ProjectStore.shared().map_stability(
        e.sha256, app.model.card.weights_sha256, app.params[method].to_dict(), target.key
    )
    assert stored is not None and stored[1] == STABILITY_RULE.to_json()
    assert f"{stored[0]:.2f}" == m.group(1)
    # the same map again: the figure comes from the cache, no second job
    n = kinds.count("stability")
    win.maps.show_stability()
    assert kinds.count("stability") == n and label.text() == m.group(0)
    # the comparison: each of the three maps has its line, the two new ones from one more job
    win.viewers.set_compare(True)
    lines = win.viewers.compare_stability
    qtbot.waitUntil(
        lambda: all(lines[k].isVisible() and re.fullmatch(LINE, lines[k].text()) for k in METHODS),
        timeout=WAIT,
    )
    assert kinds.count("stability") == n + 1
    assert lines[method].text() == m.group(0)  # the current method's figure, from the cache
    assert "Max-sensitivity" in lines[METHODS[0]].toolTip()


def test_the_setting_hides_the_stability_and_submits_no_job(qtbot, make_window, demo_model, demo_folder):
    win = make_window(lambda weights, device: demo_model)
    kinds = _record_submits(win)
    action = win.menus.stability_action
    assert action in win.menus.view_menu.actions() and action.isChecked()
    action.setChecked(False)
    assert win.settings.show_stability is False
    assert win.app.open_folder(demo_folder)
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
    win.app.select(0)
    qtbot.waitUntil(lambda: win.viewers.viewer.map_values is not None, timeout=WAIT)
    win.app.select(1)
    qtbot.waitUntil(lambda: win.viewers.viewer.map_values is not None, timeout=WAIT)
    qtbot.wait(200)
    assert "maps" in kinds and "stability" not in kinds
    assert not win.viewers.stability_label.isVisible()
    win.viewers.set_compare(True)
    qtbot.waitUntil(
        lambda: all(v.map_values is not None for v in win.viewers.compare_viewers.values()), timeout=WAIT
    )
    qtbot.wait(200)
    assert "stability" not in kinds
    assert not any(label.isVisible() for label in win.viewers.compare_stability.values())
    win.viewers.set_compare(False)
    # turned on again: the shown map's stability is measured and shown
    action.setChecked(True)
    qtbot.waitUntil(
        lambda: (
            win.viewers.stability_label.text().startswith("Stability: ")
            and "measuring" not in win.viewers.stability_label.text()
        ),
        timeout=WAIT,
    )
    assert kinds.count("stability") == 1


def test_a_failed_figure_is_said_under_its_own_map_and_never_under_the_next_one(
    qtbot, make_window, demo_model, demo_folder, monkeypatch
):
    win = make_window(lambda weights, device: demo_model)
    assert win.app.open_folder(demo_folder)
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
    label = win.viewers.stability_label
    win.app.select(0)
    qtbot.waitUntil(lambda: re.fullmatch(LINE, label.text()) is not None, timeout=WAIT)
    first = label.text()
    started, go = threading.Event(), threading.Event()

    def failing(req, rule=STABILITY_RULE):
        def run(ctx):
            started.set()
            go.wait(30)
            raise OSError("out of memory")

        return run

    monkeypatch.setattr(map_controller, "compute_maps_stability", failing)
    win.app.select(1)  # image 1's figure is being measured ...
    qtbot.waitUntil(started.is_set, timeout=WAIT)
    win.app.select(0)  # ... when the reader goes back to image 0, whose figure is at hand
    assert label.text() == first
    go.set()  # image 1's measurement fails: image 0's line keeps image 0's figure
    qtbot.waitUntil(lambda: win.maps._stability_job.is_finished, timeout=WAIT)
    qtbot.wait(50)
    assert label.text() == first
    win.app.select(1)  # under its own map the failure is said
    qtbot.waitUntil(lambda: label.text() == "Stability: not measured (out of memory)", timeout=WAIT)


def test_turning_the_setting_off_drops_a_figure_still_waiting_for_the_worker(
    qtbot, make_window, demo_model, demo_folder
):
    win = make_window(lambda weights, device: demo_model)
    assert win.app.open_folder(demo_folder)
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
    go = threading.Event()
    held: list = []
    submit = win.worker.submit

    def holding(fn, *args, **kwargs):
        if kwargs.get("kind") == "stability":  # the worker is busy with something else first
            submit(lambda ctx: go.wait(30), kind="busy", priority=win.worker.PRIORITY_INTERACTIVE + 5)
            held.append(submit(fn, *args, **kwargs))
            return held[-1]
        return submit(fn, *args, **kwargs)

    win.worker.submit = holding
    win.app.select(0)
    qtbot.waitUntil(lambda: bool(held), timeout=WAIT)
    win.menus.stability_action.setChecked(False)
    go.set()
    qtbot.waitUntil(lambda: held[0].is_finished, timeout=WAIT)
    assert held[0].state == "cancelled"
    assert not win.viewers.stability_label.isVisible()


def test_a_figure_asked_of_one_model_is_never_measured_with_another(qtbot, demo_model):
    worker = ModelWorker()
    worker.start()
    worker.load(lambda: demo_model)
    qtbot.waitUntil(lambda: worker.model is not None, timeout=WAIT)
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    base = np.random.default_rng(1).random((14, 14)).astype(np.float32)
    params = default_params("medgrad")
    target = Target.free_text("a lesion")
    key = ("image", "model", params, target.key)
    results: dict[str, list] = {}
    for model_sha in (demo_model.card.weights_sha256, "0" * 64):  # the loaded model, one loaded before
        req = MapsStabilityRequest("a" * 64, model_sha, rgb, target, [(key, params, base)])
        h = worker.submit(compute_maps_stability(req), kind="stability")
        got = results[model_sha] = []
        h.result.connect(got.append)
        qtbot.waitUntil(lambda h=h: h.is_finished, timeout=WAIT)
        got.append(h.state)
    worker.stop()
    assert results[demo_model.card.weights_sha256][-1] == "done"
    assert results["0" * 64] == ["cancelled"]  # no figure filed under the other model's key
