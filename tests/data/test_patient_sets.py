"""Patients, lesions and visits from DICOM tags, a PATIENT/LESION/VISIT folder layout or a CSV sidecar;
pseudonyms in date order; and a full report of identifying DICOM files in which no identifying string
from the headers appears in any output (PDF, HTML, CSV, PNG, manifest, audit export entries)."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import struct
from pathlib import Path

import pytest
from pypdf import PdfReader

from medgrad_desktop.audit import read_events
from medgrad_desktop.cli import main
from medgrad_desktop.core.imageio import list_images, load_image
from medgrad_desktop.data.patients import SidecarError, group_images, identifying_values, labels
from medgrad_desktop.review import ReviewRecord, ReviewStore
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.testing import dicom_samples as ds_
from medgrad_desktop.testing.sample_images import write_sample_folder

JANE = ds_.Person()
OMAR = ds_.Person(
    name="Haddad^Omar^K",
    patient_id="MRN-0099-1234",
    birth_date="19790802",
    other_ids="NHS-111-222-3333",
    address="7 Harbour View, Port Elling",
    phone="+44-161-496-0000",
    institution="Northgate Skin Centre",
    institution_address="88 Northgate, Elling",
    referring="Lindqvist^Maja",
    performing="Abara^Chidi",
    operator="Kowalczyk^Ola",
    accession="ACC-99001122",
    station="DERM-CAM-2",
    study_id="STUDY-7001",
    device_serial="SN-0042-ZZ",
)


def _dicom_set(folder: Path) -> dict[str, str]:
    """Jane: two lesions, the back one seen twice (files written out of date order); Omar: one visit.
    Files and a folder are named after the patient, as exported files often are."""
    uid_late, uid_early = "1.2.826.0.1.3680043.8.498.1001", "1.2.826.0.1.3680043.8.498.1000"
    files = {
        "Doe_Jane_back_2024.dcm": (JANE, uid_late, "20240610", "Back", "MOLE_A", 1),
        "Doe_Jane_back_2023.dcm": (JANE, uid_early, "20231105", "Back", "MOLE_A", 2),
        "Doe_Jane_arm_2024.dcm": (JANE, uid_late, "20240610", "Left forearm", "MOLE_B", 3),
        "Haddad_Omar.dcm": (OMAR, "1.2.826.0.1.3680043.8.498.2000", "20220301", "Chest", "", 4),
    }
    for name, (person, uid, date, region, label, seed) in files.items():
        ds = ds_.photo_dataset(
            ds_.lesion_rgb(96, 128, seed),
            person=person,
            study_uid=uid,
            study_date=date,
            region=region,
            lesion_label=label,
        )
        ds_.write(ds, folder / "MRN-4411-7788" / name if person is JANE else folder / name)
    return {n: d for n, (_, _, d, _, _, _) in files.items()}


def test_dicom_tags_group_and_pseudonyms_follow_dates(tmp_path: Path):
    _dicom_set(tmp_path / "set")
    paths = list_images(tmp_path / "set", recursive=True)
    lab = {p.name: labels(group_images(paths, tmp_path / "set"))[p] for p in paths}
    got = {n: (g.patient, g.lesion, g.visit) for n, g in lab.items()}
    assert got == {  # Omar's only visit (2022) is the earliest: he is P-001
        "Haddad_Omar.dcm": ("P-001", "L-01", "V-1"),
        "Doe_Jane_back_2023.dcm": ("P-002", "L-01", "V-1"),
        "Doe_Jane_back_2024.dcm": ("P-002", "L-01", "V-2"),
        "Doe_Jane_arm_2024.dcm": ("P-002", "L-02", "V-1"),
    }
    real = labels(group_images(paths, tmp_path / "set"), pseudonymize=False)
    assert {g.patient for g in real.values()} == {JANE.patient_id, OMAR.patient_id}


def test_folder_layout_and_csv_sidecar(tmp_path: Path):
    root = tmp_path / "clinic"
    for rel in ("smith/left-cheek/2024-02-01", "smith/left-cheek/2023-08-15", "lee/nape/20240101"):
        write_sample_folder(root / rel, 1)
    write_sample_folder(root / "loose", 1)  # two levels only: not grouped
    paths = list_images(root, recursive=True)
    groups = group_images(paths, root)
    assert {g.source for g in groups.values()} == {"folders"} and len(groups) == 3
    lab = labels(groups)
    visits = sorted((g.patient, g.lesion, g.visit, p.parent.name) for p, g in lab.items())
    assert visits == [
        ("P-001", "L-01", "V-1", "2023-08-15"),
        ("P-001", "L-01", "V-2", "2024-02-01"),
        ("P-002", "L-01", "V-1", "20240101"),
    ]
    loose = next(p for p in paths if "loose" in p.parts)
    (root / "patients.csv").write_text(
        f"file,patient,lesion,visit,visit_date\nloose/{loose.name},zed,toe,first,2020-01-01\n",
        encoding="utf-8",
    )
    g = group_images(paths, root)[loose]
    assert (g.source, g.patient, g.lesion, g.visit_date) == ("csv", "zed", "toe", "2020-01-01")
    assert labels(group_images(paths, root))[loose].patient == "P-001"  # 2020: now the earliest
    (root / "patients.csv").write_text("file,who\nx,y\n", encoding="utf-8")
    with pytest.raises(SidecarError, match="missing column"):
        group_images(paths, root)
    (root / "patients.csv").write_text(
        "file,patient,lesion,visit,visit_date\nx,p,l,v,yesterday\n", encoding="utf-8"
    )
    with pytest.raises(SidecarError, match=r"patients.csv:2: visit_date 'yesterday'"):
        group_images(paths, root)


def _png_metadata(raw: bytes) -> str:
    """Every PNG chunk but the compressed pixels (IDAT), where text, EXIF or other metadata would be."""
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(raw):
        n = struct.unpack(">I", raw[pos : pos + 4])[0]
        kind = raw[pos + 4 : pos + 8]
        if kind != b"IDAT":
            out.append(kind.decode("latin-1") + raw[pos + 8 : pos + 8 + n].decode("latin-1"))
        pos += 12 + n
    return "\n".join(out)


def _pdf_text(path: Path) -> str:
    """The text a reader sees, the document information and every attached file."""
    reader = PdfReader(path)
    parts = [page.extract_text() or "" for page in reader.pages]
    parts += [f"{k}={v}" for k, v in (reader.metadata or {}).items()]
    for name, blobs in reader.attachments.items():
        parts += [name, *(b.decode("utf-8", "replace") for b in blobs)]
    return "\n".join(parts)


def _html_text(raw: bytes) -> str:
    """The page with each embedded image replaced by what it can carry as text. A base64 payload is
    pixels written in 64 letters: a three-letter name occurs in it by chance (this test once failed on
    "Ola" inside a heatmap), while a PNG's text chunks are where a name could really hide."""

    def embedded(m: re.Match) -> str:
        data = base64.b64decode(m.group(2))
        return _png_metadata(data) if m.group(1) == "image/png" else data.decode("utf-8", "replace")

    return re.sub(r"data:([\w/+.-]+);base64,([A-Za-z0-9+/=]+)", embedded, raw.decode("utf-8"))


