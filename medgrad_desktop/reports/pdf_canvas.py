"""The drawing surface of the PDF report: A4 in millimetres on a QPainter, with the few primitives a
report needs (text, wrapped text, images, rules, page header and footer).

Qt is imported inside the functions that draw, so importing the reports package never loads Qt.
"""

from __future__ import annotations

import functools
from pathlib import Path

from medgrad_desktop.core.render import colorbar
from medgrad_desktop.reports.content import ReportContent

PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT, TOP, BOTTOM = 15.0, 195.0, 10.0, 284.0
CONTENT_W = RIGHT - LEFT
ROW_H = 6.0
SUMMARY_COLS = (
    ("#", 10),
    ("Image", 32),
    ("Prediction", 50),
    ("Confidence", 22),
    ("7-point", 16),
    ("Review", 50),
)
DARK = (25, 25, 25)
GREY = (110, 110, 110)
RED = (170, 20, 20)
_APP = None  # keeps an application created here alive


def ensure_gui_app():
    """Qt needs an application object for fonts; make an offscreen one if the process has none.

    A QApplication (a QGuiApplication subclass) is made rather than a bare QGuiApplication so that a
    later widget in the same process (the app, pytest-qt) still works."""
    global _APP
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        try:
            from PySide6.QtWidgets import QApplication

            app_class: type[QGuiApplication] = QApplication
        except ImportError:  # pragma: no cover - PySide6-Essentials ships QtWidgets
            app_class = QGuiApplication
        app = _APP = app_class(["medgrad-report", "-platform", "offscreen"])
    return app


WARNING_PT = 8.5
WARNING_ROW = 6.0  # mm of a one-line warning
PDF_DPI = 300


def a4_pdf_writer(path: Path, title: str):
    """A QPdfWriter for an A4 portrait page at 300 dpi without margins (the canvas draws its own), titled
    and signed by the app: every PDF the app writes starts from this."""
    ensure_gui_app()
    from PySide6.QtCore import QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter

    from medgrad_desktop import __version__

    writer = QPdfWriter(str(path))
    writer.setResolution(300)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)
        )
    )
    writer.setTitle(title)
    writer.setCreator(f"MedGrad Desktop {__version__}")
    return writer


def make_font(size: float, bold: bool = False, mono: bool = False, italic: bool = False):
    from PySide6.QtGui import QFont

    f = QFont("DejaVu Sans Mono" if mono else "DejaVu Sans")
    f.setStyleHint(QFont.StyleHint.Monospace if mono else QFont.StyleHint.SansSerif)
    f.setPointSizeF(size)
    f.setBold(bold)
    f.setItalic(italic)
    f.setFeature(QFont.Tag("liga"), 0)  # "fi" stays two letters, so the PDF's text can be searched
    return f


def warning_heights(content: ReportContent) -> list[float]:
    """Height in mm of each of the model's warnings in the header box, wrapped to the box's width.

    Why measured: a warning is a sentence the model card writes (the text tower's limits run to two
    lines); cut short with an ellipsis it would hide what the reader most needs. Measured on a 300 dpi
    device, the writer's resolution, so the layout computed before drawing is the one drawn."""
    return list(_wrapped_heights(tuple(content.warnings)))


@functools.lru_cache(maxsize=16)
def _wrapped_heights(warnings: tuple[str, ...]) -> tuple[float, ...]:
    """Measured once per set of warnings, not once per page (every page header draws them)."""
    if not warnings:
        return ()
    ensure_gui_app()
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QFontMetricsF, QImage

    dev = QImage(1, 1, QImage.Format.Format_RGB32)
    dots_per_metre = round(PDF_DPI / 0.0254)
    dev.setDotsPerMeterX(dots_per_metre)
    dev.setDotsPerMeterY(dots_per_metre)
    k = PDF_DPI / 25.4
    fm = QFontMetricsF(make_font(WARNING_PT, bold=True), dev)
    box = QRectF(0, 0, (CONTENT_W - 4) * k, 1e6)
    return tuple(
        max(
            WARNING_ROW, fm.boundingRect(box, int(Qt.TextFlag.TextWordWrap), "\u26a0 " + w).height() / k + 2.5
        )
        for w in warnings
    )


def body_top(content: ReportContent) -> float:
    """Where a page's body starts: below the header and the model's warnings."""
    heights = warning_heights(content)
    return TOP + 8 + (sum(heights) + 3 if heights else 0)


