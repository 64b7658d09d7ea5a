"""Fixtures the window tests on the bundled demo model share."""

from __future__ import annotations

import pytest

from medgrad_desktop.core.model import load_model


@pytest.fixture(scope="module")
def demo_model():
    """The bundled demo model, loaded once per test file. It ships in the repository: a load that fails is a
    failing test, never a skip."""
    return load_model(None, device="cpu")
