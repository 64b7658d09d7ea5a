"""Self-contained HTML report: one file, every picture embedded as a `data:` URI (JPEG re-encoded from
pixels, so no EXIF/GPS), no executable script, no external links. Each section prints as one page and carries
the notice and its page number; the provenance manifest is embedded as JSON and also written beside.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import BinaryIO

import numpy as np

from medgrad_desktop.atomic import write_atomic
from medgrad_desktop.reports.content import ImageEntry, ReportContent, ReportImage
from medgrad_desktop.reports.deidentify import encode_jpeg, encode_png
from medgrad_desktop.reports.figures import colorbar_strip, downscale

HTML_MAX_SIDE = 768  # embedded pictures: enough for a screen, keeps a 100-image report small

# pages, their header and footer and the notice: the same look in every HTML report (images, studies)
PAGE_CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#191919;margin:0;background:#eee}
section.page{background:#fff;max-width:190mm;margin:10px auto;padding:8mm 10mm;box-sizing:border-box}
header,footer{display:flex;justify-content:space-between;font-size:11px;color:#6e6e6e}
header{border-bottom:1px solid #aaa;padding-bottom:3px;margin-bottom:8px}
footer{border-top:1px solid #aaa;padding-top:3px;margin-top:12px}
.notice{color:#aa1414;font-weight:bold}
"""
_CSS = (
    PAGE_CSS
    + """.warn{background:#ffeccc;border:1px solid #c86e00;color:#963c00;font-weight:bold;padding:4px 8px;margin:4px 0}
h1{font-size:26px;margin:6px 0 10px}h2{font-size:22px;margin:4px 0}h3{font-size:15px;margin:10px 0 4px}
table{border-collapse:collapse;font-size:12px}td,th{padding:3px 6px;text-align:left;vertical-align:top}
table.summary{width:100%}table.summary th{background:#ebeef3}table.summary td{border-bottom:1px solid #ddd}
td.num,th.num{text-align:right}.mono{font-family:"DejaVu Sans Mono",monospace;font-size:11px}
.grey{color:#6e6e6e}.err{color:#aa1414}
.panels{display:grid;gap:8px;align-items:start}
figure{margin:0}figure img{width:100%;display:block;background:#f5f5f5}
figcaption{font-size:11px}figcaption b{font-size:12px}
figure.bar img{width:auto;height:220px;background:none}
.nomap{display:flex;align-items:center;justify-content:center;text-align:center;background:#f0f0f0;
color:#444;font-size:13px;padding:6px;box-sizing:border-box;border:1px dashed #aaa}
.tables{display:flex;gap:24px;margin-top:8px}
.meter{display:inline-block;width:60px;height:9px;border:1px solid #bbb;vertical-align:middle}
.meter span{display:block;height:100%;background:#466eaa}
.review{border:1px solid #b4b4b4;padding:6px 10px;margin-top:10px;font-size:13px;white-space:pre-wrap}
.accepted{background:#e8f5e9}.overridden{background:#fff3e0}.pending{background:#f3f3f3}
@media print{body{background:#fff}section.page{margin:0;page-break-after:always;max-width:none}}
"""
)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _img(image: ReportImage) -> str:
    rgb = downscale(image.rgb(), HTML_MAX_SIDE)
    return data_uri(encode_jpeg(rgb, 88), "image/jpeg")


UNLIKE_MARK = ' <span class="err">\u26a0 unlike training images</span>'


def _page(content: ReportContent, n: int, total: int, body: str) -> str:
    warn = "".join(f'<div class="warn">\u26a0 {escape(w)}</div>' for w in content.warnings)
    return (
        f'<section class="page"><header><span>{escape(content.title)}</span>'
        f'<span class="notice">{escape(content.notice)}</span></header>{warn}{body}'
        f'<footer><span class="notice">{escape(content.notice)}</span>'
        f"<span>model {escape(content.model_sha256[:12])} \u00b7 {escape(content.created[:10])}</span>"
        f"<span>Page {n} of {total}</span></footer></section>\n"
    )


