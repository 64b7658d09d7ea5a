"""Pictures for reports without Qt: downscaled originals, overlays, and a labelled colour bar drawn
with Pillow (used by the PNG and HTML writers; the PDF writer draws its own bar with QPainter)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from medgrad_desktop.core.render import DEFAULT_OVERLAY_ALPHA, blend, colorbar


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    nw, nh = fit_size(w, h, max_side)
    if (nw, nh) == (w, h):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.LANCZOS))


def overlay(
    rgb: np.ndarray, map01: np.ndarray, opacity: float, colormap: str, alpha: str = DEFAULT_OVERLAY_ALPHA
) -> np.ndarray:
    """`map01` is any size; `blend` resizes it to the image (bilinear)."""
    return blend(rgb, map01, opacity, colormap, alpha)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def colorbar_strip(
    height: int, colormap: str, *, bar_width: int | None = None, alpha: str = "uniform"
) -> np.ndarray:
    """A white strip with a vertical colour bar and its ticks (1.0 high, 0.5, 0.0 low), `height`
    pixels tall, to stand beside an overlay of the same height."""
    fs = max(11, height // 28)
    bar_w = bar_width or max(12, height // 22)
    pad = max(6, fs // 2)
    font = _font(fs)
    labels = [("1.0 high", 0.0), ("0.5", 0.5), ("0.0 low", 1.0)]
    text_w = max(int(font.getlength(t)) for t, _ in labels)
    width = pad + bar_w + pad // 2 + 6 + text_w + pad
    strip = Image.new("RGB", (width, height), "white")
    top, bottom = fs, height - fs
    bar = colorbar(max(2, bottom - top), bar_w, colormap, alpha)
    strip.paste(Image.fromarray(bar), (pad, top))
    d = ImageDraw.Draw(strip)
    d.rectangle([pad - 1, top - 1, pad + bar_w, bottom], outline=(60, 60, 60))
    for text, frac in labels:
        y = top + frac * (bottom - top - 1)
        x0 = pad + bar_w
        d.line([(x0, y), (x0 + 5, y)], fill=(40, 40, 40), width=1)
        d.text((x0 + 8, y), text, fill=(20, 20, 20), font=font, anchor="lm")
    return np.asarray(strip)


def with_colorbar(
    rgb: np.ndarray, colormap: str, captions: tuple[str, ...] = (), alpha: str = "uniform"
) -> np.ndarray:
    """An overlay with its colour bar at the right and caption lines underneath (the first in black,
    the others in dark red: notices and warnings)."""
    h, w = rgb.shape[:2]
    strip = colorbar_strip(h, colormap, alpha=alpha)
    return with_captions(np.concatenate([rgb, strip], axis=1), captions, font_height=h)


def _wrap(text: str, font, width: float) -> list[str]:
    """`text` in lines no wider than `width` pixels, broken between words (a word longer than a line
    stands alone)."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def with_captions(body: np.ndarray, captions: tuple[str, ...], font_height: int | None = None) -> np.ndarray:
    """`body` with caption lines underneath (the first in black, the others in dark red), wrapped to
    its width and lettered for a picture `font_height` pixels tall (default: the body's height). An
    empty map's PNG is the original with these lines alone: no map, no colour bar."""
    if not captions:
        return body
    h = font_height or body.shape[0]
    fs = max(12, h // 30)
    font = _font(fs)
    step = int(fs * 1.5)
    lines = [(i, line) for i, text in enumerate(captions) for line in _wrap(text, font, body.shape[1] - 12)]
    band = Image.new("RGB", (body.shape[1], step * len(lines) + fs // 2), "white")
    d = ImageDraw.Draw(band)
    for row, (i, text) in enumerate(lines):
        d.text(
            (6, step * row + step // 2 + 2),
            text,
            fill=(20, 20, 20) if i == 0 else (160, 20, 20),
            font=font,
            anchor="lm",
        )
    return np.concatenate([body, np.asarray(band)], axis=0)
