"""The Derm7pt data set (Kawahara et al. 2018): 1011 cases with a dermoscopic and a clinical image,
the diagnosis and the 7-point-checklist criteria.

Layout (release_v0, as read by the authors' `derm7pt` package):

    meta/meta.csv            case_num, diagnosis, pigment_network, streaks, pigmentation,
                             regression_structures, dots_and_globules, blue_whitish_veil,
                             vascular_structures, ..., clinic, derm (image paths relative to images/)
    meta/train_indexes.csv   column `indexes`: 0-based row numbers of meta.csv (also valid_, test_)
    images/NEL/Nel026.jpg ...

Mapping to the catalogue (the grouping of the authors' `GroupInfrequent` variant): melanoma subtypes ->
melanoma; pigmentation diffuse/localized regular -> regular, diffuse/localized irregular -> irregular;
regression blue areas/white areas/combinations -> present; vascular arborizing/comma/hairpin/within
regression/wreath -> regular, dotted/linear irregular -> atypical. The data set's own split (index
files) is kept in `Record.split`; the dermoscopic image is used, the clinical one only on request.
"""

from __future__ import annotations

from pathlib import Path

from medgrad_desktop.core.prompts import Catalogue, load_catalogue
from medgrad_desktop.data.captions import caption_from_criteria, resolve_class
from medgrad_desktop.data.csv_table import csv_fieldnames, csv_rows, dict_reader, read_csv_text
from medgrad_desktop.data.records import Dataset, DatasetError, Record, RowProblem, finish_dataset

OPTION_MAP: dict[str, dict[str, str]] = {
    "pigment_network": {"absent": "absent", "typical": "typical", "atypical": "atypical"},
    "streaks": {"absent": "absent", "regular": "regular", "irregular": "irregular"},
    "pigmentation": {
        "absent": "absent",
        "diffuse regular": "regular",
        "localized regular": "regular",
        "diffuse irregular": "irregular",
        "localized irregular": "irregular",
        "regular": "regular",
        "irregular": "irregular",
    },
    "regression_structures": {
        "absent": "absent",
        "blue areas": "present",
        "white areas": "present",
        "combinations": "present",
        "present": "present",
    },
    "dots_and_globules": {"absent": "absent", "regular": "regular", "irregular": "irregular"},
    "blue_whitish_veil": {"absent": "absent", "present": "present"},
    "vascular_structures": {
        "absent": "absent",
        "arborizing": "regular",
        "comma": "regular",
        "hairpin": "regular",
        "within regression": "regular",
        "wreath": "regular",
        "regular": "regular",
        "dotted": "atypical",
        "linear irregular": "atypical",
        "atypical": "atypical",
    },
}
SPLIT_FILES = {"train": "train_indexes.csv", "val": "valid_indexes.csv", "test": "test_indexes.csv"}


def _diagnosis(text: str, cat: Catalogue) -> str | None:
    t = " ".join(text.strip().lower().split())
    if t.startswith("melanoma"):
        return "melanoma"
    return resolve_class(t, cat)


def _split_indexes(meta_dir: Path) -> tuple[dict[int, str], list[RowProblem]]:
    out: dict[int, str] = {}
    problems: list[RowProblem] = []
    for split, fname in SPLIT_FILES.items():
        p = meta_dir / fname
        if not p.is_file():
            continue
        try:
            text = read_csv_text(p, "the split file")
        except DatasetError as exc:
            problems.append(
                RowProblem(p, 0, f"cannot read the split file: {str(exc).removeprefix(f'{p}: ')}")
            )
            continue
        reader = dict_reader(text)
        names = csv_fieldnames(reader, p) or [""]
        col = "indexes" if "indexes" in names else names[0]
        for row in csv_rows(reader, p):
            v = (row.get(col) or "").strip()
            if not v:
                continue
            try:
                idx = int(float(v))
            except (ValueError, OverflowError):
                problems.append(RowProblem(p, reader.line_num, f"index '{v}' is not a number"))
                continue
            if idx < 0:
                problems.append(RowProblem(p, reader.line_num, f"index '{v}' is negative"))
                continue
            if idx in out and out[idx] != split:
                problems.append(RowProblem(p, reader.line_num, f"row {idx} is also in the {out[idx]} split"))
                continue
            out[idx] = split
    return out, problems


def read_derm7pt(
    root: Path | str, catalogue: Catalogue | None = None, skip_bad: bool = False, include_clinic: bool = False
) -> Dataset:
    root = Path(root)
    cat = catalogue or load_catalogue()
    meta = root / "meta" / "meta.csv"
    images = root / "images"
    reader = dict_reader(read_csv_text(meta, "Derm7pt's meta.csv"))
    fields = csv_fieldnames(reader, meta) or []
    missing = [c for c in ("diagnosis", "derm") if c not in fields]
    if missing:
        raise DatasetError(f"{meta}: the header lacks {', '.join(missing)}; is this Derm7pt's meta/meta.csv?")
    splits, problems = _split_indexes(root / "meta")
    records: list[Record] = []
    for row_index, row in enumerate(csv_rows(reader, meta)):
        line = reader.line_num
        case = (row.get("case_num") or str(row_index + 1)).strip()
        label = _diagnosis(row.get("diagnosis") or "", cat)
        if label is None:
            problems.append(
                RowProblem(meta, line, f"case {case}: unknown diagnosis '{row.get('diagnosis')}'")
            )
            continue
        criteria: dict[str, str] = {}
        bad = None
        for col, mapping in OPTION_MAP.items():
            value = " ".join((row.get(col) or "").strip().lower().split())
            if not value:
                continue
            if value not in mapping:
                bad = f"case {case}: {col} value '{value}' is unknown; expected one of {', '.join(sorted(mapping))}"
                break
            criteria[col] = mapping[value]
        if bad:
            problems.append(RowProblem(meta, line, bad))
            continue
        columns = ["derm"] + (["clinic"] if include_clinic else [])
        paths = []
        for col in columns:
            rel = (row.get(col) or "").strip()
            p = images / rel
            if not rel or not p.is_file():
                bad = f"case {case}: {col} image '{rel}' not found under images/"
                break
            paths.append(p)
        if bad:
            problems.append(RowProblem(meta, line, bad))
            continue
        caption = caption_from_criteria(label, criteria, cat)
        for p, col in zip(paths, columns, strict=True):
            records.append(
                Record(
                    path=p,
                    label=label,
                    caption=caption,
                    lesion_id=f"derm7pt-{case}",
                    criteria=criteria,
                    source=f"meta.csv:{line}",
                    split=splits.get(row_index, ""),
                    meta={"dataset": "derm7pt", "modality": col},
                )
            )
    return finish_dataset("Derm7pt", root, "derm7pt", records, problems, skip_bad)
