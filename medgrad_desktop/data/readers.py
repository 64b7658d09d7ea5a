"""Read a labelled data set from disk into `Record`s, whatever its layout.

`read_dataset(path)` recognises, in this order: a CSV manifest file (or a folder holding
`manifest.csv`, as `medgrad synth` writes), the PH2 layout, the Derm7pt layout, and a folder with one
sub-folder per class. Labels are mapped to catalogue class ids (id, display name or phrase); a row that
cannot be used is reported with its file and line number, never dropped silently: by default the
reader raises `DatasetError` listing every bad row, and with `skip_bad=True` it returns the good rows
and the problems (the CLI prints them).
"""

from __future__ import annotations

from pathlib import Path

from medgrad_desktop.core.imageio import is_image_file, list_images
from medgrad_desktop.core.prompts import Catalogue, load_catalogue
from medgrad_desktop.data.captions import caption_from_criteria, resolve_class
from medgrad_desktop.data.csv_table import has_nul, manifest_table
from medgrad_desktop.data.derm7pt import read_derm7pt
from medgrad_desktop.data.ph2 import read_ph2
from medgrad_desktop.data.records import (
    SEVEN_POINT_CRITERIA,
    Dataset,
    DatasetError,
    Record,
    RowProblem,
    finish_dataset,
)

MANIFEST_CORE = ("path", "label", "caption", "lesion_id", "mask", "split")


def read_manifest(path: Path | str, catalogue: Catalogue | None = None, skip_bad: bool = False) -> Dataset:
    """CSV with columns path,label[,caption][,lesion_id][,mask][,split] and optional criteria columns
    (pigment_network, streaks, ... holding catalogue option ids). Paths are relative to the CSV."""
    path = Path(path)
    cat = catalogue or load_catalogue()
    root = path.parent
    records: list[Record] = []
    problems: list[RowProblem] = []
    fields, rows = manifest_table(path)
    missing = [c for c in ("path", "label") if c not in fields]
    if missing:
        raise DatasetError(
            f"{path}: the header lacks column(s) {', '.join(missing)}; expected at least "
            "path,label (optional: caption, lesion_id, mask, split)"
        )
    for line, row in rows:
        if not row.get("path"):
            problems.append(RowProblem(path, line, "empty path"))
            continue
        if has_nul(row["path"], row.get("mask", "")):
            problems.append(RowProblem(path, line, "the path holds a NUL character; fix the cell"))
            continue
        img = (root / row["path"]).resolve() if not Path(row["path"]).is_absolute() else Path(row["path"])
        label = resolve_class(row.get("label", ""), cat)
        if label is None:
            problems.append(
                RowProblem(
                    path,
                    line,
                    f"unknown label '{row.get('label', '')}'; use a catalogue "
                    f"class id such as {', '.join(cat.class_ids[:3])}",
                )
            )
            continue
        if not img.is_file():
            problems.append(RowProblem(path, line, f"image '{row['path']}' not found"))
            continue
        criteria = {c: row[c] for c in SEVEN_POINT_CRITERIA if row.get(c)}
        caption = row.get("caption", "")
        if not caption:
            try:
                caption = caption_from_criteria(label, criteria, cat)
            except KeyError as exc:
                problems.append(RowProblem(path, line, str(exc).strip("'\"")))
                continue
        mask = None
        if row.get("mask"):
            mask = (root / row["mask"]).resolve()
            if not mask.is_file():
                problems.append(RowProblem(path, line, f"mask '{row['mask']}' not found"))
                continue
        split = row.get("split", "").lower()
        if split and split not in ("train", "val", "test"):
            problems.append(RowProblem(path, line, f"split '{split}' is not train, val or test"))
            continue
        meta = {k: v for k, v in row.items() if k not in MANIFEST_CORE and k not in SEVEN_POINT_CRITERIA}
        records.append(
            Record(
                path=img,
                label=label,
                caption=caption,
                lesion_id=row.get("lesion_id") or img.stem,
                mask=mask,
                criteria=criteria,
                source=f"{path.name}:{line}",
                split=split,
                meta=meta,
            )
        )
    return finish_dataset(
        path.stem if path.name != "manifest.csv" else root.name, path, "manifest", records, problems, skip_bad
    )


def read_class_folders(
    root: Path | str, catalogue: Catalogue | None = None, skip_bad: bool = False
) -> Dataset:
    """root/<class>/image.png; the folder name is a catalogue class id, display name or phrase. Each
    image is its own lesion (a folder layout cannot say otherwise); captions are the diagnosis only."""
    root = Path(root)
    cat = catalogue or load_catalogue()
    records: list[Record] = []
    problems: list[RowProblem] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = resolve_class(sub.name, cat)
        images = list_images(sub, True)
        if label is None:
            if images:
                problems.append(
                    RowProblem(
                        sub,
                        0,
                        f"folder name '{sub.name}' is not a catalogue class; "
                        f"rename it to one of {', '.join(cat.class_ids[:4])}, ...",
                    )
                )
            continue
        for img in images:
            records.append(
                Record(
                    path=img,
                    label=label,
                    caption=caption_from_criteria(label, {}, cat),
                    lesion_id=f"{sub.name}/{img.stem}",
                    source=f"{sub.name}/{img.name}",
                )
            )
    return finish_dataset(root.name, root, "folder-per-class", records, problems, skip_bad)


def detect_layout(path: Path) -> str:
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return "manifest"
        raise DatasetError(f"{path}: a data set is a folder or a CSV manifest, not a {path.suffix} file")
    if not path.is_dir():
        raise DatasetError(f"{path}: no such file or folder")
    if (path / "manifest.csv").is_file():
        return "manifest"
    if (
        (path / "PH2 Dataset images").is_dir()
        or (path / "PH2_dataset.txt").is_file()
        or (path / "PH2_dataset.xlsx").is_file()
    ):
        return "ph2"
    if (path / "meta" / "meta.csv").is_file():
        return "derm7pt"
    if any(p.is_dir() for p in path.iterdir()):
        return "folders"
    if any(is_image_file(p) for p in path.iterdir()):
        raise DatasetError(
            f"{path}: images without labels; put them in one sub-folder per class or "
            "write a manifest.csv (path,label,...)"
        )
    raise DatasetError(
        f"{path}: not a data set layout this program knows (manifest.csv, PH2, Derm7pt, "
        "or one sub-folder per class)"
    )


def read_dataset(path: Path | str, catalogue: Catalogue | None = None, skip_bad: bool = False) -> Dataset:
    path = Path(path).expanduser()
    layout = detect_layout(path)
    if layout == "manifest":
        return read_manifest(path if path.is_file() else path / "manifest.csv", catalogue, skip_bad)
    if layout == "ph2":
        return read_ph2(path, catalogue, skip_bad)
    if layout == "derm7pt":
        return read_derm7pt(path, catalogue, skip_bad)
    return read_class_folders(path, catalogue, skip_bad)