def _cover(content: ReportContent) -> str:
    deid = escape(content.deidentified_text)
    rows = [
        ("Created (UTC)", escape(content.created)),
        ("Model", escape(content.model_name)),
        ("Weights SHA-256", f'<span class="mono">{escape(content.model_sha256)}</span>'),
        ("Methods", escape(", ".join(content.method_names)) + " (maps explain the predicted class)"),
        ("Colour map", escape(content.colour_text)),
        ("De-identified", deid),
        ("Notes", escape(content.notes)),
        (
            "Out-of-distribution check",
            escape(content.ood_check)
            + (
                f'<br><span class="mono">{escape(content.ood_statistics)}</span>'
                if content.ood_statistics
                else ""
            ),
        ),
        ("Images", escape(content.summary_line())),
    ]
    info = "".join(f'<tr><td class="grey">{k}</td><td>{v}</td></tr>' for k, v in rows)
    group_th = "<th>Patient</th><th>Lesion</th><th>Visit</th>" if content.grouped else ""
    body = [
        f"<h1>{escape(content.title)}</h1><table>{info}</table>",
        f'<h3>Summary</h3><table class="summary"><tr><th>#</th>{group_th}<th>Image</th><th>Prediction</th>'
        '<th class="num">Confidence</th><th class="num">7-point</th><th>Review</th></tr>',
    ]
    for e in content.entries:
        group_td = (
            f"<td>{escape(e.patient)}</td><td>{escape(e.lesion)}</td><td>{escape(e.visit)}</td>"
            if content.grouped
            else ""
        )
        if e.ok:
            body.append(
                f"<tr><td>{e.index}</td>{group_td}<td>{escape(e.label)}</td><td>{escape(e.predicted_name or '')}"
                f"{UNLIKE_MARK if e.ood_flagged else ''}</td>"
                f'<td class="num">{e.confidence:.1%}</td><td class="num">{"" if e.seven_point_score is None else e.seven_point_score}</td>'
                f"<td>{escape(e.review.headline)}</td></tr>"
            )
        else:
            body.append(
                f"<tr><td>{e.index}</td>{group_td}<td>{escape(e.label)}</td>"
                f'<td colspan="4" class="err">not analysed: {escape(e.error or "")}</td></tr>'
            )
    body.append("</table>")
    return "".join(body)


def _image_section(content: ReportContent, e: ImageEntry, bar_uri: str) -> str:
    figs = [
        f'<figure><img alt="original" src="{_img(e.original)}"><figcaption><b>Original</b><br>'
        '<span class="grey">re-encoded from pixels, no metadata</span></figcaption></figure>'
    ]
    for o in e.overlays:
        if o.image is None:  # an empty map is not drawn: its text stands where the picture would
            picture = (
                f'<div class="nomap" style="aspect-ratio:{max(1, e.width)}/{max(1, e.height)}">'
                f"{escape(o.no_evidence)}</div>"
            )
            detail = escape(o.empty_reason)
        else:
            picture = f'<img alt="{escape(o.method_name)} overlay" src="{_img(o.image)}">'
            detail = f"raw max {o.raw_max:.3g} (before min\u2013max)"
        stability = (
            f'<br><span class="{"err" if o.unstable else "grey"}">{escape(o.stability_text)}</span>'
            if o.stability_text
            else ""
        )
        figs.append(
            f"<figure>{picture}<figcaption>"
            f'<b>{escape(o.method_name)}</b><br><span class="grey">explains {escape(o.target_label)}'
            f" \u00b7 S={o.score:.3f}<br>{detail}</span>{stability}</figcaption></figure>"
        )
    cols = len(figs) if len(figs) <= 3 else 2  # as in the PDF: 2x2 for the original and three maps
    if any(o.image is not None for o in e.overlays):  # a colour bar only beside a drawn map
        figs.append(
            f'<figure class="bar" style="grid-column:{cols + 1};grid-row:1">'
            f'<img alt="colour bar: 1.0 high, 0.0 low" src="{bar_uri}">'
            '<figcaption class="grey">relevance<br>(min\u2013max per map)</figcaption></figure>'
        )
    topk = "".join(
        f'<tr><td class="grey">{r}.</td><td>{"<b>" if r == 1 else ""}{escape(c.name)}'
        f'{"</b>" if r == 1 else ""}</td><td><span class="meter"><span style="width:'
        f'{100 * c.probability:.1f}%"></span></span></td><td class="num">{c.probability:.1%}</td></tr>'
        for r, c in enumerate(e.top_k, start=1)
    )
    crit = "".join(
        f'<tr><td>{escape(c.text)}</td><td class="num">{"+" + str(c.points) if c.points else "0"}</td></tr>'
        for c in e.criteria
    )
    rv = e.review
    when = rv.byline or f"Decision recorded {rv.updated}"
    extra = f'<br><span class="grey">{escape(when)}</span>' if rv.updated else ""
    if rv.reviewed_prediction:
        extra += (
            f'<br><span class="err">The reviewer saw a different prediction '
            f"({escape(rv.reviewed_prediction)}) from this model run.</span>"
        )
    note = (
        f"<i>{escape(rv.note_text)}</i>" if rv.note_left_out or not rv.note.strip() else escape(rv.note_text)
    )
    group = f'<div class="grey">{escape(e.group_text)}</div>' if e.patient else ""
    unlike = f'<div class="warn">\u26a0 {escape(e.ood_text)}</div>' if e.ood_flagged else ""
    return (
        f"{group}<h2>{escape(e.label)} \u00b7 Predicted: {escape(e.predicted_name or '')} ({e.confidence:.1%})</h2>"
        f'<div class="grey">image {e.index} of {len(content.entries)} \u00b7 '
        f'{e.width}\u00d7{e.height} px \u00b7 <span class="mono">SHA-256 {escape(e.sha256 or "")}</span></div>'
        f"{unlike}"
        f'<div class="panels" style="grid-template-columns:repeat({cols},minmax(0,1fr)) 90px">'
        f"{''.join(figs)}</div>"
        f'<div class="tables"><div><h3>Differential (top {len(e.top_k)})</h3><table>{topk}</table></div>'
        f"<div><h3>7-point checklist</h3><table>{crit}</table>"
        f"<p><b>Score {escape(e.seven_point_text)}</b></p></div></div>"
        f'<div class="review {escape(rv.decision)}"><b>Reviewer: {escape(rv.headline)}</b>{extra}<br>'
        f"Note: {note}</div>"
    )


