"""Odd and hostile image files, generated here, through `load_image`, `medgrad predict`, the report CSV
and the app's prediction path. Each file either decodes to the right pixels (EXIF orientation applied
to the image and its heatmap alike) or gives one error naming the file and the cause; the batch goes
on and every other result is kept.

`write_hostile_folder` is also used by the no-network, determinism and fault tests.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.core.imageio import ImageLoadError, display_name, list_images, load_image

TINY = ["--random-init", "--arch", "MedGrad-Tiny", "--device", "cpu"]


def smooth_rgb(h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth, asymmetric picture (JPEG keeps it to within a few levels; every flip changes it)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 40 + 180 * x / max(w - 1, 1)
    g = 30 + 160 * y / max(h - 1, 1)
    b = 60 + 120 * ((x + 2 * y) / max(w + 2 * h - 3, 1))
    return np.dstack([r, g, b]).round().astype(np.uint8)


def noisy_rgb(h: int = 30, w: int = 50, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def _jpeg_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    return buf.getvalue()


NOT_UTF8 = os.fsdecode(b"not-utf8-\xff.png")  # Linux names are bytes; this one is not valid UTF-8

# name -> None (must decode; checked by check_pixels) or a phrase the error must contain
EXPECTED: dict[str, str | None] = {
    "empty.jpg": "empty (0 bytes)",
    "truncated.jpg": "truncated or damaged",
    "truncated.png": "truncated or damaged",
    "text-file.jpg": "not a readable image",
    "bomb-200MP.png": "too large",
    "gray16.png": None,
    "gray16.tif": None,
    "rgb16.png": None,
    "rgb16.tif": None,
    "cmyk.jpg": None,
    "palette.png": None,
    "rgba.png": None,
    "gray.png": None,
    "animated.gif": None,
    "lossless.webp": None,
    "ph2-style.bmp": None,
    "one-pixel.png": None,
    "wide-10000x200.png": None,
    "name with spaces é ü 🩺.png": None,
    NOT_UTF8: None,
    "link-loop-a.jpg": "symbolic link loop",
    "link-loop-b.jpg": "symbolic link loop",
    "dangling-link.png": "does not exist",
}


def write_hostile_folder(d: Path) -> dict[str, str | None]:
    """Create every case of `EXPECTED` in `d` (plus a folder symlink loop `sub/up -> ..`)."""
    import cv2

    d.mkdir(parents=True, exist_ok=True)
    rgb = smooth_rgb()
    (d / "empty.jpg").write_bytes(b"")
    jpg, png = _jpeg_bytes(rgb), _png_bytes(rgb)
    (d / "truncated.jpg").write_bytes(jpg[: len(jpg) // 2])
    (d / "truncated.png").write_bytes(png[: len(png) // 2])
    (d / "text-file.jpg").write_text("patient notes, not an image\n")
    Image.new("1", (20000, 10000)).save(d / "bomb-200MP.png", optimize=True)  # 200 MP header, ~30 kB
    gray16 = (np.arange(48 * 64).reshape(48, 64) * 21).astype(np.uint16)
    Image.fromarray(gray16).save(d / "gray16.png")
    Image.fromarray(gray16).save(d / "gray16.tif")
    rgb16 = rgb.astype(np.uint16) * 257
    assert cv2.imwrite(str(d / "rgb16.png"), rgb16[:, :, ::-1])
    assert cv2.imwrite(str(d / "rgb16.tif"), rgb16[:, :, ::-1])
    Image.fromarray(rgb).convert("CMYK").save(d / "cmyk.jpg", quality=95)
    Image.fromarray(rgb).convert("P").save(d / "palette.png")
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, : rgb.shape[1] // 2] = 0  # left half transparent
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(d / "rgba.png")
    Image.fromarray(rgb).convert("L").save(d / "gray.png")
    frames = [Image.fromarray(rgb).convert("P"), Image.fromarray(rgb[::-1].copy()).convert("P")]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    Image.fromarray(rgb).save(d / "lossless.webp", lossless=True)
    Image.fromarray(rgb).save(d / "ph2-style.bmp")
    Image.fromarray(np.array([[[200, 100, 50]]], np.uint8)).save(d / "one-pixel.png")
    wide = np.dstack([np.tile(np.linspace(0, 255, 10000).astype(np.uint8), (200, 1))] * 3)
    Image.fromarray(wide).save(d / "wide-10000x200.png")
    Image.fromarray(rgb).save(d / "name with spaces é ü 🩺.png")
    Image.fromarray(rgb).save(d / NOT_UTF8)
    os.symlink("link-loop-b.jpg", d / "link-loop-a.jpg")
    os.symlink("link-loop-a.jpg", d / "link-loop-b.jpg")
    os.symlink("missing.png", d / "dangling-link.png")
    (d / "sub").mkdir(exist_ok=True)
    os.symlink("..", d / "sub" / "up")  # a folder loop for recursive listings
    return dict(EXPECTED)


def check_pixels(name: str, out: np.ndarray) -> None:
    """What each decodable case must look like (independent of how the loader gets there)."""
    rgb = smooth_rgb()
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    if name in (
        "rgb16.png",
        "rgb16.tif",
        "lossless.webp",
        "ph2-style.bmp",
        "name with spaces é ü 🩺.png",
        NOT_UTF8,
    ):
        assert np.abs(out.astype(int) - rgb).max() <= 1, name
    elif name in ("gray16.png", "gray16.tif"):
        ref = np.round(np.arange(48 * 64).reshape(48, 64) * 21 / 65535 * 255)
        assert np.abs(out[:, :, 0].astype(int) - ref).max() <= 1
        assert (out[:, :, 0] == out[:, :, 1]).all() and (out[:, :, 1] == out[:, :, 2]).all()
    elif name == "cmyk.jpg":
        assert out.shape == rgb.shape and np.abs(out.astype(int) - rgb).mean() < 6
    elif name == "palette.png":
        assert (out == np.asarray(Image.fromarray(rgb).convert("P").convert("RGB"))).all()
    elif name == "rgba.png":
        w2 = rgb.shape[1] // 2
        assert (out[:, :w2] == 255).all(), "transparent pixels go on white"
        assert (out[:, w2:] == rgb[:, w2:]).all()
    elif name == "gray.png":
        assert (out == np.asarray(Image.fromarray(rgb).convert("L"))[:, :, None]).all()
    elif name == "animated.gif":
        first = np.asarray(Image.fromarray(rgb).convert("P").convert("RGB")).astype(int)
        assert out.shape == rgb.shape and np.abs(out.astype(int) - first).mean() < 3, "the first frame"
    elif name == "one-pixel.png":
        assert out.shape == (1, 1, 3) and out[0, 0].tolist() == [200, 100, 50]
    elif name == "wide-10000x200.png":
        assert out.shape == (200, 10000, 3) and out[0, 0, 0] == 0 and out[0, -1, 0] == 255
    else:
        raise AssertionError(f"no pixel check for {name}")


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    write_hostile_folder(d)
    return d


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_image_decodes_or_names_file_and_cause(hostile_dir: Path, name: str):
    expected = EXPECTED[name]
    if expected is None:
        img = load_image(hostile_dir / name)
        check_pixels(name, img.rgb)
        assert len(img.sha256) == 64
    else:
        with pytest.raises(ImageLoadError) as info:
            load_image(hostile_dir / name)
        msg = str(info.value)
        assert msg.startswith(f"{name}: "), msg
        assert expected in msg, msg
        assert "\n" not in msg


def test_listing_survives_folder_and_file_symlink_loops(hostile_dir: Path):
    flat = list_images(hostile_dir)
    deep = list_images(hostile_dir, recursive=True)
    names = {p.name for p in flat}
    assert set(EXPECTED) <= names
    assert len(deep) == len(flat), "the folder loop sub/up -> .. must not list the images twice"


def test_unreadable_file_is_a_per_file_error(tmp_path: Path, monkeypatch):
    """Root reads a chmod-000 file, so as root the permission error is injected at open()."""
    p = tmp_path / "secret.png"
    Image.fromarray(smooth_rgb()).save(p)
    if os.geteuid() != 0:
        p.chmod(0)
    else:
        import builtins

        real_open = builtins.open

        def deny(file, *a, **k):
            if Path(str(file)) == p:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *a, **k)

        monkeypatch.setattr(builtins, "open", deny)
    with pytest.raises(ImageLoadError, match=r"^secret\.png: cannot be read \(permission denied\)"):
        load_image(p)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["png", "jpg", "webp", "tif"])
def test_exif_orientation_applies_to_image_and_heatmap(
    tmp_path: Path, tiny_model, fmt: str, orientation: int
):
    """The stored pixels are the upright picture transformed as EXIF 1-8 describe (written with numpy
    from the EXIF specification, not with the loader's table); the loader must undo it, and the map of
    the oriented file must equal the map of the upright picture, at the upright size."""
    from medgrad_desktop.core.explain import analyze, default_params

    up = noisy_rgb() if fmt != "jpg" else smooth_rgb(30, 50)
    stored = {
        1: up,
        2: up[:, ::-1],
        3: up[::-1, ::-1],
        4: up[::-1],
        5: up.transpose(1, 0, 2),
        6: np.rot90(up, 1),
        7: np.rot90(up, 2).transpose(1, 0, 2),
        8: np.rot90(up, -1),
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.{fmt}"
    kw = {"lossless": True} if fmt == "webp" else {"quality": 98, "subsampling": 0} if fmt == "jpg" else {}
    Image.fromarray(np.ascontiguousarray(stored)).save(path, exif=exif.tobytes(), **kw)
    img = load_image(path)
    assert img.exif_orientation == orientation
    assert img.rgb.shape == up.shape
    tol = 3.0 if fmt == "jpg" else 0.0
    assert np.abs(img.rgb.astype(int) - up).mean() <= tol
    params = [default_params("medgrad")]
    target = tiny_model.catalogue.class_targets()[0]
    h_file = analyze(tiny_model, img.rgb, [target], params).get("medgrad", target)
    assert h_file.image_map.shape == up.shape[:2]
    if fmt != "jpg":
        h_up = analyze(tiny_model, up, [target], params).get("medgrad", target)
        np.testing.assert_array_equal(h_file.image_map, h_up.image_map)


def test_exif_orientation_of_16_bit_png(tmp_path: Path):
    """16-bit RGB is decoded by OpenCV, a separate path: orientation must still be applied."""
    import cv2

    up = smooth_rgb(30, 50)
    stored = np.ascontiguousarray(np.rot90(up, 1))  # orientation 6
    p16 = tmp_path / "plain16.png"
    assert cv2.imwrite(str(p16), (stored.astype(np.uint16) * 257)[:, :, ::-1])
    exif = Image.Exif()
    exif[0x0112] = 6
    with Image.open(p16) as im:  # the eXIf chunk is spliced in by hand: a PIL re-save would drop 16 bits
        if im.mode not in ("RGB", "RGBA"):
            pytest.skip(f"Pillow opens 16-bit RGB PNG as {im.mode}")
    import struct
    import zlib

    raw = p16.read_bytes()
    data = exif.tobytes()
    data = data[6:] if data.startswith(b"Exif\x00\x00") else data
    body = b"eXIf" + data
    chunk = struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    idat = raw.index(b"IDAT") - 4  # the eXIf chunk goes before the image data
    p = tmp_path / "rot16.png"
    p.write_bytes(raw[:idat] + chunk + raw[idat:])
    img = load_image(p)
    assert img.exif_orientation == 6
    assert np.abs(img.rgb.astype(int) - up).max() <= 1


# ------------------------------------------------------------------ the batch paths


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from medgrad_desktop.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_predict_reports_each_bad_file_and_keeps_the_rest(hostile_dir: Path, capsys):
    code, out, err = _cli(["predict", str(hostile_dir), "--json", *TINY], capsys)
    assert code == 0, err
    rows = {Path(r["file"]).name: r for r in json.loads(out)["results"]}
    assert set(rows) == set(EXPECTED), "every listed file gives exactly one row"
    for name, expected in EXPECTED.items():
        r = rows[name]
        if expected is None:
            assert "error" not in r and r["predicted"], name
            assert 0.0 <= r["confidence"] <= 1.0
        else:
            assert r["error"].startswith(f"{name}: ") and expected in r["error"], r
    code, out, err = _cli(["predict", str(hostile_dir), *TINY], capsys)
    assert code == 0
    for name, expected in EXPECTED.items():
        if expected is None:
            assert f"{display_name(name)}: " in out
        else:
            assert f"ERROR  {name}: " in err and expected in err


def test_cli_predict_file_deleted_during_batch(tmp_path: Path, capsys, monkeypatch):
    """The folder is listed, then a file disappears before its turn: that file gets an error, the
    others are classified."""
    import medgrad_desktop.commands.predict as predict_cmd

    for i in range(4):
        Image.fromarray(noisy_rgb(seed=i)).save(tmp_path / f"img{i}.png")
    real = predict_cmd.list_images

    def list_then_delete(folder, recursive=False):
        found = real(folder, recursive)
        (tmp_path / "img2.png").unlink()
        return found

    monkeypatch.setattr(predict_cmd, "list_images", list_then_delete)
    code, out, err = _cli(["predict", str(tmp_path), "--json", "--batch-size", "2", *TINY], capsys)
    assert code == 0, err
    rows = {Path(r["file"]).name: r for r in json.loads(out)["results"]}
    assert rows["img2.png"]["error"] == "img2.png: no longer exists (moved or deleted?); reopen the folder"
    assert all(rows[f"img{i}.png"].get("predicted") for i in (0, 1, 3))


def test_cli_predict_missing_argument_file(tmp_path: Path, capsys):
    Image.fromarray(noisy_rgb()).save(tmp_path / "ok.png")
    code, out, _ = _cli(
        ["predict", str(tmp_path / "ok.png"), str(tmp_path / "nope.jpg"), "--json", *TINY], capsys
    )
    rows = {Path(r["file"]).name: r for r in json.loads(out)["results"]}
    assert code == 0 and rows["ok.png"]["predicted"]
    assert rows["nope.jpg"]["error"].startswith("nope.jpg: no longer exists")


def test_report_csv_lists_bad_files_with_their_cause(hostile_dir: Path, tmp_path: Path, capsys):
    import csv

    out_dir = tmp_path / "rep"
    code, _, err = _cli(
        ["report", str(hostile_dir), "--out", str(out_dir), "--format", "csv", "--no-deidentify", *TINY],
        capsys,
    )
    assert code == 0, err
    with open(out_dir / "report.csv", encoding="utf-8", newline="") as f:
        rows = {r["image"]: r for r in csv.DictReader(f)}
    assert set(rows) == {display_name(n) for n in EXPECTED}
    assert "not-utf8-\ufffd.png" in rows, "a non-UTF-8 name is shown with U+FFFD, not a crash"
    for name, expected in EXPECTED.items():
        r = rows[display_name(name)]
        if expected is None:
            assert r["error"] == "" and r["predicted_id"], name
        else:
            assert expected in r["error"] and r["predicted_id"] == "", r
            assert f"ERROR  {name}: " in err
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".")], "no staging left behind"


def test_app_tiles_show_errors_and_keep_other_results(
    hostile_dir: Path, tmp_path: Path, tiny_model, monkeypatch, app_settings
):
    """The real window (offscreen): every decodable file gets a prediction, every bad one an error on
    its tile naming the file; a file deleted after the folder was listed is one more error."""
    pytest.importorskip("PySide6")
    import medgrad_desktop.ui.state.app_model as am
    from medgrad_desktop.testing.waiting import wait_until
    from medgrad_desktop.ui.main_window import MainWindow
    from medgrad_desktop.ui.qt_application import make_app
    from medgrad_desktop.ui.widgets.thumbnail_tiles import ErrorRole

    folder = tmp_path / "imgs"
    shutil.copytree(hostile_dir, folder, symlinks=True)
    Image.fromarray(noisy_rgb(seed=5)).save(folder / "zz-deleted.png")
    real = am.list_images

    def list_then_delete(f, recursive=False):
        found = real(f, recursive)
        (folder / "zz-deleted.png").unlink(missing_ok=True)
        return found

    monkeypatch.setattr(am, "list_images", list_then_delete)
    app = make_app()
    win = MainWindow(settings=app_settings, model_factory=lambda _w, _d: tiny_model)
    win.show()  # tiles are painted: names and errors go through Qt's text conversion
    try:
        assert wait_until(lambda: win.app.model is not None, 60, app)
        assert win.app.open_folder(folder)
        assert wait_until(lambda: win.app.entries and all(e.done for e in win.app.entries), 120, app)
        by_name = {e.name: e for e in win.app.entries}
        expected = dict(EXPECTED, **{"zz-deleted.png": "no longer exists"})
        assert set(by_name) == set(expected)
        for row, e in enumerate(win.app.entries):
            want = expected[e.name]
            if want is None:
                assert e.prediction is not None and e.error is None, (e.name, e.error)
                assert e.thumbnail is not None
            else:
                assert e.prediction is None and e.error.startswith(f"{e.name}: ") and want in e.error
                tile = win.browser.thumb_model.index(row)
                assert win.browser.thumb_model.data(tile, ErrorRole) == e.error
    finally:
        win.shutdown()
        win.close()
        app.processEvents()


def test_app_map_job_orients_image_and_map_together(tmp_path: Path, tiny_model):
    """The app's map job on an EXIF-6 file: the picture it returns is upright and every map has the
    upright size and equals the map of the same picture stored upright."""
    pytest.importorskip("PySide6")
    from medgrad_desktop.core.explain import METHODS, default_params
    from medgrad_desktop.ui.state.target_choice import TargetChoice
    from medgrad_desktop.ui.work import compute as ui_compute
    from medgrad_desktop.ui.work.jobs import MapRequest, compute_maps

    class Ctx:
        model = tiny_model
        compute = ui_compute

    up = noisy_rgb(30, 50, seed=3)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(np.rot90(up, 1))).save(tmp_path / "rot.png", exif=exif.tobytes())
    Image.fromarray(up).save(tmp_path / "up.png")
    params = [default_params(m) for m in METHODS]
    rot = compute_maps(MapRequest(tmp_path / "rot.png", TargetChoice("predicted"), params))(Ctx())
    ref = compute_maps(MapRequest(tmp_path / "up.png", TargetChoice("predicted"), params))(Ctx())
    assert (rot.rgb == up).all()
    for m in METHODS:
        assert rot.maps[m].image_map.shape == (30, 50)
        np.testing.assert_array_equal(rot.maps[m].image_map, ref.maps[m].image_map)


def test_non_utf8_file_name_in_audit_log_and_pseudonym_map(tmp_path: Path):
    """The audit log and the pseudonym map keep a non-UTF-8 name exactly (the map must find the file)."""
    from medgrad_desktop.audit import log_event, read_events
    from medgrad_desktop.reports.deidentify import write_pseudonym_map

    token = os.urandom(8).hex()  # other test processes may share the data folder
    log_event("hostile_name_test", file_name=NOT_UTF8, token=token)
    mine = [e for e in read_events()[-200:] if e.get("token") == token]
    assert len(mine) == 1 and mine[0]["file_name"] == NOT_UTF8
    real = tmp_path / NOT_UTF8
    real.write_bytes(b"x")
    m = write_pseudonym_map(tmp_path / "map.csv", [("IMG-0001", None, str(real))])
    line = m.read_bytes().splitlines()[1]
    assert Path(os.fsdecode(line.split(b",")[2])).exists()
