"""Third-party notices: what the app carries and under which licences (Help > About > Licences).

The bundle build writes THIRD-PARTY-NOTICES.txt from exactly the files it collected (build/notices.py);
the frozen app shows that file. Run from source there is no such file, so the notices are made on the
fly from the app's installed runtime requirements, the same entries for the same environment.
"""

from __future__ import annotations

import importlib.metadata as md
import sys
from pathlib import Path

from medgrad_desktop import __version__
from medgrad_desktop.licences.components import (
    APP_DISTRIBUTION,
    Component,
    app_requirements,
    from_distribution,
    requirement_closure,
)
from medgrad_desktop.licences.render import NOTICES_NAME, component_names, render

__all__ = ["NOTICES_NAME", "bundled_notices_path", "component_names", "notices_text", "source_notices"]


def bundled_notices_path() -> Path | None:
    """The notices file of a frozen app: in its data folder (`_MEIPASS`; on macOS the .app's
    Resources), or beside the executable; None when not frozen or missing."""
    if not getattr(sys, "frozen", False):
        return None
    candidates = [
        Path(getattr(sys, "_MEIPASS", "")) / NOTICES_NAME,
        Path(sys.executable).parent / NOTICES_NAME,
    ]
    return next((p for p in candidates if p.is_file()), None)


def runtime_components() -> list[Component]:
    """Every installed distribution the app's runtime requirements pull in (not the app itself)."""
    dists = requirement_closure(app_requirements())
    dists.pop(APP_DISTRIBUTION, None)
    return [from_distribution(d) for d in dists.values()]


def source_notices() -> str:
    """The notices for a run from source: the runtime requirements as installed in this environment."""
    return render(
        runtime_components(),
        f"MedGrad Desktop {__version__}: third-party notices",
        [
            f"Made on the fly from the Python environment at {sys.prefix} (the app is not a bundle), from "
            "the app's runtime requirements as installed: a bundle lists exactly the files it carries."
        ],
    )


def notices_text() -> str:
    """The frozen app's notices file, or notices made from the environment when run from source."""
    path = bundled_notices_path()
    if path is not None:
        return path.read_text(encoding="utf-8")
    if getattr(sys, "frozen", False):
        return f"{NOTICES_NAME} is missing from this bundle: the build did not write it."
    try:
        return source_notices()
    except md.PackageNotFoundError:
        return f"{APP_DISTRIBUTION} is not installed (pip install -e .): its requirements are unknown."