def _provenance_section(content: ReportContent) -> str:
    m = content.provenance
    methods = "".join(
        f'<li class="mono">{escape(", ".join(f"{k}={v}" for k, v in p.items()))}</li>'
        for p in content.methods
    )
    if content.stability_rule:
        methods += f"<li>Map stability: {escape(content.stability_rule)}</li>"
    inputs = "".join(
        f'<tr><td>{escape(e.label)}</td><td class="mono">{escape(e.sha256 or "")}</td>'
        f'<td class="err">{escape(e.error or "")}</td></tr>'
        for e in content.entries
    )
    app = m.get("app", {})
    model = m.get("model", {})
    env = m.get("environment", {})
    return (
        f"<h2>Provenance</h2><table>"
        f'<tr><td class="grey">App</td><td>{escape(str(app.get("name")))} {escape(str(app.get("version")))}</td></tr>'
        f'<tr><td class="grey">Git commit</td><td class="mono">{escape(str(app.get("git_commit") or "unknown"))}</td></tr>'
        f'<tr><td class="grey">Weights SHA-256</td><td class="mono">{escape(str(model.get("weights_sha256")))}</td></tr>'
        f'<tr><td class="grey">Architecture</td><td>{escape(str(model.get("architecture")))}</td></tr>'
        f'<tr><td class="grey">Temperature</td><td>{escape(str(model.get("temperature")))}</td></tr>'
        f'<tr><td class="grey">Device</td><td>{escape(str(env.get("gpu") or env.get("device")))}</td></tr>'
        f"</table><h3>Methods and every parameter</h3><ul>{methods}</ul>"
        f"<h3>Input files (SHA-256)</h3><table>{inputs}</table>"
        '<p class="grey">The complete manifest is embedded below (script type application/json) and '
        "written beside this file.</p>"
    )


def _manifest_script(content: ReportContent) -> str:
    text = json.dumps(content.provenance, indent=1, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/json" id="medgrad-manifest">\n{text}\n</script>'


def write_html(content: ReportContent, path: Path, tick: Callable[[str], None] | None = None) -> Path:
    path = Path(path)
    total = len(content.ok_entries) + 2
    strip = colorbar_strip(360, content.colormap, alpha=content.overlay_alpha)
    bar_uri = data_uri(encode_png(np.ascontiguousarray(strip)), "image/png")

    def write(binary: BinaryIO) -> None:
        f = io.TextIOWrapper(binary, encoding="utf-8", newline="\n", write_through=True)
        f.write(
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(content.title)}</title><style>{_CSS}</style></head><body>\n"
        )
        f.write(_page(content, 1, total, _cover(content)))
        for n, e in enumerate(content.ok_entries, start=2):
            if tick is not None:
                tick(e.label)
            f.write(_page(content, n, total, _image_section(content, e, bar_uri)))
        f.write(_page(content, total, total, _provenance_section(content)))
        f.write(_manifest_script(content))
        f.write("\n</body></html>\n")
        f.detach()  # the caller closes the binary file after syncing it

    return write_atomic(path, write, private=not content.deidentified)  # names files: 0600 from the start