def _all_output_text(out: Path) -> dict[str, str]:
    """Each output as text: PDFs as read, PNGs by their metadata chunks, HTML with its embedded images
    decoded, everything else as bytes."""
    texts: dict[str, str] = {}
    for f in sorted(out.rglob("*")):
        if not f.is_file():
            continue
        raw = f.read_bytes()
        if f.suffix == ".pdf":
            texts[str(f)] = _pdf_text(f)
        elif f.suffix == ".png":
            texts[str(f)] = _png_metadata(raw)
        elif f.suffix == ".html":
            texts[str(f)] = _html_text(raw)
        else:
            texts[str(f)] = raw.decode("utf-8")
    return texts


def test_report_by_patient_has_no_identifying_string(tmp_path: Path, demo_like_weights, capsys):
    folder = tmp_path / "set"
    _dicom_set(folder)
    paths = list_images(folder, recursive=True)
    back = next(p for p in paths if p.name == "Doe_Jane_back_2023.dcm")
    ReviewStore().put(
        ReviewRecord(
            load_image(back).sha256,
            back.name,
            "overridden",
            "melanoma",
            None,
            f"Discussed with Jane Doe ({JANE.patient_id}), referred by Dr Marlowe",
        )
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "report",
                str(folder),
                "--out",
                str(out),
                "--weights",
                str(demo_like_weights),
                "--recursive",
                "--format",
                "pdf,html,csv,png",
                "--include-notes",  # the note, scrubbed: a de-identified report leaves notes out by default
            ]
        )
        == 0
    )
    texts = _all_output_text(out)
    assert any(k.endswith(".pdf") for k in texts) and any(k.endswith(".png") for k in texts)
    assert "P-002" in next(t for k, t in texts.items() if k.endswith(".pdf"))  # the PDF text was read
    store = ProjectStore.shared()
    exports = [e for e in read_events() if e["event"] == "export"]
    exports += [e for e in store.audit_events() if e["event"] == "export"]
    assert len(exports) == 2 * len(paths)
    texts["audit export entries"] = json.dumps(exports, ensure_ascii=False)
    identifying = (
        set(JANE.identifying_strings()) | set(OMAR.identifying_strings()) | identifying_values(paths)
    )
    identifying |= {p.name for p in paths} | {p.stem for p in paths}
    identifying = {s for s in identifying if len(s) >= 3}  # a middle initial alone is not searchable
    assert len(identifying) > 40
    hits = [(where, s) for where, text in texts.items() for s in identifying if s in text]
    assert hits == []
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8"))))
    assert [(r["patient"], r["lesion"], r["visit"]) for r in rows] == [
        ("P-001", "L-01", "V-1"),
        ("P-002", "L-01", "V-1"),
        ("P-002", "L-01", "V-2"),
        ("P-002", "L-02", "V-1"),
    ]
    reviewed = next(r for r in rows if r["review_decision"] == "overridden")
    assert "[removed]" in reviewed["review_note"] and reviewed["visit"] == "V-1"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<th>Patient</th>" in html and "P-002 \u00b7 L-01 \u00b7 V-2" in html


def test_no_deidentify_keeps_identifiers_and_says_so(tmp_path: Path, demo_like_weights):
    folder = tmp_path / "set"
    _dicom_set(folder)
    out = tmp_path / "out"
    assert (
        main(
            [
                "report",
                str(folder),
                "--out",
                str(out),
                "--weights",
                str(demo_like_weights),
                "--recursive",
                "--format",
                "html,csv",
                "--no-deidentify",
            ]
        )
        == 0
    )
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "NO: real file names and patient IDs shown" in html
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8"))))
    assert {r["patient"] for r in rows} == {JANE.patient_id, OMAR.patient_id}
