"""The app's data folder (review state, audit log, caches). `MEDGRAD_DATA_DIR` overrides it, which
tests use to stay out of the user's real folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    override = os.environ.get("MEDGRAD_DATA_DIR")
    if override:
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "MedGradDesktop"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "MedGradDesktop"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "MedGradDesktop"
    base.mkdir(parents=True, exist_ok=True)
    return base
