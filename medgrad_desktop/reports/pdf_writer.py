"""PDF report with QPdfWriter + QPainter (the only report module that imports Qt).

Qt is imported inside the functions that draw, so importing the reports package (a CSV/HTML export,
the CLI on a server) never loads Qt; only rendering a PDF does.

A4 portrait, laid out in millimetres. Every page has the research-use notice in its header and footer,
the model's UNTRAINED/DEMO warnings when they apply, and "Page n of N". The provenance manifest is
attached to the PDF as `medgrad-manifest.json` (QPdfWriter.addFileAttachment, Qt >= 6.8).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from medgrad_desktop.reports.content import ImageEntry, ReportContent
from medgrad_desktop.reports.pdf_canvas import (
    BOTTOM,
    CONTENT_W,
    DARK,
    GREY,
    LEFT,
    RED,
    RIGHT,
    ROW_H,
    SUMMARY_COLS,
    PdfCanvas,
    a4_pdf_writer,
    body_top,
    colorbar_qimage,
    qimage,
)

MANIFEST_NAME = "medgrad-manifest.json"


def cover_layout(content: ReportContent) -> tuple[list[tuple[str, str]], int, int]:
    """(info lines, summary rows on the first cover page, summary rows on each later one)."""
    info = [
        ("Created (UTC)", content.created),
        ("Model", content.model_name),
        ("Weights SHA-256", content.model_sha256),
        ("Methods", ", ".join(content.method_names) + " (maps explain the predicted class)"),
        ("Colour map", content.colour_text),
        ("De-identified", content.deidentified_text),
        ("Notes", content.notes),
        ("Unlike training", content.ood_check),
        *([("OOD statistics", content.ood_statistics)] if content.ood_statistics else []),
        ("Images", content.summary_line()),
    ]
    top = body_top(content) + 14 + 5.5 * len(info) + 6 + ROW_H
    first = max(1, int((BOTTOM - 4 - top) // ROW_H))
    later = max(1, int((BOTTOM - 4 - (body_top(content) + ROW_H)) // ROW_H))
    return info, first, later


def page_count(content: ReportContent) -> int:
    _, first, later = cover_layout(content)
    n = len(content.entries)
    cover = 1 + (math.ceil(max(0, n - first) / later) if n > first else 0)
    return cover + len(content.ok_entries) + 1


# --- pages ------------------------------------------------------------------------------------------
def _cover(cv: PdfCanvas, content: ReportContent) -> None:
    info, first, later = cover_layout(content)
    y = cv.new_page()
    cv.text(LEFT, y, CONTENT_W, 12, content.title, 18, bold=True)
    y += 14
    for key, value in info:
        cv.text(LEFT, y, 36, 5.5, key, 8.5, color=GREY)
        cv.text(
            LEFT + 36,
            y,
            CONTENT_W - 36,
            5.5,
            value,
            8 if key == "Weights SHA-256" else 9,
            mono=key == "Weights SHA-256",
        )
        y += 5.5
    y += 6
    rows = content.entries
    chunks = [rows[:first]] + [rows[i : i + later] for i in range(first, len(rows), later)]
    for n, chunk in enumerate(chunks):
        if n:
            y = cv.new_page()
        y = _summary_table(cv, y, chunk)


def _summary_table(cv: PdfCanvas, y: float, rows: list[ImageEntry]) -> float:
    x = LEFT
    cv.box(LEFT, y, CONTENT_W, ROW_H, fill=(235, 238, 243), border=None)
    for i, (name, w) in enumerate(SUMMARY_COLS):
        cv.text(x + 1.2, y, w - 2.4, ROW_H, name, 8, bold=True, align="right" if i in (3, 4) else "left")
        x += w
    y += ROW_H
    for e in rows:
        x = LEFT
        if e.ok:
            cells = [
                str(e.index),
                e.label,
                f"\u26a0 {e.predicted_name or ''}" if e.ood_flagged else e.predicted_name or "",
                f"{e.confidence:.1%}",
                "" if e.seven_point_score is None else str(e.seven_point_score),
                e.review.headline,
            ]
        else:
            cells = [str(e.index), e.label, f"not analysed: {e.error}", "", "", ""]
        for i, ((_, w), cell) in enumerate(zip(SUMMARY_COLS, cells, strict=True)):
            if not e.ok and i == 2:
                cv.text(x + 1.2, y, CONTENT_W - 42 - 2, ROW_H, cell, 8, color=RED)
                break
            cv.text(x + 1.2, y, w - 2.4, ROW_H, cell, 8, align="right" if i in (3, 4) else "left")
            x += w
        cv.line(LEFT, y + ROW_H, RIGHT, y + ROW_H, color=(215, 215, 215))
        y += ROW_H
    return y


def _image_page(cv: PdfCanvas, content: ReportContent, e: ImageEntry) -> None:
    y = cv.new_page()
    cv.text(
        LEFT,
        y,
        70,
        8,
        f"{e.group_text} \u00b7 {e.label}" if e.patient else e.label,
        15 if not e.patient else 11,
        bold=True,
    )
    cv.text(
        LEFT + 70,
        y,
        CONTENT_W - 70,
        8,
        f"Predicted: {e.predicted_name} ({e.confidence:.1%})",
        11,
        bold=True,
        align="right",
    )
    y += 8.5
    cv.text(LEFT, y, 120, 4.5, f"SHA-256 {e.sha256}", 7, mono=True, color=GREY)
    cv.text(
        RIGHT - 60,
        y,
        60,
        4.5,
        f"image {e.index} of {len(content.entries)} \u00b7 {e.width}\u00d7{e.height} px",
        7.5,
        color=GREY,
        align="right",
    )
    y += 7
    if e.ood_flagged:  # before the maps: they are as unreliable as the prediction
        cv.box(LEFT, y - 1, CONTENT_W, 6, fill=(253, 236, 234), border=(229, 162, 157))
        cv.text(LEFT + 2, y - 1, CONTENT_W - 4, 6, f"\u26a0 {e.ood_text}", 8.5, bold=True, color=RED)
        y += 7
    y = _panels(cv, content, e, y)
    y += 4
    _tables(cv, e, y)


def _panels(cv: PdfCanvas, content: ReportContent, e: ImageEntry, y: float) -> float:
    panels = [(e.original, "Original", ["re-encoded from pixels, no metadata"], "", None)]
    panels += [
        (
            o.image,
            o.method_name,
            [
                f"explains {o.target_label} \u00b7 S={o.score:.3f}",
                o.empty_reason if o.empty else f"raw max {o.raw_max:.3g} (before min\u2013max)",
            ],
            o.no_evidence,
            o,
        )
        for o in e.overlays
    ]
    n = len(panels)
    cols = n if n <= 3 else 2
    rows = math.ceil(n / cols)
    bar_zone, gap = 22.0, 4.0

    def caption_h(width: float) -> float:
        """Title and two lines; in a report with the maps' stability, its line (wrapped, never cut)."""
        stab = max(
            (cv.measure(width, o.stability_text, 7) for o in e.overlays if o.stability_text), default=0
        )
        return 12.5 + (stab + 0.4 if stab else 0.0)

    pw = (CONTENT_W - bar_zone - gap * (cols - 1)) / cols
    aspect = min(1.0, max(0.5, e.height / max(1, e.width)))
    ph = pw * aspect
    cap_h = caption_h(pw)
    max_total = 128.0
    if rows * (ph + cap_h) > max_total:
        ph = max_total / rows - cap_h
        pw = ph / aspect
        cap_h = caption_h(pw)  # a narrower panel may wrap the stability line once more
        ph = min(ph, max_total / rows - cap_h)
        pw = ph / aspect
    for i, (img, title, subs, instead, o) in enumerate(panels):
        r, c = divmod(i, cols)
        x = LEFT + c * (pw + gap)
        yy = y + r * (ph + cap_h)
        cv.box(x, yy, pw, ph, fill=(245, 245, 245), border=None)
        if img is not None:
            cv.image(qimage(img.path), x, yy, pw, ph)
        else:  # an empty map is not drawn: its text stands where the picture would
            cv.box(x, yy, pw, ph, border=(170, 170, 170))
            used = cv.measure(pw - 8, instead, 9)
            cv.text(x + 4, yy + (ph - used) / 2, pw - 8, used + 1, instead, 9, align="center", wrap=True)
        cv.text(x, yy + ph + 0.5, pw, 4.2, title, 8, bold=True)
        for j, sub in enumerate(subs):
            cv.text(x, yy + ph + 4.4 + 3.6 * j, pw, 3.8, sub, 7, color=GREY)
        if o is not None and o.stability_text:
            top = yy + ph + 4.4 + 3.6 * len(subs)
            h = cv.measure(pw, o.stability_text, 7) + 0.4
            cv.text(x, top, pw, h, o.stability_text, 7, color=RED if o.unstable else GREY, wrap=True)
    if any(not o.empty for o in e.overlays):  # a colour bar only beside a drawn map
        bx = LEFT + cols * pw + (cols - 1) * gap + 4
        _colour_bar(cv, content, bx, y, ph)
    return y + rows * (ph + cap_h)


