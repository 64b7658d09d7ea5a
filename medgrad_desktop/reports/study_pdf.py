"""The study report as a PDF: A4 on the report's drawing surface (`pdf_canvas.PdfCanvas`), so it carries
the same notice, header and footer as the image reports. The cover names the study and its hashes and
lists what could not be computed; the plots follow, two to a page, then the tables, split across pages
with their header repeated.

Laid out twice: once to count the pages (for "Page n of N"), once to draw.
"""

from __future__ import annotations

from pathlib import Path

from medgrad_desktop.reports.pdf_canvas import (
    BOTTOM,
    CONTENT_W,
    GREY,
    LEFT,
    PdfCanvas,
    a4_pdf_writer,
    body_top,
    qimage,
)
from medgrad_desktop.reports.study_content import StudyReportContent, Table

ROW = 5.0
CELL_PT = 7.5  # the tables' font size
FIG_H = CONTENT_W * 3.4 / 7.2  # the plots' aspect (study_figures.SIZE)


class _Flow:
    """Blocks placed top to bottom, a new page when the next does not fit; draws only when `draw`."""

    def __init__(self, cv: PdfCanvas, content: StudyReportContent, draw: bool):
        self.cv, self.content, self.draw = cv, content, draw
        self.pages = 0
        self.y = BOTTOM

    def new_page(self) -> None:
        self.pages += 1
        self.y = self.cv.new_page() if self.draw else body_top(self.content)

    def need(self, h: float) -> None:
        if self.y + h > BOTTOM - 3:
            self.new_page()

    def text(self, h: float, s: str, size: float, x: float = LEFT, w: float = CONTENT_W, **kw) -> None:
        if self.draw:
            self.cv.text(x, self.y, w, h, s, size, **kw)

    def paragraph(self, s: str, size: float = 8.0, **kw) -> None:
        h = self.cv.measure(CONTENT_W, s, size, italic=kw.get("italic", False)) + 1.0
        self.need(h)
        self.text(h + 1, s, size, wrap=True, **kw)
        self.y += h + 0.5

    def table(self, t: Table) -> None:
        widths = self._fit(t)
        whole = 7.5 + ROW * (len(t.rows) + 1) + 10
        page = BOTTOM - 3 - body_top(self.content)
        self.need(whole if whole < page / 2 else 7 + ROW * 3)  # a short table is kept on one page
        self.text(7, t.title, 10.5, bold=True)
        self.y += 7.5
        self._header(t, widths)
        for row in t.rows:
            if self.y + ROW > BOTTOM - 3:
                self.new_page()
                self.text(6, f"{t.title} (continued)", 9, color=GREY)
                self.y += 6.5
                self._header(t, widths)
            x = LEFT
            for i, (cell, w) in enumerate(zip(row, widths, strict=True)):
                self.text(ROW, cell, CELL_PT, x=x + 1, w=w - 2, bold=i == 0)
                x += w
            if self.draw:
                self.cv.line(LEFT, self.y + ROW, LEFT + CONTENT_W, self.y + ROW, color=(215, 215, 215))
            self.y += ROW
        if t.note:
            self.y += 1
            self.paragraph(t.note, 7.5, italic=True, color=GREY)
        self.y += 5

    def _fit(self, t: Table) -> list[float]:
        """Column widths in mm: each column at least as wide as its widest cell, so no figure or interval
        is cut short (the header too where the page allows), the width left over shared as `t.widths`
        say; only a table wider than the page shrinks in proportion (and some cells are elided)."""
        cells = [
            max((self._width(r[i], bold=i == 0) for r in t.rows), default=0.0) for i in range(len(t.header))
        ]
        heads = [max(c, self._width(h, bold=True)) for c, h in zip(cells, t.header, strict=True)]
        need = heads if sum(heads) <= CONTENT_W else cells
        if sum(need) > CONTENT_W:
            return [n * CONTENT_W / sum(need) for n in need]
        spare = CONTENT_W - sum(need)
        return [n + spare * share / sum(t.widths) for n, share in zip(need, t.widths, strict=True)]

    def _width(self, s: str, *, bold: bool) -> float:
        """The width in mm of a table cell's text, with the 1 mm padding each side."""
        from PySide6.QtGui import QFontMetricsF

        fm = QFontMetricsF(self.cv.font(CELL_PT, bold), self.cv.writer)
        return fm.horizontalAdvance(s) / self.cv.k + 2.5

    def _header(self, t: Table, widths: list[float]) -> None:
        if self.draw:
            self.cv.box(LEFT, self.y, CONTENT_W, ROW + 0.5, fill=(235, 238, 243), border=None)
        x = LEFT
        for name, w in zip(t.header, widths, strict=True):
            self.text(ROW + 0.5, name, CELL_PT, x=x + 1, w=w - 2, bold=True)
            x += w
        self.y += ROW + 0.5


def _layout(flow: _Flow) -> None:
    c = flow.content
    flow.new_page()
    flow.text(12, c.title, 17, bold=True)
    flow.y += 13
    for key, value in c.info:
        mono = "SHA-256" in key
        flow.text(5.5, key, 8.5, w=36, color=GREY)
        flow.text(5.5, value, 7.5 if mono else 9, x=LEFT + 36, w=CONTENT_W - 36, mono=mono)
        flow.y += 5.5
    flow.y += 5
    flow.table(c.summary)
    flow.need(14)
    flow.text(7, "Not computed", 10.5, bold=True)
    flow.y += 7.5
    for note in c.undefined:
        flow.paragraph(f"\u2022 {note}", 8)
    for i, fig in enumerate(c.figures):
        if i % 2 == 0:
            flow.new_page()
        flow.text(7, fig.title, 10.5, bold=True)
        flow.y += 7.5
        if flow.draw:
            flow.cv.image(qimage(fig.path), LEFT, flow.y, CONTENT_W, FIG_H)
        flow.y += FIG_H + 1
        flow.paragraph(fig.caption, 7.5, italic=True, color=GREY)
        flow.y += 6
    flow.new_page()
    for t in c.tables:
        flow.table(t)


def write_study_pdf(content: StudyReportContent, path: Path) -> Path:
    """Write the report to `path` (the caller makes it atomic)."""
    writer = a4_pdf_writer(path, content.title)
    cv = PdfCanvas(writer, content, 0)  # type: ignore[arg-type]  # the canvas reads the header fields only
    try:
        count = _Flow(cv, content, draw=False)
        _layout(count)
        cv.total = count.pages
        _layout(_Flow(cv, content, draw=True))
    finally:
        cv.end()
    if cv.page != cv.total:
        raise RuntimeError(f"study PDF layout wrote {cv.page} pages but numbered them out of {cv.total}")
    return Path(path)
