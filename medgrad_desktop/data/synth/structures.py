"""Dermoscopic structures, one drawing function each, looked up by name in `STRUCTURES` (the six of
generator 1.x here, the other classes' hallmarks in `hallmarks.py`).

A structure function draws in place on the render-size canvas, in the sector of the lesion around
angle `theta0`, and returns its alpha map (the footprint its mask is taken from). `strength` scales
the opacity of label-defining structures; decoys are drawn at 1.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from medgrad_desktop.data.synth.hallmarks import HALLMARK_STRUCTURES
from medgrad_desktop.data.synth.painting import Lesion, blob, darken, lowfreq, over

StructureFn = Callable[[np.random.Generator, np.ndarray, Lesion, float, float], np.ndarray]
STRUCTURES: dict[str, StructureFn] = {}


def structure(name: str) -> Callable[[StructureFn], StructureFn]:
    """Register a drawing function under `name`."""

    def register(fn: StructureFn) -> StructureFn:
        STRUCTURES[name] = fn
        return fn

    return register


def draw_structure(
    kind: str, rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float = 1.0
) -> np.ndarray:
    """Draw structure `kind` in the sector around angle theta0; return its alpha (footprint)."""
    fn = STRUCTURES.get(kind)
    if fn is None:
        raise ValueError(f"unknown structure '{kind}'; known: {', '.join(sorted(STRUCTURES))}")
    return fn(rng, img, les, theta0, strength)


@structure("blue_whitish_veil")
def _veil(
    rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
) -> np.ndarray:
    S, r0 = img.shape[0], les.r0
    cx, cy = les.point(theta0, rng.uniform(0.35, 0.55))
    a = blob(rng, S, cx, cy, r0 * rng.uniform(0.32, 0.45), r0 * rng.uniform(0.25, 0.35), 0.12) * les.inside
    col = np.array([rng.uniform(115, 140), rng.uniform(135, 155), rng.uniform(165, 190)], np.float32)
    a = a * rng.uniform(0.72, 0.85) * strength
    over(img, col, a)
    return a


def _flat_area(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float) -> np.ndarray:
    S, r0 = img.shape[0], les.r0
    cx, cy = les.point(theta0, rng.uniform(0.35, 0.55))
    return blob(rng, S, cx, cy, r0 * rng.uniform(0.28, 0.4), r0 * rng.uniform(0.22, 0.32), 0.05) * les.inside


@structure("flat_blotch")
def _blotch(
    rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
) -> np.ndarray:
    """A dark structureless blotch off-centre: irregular pigmentation."""
    a = _flat_area(rng, img, les, theta0) * 0.95 * strength
    darken(img, a, rng.uniform(0.22, 0.32))
    return a


@structure("hypopigmentation")
def _hypo(
    rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
) -> np.ndarray:
    S = img.shape[0]
    a = _flat_area(rng, img, les, theta0)
    col = (
        img[int(np.clip(les.cy, 0, S - 1)), int(np.clip(les.cx, 0, S - 1))] * 0.3
        + np.array([200, 160, 130], np.float32) * 0.7
    )
    a = a * 0.6
    over(img, col, a)
    return a


@structure("typical_network")
def _network(
    rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
) -> np.ndarray:
    """A regular honeycomb of thin dark lines with even meshes, in one sector."""
    S = img.shape[0]
    region = les.region(theta0, np.deg2rad(rng.uniform(35, 50)), 0.15, 0.85) * les.inside
    region = cv2.GaussianBlur(region, (0, 0), 3)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    period = rng.uniform(11, 15)
    warp = 2.0 * lowfreq(rng, S, 10)
    ang = rng.uniform(0, np.pi)
    u = (xx * np.cos(ang) + yy * np.sin(ang)) / period + warp * 0.15
    v = (-xx * np.sin(ang) + yy * np.cos(ang)) / period + warp * 0.15
    line = np.minimum(np.abs(np.sin(np.pi * u)), np.abs(np.sin(np.pi * v)))
    net = np.clip(1.0 - line / 0.35, 0, 1)
    a = net * region * 0.85 * strength
    darken(img, a, 0.35)
    return np.maximum(region * 0.6, a) * (region > 0.3)


@structure("streaks")
def _streaks(
    rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
) -> np.ndarray:
    """Regular radial streaks with bulbous tips across one sector of the border."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    n = int(rng.integers(7, 12))
    half = np.deg2rad(rng.uniform(30, 45))
    for t in np.linspace(theta0 - half, theta0 + half, n) + rng.normal(0, 0.03, n):
        x0, y0 = les.point(t, rng.uniform(0.65, 0.8))
        x1, y1 = les.point(t, rng.uniform(1.12, 1.3))
        cv2.line(a, (int(x0), int(y0)), (int(x1), int(y1)), 1.0, int(rng.integers(3, 5)), cv2.LINE_AA)
        cv2.circle(a, (int(x1), int(y1)), int(rng.integers(3, 6)), 1.0, -1, cv2.LINE_AA)
    a = np.clip(a, 0, 1) * 0.9 * strength
    darken(img, a, 0.3)
    return a


