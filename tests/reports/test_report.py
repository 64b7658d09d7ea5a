"""Reports end to end: a folder becomes a PDF, an HTML file, a CSV and PNGs whose contents are checked
against an independent classification of the same images; de-identification, review decisions,
provenance and the audit trail are checked in the files themselves."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.audit import read_events
from medgrad_desktop.core.card import RESEARCH_NOTICE, UNTRAINED_WARNING
from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.explain import METHODS, default_params
from medgrad_desktop.core.imageio import list_images, load_image
from medgrad_desktop.reports import ReportExistsError, ReportFailed, ReportOptions
from medgrad_desktop.reports.export import export_report
from medgrad_desktop.reports.pdf_writer import MANIFEST_NAME
from medgrad_desktop.reports.request import ReportRequest
from medgrad_desktop.resources_path import demo_dir
from medgrad_desktop.review import ReviewRecord, ReviewStore

pypdf = pytest.importorskip("pypdf")

SECRET_MAKE = "SecretCamMakeXYZ"


def lesion_rgb(seed: int, h: int = 180, w: int = 240) -> np.ndarray:
    """A pink background with a dark irregular blob: enough structure for the maps to vary."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = h * rng.uniform(0.35, 0.65), w * rng.uniform(0.35, 0.65)
    r = min(h, w) * rng.uniform(0.2, 0.35)
    blob = np.exp(-(((yy - cy) / r) ** 2 + ((xx - cx) / (1.3 * r)) ** 2))
    base = np.array([225, 170, 160], np.float32)
    dark = np.array([90, 50, 40], np.float32)
    img = base * (1 - blob[..., None]) + dark * blob[..., None] + rng.normal(0, 8, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def save_with_gps(path: Path, rgb: np.ndarray) -> None:
    exif = Image.Exif()
    exif[0x010F] = SECRET_MAKE  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.0), 3: "W", 4: (0.0, 7.0, 40.0)}  # GPSInfo
    Image.fromarray(rgb).save(path, "JPEG", exif=exif, quality=92)


def make_folder(root: Path) -> tuple[Path, list[Path]]:
    """Demo images when the bundled demo exists, else generated ones; plus a photo with EXIF GPS and
    a broken file. Returns (folder, readable images in report order)."""
    folder = root / "cases"
    folder.mkdir()
    demo = (
        [p for p in list_images(demo_dir(), recursive=True) if "model" not in p.parts][:3]
        if demo_dir().is_dir()
        else []
    )
    if demo:
        for p in demo:
            shutil.copy(p, folder / f"patient_{p.name}")
    else:
        for i in range(3):
            Image.fromarray(lesion_rgb(i)).save(folder / f"patient_smith_{i}.png")
    save_with_gps(folder / "patient_gps.jpg", lesion_rgb(7, 200, 260))
    (folder / "patient_zz_broken.jpg").write_bytes(b"this is not a jpeg")
    images = list_images(folder)
    return folder, images


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("medgrad-data")
    old = os.environ.get("MEDGRAD_DATA_DIR")
    os.environ["MEDGRAD_DATA_DIR"] = str(d)
    yield d
    if old is None:
        os.environ.pop("MEDGRAD_DATA_DIR", None)
    else:
        os.environ["MEDGRAD_DATA_DIR"] = old


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("report")
    folder, paths = make_folder(root)
    ok = [p for p in paths if "broken" not in p.name]
    store = ReviewStore()
    first, second = (load_image(p) for p in ok[:2])
    pred0 = classify(tiny_model, [first.rgb])[0]
    store.put(
        ReviewRecord(
            first.sha256,
            first.path.name,
            "accepted",
            pred0.predicted_id,
            pred0.predicted_id,
            "Looks consistent; follow up in 3 months",
        )
    )
    store.put(
        ReviewRecord(
            second.sha256, second.path.name, "overridden", "melanoma", None, "Atypical network, excise"
        )
    )
    out = root / "out"
    pmap = root / "private" / "map.csv"
    progress: list[tuple[int, int, str]] = []
    result = export_report(
        ReportRequest(
            paths,
            [default_params(m) for m in METHODS],
            out,
            formats=("pdf", "html", "csv", "png"),
            options=ReportOptions(include_notes=True),  # the notes, scrubbed (they hold no identifier)
            pseudonym_map=pmap,
        ),
        tiny_model,
        reviews=store,
        progress=lambda d, t, m: progress.append((d, t, m)),
    )
    return {
        "folder": folder,
        "paths": paths,
        "ok": ok,
        "out": out,
        "result": result,
        "map": pmap,
        "progress": progress,
        "model": tiny_model,
    }


