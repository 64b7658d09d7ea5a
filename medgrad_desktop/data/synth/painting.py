"""Painting primitives of the synthetic generator: seeded generators, smooth noise, alpha compositing,
the skin and the lesion body.

Everything draws on float32 RGB canvases at render resolution; masks are taken from the alpha maps and
area-resized to the output size, so they line up with the pixels by construction.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np

# light to dark skin (RGB), roughly Fitzpatrick I..VI
SKIN_TONES = ((242, 214, 194), (228, 190, 160), (203, 156, 120), (165, 114, 80), (120, 80, 55), (82, 55, 40))


def component_rng(seed: int, name: str, attempt: int = 0) -> np.random.Generator:
    """The generator of one component (skin, lesion, target, ...): each has its own stream, so drawing
    one component differently leaves every other component unchanged."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode()), attempt])


def lowfreq(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth noise in about [-1, 1] with `cells` features across the image."""
    g = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(g, (size, size), interpolation=cv2.INTER_CUBIC)


def bbox(alpha: np.ndarray) -> tuple[slice, slice]:
    rows = np.flatnonzero(alpha.max(1) > 0)
    cols = np.flatnonzero(alpha.max(0) > 0)
    if len(rows) == 0:
        return slice(0, 0), slice(0, 0)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def over(img: np.ndarray, color: np.ndarray | tuple, alpha: np.ndarray) -> None:
    """Alpha-composite `color` (RGB tuple or HxWx3) over `img` in place, within alpha's bounding box."""
    ys, xs = bbox(alpha)
    a = alpha[ys, xs, None]
    col = color[ys, xs] if isinstance(color, np.ndarray) and color.ndim == 3 else np.asarray(color, np.float32)
    sub = img[ys, xs]
    sub *= 1.0 - a
    sub += a * col


def darken(img: np.ndarray, alpha: np.ndarray, factor: float) -> None:
    """Darken in place towards `factor` x the local colour: dark structures stay visible on dark skin
    and dark lesions, where a fixed near-black colour would vanish."""
    ys, xs = bbox(alpha)
    img[ys, xs] *= (1.0 - alpha[ys, xs] * (1.0 - factor))[..., None]


def down_mask(alpha: np.ndarray, size: int, thresh: float = 0.15, close: int = 0) -> np.ndarray:
    """Boolean mask at output size from a render-size alpha map (area-resized, thresholded, optionally
    closed so a mask of thin lines covers the structure rather than its strokes only)."""
    m = cv2.resize(alpha.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA) > thresh
    if close:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close, close))
        m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE, k) > 0
    return m


def blob(rng: np.random.Generator, S: int, cx: float, cy: float, ax: float, ay: float, edge: float) -> np.ndarray:
    """A soft, noisy ellipse of semi-axes (ax, ay) at a random angle: structureless areas."""
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    ang = rng.uniform(0, np.pi)
    c, s = np.cos(ang), np.sin(ang)
    u, v = (xx - cx) * c + (yy - cy) * s, -(xx - cx) * s + (yy - cy) * c
    d = np.sqrt((u / ax) ** 2 + (v / ay) ** 2) + 0.25 * lowfreq(rng, S, 6)
    return (1.0 / (1.0 + np.exp(np.clip((d - 1.0) / edge, -30, 30)))).astype(np.float32)


@dataclass
class Lesion:
    """The lesion's geometry: a circle of radius r0 deformed by cosine harmonics, with per-pixel polar
    coordinates so structures can be placed by sector and relative radius."""

    cx: float
    cy: float
    r0: float
    harmonics: list[tuple[int, float, float]]
    rho: np.ndarray  # distance of each pixel to the centre
    theta: np.ndarray
    rad: np.ndarray  # border radius r(theta) at each pixel's angle
    alpha: np.ndarray

    def border(self, theta: float) -> float:
        return self.r0 * (1 + sum(a * np.cos(k * theta + p) for k, a, p in self.harmonics))

    def point(self, theta: float, frac: float) -> tuple[float, float]:
        r = self.border(theta) * frac
        return self.cx + r * np.cos(theta), self.cy + r * np.sin(theta)

    def region(self, theta0: float, half_width: float, lo: float, hi: float) -> np.ndarray:
        dth = np.angle(np.exp(1j * (self.theta - theta0)))
        rel = self.rho / np.maximum(self.rad, 1e-6)
        return ((np.abs(dth) <= half_width) & (rel >= lo) & (rel <= hi)).astype(np.float32)

    @property
    def inside(self) -> np.ndarray:
        """The lesion's interior without its soft rim: where inner structures may be drawn."""
        return np.clip((self.alpha - 0.5) * 2.5, 0, 1)


