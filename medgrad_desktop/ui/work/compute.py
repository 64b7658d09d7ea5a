"""The torch side of the app: everything a worker job calls that needs torch or open_clip.

The window never imports this module: `ModelWorker.compute` imports it in the worker thread when the
first job needs it (the model load), so the window and the folder's thumbnails are on screen while
torch is still loading. Jobs reach it as `ctx.compute`.
"""

from __future__ import annotations

import torch

from medgrad_desktop.core.card import DEMO_MISSING_NOTE
from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.explain import analyze, analyze_batch
from medgrad_desktop.core.explain.stability import measure_stability
from medgrad_desktop.core.fallback import run_with_fallback
from medgrad_desktop.core.model import ClipModel, ModelLoadError, load_model
from medgrad_desktop.reports.export import export_report
from medgrad_desktop.ui.selftest.report_check import check_report

__all__ = [
    "analyze",
    "analyze_batch",
    "check_report",
    "classify",
    "default_model_factory",
    "export_report",
    "measure_stability",
    "run_with_fallback",
    "use_threads",
]


def default_model_factory(weights: str, device: str) -> ClipModel:
    """The chosen weights, or the bundled demo model; if the demo is missing, an untrained tiny model
    whose card says so (the UI then shows the UNTRAINED warning everywhere)."""
    if weights:
        return load_model(weights, device=device)
    try:
        return load_model(None, device=device)
    except ModelLoadError:
        clip = load_model(random_init=True, architecture="MedGrad-Tiny", device=device)
        clip.card.extra["notes"] = DEMO_MISSING_NOTE
        return clip


def use_threads(n: int) -> None:
    """Let torch's intra-op pool use `n` threads (the app leaves one core to the UI thread)."""
    torch.set_num_threads(max(1, n))
