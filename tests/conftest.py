"""Test setup: offscreen Qt, no hub access, few threads, shared tiny and real models."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
# a fresh data folder per test session: the project store must not carry predictions from an earlier run
os.environ.setdefault("MEDGRAD_DATA_DIR", tempfile.mkdtemp(prefix="medgrad-test-data-"))
SESSION_DATA_DIR = os.environ["MEDGRAD_DATA_DIR"]

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))

HAM_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ham10000-sample"


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory, monkeypatch) -> Path:
    """Each test gets its own data folder (review state, audit log, project store), unless a module- or
    class-wide fixture chose one, so the store never answers one test with another's predictions or
    decisions; the stores a test opened are closed after it."""
    if os.environ.get("MEDGRAD_DATA_DIR") == SESSION_DATA_DIR:
        monkeypatch.setenv("MEDGRAD_DATA_DIR", str(tmp_path_factory.mktemp("appdata")))
    yield Path(os.environ["MEDGRAD_DATA_DIR"])
    from medgrad_desktop.store import ProjectStore

    ProjectStore.close_all()


@pytest.fixture(scope="session")
def tiny_model():
    from medgrad_desktop.core.model import load_model

    return load_model(random_init=True, architecture="MedGrad-Tiny", device="cpu", seed=0)


@pytest.fixture(scope="session")
def vit_b16():
    from medgrad_desktop.core.model import load_model

    return load_model(random_init=True, architecture="ViT-B-16", device="cpu", seed=0)


@pytest.fixture(scope="session")
def ham_dir() -> Path:
    if not (HAM_DIR / "images").is_dir():
        pytest.skip(f"HAM10000 sample not found at {HAM_DIR}")
    return HAM_DIR


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def demo_like_weights(tmp_path, tiny_model) -> Path:
    """A checkpoint whose card embeds its own small catalogue without criteria, as the demo model's
    card does: every list the app and reports show must follow the card, not resources/catalogue.json."""
    import json

    from medgrad_desktop.core.checkpoint import save_checkpoint
    from medgrad_desktop.resources_path import resources_dir

    cat = json.loads((resources_dir() / "catalogue.json").read_text())
    cat["classes"] = [
        c for c in cat["classes"] if c["id"] in ("melanoma", "common_nevus", "seborrheic_keratosis")
    ]
    cat["criteria"] = []
    return save_checkpoint(
        tiny_model.model,
        tmp_path / "demo-like.safetensors",
        {
            "name": "demo-like",
            "architecture": "MedGrad-Tiny",
            "arch_config": tiny_model.card.arch_config,
            "demo": True,
            "catalogue_data": cat,
        },
    )


@pytest.fixture
def app_settings(tmp_path):
    """The app's settings in this test's own .ini file, never the user's."""
    from medgrad_desktop.ui.state.settings import AppSettings

    return AppSettings.at(tmp_path / "settings.ini")


class ReviewerPrompt:
    """Stands in for the person asked for the reviewer's name (a window's `ask_reviewer`): gives
    `answer` ("" declines) and counts how often it was asked."""

    def __init__(self, answer: str = ""):
        self.answer = answer
        self.asked = 0

    def __call__(self) -> str:
        self.asked += 1
        return self.answer


@pytest.fixture
def reviewer_prompt() -> ReviewerPrompt:
    """The reviewer-name prompt of the windows `make_window` makes: a test has no person to type a name,
    and a real dialog would wait for one."""
    return ReviewerPrompt()


@pytest.fixture
def make_window(qtbot, app_settings, tiny_model, reviewer_prompt):
    """Make the real main window, shown and exposed, on `app_settings` (or `settings`) with the tiny
    model (or `factory(weights, device)`) and `reviewer_prompt` for the reviewer's name; it returns once
    the model is in use unless `wait_model` is False. Every window made is closed by qtbot at the end of
    the test."""
    from medgrad_desktop.ui.main_window import MainWindow

    def make(factory=None, wait_model: bool = True, settings=None) -> MainWindow:
        win = MainWindow(
            settings=settings or app_settings,
            model_factory=factory or (lambda weights, device: tiny_model),
            ask_reviewer=reviewer_prompt,
        )
        qtbot.addWidget(win)
        win.resize(1400, 860)
        win.show()
        win.activateWindow()
        qtbot.waitExposed(win)
        if wait_model:
            qtbot.waitUntil(lambda: win.app.model is not None, timeout=60_000)
        return win

    return make
