"""Fixtures the window tests on the bundled demo model share."""

from __future__ import annotations

import pytest

from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.core.model import load_model
from medgrad_desktop.resources_path import demo_dir


@pytest.fixture(scope="module")
def demo_model():
    """The bundled demo model, loaded once per test file. It ships in the repository: a load that fails is a
    failing test, never a skip."""
    return load_model(None, device="cpu")


@pytest.fixture
def demo_images(tmp_path):
    """A folder with copies of the first `n` bundled demo images (they ship in the repository)."""

    def copy(n: int):
        images = list_images(demo_dir())[:n]
        assert images, f"no demo images in {demo_dir()}"
        out = tmp_path / "demo"
        out.mkdir()
        for p in images:
            (out / p.name).write_bytes(p.read_bytes())
        return out

    return copy
