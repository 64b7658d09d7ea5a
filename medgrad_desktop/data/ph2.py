"""The PH2 data set (Mendonca et al. 2013): 200 dermoscopic images, common nevus / atypical nevus /
melanoma, lesion masks and dermoscopic criteria.

Layout (as distributed):

    PH2 Dataset images/IMD003/IMD003_Dermoscopic_Image/IMD003.bmp
    PH2 Dataset images/IMD003/IMD003_lesion/IMD003_lesion.bmp
    PH2_dataset.txt    a '|'-separated table; a row looks like
                       || IMD003 ||  ||  0 ||  0 | T | A | A | A | A ||  3  4 ||
                       header: Name, Histological Diagnosis, Clinical Diagnosis, Asymmetry,
                       Pigment Network, Dots/Globules, Streaks, Regression Areas, Blue-Whitish Veil, Colors
    PH2_dataset.xlsx   the same table ("Image Name", one X column per diagnosis, criteria columns);
                       read when the .txt is absent

Clinical Diagnosis codes: 0 common nevus, 1 atypical nevus, 2 melanoma. Criteria codes: A absent,
P present, T typical, AT atypical. PH2 dots/globules T/AT are mapped to the catalogue's regular/irregular.
PH2 marks streaks only as present or absent, without the regular/irregular distinction the catalogue
needs, so a present streak adds no phrase (never a guessed one); absent streaks add "absent streaks".
Each image is its own lesion.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from medgrad_desktop.core.prompts import Catalogue, load_catalogue
from medgrad_desktop.data.captions import caption_from_criteria
from medgrad_desktop.data.records import Dataset, DatasetError, Record, RowProblem, finish_dataset

DIAGNOSIS_CODES = {"0": "common_nevus", "1": "atypical_nevus", "2": "melanoma"}
# PH2 column -> (catalogue criterion, {PH2 code: catalogue option})
CRITERIA_MAP = {
    "pigment network": ("pigment_network", {"A": "absent", "T": "typical", "AT": "atypical"}),
    "dots/globules": ("dots_and_globules", {"A": "absent", "T": "regular", "AT": "irregular"}),
    "streaks": ("streaks", {"A": "absent"}),
    "regression areas": ("regression_structures", {"A": "absent", "P": "present"}),
    "blue-whitish veil": ("blue_whitish_veil", {"A": "absent", "P": "present"}),
}
KNOWN_CODES = {"A", "P", "T", "AT"}


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().split())


def image_paths(root: Path, name: str) -> tuple[Path, Path]:
    folder = root / "PH2 Dataset images" / name
    return (
        folder / f"{name}_Dermoscopic_Image" / f"{name}.bmp",
        folder / f"{name}_lesion" / f"{name}_lesion.bmp",
    )


def _rows_from_txt(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, {normalized column: value}) for each data row of PH2_dataset.txt. Cells are split
    on single '|'; header and rows share the positions, so an empty histology cell stays in place."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    header_idx = next((i for i, ln in enumerate(lines) if "name" in ln.lower() and "|" in ln), None)
    if header_idx is None:
        raise DatasetError(f"{path}: no header line with a 'Name' column; is this PH2_dataset.txt?")
    header = [_norm(c) for c in lines[header_idx].split("|")]
    rows = []
    for i in range(header_idx + 1, len(lines)):
        line = lines[i]
        if not line.strip().startswith("|"):
            if line.strip():  # the legend below the table ends it
                break
            continue
        cells = [c.strip() for c in line.split("|")]
        row = {h: (cells[j] if j < len(cells) else "") for j, h in enumerate(header) if h}
        if len(cells) != len(header):
            row["__shape__"] = f"{len(cells) - 1} separators, header has {len(header) - 1}"
        rows.append((i + 1, row))
    return rows


def _rows_from_xlsx(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged file
        raise DatasetError(f"{path}: not a readable .xlsx file ({type(exc).__name__})") from None
    ws = wb.worksheets[0]
    header: list[str] | None = None
    rows = []
    for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = ["" if v is None else str(v).strip() for v in values]
        if header is None:
            if any(_norm(c) in ("image name", "name") for c in cells):
                header = [_norm(c) for c in cells]
            continue
        if not any(cells):
            continue
        row = {h: cells[j] if j < len(cells) else "" for j, h in enumerate(header) if h}
        if "image name" in row:
            row["name"] = row.pop("image name")
        if not row.get("clinical diagnosis"):
            for code, col in (("0", "common nevus"), ("1", "atypical nevus"), ("2", "melanoma")):
                if row.get(col, "").upper() == "X":
                    row["clinical diagnosis"] = code
        rows.append((r, row))
    wb.close()
    if header is None:
        raise DatasetError(f"{path}: no header row with an 'Image Name' column")
    return rows


def read_ph2(root: Path | str, catalogue: Catalogue | None = None, skip_bad: bool = False) -> Dataset:
    root = Path(root)
    cat = catalogue or load_catalogue()
    txt, xlsx = root / "PH2_dataset.txt", root / "PH2_dataset.xlsx"
    if txt.is_file():
        table, rows = txt, _rows_from_txt(txt)
    elif xlsx.is_file():
        table, rows = xlsx, _rows_from_xlsx(xlsx)
    else:
        raise DatasetError(
            f"{root}: PH2 layout without PH2_dataset.txt or PH2_dataset.xlsx; copy the table "
            "that came with the images into this folder"
        )
    records: list[Record] = []
    problems: list[RowProblem] = []
    for line, row in rows:
        name = row.get("name", "")
        if "__shape__" in row:
            problems.append(RowProblem(table, line, f"malformed row ({row['__shape__']})"))
            continue
        if not name:
            problems.append(RowProblem(table, line, "no image name"))
            continue
        code = row.get("clinical diagnosis", "").strip()
        label = DIAGNOSIS_CODES.get(code)
        if label is None:
            problems.append(RowProblem(table, line, f"{name}: clinical diagnosis '{code}' is not 0, 1 or 2"))
            continue
        criteria: dict[str, str] = {}
        bad = None
        for col, (crit, mapping) in CRITERIA_MAP.items():
            value = row.get(col, "").strip().upper()
            if not value:
                continue
            if value not in KNOWN_CODES:
                bad = f"{name}: '{col}' value '{value}' is not one of A, P, T, AT"
                break
            if value in mapping:
                criteria[crit] = mapping[value]
        if bad:
            problems.append(RowProblem(table, line, bad))
            continue
        image, mask = image_paths(root, name)
        if not image.is_file():
            problems.append(RowProblem(table, line, f"{name}: image {image.relative_to(root)} not found"))
            continue
        records.append(
            Record(
                path=image,
                label=label,
                caption=caption_from_criteria(label, criteria, cat),
                lesion_id=f"ph2-{name}",
                mask=mask if mask.is_file() else None,
                criteria=criteria,
                source=f"{table.name}:{line}",
                meta={"dataset": "ph2"},
            )
        )
    return finish_dataset("PH2", root, "ph2", records, problems, skip_bad)
