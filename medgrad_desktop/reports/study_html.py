"""The study report as one self-contained HTML file: the plots embedded as PNG `data:` URIs, no script,
no external link; each section prints as a page with the notice, as the image reports do."""

from __future__ import annotations

from html import escape
from pathlib import Path

from medgrad_desktop.atomic import write_text_atomic
from medgrad_desktop.reports.html_writer import PAGE_CSS, data_uri
from medgrad_desktop.reports.study_content import StudyReportContent, Table

_CSS = (
    PAGE_CSS
    + """h1{font-size:24px;margin:6px 0 10px}h2{font-size:17px;margin:14px 0 4px}
table{border-collapse:collapse;font-size:12px}td,th{padding:3px 6px;text-align:left;vertical-align:top}
table.grid{width:100%;font-size:11px}table.grid th{background:#ebeef3}
table.grid td{border-bottom:1px solid #ddd;white-space:nowrap}table.grid td,table.grid th{padding:3px 4px}
table.grid td:first-child{font-weight:bold}
.mono{font-family:"DejaVu Sans Mono",monospace;font-size:11px}.grey{color:#6e6e6e}
p.note{font-size:11px;font-style:italic;color:#6e6e6e;margin:4px 0}
figure{margin:6px 0 14px}figure img{width:100%;display:block}figcaption{font-size:11px;color:#555}
ul.undefined{font-size:12px;padding-left:18px}
@media print{body{background:#fff}section.page{margin:0;page-break-after:always;max-width:none}}
"""
)


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.header)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in t.rows)
    note = f'<p class="note">{escape(t.note)}</p>' if t.note else ""
    return f'<h2>{escape(t.title)}</h2><table class="grid"><tr>{head}</tr>{rows}</table>{note}'


def _page(c: StudyReportContent, n: int, total: int, body: str) -> str:
    return (
        f'<section class="page"><header><span>{escape(c.title)}</span>'
        f'<span class="notice">{escape(c.notice)}</span></header>{body}'
        f'<footer><span class="notice">{escape(c.notice)}</span>'
        f"<span>model {escape(c.model_sha256[:12])} \u00b7 {escape(c.created[:10])}</span>"
        f"<span>Page {n} of {total}</span></footer></section>\n"
    )


def _cover(c: StudyReportContent) -> str:
    info = "".join(
        f'<tr><td class="grey">{escape(k)}</td>'
        f"<td{' class=mono' if 'SHA-256' in k else ''}>{escape(v)}</td></tr>"
        for k, v in c.info
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in c.undefined)
    return (
        f"<h1>{escape(c.title)}</h1><table>{info}</table>{_table(c.summary)}"
        f'<h2>Not computed</h2><ul class="undefined">{notes}</ul>'
    )


def _figures(c: StudyReportContent) -> str:
    return "".join(
        f'<h2>{escape(f.title)}</h2><figure><img alt="{escape(f.title)}" '
        f'src="{data_uri(f.path.read_bytes(), "image/png")}"><figcaption>{escape(f.caption)}</figcaption></figure>'
        for f in c.figures
    )


def write_study_html(content: StudyReportContent, path: Path) -> Path:
    pages = [_cover(content), _figures(content), "".join(_table(t) for t in content.tables)]
    body = "".join(_page(content, i, len(pages), p) for i, p in enumerate(pages, start=1))
    html = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(content.title)}</title><style>{_CSS}</style></head><body>\n{body}</body></html>\n"
    )
    return write_text_atomic(path, html)