def _dots(
    rng: np.random.Generator,
    img: np.ndarray,
    les: Lesion,
    theta0: float,
    n_range: tuple[int, int],
    rad_range: tuple[float, float],
) -> np.ndarray:
    """Round dots at random places of one sector, away from the border; the alpha, not yet drawn."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    region = les.region(theta0, np.deg2rad(40), 0.2, 0.85) * (les.alpha > 0.7)
    ys, xs = np.nonzero(region)
    if len(xs) == 0:
        return a
    n = int(rng.integers(*n_range))
    idx = rng.choice(len(xs), size=min(n, len(xs)), replace=False)
    rad = rng.uniform(*rad_range)
    for i in idx:
        cv2.circle(
            a, (int(xs[i]), int(ys[i])), int(round(rad * rng.uniform(0.85, 1.15))), 1.0, -1, cv2.LINE_AA
        )
    return np.clip(a, 0, 1)


@structure("globules")
def _globules(
    rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
) -> np.ndarray:
    """Round dark globules of even size clustered in one sector: regular dots and globules."""
    a = _dots(rng, img, les, theta0, (10, 18), (5, 7)) * 0.9 * strength
    darken(img, a, 0.3)
    return a


@structure("milia_cysts")
def _milia(
    rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
) -> np.ndarray:
    """A few small whitish-yellow dots: milia-like cysts."""
    a = _dots(rng, img, les, theta0, (5, 9), (2.5, 3.5)) * 0.85
    over(img, (235, 230, 215), a)
    return a


@structure("vessels")
def _arborizing(
    rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
) -> np.ndarray:
    """Arborizing vessels: bright red branching lines, thinner at each branching."""
    S, r0 = img.shape[0], les.r0
    a = np.zeros((S, S), np.float32)
    cx, cy = les.point(theta0, rng.uniform(0.4, 0.55))
    span = r0 * 0.45

    def branch(x: float, y: float, ang: float, length: float, depth: int) -> None:
        pts = [(x, y)]
        for _ in range(6):
            ang += rng.normal(0, 0.35)
            x += np.cos(ang) * length / 6
            y += np.sin(ang) * length / 6
            pts.append((x, y))
        cv2.polylines(a, [np.array(pts, np.int32)], False, 1.0, max(1, 3 - depth), cv2.LINE_AA)
        if depth < 2:
            for _ in range(2):
                j = int(rng.integers(2, 6))
                branch(
                    pts[j][0],
                    pts[j][1],
                    ang + rng.choice([-1, 1]) * rng.uniform(0.5, 1.0),
                    length * 0.6,
                    depth + 1,
                )

    for _ in range(int(rng.integers(2, 4))):
        branch(cx, cy, rng.uniform(0, 2 * np.pi), span, 0)
    a = np.clip(a, 0, 1) * (les.alpha > 0.3) * 0.95 * strength
    over(img, (200, 30, 45), a)
    return a


@structure("regression")
def _regression(
    rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
) -> np.ndarray:
    """White scar-like depigmentation with blue-grey peppering: regression structures."""
    S, r0 = img.shape[0], les.r0
    cx, cy = les.point(theta0, rng.uniform(0.35, 0.6))
    a = blob(rng, S, cx, cy, r0 * rng.uniform(0.25, 0.35), r0 * rng.uniform(0.2, 0.28), 0.1) * les.inside
    over(img, (215, 210, 212), a * 0.7)
    pep = (rng.random((S, S)) < 0.02).astype(np.float32)
    pep = cv2.dilate(pep, np.ones((2, 2), np.uint8)) * (a > 0.4)
    over(img, (110, 110, 118), pep * 0.9)
    return a * 0.7


STRUCTURES.update(HALLMARK_STRUCTURES)
