"""Survive a GPU running out of memory: redo that one image on a CPU copy of the model.

Why: a clinician's batch must not stop because one very large image (or a busy GPU shared with another
program) overflowed the GPU. The failed image is recomputed on the CPU, slower but the same numbers up
to float rounding, and a one-line message says so; the next image goes back to the GPU. The CPU copy is
made once per model and kept, so a second OOM does not copy the weights again, and the GPU model is
never moved (moving it back could fail for the same reason).

Usage::

    result = run_with_fallback(clip, lambda m: analyze(m, rgb, targets, params), on_fallback=print)
"""

from __future__ import annotations

import copy
import gc
import weakref
from collections.abc import Callable
from typing import TypeVar

import torch

from medgrad_desktop.core.model import ClipModel

T = TypeVar("T")

OOM_ERRORS: tuple[type[BaseException], ...] = (torch.cuda.OutOfMemoryError,)

_cpu_copies: weakref.WeakKeyDictionary[ClipModel, ClipModel] = weakref.WeakKeyDictionary()


def is_oom(exc: BaseException) -> bool:
    """True for a CUDA out-of-memory error, including the plain RuntimeError older drivers raise."""
    if isinstance(exc, OOM_ERRORS):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def cpu_copy(clip: ClipModel) -> ClipModel:
    """A `ClipModel` on the CPU sharing card, catalogue and tokenizer with `clip`, whose weights are CPU
    copies. Built without allocating anything on the GPU: every parameter and buffer is copied straight
    to host memory (a plain `deepcopy` would first duplicate them on the full GPU)."""
    if clip.device.type == "cpu":
        return clip
    cached = _cpu_copies.get(clip)
    if cached is not None:
        return cached
    memo: dict[int, object] = {}
    for p in clip.model.parameters():
        memo[id(p)] = torch.nn.Parameter(p.detach().to("cpu", copy=True), requires_grad=p.requires_grad)
    for b in clip.model.buffers():
        memo[id(b)] = b.detach().to("cpu", copy=True)
    model = copy.deepcopy(clip.model, memo)
    twin = copy.copy(clip)
    twin.model = model.eval()
    twin.device = torch.device("cpu")
    twin._text_cache = {k: v.detach().to("cpu") for k, v in clip._text_cache.items()}
    _cpu_copies[clip] = twin
    return twin


def free_gpu_memory() -> None:
    """Release what the failed pass left behind so the next image can use the GPU again."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_with_fallback(
    clip: ClipModel,
    fn: Callable[[ClipModel], T],
    *,
    on_fallback: Callable[[str], None] | None = None,
    what: str = "this image",
) -> T:
    """`fn(clip)`; if it runs out of GPU memory, `fn(cpu_copy(clip))` once, after calling
    `on_fallback(message)`. Any other error, or an OOM on the CPU copy, propagates unchanged."""
    try:
        return fn(clip)
    except Exception as exc:
        if not is_oom(exc):
            raise
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    free_gpu_memory()
    message = (
        f"{what}: the GPU ran out of memory ({first_line}); computed on the CPU instead (slower, same method)"
    )
    if on_fallback is not None:
        on_fallback(message)
    return fn(cpu_copy(clip))