def pdf_pages(path: Path) -> list[str]:
    reader = pypdf.PdfReader(str(path))
    return [" ".join((p.extract_text() or "").split()) for p in reader.pages]  # pypdf may emit tabs


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_pdf_pages_text_and_attachment(exported):
    out, ok, paths, model = exported["out"], exported["ok"], exported["paths"], exported["model"]
    pdf = out / "report.pdf"
    pages = pdf_pages(pdf)
    assert len(pages) == 1 + len(ok) + 1  # cover, one page per readable image, provenance
    joined = squash("".join(pages))
    assert squash(model.card.weights_sha256) in joined
    for i, text in enumerate(pages, start=1):
        assert RESEARCH_NOTICE in text, f"page {i} lacks the notice"
        assert f"Page {i} of {len(pages)}" in text
        assert UNTRAINED_WARNING.split(";")[0] in text, f"page {i} lacks the UNTRAINED warning"
    preds = classify(model, [load_image(p).rgb for p in ok])
    for n, pred in enumerate(preds):
        page = pages[1 + n]
        assert f"IMG-{paths.index(ok[n]) + 1:04d}" in page
        assert pred.predicted_name in page
        assert f"{pred.confidence:.1%}" in page
        assert load_image(ok[n]).sha256 in squash(page)
    assert "Overridden:Melanoma" in joined and "Atypicalnetwork,excise" in joined
    assert "patient" not in "".join(pages).lower()  # de-identified: no file name anywhere
    assert "notanalysed:isnotareadableimage" in squash(pages[0])  # the broken file's row
    reader = pypdf.PdfReader(str(pdf))
    attachments = reader.attachments
    assert MANIFEST_NAME in attachments
    manifest = json.loads(attachments[MANIFEST_NAME][0])
    assert manifest["model"]["weights_sha256"] == model.card.weights_sha256
    assert [i["sha256"] for i in manifest["inputs"] if i["sha256"]] == [load_image(p).sha256 for p in ok]
    assert {m["method"] for m in manifest["methods"]} == set(METHODS)
    assert manifest["methods"][2]["entropy_radius"] == default_params("medgrad").entropy_radius