def _colour_bar(cv: PdfCanvas, content: ReportContent, x: float, y: float, h: float) -> None:
    bw = 4.5
    top, bot = y + 2, y + h - 2
    cv.p.drawImage(cv.rect(x, top, bw, bot - top), colorbar_qimage(content.colormap, content.overlay_alpha))
    cv.box(x, top, bw, bot - top, border=(60, 60, 60), width=0.2)
    for label, frac in (("1.0 high", 0.0), ("0.5", 0.5), ("0.0 low", 1.0)):
        ty = top + frac * (bot - top)
        cv.line(x + bw, ty, x + bw + 1.2, ty, color=(40, 40, 40), width=0.25)
        cv.text(x + bw + 1.6, ty - 2, 14, 4, label, 7)
    cv.text(x - 1, bot + 3, 21, 9, "relevance\n(min\u2013max per map)", 6.5, color=GREY, wrap=True)


def _tables(cv: PdfCanvas, e: ImageEntry, y: float) -> None:
    rh = 5.2
    lw, gap = 72.0, 6.0
    rx, rw = LEFT + lw + gap, CONTENT_W - lw - gap
    cv.text(LEFT, y, lw, 6, f"Differential (top {len(e.top_k)})", 10, bold=True)
    cv.text(rx, y, rw, 6, "7-point checklist", 10, bold=True)
    y += 7
    yl = y
    for rank, cp in enumerate(e.top_k, start=1):
        cv.text(LEFT, yl, 6, rh, f"{rank}.", 8.5, color=GREY)
        cv.text(LEFT + 6, yl, 38, rh, cp.name, 8.5, bold=rank == 1)
        cv.box(LEFT + 45, yl + 1.2, 14 * cp.probability, rh - 2.4, fill=(70, 110, 170), border=None)
        cv.box(LEFT + 45, yl + 1.2, 14, rh - 2.4, border=(190, 190, 190), width=0.15)
        cv.text(LEFT + 60, yl, 12, rh, f"{cp.probability:.1%}", 8.5, align="right")
        yl += rh
    yr = y
    for cr in e.criteria:
        cv.text(rx, yr, rw - 10, rh, cr.text, 8, color=DARK if cr.points else GREY)
        cv.text(
            rx + rw - 9,
            yr,
            9,
            rh,
            f"+{cr.points}" if cr.points else "0",
            8,
            bold=bool(cr.points),
            align="right",
        )
        yr += rh
    cv.line(rx, yr + 0.5, RIGHT, yr + 0.5)
    cv.text(rx, yr + 1.5, rw, 2 * rh, f"Score {e.seven_point_text}", 8.5, bold=True, wrap=True)
    yr += rh + 1
    y = max(yl, yr) + 5
    _review_box(cv, e, y)


