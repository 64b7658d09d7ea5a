"""The build scripts are files in build/, not a package: the bundle tests load them by path, here once."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"


def load_build_module(relative: str, name: str) -> ModuleType:
    """Import build/<relative> as module `name` (a fresh copy: tests may patch it)."""
    spec = importlib.util.spec_from_file_location(name, BUILD / relative)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def cfg() -> ModuleType:
    return load_build_module("bundle_config.py", "bundle_config")