class _Html(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs: list[str] = []
        self.links: list[str] = []
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag in ("link", "iframe", "object", "embed") or (tag == "a" and "href" in a):
            self.links.append(tag)
        if tag == "script":
            self.scripts.append(a)


def test_html_self_contained(exported):
    out, ok, model = exported["out"], exported["ok"], exported["model"]
    text = (out / "report.html").read_text(encoding="utf-8")
    parser = _Html()
    parser.feed(text)
    parser.close()
    assert len(parser.imgs) == len(ok) * (1 + len(METHODS) + 1)  # original, 3 overlays, colour bar
    assert all(src.startswith("data:image/") for src in parser.imgs)
    assert not parser.links and "http://" not in text and "https://" not in text
    assert all(s.get("type") == "application/json" for s in parser.scripts)  # data only, nothing runs
    n_pages = len(ok) + 2
    assert text.count(f"of {n_pages}</span>") == n_pages
    assert text.count(RESEARCH_NOTICE) >= 2 * n_pages
    assert model.card.weights_sha256 in text
    assert "patient" not in text.lower()
    beside = json.loads((out / "report.manifest.json").read_text())
    embedded = re.search(r'id="medgrad-manifest">\n(.*)\n</script>', text, re.S).group(1)
    assert json.loads(embedded.replace("<\\/", "</")) == beside
    # embedded pictures carry no metadata
    import base64

    for src in parser.imgs:
        raw = base64.b64decode(src.split(",", 1)[1])
        assert SECRET_MAKE.encode() not in raw
        with Image.open(io.BytesIO(raw)) as im:
            assert not im.getexif()


def test_csv_round_trips(exported):
    out, paths, result = exported["out"], exported["paths"], exported["result"]
    content = result.content
    with open(out / "report.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(paths)
    for row, e in zip(rows, content.entries, strict=True):
        assert row["image"] == e.label and int(row["index"]) == e.index
        assert row["model_sha256"] == content.model_sha256
        if not e.ok:
            assert row["error"] and row["predicted_id"] == "" and row["sha256"] == ""
            continue
        assert row["sha256"] == e.sha256 and row["error"] == ""
        probs = {c: float(row[f"p_{c}"]) for c in content.class_ids}
        assert probs == pytest.approx(e.probabilities, abs=1e-6)
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4)
        assert max(probs, key=probs.get) == row["predicted_id"] == e.predicted_id
        assert float(row["confidence"]) == pytest.approx(e.confidence, abs=1e-6)
        assert [t.split(":")[0] for t in row["top_k"].split(";")] == [c.class_id for c in e.top_k]
        for c in e.criteria:
            assert row[f"crit_{c.criterion_id}"] == c.option_id
            assert int(row[f"crit_{c.criterion_id}_points"]) == c.points
        assert int(row["seven_point_score"]) == e.seven_point_score
        assert row["review_decision"] == e.review.decision
        assert row["review_note"] == e.review.note
    decisions = [r["review_decision"] for r in rows]
    assert decisions[:2] == ["accepted", "overridden"] and rows[1]["review_final_class"] == "melanoma"


def test_png_overlays_strip_metadata(exported):
    out, ok = exported["out"], exported["ok"]
    files = sorted((out / "report-png").iterdir())
    assert len(files) == len(ok) * (1 + len(METHODS))
    gps_label = f"IMG-{exported['paths'].index(exported['folder'] / 'patient_gps.jpg') + 1:04d}"
    original = out / "report-png" / f"{gps_label}_original.png"
    raw = original.read_bytes()
    assert SECRET_MAKE.encode() not in raw and b"Exif" not in raw
    with Image.open(original) as im:
        assert not im.getexif() and im.size == (260, 200)
        assert not {k for k in im.info if k not in ("dpi",)}
    for f in files:
        assert "patient" not in f.name


def test_pseudonym_map_progress_and_audit(exported, data_dir):
    pmap, paths, result = exported["map"], exported["paths"], exported["result"]
    with open(pmap, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    images = [r for r in rows if r["sha256"] or r["original_path"]]
    assert [r["pseudonym"] for r in images] == [e.label for e in result.content.entries]
    assert [Path(r["original_path"]).name for r in images] == [p.name for p in paths]
    assert not any("map" in p.name for p in exported["out"].rglob("*"))
    prog = exported["progress"]
    assert prog[-1][0] == prog[-1][1] and [d for d, _, _ in prog] == sorted(d for d, _, _ in prog)
    events = [
        e
        for e in read_events()
        if e["event"] == "export" and e.get("report") == str(exported["out"] / "report")
    ]
    assert len(events) == len(paths)
    assert all(e["model_sha256"] == exported["model"].card.weights_sha256 and e["time"] for e in events)
    assert [e["file_sha256"] for e in events if e["file_sha256"]] == [
        load_image(p).sha256 for p in exported["ok"]
    ]
    assert not list(exported["out"].glob(".*partial"))


def test_existing_report_needs_force(exported, tiny_model):
    out, paths = exported["out"], exported["paths"]
    before = (out / "report.pdf").stat().st_mtime_ns
    with pytest.raises(ReportExistsError, match="report.pdf"):
        export_report(ReportRequest(paths, [default_params("medgrad")], out, formats=("pdf",)), tiny_model)
    assert (out / "report.pdf").stat().st_mtime_ns == before
    res = export_report(
        ReportRequest(paths[:1], [default_params("medgrad")], out, formats=("pdf",), force=True), tiny_model
    )
    assert res.outputs == [out / "report.pdf"] and len(pdf_pages(out / "report.pdf")) == 3


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_failure_midway_leaves_nothing(tiny_model, tmp_path, monkeypatch, data_dir):
    folder, paths = make_folder(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("unrelated")
    import medgrad_desktop.reports.builder as builder

    real = builder.analyze_batch
    second = load_image(paths[1]).rgb

    def flaky(clip, images, *a, **k):  # fails whenever the second image is in the pass
        if any(im.shape == second.shape and (im == second).all() for im in images):
            raise RuntimeError("simulated GPU fault")
        return real(clip, images, *a, **k)

    monkeypatch.setattr(builder, "analyze_batch", flaky)
    with pytest.raises(ReportFailed, match=re.escape(paths[1].name) + ".*simulated GPU fault"):
        export_report(
            ReportRequest(
                paths,
                [default_params("gradcam")],
                out,
                formats=("pdf", "html", "csv", "png"),
                options=ReportOptions(batch_size=4),
            ),
            tiny_model,
        )
    assert _listing(out) == ["keep.txt"]
    events = [e for e in read_events() if e["event"] == "export_failed" and e.get("out_dir") == str(out)]
    assert events and "simulated GPU fault" in events[-1]["error"]


def test_writer_failure_after_pdf_leaves_nothing(tiny_model, tmp_path, monkeypatch, data_dir):
    folder, paths = make_folder(tmp_path)
    out = tmp_path / "out"
    import medgrad_desktop.reports.csv_writer as csv_writer

    def broken(content, path, tick=None):
        path.write_text("half a csv")
        tick(content.entries[0].label)
        raise OSError("No space left on device")

    monkeypatch.setattr(csv_writer, "write_csv", broken)
    with pytest.raises(ReportFailed, match=re.escape(paths[0].name) + ".*CSV.*No space left"):
        export_report(
            ReportRequest(paths, [default_params("gradcam")], out, formats=("pdf", "html", "csv")), tiny_model
        )
    assert _listing(out) == []


def test_cancel_leaves_nothing(tiny_model, tmp_path, data_dir):
    from medgrad_desktop.core.cancel import Cancelled

    folder, paths = make_folder(tmp_path)
    out = tmp_path / "out"

    seen = {"n": 0}

    def checkpoint():
        seen["n"] += 1
        if seen["n"] == 3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        export_report(
            ReportRequest(paths, [default_params("gradcam")], out, formats=("pdf", "csv")),
            tiny_model,
            checkpoint=checkpoint,
        )
    assert _listing(out) == []
    assert any(e["event"] == "export_cancelled" and e.get("out_dir") == str(out) for e in read_events())


def test_no_deidentify_keeps_names_and_map_must_stay_outside(tiny_model, tmp_path, data_dir):
    folder, paths = make_folder(tmp_path)
    out = tmp_path / "out"
    from medgrad_desktop.reports import ReportOptions

    with pytest.raises(ValueError, match="outside the report folder"):
        ReportRequest(
            paths, [default_params("gradcam")], out, formats=("csv",), pseudonym_map=out / "map.csv"
        )
    with pytest.raises(ValueError, match="only applies to a de-identified report"):
        ReportRequest(
            paths,
            [default_params("gradcam")],
            out,
            options=ReportOptions(deidentify=False),
            pseudonym_map=tmp_path / "map.csv",
        )
    res = export_report(
        ReportRequest(
            paths,
            [default_params("gradcam")],
            out,
            formats=("csv", "html"),
            options=ReportOptions(deidentify=False),
        ),
        tiny_model,
    )
    assert [e.label for e in res.content.entries] == [p.name for p in paths]
    html = (out / "report.html").read_text()
    assert all(p.name in html for p in paths)


def test_cli_report(tmp_path, data_dir, capsys, monkeypatch, tiny_model):
    import medgrad_desktop.commands.report as report_cmd
    from medgrad_desktop.cli import main

    seen = []  # the session's tiny model stands in for the one the options describe (saves a reload)
    monkeypatch.setattr(report_cmd, "model_from_args", lambda a: seen.append(a) or tiny_model)
    folder, paths = make_folder(tmp_path)
    out = tmp_path / "out"
    args = [
        "report",
        str(folder),
        "--out",
        str(out),
        "--random-init",
        "--arch",
        "MedGrad-Tiny",
        "--device",
        "cpu",
        "--method",
        "gradcam,medgrad",
        "--format",
        "pdf,csv",
    ]
    assert main(args) == 0
    assert seen[0].random_init and seen[0].arch == "MedGrad-Tiny" and seen[0].device == "cpu"
    err = capsys.readouterr().err
    assert "IMG-0005 (patient_zz_broken.jpg): is not a readable image" in err
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.manifest.json", "report.pdf"]
    assert len(pdf_pages(out / "report.pdf")) == 1 + (len(paths) - 1) + 1
    assert main(args) == 3  # exists: refused without --force
    assert "--force" in capsys.readouterr().err
    assert (
        main(
            [
                "report",
                str(folder),
                "--out",
                str(tmp_path / "o2"),
                "--random-init",
                "--arch",
                "MedGrad-Tiny",
                "--method",
                "nope",
            ]
        )
        == 2
    )


def test_long_summary_spans_cover_pages(tmp_path):
    """70 rows overflow the cover: the table continues on further pages, each numbered, none lost."""
    from medgrad_desktop.reports.content import ImageEntry, ReportContent, ReportImage
    from medgrad_desktop.reports.deidentify import encode_png
    from medgrad_desktop.reports.pdf_writer import page_count, write_pdf

    pic = tmp_path / "p.png"
    pic.write_bytes(encode_png(lesion_rgb(1, 60, 80)))
    img = ReportImage(pic, 80, 60)
    entries = [
        ImageEntry(index=i, label=f"IMG-{i:04d}", sha256=None, error="is empty (0 bytes)")
        for i in range(1, 71)
    ]
    entries[5] = ImageEntry(
        index=6,
        label="IMG-0006",
        sha256="c" * 64,
        width=80,
        height=60,
        predicted_id="melanoma",
        predicted_name="Melanoma",
        confidence=0.5,
        seven_point_score=3,
        seven_point_threshold=3,
        original=img,
    )
    content = ReportContent(
        title="T",
        created="2026-01-01T00:00:00+00:00",
        model_name="m",
        model_sha256="d" * 64,
        warnings=[],
        methods=[default_params("gradcam").to_dict()],
        method_names=["Grad-CAM"],
        colormap="inferno",
        opacity=0.5,
        class_ids=["melanoma"],
        class_names=["Melanoma"],
        criterion_ids=[],
        entries=entries,
        provenance={"app": {"name": "MedGrad Desktop", "version": "0"}, "model": {}, "environment": {}},
        deidentified=True,
    )
    n = page_count(content)
    assert n >= 4  # at least two cover pages, one image page, provenance
    write_pdf(content, tmp_path / "long.pdf")
    pages = pdf_pages(tmp_path / "long.pdf")
    assert len(pages) == n
    cover = " ".join(pages[: n - 2])
    assert all(cover.count(f"IMG-{i:04d}") == 1 for i in range(1, 71))
    assert all(
        f"Page {i} of {n}" in pages[i - 1] and RESEARCH_NOTICE in pages[i - 1] for i in range(1, n + 1)
    )
    assert "Melanoma" in pages[n - 2] and "d" * 64 in squash(pages[0])


def test_cli_ctrl_c_leaves_nothing(tmp_path, data_dir, capsys, monkeypatch, tiny_model):
    import medgrad_desktop.commands.report as report_cmd
    import medgrad_desktop.reports.builder as builder
    from medgrad_desktop.cli import main

    folder, _ = make_folder(tmp_path)
    monkeypatch.setattr(report_cmd, "model_from_args", lambda a: tiny_model)
    real, calls = builder.analyze_batch, []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(builder, "analyze_batch", interrupted)
    out = tmp_path / "out"
    assert main(["report", str(folder), "--out", str(out), "--random-init", "--format", "pdf,csv"]) == 130
    assert "cancelled: no report was written" in capsys.readouterr().err
    assert _listing(out) == []


def test_error_text_never_quotes_the_file_name(tiny_model, tmp_path, monkeypatch):
    """A decoder message that quotes the path is scrubbed in a de-identified report."""
    import medgrad_desktop.reports.builder as builder
    from medgrad_desktop.core.imageio import ImageLoadError
    from medgrad_desktop.reports import ReportOptions
    from medgrad_desktop.reports.builder import build_report

    bad = tmp_path / "patient_jones.jpg"
    bad.write_bytes(b"x")

    def load(path):
        raise ImageLoadError(
            path, f"could not be decoded (cannot read '{Path(path).resolve()}'); re-export it"
        )

    monkeypatch.setattr(builder, "load_image", load)
    content = build_report([bad], tiny_model, [default_params("gradcam")], None, tmp_path / "spool")
    assert content.entries[0].error == "could not be decoded (cannot read 'IMG-0001'); re-export it"
    named = build_report(
        [bad],
        tiny_model,
        [default_params("gradcam")],
        None,
        tmp_path / "spool2",
        ReportOptions(deidentify=False),
    )
    assert "patient_jones.jpg" in named.entries[0].error


def test_report_content_imports_no_qt():
    """Reports build without Qt; only rendering a PDF loads it (lazily)."""
    import subprocess
    import sys

    code = (
        "import sys, medgrad_desktop.reports, medgrad_desktop.reports.pdf_writer, "
        "medgrad_desktop.reports.html_writer, medgrad_desktop.reports.csv_writer, "
        "medgrad_desktop.reports.png_writer, medgrad_desktop.provenance, medgrad_desktop.commands.report; "
        "print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_demo_like_model_with_few_classes_and_no_criteria(demo_like_weights, tmp_path, data_dir):
    """A card that embeds its own catalogue (as the demo model's does): the report follows it, says
    DEMO on every page and has no 7-point score to give."""
    from medgrad_desktop.core.card import DEMO_WARNING
    from medgrad_desktop.core.model import load_model

    clip = load_model(demo_like_weights, device="cpu")
    folder, paths = make_folder(tmp_path)
    out = tmp_path / "out"
    export_report(ReportRequest(paths[:2], [default_params("medgrad")], out, formats=("pdf", "csv")), clip)
    pages = pdf_pages(out / "report.pdf")
    assert len(pages) == 4
    assert all(DEMO_WARNING.split(";")[0] in p for p in pages)
    assert "not available" in pages[1] and clip.card.weights_sha256 in squash(pages[0])
    with open(out / "report.csv", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert sorted(h for h in header if h.startswith("p_")) == [
        "p_common_nevus",
        "p_melanoma",
        "p_seborrheic_keratosis",
    ]
    assert not any(h.startswith("crit_") for h in header)


def test_a_long_model_warning_is_printed_whole_on_every_pdf_page(tiny_model, tmp_path, data_dir):
    """The text tower's limits are a long sentence from the card: wrapped in the header box, never cut
    with an ellipsis, and the page body starts below it."""
    import copy

    from medgrad_desktop.reports.pdf_canvas import WARNING_ROW, body_top, warning_heights

    clip = copy.deepcopy(tiny_model)
    limits = (
        "knows only the words of its synthetic captions (diagnoses, 7-point criteria, the drawn "
        "structures); other text, e.g. 'banana bread', is out of vocabulary and its map means nothing"
    )
    clip.card.untrained = False
    clip.card.extra = {
        **clip.card.extra,
        "text_tower": {"trained": True, "frozen": False, "limitations": limits},
    }
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(lesion_rgb(3)).save(folder / "a.png")
    result = export_report(
        ReportRequest(list_images(folder), [default_params("medgrad")], tmp_path / "out", formats=("pdf",)),
        clip,
        reviews=ReviewStore(),
    )
    pdf = next(o for o in result.outputs if o.suffix == ".pdf")
    pages = pdf_pages(pdf)
    for i, text in enumerate(pages, start=1):
        assert squash("Text tower limited: " + limits) in squash(text), f"page {i}"
        assert "\u2026" not in text
    heights = warning_heights(result.content)
    assert len(heights) == 1 and heights[0] > WARNING_ROW  # one warning, on two lines
    short = body_top(SimpleNamespace(warnings=["Text tower limited: few words"]))
    assert body_top(result.content) >= short + heights[0] - WARNING_ROW - 1e-6  # the body moves down
