"""Hypothesis fuzzing of the image loader and the data-set readers (CSV manifest, PH2, Derm7pt).

The property everywhere: bad input gives the module's own error (`ImageLoadError`, `DatasetError`)
with a message naming the file, never another exception; good input gives well-formed output.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from medgrad_desktop.core.imageio import ImageLoadError, load_image

FUZZ = settings(
    max_examples=int(os.environ.get("MEDGRAD_FUZZ_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _encoded(fmt: str, orientation: int | None, mode: str) -> bytes:
    y, x = np.mgrid[0:24, 0:32]
    rgb = np.dstack([x * 8, y * 10, (x + y) * 4]).astype(np.uint8)
    img = Image.fromarray(rgb).convert(mode) if mode != "RGB" else Image.fromarray(rgb)
    if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    kw = {}
    if orientation is not None and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        exif = Image.Exif()
        exif[0x0112] = orientation
        kw["exif"] = exif.tobytes()
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}


@st.composite
def mutated_image(draw):
    fmt = draw(st.sampled_from(sorted(_FORMATS)))
    mode = draw(
        st.sampled_from(
            ["RGB", "L", "P", "RGBA", "CMYK", "I;16"] if fmt in ("PNG", "TIFF") else ["RGB", "L", "P"]
        )
    )
    orientation = draw(st.one_of(st.none(), st.integers(0, 9), st.just(65535)))
    try:
        data = bytearray(_encoded(fmt, orientation, mode))
    except (OSError, ValueError, KeyError):
        data = bytearray(_encoded(fmt, None, "RGB"))
    for _ in range(draw(st.integers(0, 6))):  # byte flips, header first (where parsers trust lengths)
        i = draw(st.integers(0, min(len(data) - 1, draw(st.sampled_from([64, 512, len(data) - 1])))))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 4)) == 0:
        data += draw(st.binary(max_size=64))
    return _FORMATS[fmt], bytes(data)


@st.composite
def magic_garbage(draw):
    magic = draw(
        st.sampled_from(
            [
                b"\xff\xd8\xff",
                b"\x89PNG\r\n\x1a\n",
                b"GIF89a",
                b"BM",
                b"II*\x00",
                b"MM\x00*",
                b"RIFF\x00\x00\x00\x00WEBPVP8 ",
                b"",
            ]
        )
    )
    return draw(st.sampled_from(sorted(_FORMATS.values()))), magic + draw(st.binary(max_size=300))


def _check_loaded(path: Path) -> None:
    try:
        img = load_image(path)
    except ImageLoadError as exc:
        assert str(exc).startswith(f"{path.name}: ") and len(str(exc)) > len(path.name) + 5
        return
    assert img.rgb.dtype == np.uint8 and img.rgb.ndim == 3 and img.rgb.shape[2] == 3
    assert img.rgb.shape[0] >= 1 and img.rgb.shape[1] >= 1 and img.rgb.flags["C_CONTIGUOUS"]
    assert len(img.sha256) == 64


@FUZZ
@given(case=st.one_of(mutated_image(), magic_garbage()))
def test_fuzz_load_image(case):
    suffix, data = case
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"fuzz{suffix}"
        p.write_bytes(data)
        _check_loaded(p)


# ------------------------------------------------------------------ data-set readers

_cell_text = st.one_of(
    st.sampled_from(
        [
            "",
            "melanoma",
            "nevus",
            "common_nevus",
            "MEL",
            "bcc",
            "typical",
            "absent",
            "present",
            "atypical",
            "regular",
            "irregular",
            "train",
            "test",
            "val",
            "0",
            "1",
            "2",
            "A",
            "P",
            "T",
            "AT",
            "X",
            "img0.png",
            "../img0.png",
            "/etc/passwd",
            "a,b",
            'q"uote',
            "line\nbreak",
            "nul\x00byte",
            "=cmd()",
            "inf",
            "nan",
            "-1",
            "1e309",
            "ü🩺",
            " ",
        ]
    ),
    st.text(max_size=12),
)


def _write_images(root: Path, names: list[str]) -> None:
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (90, 60, 40)).save(p)


def _assert_dataset_or_error(read, path: Path) -> None:
    from medgrad_desktop.data.records import Dataset, DatasetError

    for skip_bad in (False, True):
        try:
            ds = read(path, skip_bad=skip_bad)
        except DatasetError as exc:
            assert str(exc).strip() and (str(path) in str(exc) or str(path.parent) in str(exc)), str(exc)[
                :300
            ]
            for pr in exc.problems:
                assert pr.line >= 0 and str(pr)
            continue
        assert isinstance(ds, Dataset) and len(ds) > 0
        from medgrad_desktop.core.prompts import load_catalogue

        ids = set(load_catalogue().class_ids)
        for r in ds.records:
            assert r.label in ids and r.path.is_file() and r.caption


@st.composite
def manifest_text(draw):
    cols = draw(
        st.lists(
            st.sampled_from(
                [
                    "path",
                    "label",
                    "caption",
                    "lesion_id",
                    "mask",
                    "split",
                    "pigment_network",
                    "streaks",
                    "extra",
                    "",
                ]
            ),
            min_size=0,
            max_size=7,
        )
    )
    if draw(st.booleans()):
        cols = ["path", "label", *cols]
    rows = draw(st.lists(st.lists(_cell_text, min_size=0, max_size=len(cols) + 2), max_size=6))
    buf = io.StringIO()
    import csv

    w = csv.writer(buf)
    w.writerow(cols)
    w.writerows(rows)
    text = buf.getvalue()
    enc = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "raw"]))
    if enc == "raw":
        return text.encode("utf-8") + draw(st.binary(max_size=40))
    return text.encode(enc, errors="replace")


@FUZZ
@given(data=manifest_text())
def test_fuzz_csv_manifest_reader(data):
    from medgrad_desktop.data.readers import read_manifest

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        _write_images(root, ["img0.png", "sub/img1.png"])
        path = root / "manifest.csv"
        path.write_bytes(data)
        _assert_dataset_or_error(read_manifest, path)


@st.composite
def ph2_table(draw):
    header = (
        "|| Name || Histological Diagnosis || Clinical Diagnosis || Asymmetry || Pigment Network || "
        "Dots/Globules || Streaks || Regression Areas || Blue-Whitish Veil || Colors ||"
    )
    if draw(st.integers(0, 6)) == 0:
        header = draw(st.text(max_size=60))
    lines = [header]
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.sampled_from(["IMD003", "IMD004", "IMD999", "", "../x", "IMD/003"]))
        cells = [draw(_cell_text) for _ in range(draw(st.integers(6, 10)))]
        lines.append("|| " + name + " || " + " || ".join(cells) + " ||")
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.text(max_size=40)))
    tail = draw(st.binary(max_size=20)) if draw(st.integers(0, 4)) == 0 else b""
    return "\n".join(lines).encode("utf-8") + tail


@FUZZ
@given(table=ph2_table())
def test_fuzz_ph2_reader(table):
    from medgrad_desktop.data.ph2 import image_paths, read_ph2

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for name in ("IMD003", "IMD004"):
            img, mask = image_paths(root, name)
            _write_images(root, [str(img.relative_to(root)), str(mask.relative_to(root))])
        (root / "PH2_dataset.txt").write_bytes(table)
        _assert_dataset_or_error(read_ph2, root)


def test_ph2_damaged_xlsx_is_a_dataset_error(tmp_path: Path):
    from medgrad_desktop.data.ph2 import read_ph2
    from medgrad_desktop.data.records import DatasetError

    (tmp_path / "PH2 Dataset images").mkdir()
    (tmp_path / "PH2_dataset.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(DatasetError, match="not a readable .xlsx"):
        read_ph2(tmp_path)


@st.composite
def derm7pt_files(draw):
    import csv

    cols = [
        "case_num",
        "diagnosis",
        "pigment_network",
        "streaks",
        "pigmentation",
        "regression_structures",
        "dots_and_globules",
        "blue_whitish_veil",
        "vascular_structures",
        "clinic",
        "derm",
    ]
    if draw(st.integers(0, 5)) == 0:
        cols = draw(st.lists(st.sampled_from([*cols, "x"]), max_size=6))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for _ in range(draw(st.integers(0, 5))):
        w.writerow(
            [
                draw(
                    st.one_of(
                        _cell_text,
                        st.sampled_from(
                            [
                                "NEL/a.jpg",
                                "NEL/b.jpg",
                                "basal cell carcinoma",
                                "melanoma (in situ)",
                                "clark nevus",
                            ]
                        ),
                    )
                )
                for _ in range(draw(st.integers(len(cols) - 2, len(cols) + 1)))
            ]
        )
    meta = buf.getvalue().encode("utf-8")
    if draw(st.integers(0, 5)) == 0:
        meta += draw(st.binary(max_size=30))
    idx = {}
    for split in ("train_indexes.csv", "valid_indexes.csv", "test_indexes.csv"):
        if draw(st.booleans()):
            vals = draw(st.lists(st.one_of(st.integers(-2, 6).map(str), _cell_text), max_size=5))
            idx[split] = ("indexes\n" + "\n".join(vals)).encode("utf-8", errors="replace")
            if draw(st.integers(0, 6)) == 0:
                idx[split] += b"\xff\xfe"
    return meta, idx


@FUZZ
@given(files=derm7pt_files())
def test_fuzz_derm7pt_reader(files):
    from medgrad_desktop.data.derm7pt import read_derm7pt

    meta, idx = files
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        _write_images(root / "images", ["NEL/a.jpg", "NEL/b.jpg"])
        (root / "meta").mkdir()
        (root / "meta" / "meta.csv").write_bytes(meta)
        for name, data in idx.items():
            (root / "meta" / name).write_bytes(data)
        _assert_dataset_or_error(read_derm7pt, root)


# ------------------------------------------------------------------ what the fuzzing found, pinned


@pytest.mark.parametrize(
    "data, phrase",
    [
        (b"path,label\nimg0.png,melanoma\nnul\x00.png,melanoma\n", "NUL character"),
        (b"path,label\nimg0.png,melanoma\n" + b"a" * 200_000 + b",melanoma\n", "not valid CSV"),
        (b"path,label\n\xff\xfe,melanoma\n", "not UTF-8"),
    ],
)
def test_manifest_found_cases(tmp_path: Path, data: bytes, phrase: str):
    from medgrad_desktop.data.readers import read_manifest
    from medgrad_desktop.data.records import DatasetError

    _write_images(tmp_path, ["img0.png"])
    (tmp_path / "manifest.csv").write_bytes(data)
    with pytest.raises(DatasetError, match=phrase):
        read_manifest(tmp_path / "manifest.csv")


@pytest.mark.parametrize(
    "meta, index, phrase",
    [
        (b"case_num,diagnosis,derm\n1,melanoma,NEL/a.jpg\n", b"indexes\ninf\n", "'inf' is not a number"),
        (
            b"case_num,diagnosis,derm\n1,melanoma,NEL/a.jpg\n",
            b"indexes\n\xff\xfe\n",
            "cannot read the split file",
        ),
        (b"case_num,diagnosis,derm\n1,melanoma,\xff\n", b"indexes\n0\n", "not UTF-8"),
        (
            b"case_num,diagnosis,derm\n1,melanoma,NEL/a.jpg\n",
            b"indexes\n" + b"9" * 200_000 + b"\n",
            "not valid CSV",
        ),
    ],
)
def test_derm7pt_found_cases(tmp_path: Path, meta: bytes, index: bytes, phrase: str):
    from medgrad_desktop.data.derm7pt import read_derm7pt
    from medgrad_desktop.data.records import DatasetError

    _write_images(tmp_path / "images", ["NEL/a.jpg"])
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "meta.csv").write_bytes(meta)
    (tmp_path / "meta" / "train_indexes.csv").write_bytes(index)
    with pytest.raises(DatasetError, match=phrase):
        read_derm7pt(tmp_path)