def draw_skin(rng: np.random.Generator, S: int, tone: int) -> np.ndarray:
    base = np.array(SKIN_TONES[tone], np.float32)
    hsv = cv2.cvtColor(base.reshape(1, 1, 3) / 255.0, cv2.COLOR_RGB2HSV)[0, 0]
    hsv[0] = (hsv[0] + rng.uniform(-6, 6)) % 360
    hsv[1] = np.clip(hsv[1] * rng.uniform(0.85, 1.15), 0, 1)
    hsv[2] = np.clip(hsv[2] * rng.uniform(0.92, 1.06), 0, 1)
    base = cv2.cvtColor(hsv.reshape(1, 1, 3).astype(np.float32), cv2.COLOR_HSV2RGB)[0, 0] * 255
    shade = 1.0 + 0.06 * lowfreq(rng, S, 3)
    pores = cv2.GaussianBlur(rng.standard_normal((S, S)).astype(np.float32), (0, 0), 1.2) * 5.0
    img = base[None, None, :] * shade[..., None] + pores[..., None]
    return img.astype(np.float32)


def make_lesion(rng: np.random.Generator, S: int, center_jitter: float, radius_range: tuple[float, float],
                irregularity: float) -> Lesion:
    cx = S / 2 + rng.uniform(-center_jitter, center_jitter) * S
    cy = S / 2 + rng.uniform(-center_jitter, center_jitter) * S
    r0 = rng.uniform(*radius_range) * S
    room = min(cx, cy, S - cx, S - cy)
    r0 = float(max(min(r0, 0.92 * room / (1 + 2 * irregularity)), 0.11 * S))
    harmonics = [(k, float(rng.uniform(0, irregularity) * 2 / k), float(rng.uniform(0, 2 * np.pi)))
                 for k in range(2, 9)]
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    dx, dy = xx - cx, yy - cy
    rho = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    rad = r0 * (1 + sum(a * np.cos(k * theta + p) for k, a, p in harmonics))
    soft = 0.04 + rng.uniform(0, 0.04)
    alpha = 1.0 / (1.0 + np.exp(np.clip((rho / np.maximum(rad, 1) - 1.0) / soft, -30, 30)))
    return Lesion(cx, cy, r0, harmonics, rho, theta, rad.astype(np.float32), alpha.astype(np.float32))


