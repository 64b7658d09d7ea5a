"""A study over the bundled demo images, written as JSON so a test can change any key, and created in a
store of the test's own with the tiny random model (its AI answers are arbitrary but frozen)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from medgrad_desktop.resources_path import demo_dir

BASE: dict = {
    "study": {"id": "t-study", "name": "Test study", "seed": 7, "readers": ["R01", "R02"]},
    "cases": {"folder": str(demo_dir()), "truth": str(demo_dir() / "demo_labels.csv"), "limit": 6},
    "arms": [
        {"id": "no-ai", "shows": "nothing"},
        {"id": "ai", "shows": "prediction"},
        {"id": "ai-map", "shows": "map", "method": "medgrad"},
    ],
    "design": {"washout_days": 0, "repeat_share": 0.2},
}


def deep_update(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def write_study(tmp_path) -> Callable[..., Path]:
    """write_study(changes={...}, name="study.json") -> the file, BASE with `changes` merged in."""

    def write(changes: dict | None = None, name: str = "study.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(deep_update(BASE, changes or {})))
        return path

    return write


@pytest.fixture
def make_study(tmp_path, write_study, tiny_model):
    """make_study(changes) -> (store, spec): the study created in a fresh store file."""
    from medgrad_desktop.store import ProjectStore
    from medgrad_desktop.study.create import create_study
    from medgrad_desktop.study.spec import load_spec

    def make(changes: dict | None = None):
        spec = load_spec(write_study(changes))
        store = ProjectStore(tmp_path / "study-store.sqlite3")
        create_study(spec, tiny_model, store)
        return store, spec

    return make
