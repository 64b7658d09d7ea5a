"""Simple drawn lesion-like images (a dark blob on skin tones) for tests, the benchmark and the
screenshot when no real images are at hand. They exercise the pipeline; they mean nothing clinically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def draw_blob_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    skin = np.array([rng.uniform(190, 235), rng.uniform(140, 185), rng.uniform(120, 160)])
    base = np.clip(skin + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(base)
    draw = ImageDraw.Draw(img)
    cx, cy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h
    rx, ry = rng.uniform(0.12, 0.25) * w, rng.uniform(0.12, 0.25) * h
    tone = tuple(int(v) for v in rng.uniform([60, 30, 20], [140, 90, 70]))
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=tone)
    for _ in range(int(rng.integers(2, 6))):
        dx, dy = rng.normal(0, rx / 2), rng.normal(0, ry / 2)
        r = rng.uniform(0.2, 0.5) * min(rx, ry)
        dark = tuple(max(0, c - int(rng.integers(20, 50))) for c in tone)
        draw.ellipse([cx + dx - r, cy + dy - r, cx + dx + r, cy + dy + r], fill=dark)
    return img.filter(ImageFilter.GaussianBlur(2))


def write_sample_folder(folder: Path, n: int, size: tuple[int, int] = (320, 240), bad: int = 0) -> list[Path]:
    """`n` JPEG blob images (plus `bad` unreadable .jpg files) in `folder`; returns the image paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"lesion_{i:03d}.jpg"
        draw_blob_image(i, size).save(p, quality=90)
        paths.append(p)
    for j in range(bad):
        p = folder / f"broken_{j:02d}.jpg"
        p.write_bytes(b"this is not a JPEG file")
        paths.append(p)
    return paths