def draw_brown_body(rng: np.random.Generator, img: np.ndarray, les: Lesion, skin_tone: int) -> None:
    """2-4 browns mixed by smooth noise fields; each brown is darker than the skin by a drawn factor
    so a lesion stays visible on dark skin."""
    S = img.shape[0]
    n = int(rng.integers(2, 5))
    skin_luma = float(np.dot(SKIN_TONES[skin_tone], (0.299, 0.587, 0.114)))
    browns = []
    for _ in range(n):
        g = rng.uniform(0.55, 0.72)
        hue = np.array([1.0, g, g * rng.uniform(0.6, 0.85)], np.float32)
        luma = skin_luma * (rng.uniform(0.35, 0.62) if skin_tone < 3 else rng.uniform(0.5, 0.72))
        browns.append(hue * luma / float(np.dot(hue, (0.299, 0.587, 0.114))))
    small = S // 4  # the colour field is smooth: mix at quarter resolution, then upsample
    fields = np.stack([lowfreq(rng, small, 3) for _ in range(n)], -1) * 1.8
    weights = np.exp(fields - fields.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    color = weights @ np.stack(browns)
    color = cv2.resize(color.astype(np.float32), (S, S), interpolation=cv2.INTER_LINEAR)
    rel = np.clip(les.rho / np.maximum(les.rad, 1), 0, 1.5)
    color *= (0.88 + 0.15 * rel)[..., None]  # slightly darker towards the centre
    over(img, color, les.alpha * 0.95)


def _mix_body(rng: np.random.Generator, img: np.ndarray, les: Lesion, colors: list[np.ndarray], opacity: float
              ) -> None:
    """Composite a lesion body whose colour mixes `colors` by smooth noise fields."""
    S = img.shape[0]
    n = len(colors)
    small = S // 4
    fields = np.stack([lowfreq(rng, small, 3) for _ in range(n)], -1) * 1.8
    weights = np.exp(fields - fields.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    color = cv2.resize((weights @ np.stack(colors)).astype(np.float32), (S, S), interpolation=cv2.INTER_LINEAR)
    rel = np.clip(les.rho / np.maximum(les.rad, 1), 0, 1.5)
    color *= (0.9 + 0.12 * rel)[..., None]
    over(img, color, les.alpha * opacity)


def _scaled(hue: tuple[float, float, float], luma: float) -> np.ndarray:
    h = np.array(hue, np.float32)
    return h * luma / float(np.dot(h, (0.299, 0.587, 0.114)))


def draw_body(style: str, rng: np.random.Generator, img: np.ndarray, les: Lesion, skin_tone: int) -> None:
    """The lesion body in one of the colour styles of `BODY_STYLES`. Every style is set relative to the
    skin's brightness, so a lesion stays visible on every skin tone."""
    if style == "brown":
        draw_brown_body(rng, img, les, skin_tone)
        return
    skin_luma = float(np.dot(SKIN_TONES[skin_tone], (0.299, 0.587, 0.114)))
    dark_skin = skin_tone >= 3
    n = int(rng.integers(2, 4))
    colors = []
    for _ in range(n):
        g = rng.uniform(0.55, 0.72)
        if style == "dark":
            colors.append(_scaled((1.0, g, g * 0.7), skin_luma * (rng.uniform(0.22, 0.4) if not dark_skin
                                                                  else rng.uniform(0.35, 0.55))))
        elif style == "tan":
            colors.append(_scaled((1.0, g + 0.1, g * 0.75), skin_luma * (rng.uniform(0.62, 0.78) if not dark_skin
                                                                         else rng.uniform(0.7, 0.85))))
        elif style == "pale":
            colors.append(_scaled((1.0, rng.uniform(0.72, 0.8), rng.uniform(0.68, 0.76)),
                                  min(235.0, skin_luma * rng.uniform(0.92, 1.05) + (25 if dark_skin else 0))))
        elif style == "pink":
            colors.append(_scaled((1.0, rng.uniform(0.62, 0.7), rng.uniform(0.66, 0.74)),
                                  min(230.0, skin_luma * rng.uniform(0.85, 0.95) + (35 if dark_skin else 0))))
        elif style == "red":
            colors.append(_scaled((1.0, rng.uniform(0.25, 0.35), rng.uniform(0.4, 0.55)),
                                  skin_luma * rng.uniform(0.45, 0.6)))
        elif style == "blue":
            colors.append(_scaled((rng.uniform(0.55, 0.65), rng.uniform(0.68, 0.75), 1.0),
                                  skin_luma * rng.uniform(0.45, 0.6)))
        else:
            raise ValueError(f"unknown body style '{style}'; choose from {', '.join(BODY_STYLES)}")
    _mix_body(rng, img, les, colors, 0.95 if style not in ("pale", "pink") else 0.85)


BODY_STYLES = ("brown", "dark", "tan", "pale", "pink", "red", "blue")
# pigmentation criterion a body sets before any structure changes it
BODY_PIGMENTATION = {"brown": "regular", "dark": "regular", "tan": "regular", "blue": "regular", "pale": "absent",
                     "pink": "absent", "red": "absent"}
