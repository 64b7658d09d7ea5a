"""Hostile and broken model files: a pickle that would run code is refused without running it;
truncated or garbled safetensors, the wrong architecture and missing keys give one clear error naming
the file; the app keeps working with the model it had."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from medgrad_desktop.core.checkpoint import save_checkpoint
from medgrad_desktop.core.model import ModelLoadError, load_model


class _Payload:
    """Unpickling this calls `Path.write_text(marker, ...)`: if the marker exists, code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran while loading the model"))


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory, tiny_model) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(
        tiny_model.model, path, {"name": "tiny-test", "architecture": "MedGrad-Tiny", "untrained": True}
    )
    return path


def _copy_ckpt(src: Path, dst_dir: Path, name: str = "model.safetensors", card: bool = True) -> Path:
    dst = dst_dir / name
    shutil.copy(src, dst)
    if card:
        shutil.copy(src.with_suffix(".card.json"), dst.with_suffix(".card.json"))
    return dst


def test_good_checkpoint_round_trips(tiny_ckpt: Path, tiny_model):
    clip = load_model(tiny_ckpt, device="cpu")
    a = {k: v for k, v in clip.model.state_dict().items()}
    b = tiny_model.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin", ".ckpt"])
@pytest.mark.parametrize("style", ["torch-zip", "raw-pickle", "nested-in-state-dict"])
def test_code_running_pickle_is_refused_without_running(tmp_path: Path, tiny_model, suffix: str, style: str):
    marker = tmp_path / "PWNED.txt"
    path = tmp_path / f"evil{suffix}"
    if style == "torch-zip":
        torch.save(_Payload(marker), path)
    elif style == "raw-pickle":
        path.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    else:  # real weights with one hostile object among them, the usual disguise
        state = dict(tiny_model.model.state_dict())
        state["__extra__"] = _Payload(marker)
        torch.save({"state_dict": state}, path)
    with pytest.raises(ModelLoadError) as info:
        load_model(path, device="cpu")
    assert not marker.exists(), "unpickling ran the payload"
    msg = str(info.value)
    assert str(path) in msg and ("refused" in msg or "not a readable" in msg), msg
    assert "\n" not in msg and "\x1b" not in msg, "one plain line"
    if style != "raw-pickle":
        assert "(it imports " in msg, "the message names what the file tried to import"


@pytest.mark.parametrize("cut", ["half", "header-only", "8-bytes", "3-bytes", "empty"])
def test_truncated_safetensors_is_a_clear_error(tmp_path: Path, tiny_ckpt: Path, cut: str):
    path = _copy_ckpt(tiny_ckpt, tmp_path)
    data = path.read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    keep = {"half": len(data) // 2, "header-only": 8 + header_len, "8-bytes": 8, "3-bytes": 3, "empty": 0}[
        cut
    ]
    path.write_bytes(data[:keep])
    with pytest.raises(ModelLoadError) as info:
        load_model(path, device="cpu")
    msg = str(info.value)
    assert str(path) in msg and "truncated" in msg, msg


@pytest.mark.parametrize("how", ["garbage", "huge-header-length", "bad-json-header", "wrong-dtype-offsets"])
def test_garbled_safetensors_is_a_clear_error(tmp_path: Path, tiny_ckpt: Path, how: str):
    path = _copy_ckpt(tiny_ckpt, tmp_path)
    data = bytearray(path.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    if how == "garbage":
        data = bytearray(b"\x89PNG not weights at all" * 10)
    elif how == "huge-header-length":
        data[:8] = (2**62).to_bytes(8, "little")
    elif how == "bad-json-header":
        data[8:12] = b"}}}}"
    else:
        header = json.loads(bytes(data[8 : 8 + header_len]))
        key = next(k for k in header if k != "__metadata__")
        header[key]["data_offsets"] = [0, 10**12]
        raw = json.dumps(header).encode()
        data = bytearray(len(raw).to_bytes(8, "little") + raw + data[8 + header_len :])
    path.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=str(path).replace(".", r"\.")):
        load_model(path, device="cpu")


def test_wrong_architecture_names_the_mismatch(tmp_path: Path, tiny_ckpt: Path):
    path = _copy_ckpt(tiny_ckpt, tmp_path, card=False)  # no card: the default architecture ViT-B-16
    with pytest.raises(ModelLoadError) as info:
        load_model(path, device="cpu")
    msg = str(info.value)
    assert str(path) in msg and "does not fit architecture ViT-B-16" in msg and "shape" in msg, msg
    card = path.with_suffix(".card.json")
    card.write_text(json.dumps({"architecture": "ViT-B-32"}))
    with pytest.raises(ModelLoadError, match="does not fit architecture ViT-B-32"):
        load_model(path, device="cpu")