class PdfCanvas:
    """QPainter in millimetres, with the few drawing primitives a report needs."""

    def __init__(self, writer, content: ReportContent, total: int):
        from PySide6.QtGui import QPainter

        self.writer = writer
        self.content = content
        self.total = total
        self.page = 0
        self.k = writer.resolution() / 25.4
        self.p = QPainter()
        if not self.p.begin(writer):
            raise OSError("could not start the PDF (is the output folder writable?)")
        self.p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)

    # --- primitives ---------------------------------------------------------------------------
    def rect(self, x, y, w, h):
        from PySide6.QtCore import QRectF

        return QRectF(x * self.k, y * self.k, w * self.k, h * self.k)

    def font(self, size: float, bold: bool = False, mono: bool = False, italic: bool = False):
        return make_font(size, bold, mono, italic)

    def text(
        self,
        x,
        y,
        w,
        h,
        s: str,
        size=9.0,
        *,
        bold=False,
        mono=False,
        italic=False,
        color=DARK,
        align: str = "left",
        wrap=False,
        elide=True,
    ) -> float:
        """Draw `s` in the box; return the height used in mm."""
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QColor, QFontMetricsF

        f = self.font(size, bold, mono, italic)
        self.p.setFont(f)
        self.p.setPen(QColor(*color))
        flags = {
            "left": Qt.AlignmentFlag.AlignLeft,
            "right": Qt.AlignmentFlag.AlignRight,
            "center": Qt.AlignmentFlag.AlignHCenter,
        }[align] | Qt.AlignmentFlag.AlignVCenter
        r = self.rect(x, y, w, h)
        if wrap:
            flags = (
                (flags & ~Qt.AlignmentFlag.AlignVCenter)
                | Qt.AlignmentFlag.AlignTop
                | Qt.TextFlag.TextWordWrap
            )
            used = self.p.boundingRect(r, flags, s)
            self.p.drawText(r, flags, s)
            return min(h, used.height() / self.k)
        if elide:
            s = QFontMetricsF(f, self.writer).elidedText(s, Qt.TextElideMode.ElideRight, r.width())
        self.p.drawText(r, flags, s)
        return h

    def measure(self, w: float, s: str, size: float, *, italic: bool = False) -> float:
        """Height in mm that `s` needs when wrapped to width `w`."""
        from PySide6.QtCore import QRectF, Qt
        from PySide6.QtGui import QFontMetricsF

        fm = QFontMetricsF(self.font(size, italic=italic), self.writer)
        r = fm.boundingRect(QRectF(0, 0, w * self.k, 1e6), int(Qt.TextFlag.TextWordWrap), s)
        return r.height() / self.k

    def line(self, x1, y1, x2, y2, color=(170, 170, 170), width=0.25):
        from PySide6.QtCore import QPointF
        from PySide6.QtGui import QColor, QPen

        self.p.setPen(QPen(QColor(*color), width * self.k))
        self.p.drawLine(QPointF(x1 * self.k, y1 * self.k), QPointF(x2 * self.k, y2 * self.k))

    def box(self, x, y, w, h, fill=None, border=(170, 170, 170), width=0.25):
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QColor, QPen

        self.p.setPen(QPen(QColor(*border), width * self.k) if border else Qt.PenStyle.NoPen)
        self.p.setBrush(QColor(*fill) if fill else Qt.BrushStyle.NoBrush)
        self.p.drawRect(self.rect(x, y, w, h))

    def image(self, qimage, x, y, w, h) -> tuple[float, float, float, float]:
        """Fit the image in the box, centred, keeping its aspect; return the drawn box."""
        iw, ih = qimage.width(), qimage.height()
        s = min(w / iw, h / ih)
        dw, dh = iw * s, ih * s
        dx, dy = x + (w - dw) / 2, y + (h - dh) / 2
        self.p.drawImage(self.rect(dx, dy, dw, dh), qimage)
        return dx, dy, dw, dh

    # --- page furniture -------------------------------------------------------------------------
    def new_page(self) -> float:
        if self.page:
            self.writer.newPage()
        self.page += 1
        c = self.content
        self.text(LEFT, TOP, 90, 5, c.title, 8, color=GREY)
        self.text(RIGHT - 90, TOP, 90, 5, c.notice, 8, bold=True, color=RED, align="right")
        self.line(LEFT, TOP + 6, RIGHT, TOP + 6)
        y = TOP + 8
        if c.warnings:
            heights = warning_heights(c)
            h = sum(heights) + 1
            self.box(LEFT, y, CONTENT_W, h, fill=(255, 236, 204), border=(200, 110, 0), width=0.4)
            row = y + 0.5
            for w, wh in zip(c.warnings, heights, strict=True):
                self.text(
                    LEFT + 2,
                    row + 1.2,
                    CONTENT_W - 4,
                    wh - 1.2,
                    "\u26a0 " + w,
                    WARNING_PT,
                    bold=True,
                    color=(150, 60, 0),
                    wrap=True,
                )
                row += wh
            y += h + 2
        self.line(LEFT, BOTTOM, RIGHT, BOTTOM)
        self.text(LEFT, BOTTOM + 1, 70, 5, c.notice, 7.5, color=RED)
        self.text(
            LEFT + 60,
            BOTTOM + 1,
            60,
            5,
            f"model {c.model_sha256[:12]} \u00b7 {c.created[:10]}",
            7,
            color=GREY,
            align="center",
        )
        self.text(RIGHT - 40, BOTTOM + 1, 40, 5, f"Page {self.page} of {self.total}", 7.5, align="right")
        return body_top(c)

    def end(self) -> None:
        self.p.end()


def qimage(path: Path):
    from PySide6.QtGui import QImage

    img = QImage(str(path))
    if img.isNull():
        raise OSError(f"could not read the spooled picture {path.name}")
    return img


def colorbar_qimage(colormap: str, alpha: str = "uniform"):
    from PySide6.QtGui import QImage

    bar = colorbar(256, 16, colormap, alpha).copy()
    return QImage(bar.data, bar.shape[1], bar.shape[0], bar.strides[0], QImage.Format.Format_RGB888).copy()
