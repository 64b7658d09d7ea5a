"""Dataset readers on small fixture trees built here: right labels and captions, bad rows reported
with their line number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.data.readers import detect_layout, read_dataset
from medgrad_desktop.data.records import DatasetError


def _img(path: Path, seed: int = 0, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(arr).convert(mode).save(path)
    return path


# --- PH2 ---------------------------------------------------------------------------------------------

PH2_HEADER = (
    "||   Name || Histological Diagnosis || Clinical Diagnosis || Asymmetry || Pigment Network || "
    "Dots/Globules || Streaks || Regression Areas || Blue-Whitish Veil || Colors ||"
)


def _ph2_row(name: str, clin: str, pn: str, dg: str, st: str, ra: str, bwv: str, hist: str = "") -> str:
    return f"|| {name} || {hist:>20} || {clin:>6} || 0 || {pn} || {dg} || {st} || {ra} || {bwv} || 3 4 ||"


def make_ph2(root: Path, broken: bool = False) -> Path:
    rows = [
        _ph2_row("IMD003", "0", "T", "A", "A", "A", "A"),
        _ph2_row("IMD009", "1", "AT", "T", "A", "A", "A"),
        _ph2_row("IMD058", "2", "AT", "AT", "P", "P", "P", hist="Melanoma"),
    ]
    if broken:
        rows.insert(1, _ph2_row("IMD010", "7", "T", "A", "A", "A", "A"))
    lines = [
        PH2_HEADER,
        *rows,
        "",
        "Legends:",
        "Clinical Diagnosis: 0 - Common Nevus; 1 - Atypical Nevus; 2 - Melanoma",
    ]
    (root / "PH2_dataset.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "PH2_dataset.txt").write_text("\n".join(lines) + "\n")
    for i, name in enumerate(["IMD003", "IMD009", "IMD058", "IMD010"]):
        d = root / "PH2 Dataset images" / name
        _img(d / f"{name}_Dermoscopic_Image" / f"{name}.bmp", i)
        _img(d / f"{name}_lesion" / f"{name}_lesion.bmp", i, "L")
    return root


def test_ph2_labels_captions_masks(tmp_path):
    root = make_ph2(tmp_path / "PH2Dataset")
    assert detect_layout(root) == "ph2"
    ds = read_dataset(root)
    assert ds.kind == "ph2"
    by = {r.lesion_id: r for r in ds.records}
    assert by["ph2-IMD003"].label == "common_nevus"
    assert by["ph2-IMD009"].label == "atypical_nevus"
    assert by["ph2-IMD058"].label == "melanoma"
    assert by["ph2-IMD003"].caption == (
        "common nevus, typical pigment network, absent blue-whitish veil, "
        "absent streaks, absent dots and globules, absent regression structures"
    )
    assert by["ph2-IMD009"].caption.startswith("atypical nevus, atypical pigment network")
    assert "regular dots and globules" in by["ph2-IMD009"].caption
    mel = by["ph2-IMD058"].caption.split(", ")
    assert (
        "blue-whitish veil" in mel and "regression structures" in mel and "irregular dots and globules" in mel
    )
    assert not any("streaks" in p for p in mel), (
        "present streaks without regularity must add no guessed phrase"
    )
    assert all(r.mask is not None and r.mask.is_file() for r in ds.records)


def test_ph2_bad_row_reported_with_line(tmp_path):
    root = make_ph2(tmp_path / "PH2Dataset", broken=True)
    with pytest.raises(DatasetError) as err:
        read_dataset(root)
    assert "PH2_dataset.txt:3" in str(err.value) and "IMD010" in str(err.value)
    ds = read_dataset(root, skip_bad=True)
    assert len(ds.records) == 3 and ds.problems[0].line == 3


def test_ph2_xlsx_table(tmp_path):
    from openpyxl import Workbook

    root = make_ph2(tmp_path / "PH2x")
    (root / "PH2_dataset.txt").unlink()
    wb = Workbook()
    ws = wb.active
    ws.append(["PH2 database"])
    ws.append(
        [
            "Image Name",
            "Histological Diagnosis",
            "Common Nevus",
            "Atypical Nevus",
            "Melanoma",
            "Asymmetry",
            "Pigment Network",
            "Dots/Globules",
            "Streaks",
            "Regression Areas",
            "Blue-Whitish Veil",
        ]
    )
    ws.append(["IMD003", None, "X", None, None, 0, "T", "A", "A", "A", "A"])
    ws.append(["IMD058", "Melanoma", None, None, "X", 2, "AT", "AT", "P", "P", "P"])
    wb.save(root / "PH2_dataset.xlsx")
    ds = read_dataset(root)
    assert [r.label for r in ds.records] == ["common_nevus", "melanoma"]
    assert ds.records[0].source == "PH2_dataset.xlsx:3"


# --- Derm7pt -----------------------------------------------------------------------------------------

DERM_HEADER = (
    "case_num,diagnosis,seven_point_score,pigment_network,streaks,pigmentation,regression_structures,"
    "dots_and_globules,blue_whitish_veil,vascular_structures,level_of_diagnostic_difficulty,elevation,"
    "location,sex,clinic,derm,management"
)


def make_derm7pt(root: Path, broken: bool = False) -> Path:
    rows = [
        "1,basal cell carcinoma,0,absent,absent,absent,absent,absent,absent,arborizing,low,palpable,abdomen,female,"
        "NEL/Nel025.jpg,NEL/Nel026.jpg,excision",
        "2,clark nevus,1,typical,absent,diffuse regular,absent,regular,absent,absent,low,flat,back,male,"
        "NEL/Nel027.jpg,NEL/Nel028.jpg,clinical follow up",
        "3,melanoma (less than 0.76 mm),7,atypical,irregular,localized irregular,blue areas,irregular,present,"
        "dotted,high,flat,back,male,Fcl/Fcl001.jpg,Fcl/Fcl002.jpg,excision",
    ]
    if broken:
        rows.append(
            "4,clark nevus,0,weird,absent,absent,absent,absent,absent,absent,low,flat,back,male,"
            "NEL/Nel029.jpg,NEL/Nel030.jpg,excision"
        )
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta" / "meta.csv").write_text("\n".join([DERM_HEADER, *rows]) + "\n")
    (root / "meta" / "train_indexes.csv").write_text("indexes\n0\n1\n")
    (root / "meta" / "valid_indexes.csv").write_text("indexes\n2\n")
    (root / "meta" / "test_indexes.csv").write_text("indexes\n" + ("3\n" if broken else ""))
    for i, rel in enumerate(
        [
            "NEL/Nel025.jpg",
            "NEL/Nel026.jpg",
            "NEL/Nel027.jpg",
            "NEL/Nel028.jpg",
            "Fcl/Fcl001.jpg",
            "Fcl/Fcl002.jpg",
            "NEL/Nel029.jpg",
            "NEL/Nel030.jpg",
        ]
    ):
        _img(root / "images" / rel, i)
    return root


def test_derm7pt_labels_captions_splits(tmp_path):
    root = make_derm7pt(tmp_path / "release_v0")
    assert detect_layout(root) == "derm7pt"
    ds = read_dataset(root)
    assert [r.label for r in ds.records] == ["basal_cell_carcinoma", "clark_nevus", "melanoma"]
    assert [r.path.name for r in ds.records] == ["Nel026.jpg", "Nel028.jpg", "Fcl002.jpg"]
    assert [r.split for r in ds.records] == ["train", "train", "val"]
    assert ds.records[0].caption == (
        "basal cell carcinoma, absent pigment network, absent blue-whitish veil, regular vascular structures, "
        "absent pigmentation, absent streaks, absent dots and globules, absent regression structures"
    )
    mel = ds.records[2]
    assert mel.caption == (
        "melanoma, atypical pigment network, blue-whitish veil, atypical vascular structures, "
        "irregular pigmentation, irregular streaks, irregular dots and globules, regression structures"
    )
    assert mel.criteria["pigmentation"] == "irregular"
    assert mel.lesion_id == "derm7pt-3"


def test_derm7pt_bad_row_reported_with_line(tmp_path):
    root = make_derm7pt(tmp_path / "release_v0", broken=True)
    with pytest.raises(DatasetError) as err:
        read_dataset(root)
    msg = str(err.value)
    assert "meta.csv:5" in msg and "weird" in msg
    ds = read_dataset(root, skip_bad=True)
    assert len(ds.records) == 3 and ds.problems[0].line == 5


def test_derm7pt_missing_image_is_reported(tmp_path):
    root = make_derm7pt(tmp_path / "d")
    (root / "images" / "NEL" / "Nel028.jpg").unlink()
    with pytest.raises(DatasetError, match=r"meta.csv:3: case 2: derm image 'NEL/Nel028.jpg' not found"):
        read_dataset(root)


# --- manifest and folders ----------------------------------------------------------------------------


def test_manifest_reader_and_bad_rows(tmp_path):
    _img(tmp_path / "a.png", 1)
    _img(tmp_path / "b.png", 2)
    _img(tmp_path / "m.png", 3)
    (tmp_path / "data.csv").write_text(
        "path,label,caption,lesion_id,mask,pigment_network\n"
        "a.png,Melanoma,,L1,m.png,atypical\n"
        "b.png,clark nevus,my own caption,L2,,\n"
        "missing.png,melanoma,,L3,,\n"
        "a.png,not a class,,L4,,\n"
    )
    with pytest.raises(DatasetError) as err:
        read_dataset(tmp_path / "data.csv")
    msg = str(err.value)
    assert "data.csv:4: image 'missing.png' not found" in msg
    assert "data.csv:5: unknown label 'not a class'" in msg
    ds = read_dataset(tmp_path / "data.csv", skip_bad=True)
    assert [r.label for r in ds.records] == ["melanoma", "clark_nevus"]
    assert ds.records[0].caption == "melanoma, atypical pigment network"
    assert ds.records[0].mask == (tmp_path / "m.png").resolve()
    assert ds.records[1].caption == "my own caption"
    assert [p.line for p in ds.problems] == [4, 5]


def test_manifest_header_must_have_path_and_label(tmp_path):
    (tmp_path / "x.csv").write_text("file,class\na.png,melanoma\n")
    with pytest.raises(DatasetError, match="lacks column"):
        read_dataset(tmp_path / "x.csv")


def test_class_folders(tmp_path):
    _img(tmp_path / "melanoma" / "1.png", 1)
    _img(tmp_path / "Clark nevus" / "2.jpg", 2)
    _img(tmp_path / "Clark nevus" / "3.jpg", 3)
    assert detect_layout(tmp_path) == "folders"
    ds = read_dataset(tmp_path)
    assert sorted(r.label for r in ds.records) == ["clark_nevus", "clark_nevus", "melanoma"]
    assert {r.caption for r in ds.records} == {"clark nevus", "melanoma"}
    _img(tmp_path / "kittens" / "4.png", 4)
    with pytest.raises(DatasetError, match="kittens"):
        read_dataset(tmp_path)


def test_unknown_layouts(tmp_path):
    with pytest.raises(DatasetError, match="no such"):
        read_dataset(tmp_path / "nope")
    _img(tmp_path / "loose.png")
    with pytest.raises(DatasetError, match="sub-folder per class"):
        read_dataset(tmp_path)
