"""Plots as files: matplotlib on its Agg backend (no window, no Qt) and figures written atomically.

The backend is chosen when a plot is first made, not when a module is imported, so importing an
evaluation or training module never changes matplotlib's global state for the app around it.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import matplotlib

from medgrad_desktop.atomic import write_atomic

if TYPE_CHECKING:  # matplotlib.figure loads most of matplotlib; only the type is needed here
    from matplotlib.figure import Figure


def pyplot() -> ModuleType:
    """matplotlib's pyplot on the Agg backend."""
    matplotlib.use("Agg")
    # pyplot binds its backend when first imported, so it can only be imported after `use`
    import matplotlib.pyplot as plt

    return plt


def save_figure(
    fig: Figure,
    path: Path | str,
    *,
    dpi: float | None = None,
    rect: tuple[float, float, float, float] | None = None,
) -> Path:
    """Lay out `fig` (`rect`: the area `tight_layout` may fill), write it atomically in the format of
    the file's suffix, and close it so many plots do not pile up figures."""
    path = Path(path)
    fig.tight_layout(rect=rect)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", dpi=dpi if dpi is not None else "figure")
    pyplot().close(fig)
    return write_atomic(path, buf.getvalue())