def _review_box(cv: PdfCanvas, e: ImageEntry, y: float) -> None:
    rv = e.review
    note = rv.note_text
    extra = 4.5 * (bool(rv.updated) + bool(rv.reviewed_prediction))
    need = 8 + extra + cv.measure(CONTENT_W - 6, f"Note: {note}", 8.5) + 4
    h = min(BOTTOM - 3 - y, max(need, 22.0))
    if h < 14:
        return
    fill = {"accepted": (232, 245, 233), "overridden": (255, 243, 224)}.get(rv.decision, (243, 243, 243))
    cv.box(LEFT, y, CONTENT_W, h, fill=fill, border=(180, 180, 180))
    cv.text(LEFT + 3, y + 1.5, 30, 6, "Reviewer", 10, bold=True)
    cv.text(LEFT + 30, y + 1.5, CONTENT_W - 33, 6, rv.headline, 10, bold=rv.decision != "pending")
    yy = y + 8
    if rv.updated:
        when = rv.byline or f"Decision recorded {rv.updated}"
        cv.text(LEFT + 3, yy, CONTENT_W - 6, 4.5, when, 7.5, color=GREY)
        yy += 4.5
    if rv.reviewed_prediction:
        cv.text(
            LEFT + 3,
            yy,
            CONTENT_W - 6,
            4.5,
            f"The reviewer saw a different prediction ({rv.reviewed_prediction}) from this model run.",
            7.5,
            color=RED,
        )
        yy += 4.5
    room = y + h - yy - 2
    if need > h:  # the note does not fit the page: say where the rest is
        room -= 5
        cv.text(
            LEFT + 3,
            y + h - 6,
            CONTENT_W - 6,
            4.5,
            "\u2026 note shortened here; the full note is in the CSV and HTML report",
            7.5,
            italic=True,
            color=GREY,
        )
    cv.text(
        LEFT + 3,
        yy + 0.5,
        CONTENT_W - 6,
        room,
        f"Note: {note}",
        8.5,
        wrap=True,
        italic=rv.note_left_out or not rv.note.strip(),
    )


