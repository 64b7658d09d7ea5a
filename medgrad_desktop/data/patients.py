"""Which patient, lesion and visit each image belongs to, and the pseudonyms a report shows for them.

Three sources, first match wins per image:

1. a CSV sidecar `patients.csv` in the opened folder, columns `file` (path relative to the folder; a
   frame as `file.dcm#N`), `patient`, `lesion`, `visit` and optional `visit_date` (YYYY-MM-DD);
2. the DICOM header: PatientID (else PatientName), the lesion from ContentLabel or
   ClinicalTrialSeriesID, else the anatomic region (AnatomicRegionSequence / BodyPartExamined),
   the visit from StudyInstanceUID dated by StudyDate;
3. the folder layout `PATIENT/LESION/VISIT/...` below the opened folder (a visit folder named like a
   date, 2024-03-01 or 20240301, gives the date).

Images matched by none stay ungrouped. Pseudonyms follow date order: patients P-001, P-002... by
their first visit, each patient's lesions L-01, L-02... by their first visit, each lesion's visits V-1,
V-2... by date, so the same set always gets the same pseudonyms and never shows a real identifier.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from medgrad_desktop.core import dicomio

SIDECAR = "patients.csv"
SIDECAR_COLUMNS = ("file", "patient", "lesion", "visit", "visit_date")
_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")


class SidecarError(ValueError):
    """The sidecar CSV cannot be used; `str()` names the file, the line and what to fix."""


@dataclass(frozen=True)
class ImageGroup:
    """Where one image belongs, in the real identifiers of its source (never written de-identified)."""

    path: Path
    patient: str
    lesion: str
    visit: str
    visit_date: str  # YYYY-MM-DD, or "" when unknown
    source: str  # "csv" | "dicom" | "folders"


@dataclass(frozen=True)
class GroupLabel:
    """What a report shows for an image's group: pseudonyms, or the real identifiers when not de-identified."""

    patient: str
    lesion: str
    visit: str
    visit_date: str
    order: tuple[int, int, int]  # patient, lesion, visit rank (sorting)


def _iso(date_text: str) -> str:
    m = _DATE.match(date_text.strip())
    return f"{m[1]}-{m[2]}-{m[3]}" if m else ""


def read_sidecar(folder: Path) -> dict[str, tuple[str, str, str, str]]:
    """file (relative, '/'-separated) -> (patient, lesion, visit, visit_date); {} when there is no sidecar."""
    path = folder / SIDECAR
    if not path.is_file():
        return {}
    out: dict[str, tuple[str, str, str, str]] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in SIDECAR_COLUMNS[:4] if c not in (reader.fieldnames or [])]
        if missing:
            raise SidecarError(
                f"{path}: missing column(s) {', '.join(missing)}; the header must name "
                f"{', '.join(SIDECAR_COLUMNS)} (visit_date optional)"
            )
        for line, row in enumerate(reader, start=2):
            file = (row.get("file") or "").strip().replace("\\", "/")
            patient, lesion, visit = ((row.get(k) or "").strip() for k in ("patient", "lesion", "visit"))
            if not file or not patient:
                raise SidecarError(f"{path}:{line}: every row needs a file and a patient")
            date = (row.get("visit_date") or "").strip()
            if date and not _iso(date):
                raise SidecarError(f"{path}:{line}: visit_date '{date}' is not a date; write YYYY-MM-DD")
            out[file] = (patient, lesion or "lesion", visit or date or "visit", _iso(date))
    return out


def _from_dicom(path: Path) -> ImageGroup | None:
    source, _ = dicomio.split_frame(path)
    if not dicomio.is_dicom_path(source):
        return None
    try:
        h = dicomio.read_header(source)
    except dicomio.DicomError:
        return None
    patient = h.patient_id or h.patient_name
    if not patient:
        return None
    date = _iso(h.study_date)
    return ImageGroup(
        path, patient, h.lesion_id or h.body_part or "lesion", h.study_uid or date or "visit", date, "dicom"
    )


def group_image(path: Path, folder: Path, sidecar: dict[str, tuple[str, str, str, str]]) -> ImageGroup | None:
    try:
        rel = Path(path).relative_to(folder)
    except ValueError:
        rel = Path(Path(path).name)
    key = rel.as_posix()
    if key in sidecar or dicomio.split_frame(rel)[0].as_posix() in sidecar:
        p, lesion, v, d = sidecar.get(key) or sidecar[dicomio.split_frame(rel)[0].as_posix()]
        return ImageGroup(path, p, lesion, v, d, "csv")
    from_dicom = _from_dicom(Path(path))
    if from_dicom is not None:
        return from_dicom
    parts = rel.parent.parts
    if len(parts) >= 3:
        return ImageGroup(path, parts[0], parts[1], parts[2], _iso(parts[2]), "folders")
    return None


def group_images(paths: list[Path], folder: Path) -> dict[Path, ImageGroup]:
    """Every image that belongs to a patient, by path (raises `SidecarError` for a bad sidecar)."""
    folder = Path(folder)
    sidecar = read_sidecar(folder)
    out = {}
    for p in paths:
        g = group_image(Path(p), folder, sidecar)
        if g is not None:
            out[Path(p)] = g
    return out


def _first_date(groups: list[ImageGroup]) -> str:
    dates = [g.visit_date for g in groups if g.visit_date]
    return min(dates) if dates else "9999-99-99"


def labels(groups: dict[Path, ImageGroup], pseudonymize: bool = True) -> dict[Path, GroupLabel]:
    """Pseudonyms (or real identifiers) per image, ranked in date order as the module explains."""
    by_patient: dict[str, list[ImageGroup]] = {}
    for g in groups.values():
        by_patient.setdefault(g.patient, []).append(g)
    out: dict[Path, GroupLabel] = {}
    patients = sorted(by_patient, key=lambda p: (_first_date(by_patient[p]), p))
    for pi, patient in enumerate(patients, start=1):
        by_lesion: dict[str, list[ImageGroup]] = {}
        for g in by_patient[patient]:
            by_lesion.setdefault(g.lesion, []).append(g)
        lesions = sorted(by_lesion, key=lambda n: (_first_date(by_lesion[n]), n))
        for li, lesion in enumerate(lesions, start=1):
            visits: dict[str, str] = {}
            for g in by_lesion[lesion]:
                visits[g.visit] = min(filter(None, (visits.get(g.visit, ""), g.visit_date)), default="")
            order = sorted(visits, key=lambda v: (visits[v] or "9999-99-99", v))
            for g in by_lesion[lesion]:
                vi = order.index(g.visit) + 1
                if pseudonymize:
                    out[g.path] = GroupLabel(f"P-{pi:03d}", f"L-{li:02d}", f"V-{vi}", "", (pi, li, vi))
                else:
                    out[g.path] = GroupLabel(patient, lesion, g.visit, visits[g.visit], (pi, li, vi))
    return out


def identifying_values(paths: list[Path]) -> set[str]:
    """Every identifying text in the DICOM headers of these images (PS3.15 basic profile attributes),
    with person names also as their components: what de-identified output must never contain."""
    values: set[str] = set()
    seen: set[Path] = set()
    for p in paths:
        source, _ = dicomio.split_frame(Path(p))
        if source in seen or not dicomio.is_dicom_path(source):
            continue
        seen.add(source)
        try:
            values |= dicomio.identifying_text(source)
        except dicomio.DicomError:
            continue
    return {v for v in values if len(v) >= 3}