def test_missing_and_unexpected_keys(tmp_path: Path, tiny_model):
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in tiny_model.model.state_dict().items()}
    dropped = sorted(state)[:3]
    for k in dropped:
        del state[k]
    state["visual.extra_head.weight"] = torch.zeros(2, 2)
    path = tmp_path / "partial.safetensors"
    save_file(state, str(path))
    path.with_suffix(".card.json").write_text(json.dumps({"architecture": "MedGrad-Tiny"}))
    with pytest.raises(ModelLoadError) as info:
        load_model(path, device="cpu")
    msg = str(info.value)
    assert "3 missing keys" in msg and "1 unexpected keys" in msg and str(path) in msg, msg


@pytest.mark.parametrize("card_text", ["{not json", "[1, 2", "\x00\x01"])
def test_broken_model_card_is_a_clear_error(tmp_path: Path, tiny_ckpt: Path, card_text: str):
    path = _copy_ckpt(tiny_ckpt, tmp_path)
    path.with_suffix(".card.json").write_text(card_text)
    with pytest.raises(ModelLoadError, match="model card is not valid JSON"):
        load_model(path, device="cpu")


def test_weights_path_that_is_a_folder_or_missing(tmp_path: Path):
    with pytest.raises(ModelLoadError, match="is a folder"):
        load_model(tmp_path, device="cpu")
    with pytest.raises(ModelLoadError, match="no such weights file"):
        load_model(tmp_path / "nope.safetensors", device="cpu")
    (tmp_path / "w.onnx").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="unknown weights format"):
        load_model(tmp_path / "w.onnx", device="cpu")


def test_cli_refuses_evil_pickle_with_exit_2(tmp_path: Path, capsys):
    from medgrad_desktop.cli import main

    marker = tmp_path / "PWNED.txt"
    evil = tmp_path / "evil.pt"
    torch.save(_Payload(marker), evil)
    img = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (20, 20), (120, 60, 30)).save(img)
    with pytest.raises(SystemExit) as info:
        main(["predict", str(img), "--weights", str(evil), "--device", "cpu"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "evil.pt" in err and not marker.exists()


def test_app_keeps_the_previous_model_after_each_bad_file(tmp_path: Path, tiny_ckpt: Path, app_settings):
    """Load a good model, then try each bad file through Preferences: each fails with its message
    (the model-error label and status), the previous model stays, and predictions still run."""
    pytest.importorskip("PySide6")
    from PIL import Image

    from medgrad_desktop.testing.waiting import wait_until
    from medgrad_desktop.ui.main_window import MainWindow
    from medgrad_desktop.ui.qt_application import make_app
    from medgrad_desktop.ui.work.compute import default_model_factory

    marker = tmp_path / "PWNED.txt"
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    evil = bad_dir / "evil.pt"
    torch.save(_Payload(marker), evil)
    truncated = _copy_ckpt(tiny_ckpt, bad_dir, "truncated.safetensors")
    truncated.write_bytes(truncated.read_bytes()[:1000])
    wrong_arch = _copy_ckpt(tiny_ckpt, bad_dir, "wrong-arch.safetensors", card=False)
    missing = bad_dir / "missing.safetensors"
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i in range(3):
        Image.new("RGB", (30 + i, 20), (40 * i, 100, 200)).save(imgs / f"{i}.png")

    app = make_app()
    app_settings.weights, app_settings.device = str(tiny_ckpt), "cpu"
    win = MainWindow(settings=app_settings, model_factory=default_model_factory)
    try:
        assert wait_until(lambda: win.app.model is not None or win.app.model_error, 60, app)
        good = win.app.model
        assert good is not None, win.app.model_error
        sha = good.card.weights_sha256
        for bad, phrase in [
            (evil, "refused"),
            (truncated, "truncated"),
            (wrong_arch, "does not fit"),
            (missing, "no such weights file"),
        ]:
            handle = win.app.apply_preferences(str(bad), "cpu")
            assert wait_until(lambda h=handle: h.is_finished, 60, app)
            assert handle.state == "failed"
            assert win.app.model is good and win.app.model.card.weights_sha256 == sha
            assert str(bad.name) in win.app.model_error and phrase in win.app.model_error, win.app.model_error
            assert win.statusBar().currentMessage().startswith("Model not loaded: ")
        assert not marker.exists()
        win.app.open_folder(imgs)
        assert wait_until(lambda: win.app.entries and all(e.done for e in win.app.entries), 60, app)
        assert all(e.prediction is not None and e.prediction.model_sha256 == sha for e in win.app.entries)
    finally:
        win.shutdown()
        win.close()
        app.processEvents()