def _provenance_page(cv: PdfCanvas, content: ReportContent) -> None:
    m = content.provenance
    y = cv.new_page()
    cv.text(LEFT, y, CONTENT_W, 10, "Provenance", 15, bold=True)
    y += 11
    model = m.get("model", {})
    env = m.get("environment", {})
    cat = model.get("catalogue", {})
    lines = [
        ("App", f"{m['app']['name']} {m['app']['version']}"),
        ("Git commit", m["app"].get("git_commit") or "unknown (not a source checkout)"),
        ("Created (UTC)", m.get("created", "")),
        ("Model", model.get("name", "")),
        ("Weights SHA-256", model.get("weights_sha256", "")),
        ("Architecture", f"{model.get('architecture')} ({model.get('weights_format')})"),
        ("Catalogue", f"{cat.get('name')} v{cat.get('version')} (digest {cat.get('digest')})"),
        ("Temperature", str(model.get("temperature"))),
        ("Device", env.get("gpu") or env.get("device", "")),
        (
            "Software",
            f"torch {env.get('torch')}, open_clip {env.get('open_clip', '?')}, "
            f"Python {env.get('python')}, {env.get('platform')}",
        ),
    ]
    for key, value in lines:
        cv.text(LEFT, y, 34, 5, key, 8.5, color=GREY)
        cv.text(LEFT + 34, y, CONTENT_W - 34, 5, str(value), 8, mono=key in ("Weights SHA-256", "Git commit"))
        y += 5
    y += 3
    cv.text(LEFT, y, CONTENT_W, 6, "Methods and every parameter", 10, bold=True)
    y += 6.5
    for params in content.methods:
        text = ", ".join(f"{k}={v}" for k, v in params.items())
        y += cv.text(LEFT, y, CONTENT_W, 14, text, 7.5, mono=True, wrap=True) + 1.5
    if content.stability_rule:
        y += cv.text(LEFT, y, CONTENT_W, 14, f"Map stability: {content.stability_rule}", 7.5, wrap=True) + 1.5
    y += 3
    cv.text(LEFT, y, CONTENT_W, 6, "Input files (SHA-256)", 10, bold=True)
    y += 6.5
    room = int((BOTTOM - 12 - y) // 4.2)
    shown = content.entries[:room]
    for e in shown:
        cv.text(LEFT, y, 30, 4.2, e.label, 7.5)
        cv.text(
            LEFT + 30,
            y,
            CONTENT_W - 30,
            4.2,
            e.sha256 or f"not read: {e.error}",
            7,
            mono=bool(e.sha256),
            color=DARK if e.sha256 else RED,
        )
        y += 4.2
    if len(content.entries) > len(shown):
        cv.text(
            LEFT, y, CONTENT_W, 4.2, f"\u2026 and {len(content.entries) - len(shown)} more", 7.5, color=GREY
        )
        y += 4.2
    cv.text(
        LEFT,
        BOTTOM - 10,
        CONTENT_W,
        8,
        f"The complete manifest (JSON) is attached to this PDF as {MANIFEST_NAME}.",
        8,
        italic=True,
        color=GREY,
    )


def write_pdf(content: ReportContent, path: Path, tick: Callable[[str], None] | None = None) -> Path:
    """Write the whole report to `path` (the caller makes it atomic). `tick(page)` runs per page and
    may raise to cancel."""
    writer = a4_pdf_writer(Path(path), content.title)
    from PySide6.QtCore import QByteArray

    manifest = json.dumps(content.provenance, indent=1, ensure_ascii=False).encode("utf-8")
    writer.addFileAttachment(MANIFEST_NAME, QByteArray(manifest), "application/json")  # Qt >= 6.8
    cv = PdfCanvas(writer, content, page_count(content))
    try:
        _cover(cv, content)
        for e in content.ok_entries:
            if tick is not None:
                tick(e.label)
            _image_page(cv, content, e)
        _provenance_page(cv, content)
    finally:
        cv.end()
    if cv.page != cv.total:
        raise RuntimeError(f"PDF layout wrote {cv.page} pages but numbered them out of {cv.total}")
    return path
