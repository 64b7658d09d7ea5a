"""Images that are plainly not dermoscopy, drawn from seeds, for testing the out-of-distribution check:
photo-like scenes (a sky and ground gradient with a sun, hills and buildings), rendered text on paper,
and noise. Drawn in code so the test sets need no download and are the same on every machine.
"""

from __future__ import annotations

import cv2
import numpy as np

KINDS = ("scene", "text", "noise")
SIZES = ((224, 224), (240, 320), (320, 240), (300, 400))  # (height, width)
WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "invoice",
    "total",
    "date",
    "page",
    "meeting",
    "agenda",
    "report",
    "chapter",
    "summary",
    "table",
    "figure",
]
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)


def _gradient(h: int, w: int, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).copy()


def _scene(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    horizon = int(h * rng.uniform(0.35, 0.7))
    sky = _gradient(
        horizon, w, rng.uniform([40, 90, 160], [110, 160, 230]), rng.uniform([170, 200, 220], [235, 240, 255])
    )
    ground = _gradient(
        h - horizon, w, rng.uniform([60, 100, 30], [140, 170, 90]), rng.uniform([40, 50, 20], [110, 100, 60])
    )
    img = np.concatenate([sky, ground]).astype(np.float32)
    sun = (int(rng.uniform(0.1, 0.9) * w), int(rng.uniform(0.08, 0.5) * horizon))
    cv2.circle(
        img,
        sun,
        int(rng.uniform(0.04, 0.1) * w),
        tuple(float(v) for v in rng.uniform([230, 200, 120], [255, 245, 200])),
        -1,
    )
    xs = np.linspace(0, w, 8)
    hills = np.stack([xs, horizon - rng.uniform(0, 0.25, 8) * h], axis=1)
    poly = np.concatenate([hills, [[w, horizon + 2], [0, horizon + 2]]]).astype(np.int32)
    cv2.fillPoly(img, [poly], tuple(float(v) for v in rng.uniform([50, 80, 40], [120, 140, 90])))
    for _ in range(int(rng.integers(0, 5))):
        bw, bh = int(rng.uniform(0.05, 0.15) * w), int(rng.uniform(0.1, 0.4) * h)
        x = int(rng.uniform(0, w - bw))
        colour = tuple(float(v) for v in rng.uniform(60, 220, 3))
        cv2.rectangle(img, (x, horizon - bh), (x + bw, horizon + 4), colour, -1)
    img = cv2.GaussianBlur(img, (0, 0), 1.2)
    return img + rng.normal(0, 4, img.shape)


def _text(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    paper = rng.uniform([225, 220, 205], [255, 252, 245])
    img = np.ascontiguousarray(_gradient(h, w, paper, paper * rng.uniform(0.85, 1.0)).astype(np.uint8))
    dark = rng.uniform(0, 60, 3) if rng.random() < 0.7 else rng.uniform([0, 0, 90], [40, 40, 160])
    ink = tuple(int(v) for v in dark)
    font = FONTS[int(rng.integers(len(FONTS)))]
    scale = rng.uniform(0.4, 0.9)
    step = int(28 * scale) + int(rng.integers(4, 12))
    y = int(rng.integers(step, 2 * step))
    while y < h - 4:
        line = " ".join(WORDS[int(i)] for i in rng.integers(0, len(WORDS), int(rng.integers(2, 9))))
        x = int(rng.integers(2, 20))
        cv2.putText(img, line, (x, y), font, scale, ink, int(rng.integers(1, 3)), cv2.LINE_AA)
        y += step
    return img.astype(np.float32) + rng.normal(0, 2, img.shape)


def _noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    form = int(rng.integers(3))
    if form == 0:  # uniform colour noise
        return rng.uniform(0, 255, (h, w, 3))
    if form == 1:  # grey-level Gaussian noise around a random level
        return np.repeat(rng.normal(rng.uniform(60, 200), rng.uniform(20, 70), (h, w, 1)), 3, axis=2)
    small = rng.uniform(0, 255, (max(2, h // 16), max(2, w // 16), 3)).astype(np.float32)  # smooth clouds
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) + rng.normal(0, 8, (h, w, 3))


_DRAW = {"scene": _scene, "text": _text, "noise": _noise}


def draw(kind: str, seed: int, index: int) -> np.ndarray:
    """One uint8 RGB image of `kind`, a function of (kind, seed, index) only."""
    if kind not in _DRAW:
        raise ValueError(f"unknown kind '{kind}'; choose one of {', '.join(KINDS)}")
    rng = np.random.default_rng([int(seed), KINDS.index(kind), int(index)])
    h, w = SIZES[int(rng.integers(len(SIZES)))]
    return np.clip(_DRAW[kind](rng, h, w), 0, 255).astype(np.uint8)


def draw_set(n_per_kind: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """`n_per_kind` images of every kind, as (kind, image)."""
    return [(kind, draw(kind, seed, i)) for kind in KINDS for i in range(n_per_kind)]
