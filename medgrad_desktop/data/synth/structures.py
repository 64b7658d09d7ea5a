"""Dermoscopic structures, one drawing function each, looked up by name in `STRUCTURES`.

A structure function draws in place on the render-size canvas, in the sector of the lesion around
angle `theta0`, and returns its alpha map (the footprint its mask is taken from). `strength` scales
the opacity of label-defining structures; decoys are drawn at 1.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from medgrad_desktop.data.synth.painting import Lesion, blob, darken, lowfreq, over

StructureFn = Callable[[np.random.Generator, np.ndarray, Lesion, float, float], np.ndarray]
STRUCTURES: dict[str, StructureFn] = {}


def structure(name: str) -> Callable[[StructureFn], StructureFn]:
    """Register a drawing function under `name`."""

    def register(fn: StructureFn) -> StructureFn:
        STRUCTURES[name] = fn
        return fn

    return register


def draw_structure(kind: str, rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float,
                   strength: float = 1.0) -> np.ndarray:
    """Draw structure `kind` in the sector around angle theta0; return its alpha (footprint)."""
    fn = STRUCTURES.get(kind)
    if fn is None:
        raise ValueError(f"unknown structure '{kind}'; known: {', '.join(sorted(STRUCTURES))}")
    return fn(rng, img, les, theta0, strength)


@structure("blue_whitish_veil")
def _veil(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
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
def _blotch(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
    """A dark structureless blotch off-centre: irregular pigmentation."""
    a = _flat_area(rng, img, les, theta0) * 0.95 * strength
    darken(img, a, rng.uniform(0.22, 0.32))
    return a


@structure("hypopigmentation")
def _hypo(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
    S = img.shape[0]
    a = _flat_area(rng, img, les, theta0)
    col = img[int(np.clip(les.cy, 0, S - 1)), int(np.clip(les.cx, 0, S - 1))] * 0.3 + \
        np.array([200, 160, 130], np.float32) * 0.7
    a = a * 0.6
    over(img, col, a)
    return a


@structure("typical_network")
def _network(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
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
def _streaks(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
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


def _dots(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, n_range: tuple[int, int],
          rad_range: tuple[float, float]) -> np.ndarray:
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
        cv2.circle(a, (int(xs[i]), int(ys[i])), int(round(rad * rng.uniform(0.85, 1.15))), 1.0, -1, cv2.LINE_AA)
    return np.clip(a, 0, 1)


@structure("globules")
def _globules(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
    """Round dark globules of even size clustered in one sector: regular dots and globules."""
    a = _dots(rng, img, les, theta0, (10, 18), (5, 7)) * 0.9 * strength
    darken(img, a, 0.3)
    return a


@structure("milia_cysts")
def _milia(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
    """A few small whitish-yellow dots: milia-like cysts."""
    a = _dots(rng, img, les, theta0, (5, 9), (2.5, 3.5)) * 0.85
    over(img, (235, 230, 215), a)
    return a


@structure("vessels")
def _arborizing(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
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
                branch(pts[j][0], pts[j][1], ang + rng.choice([-1, 1]) * rng.uniform(0.5, 1.0), length * 0.6,
                       depth + 1)

    for _ in range(int(rng.integers(2, 4))):
        branch(cx, cy, rng.uniform(0, 2 * np.pi), span, 0)
    a = np.clip(a, 0, 1) * (les.alpha > 0.3) * 0.95 * strength
    over(img, (200, 30, 45), a)
    return a


@structure("regression")
def _regression(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
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


# --- structures of the 17-class generator -------------------------------------------------------------


def _net_lines(rng: np.random.Generator, S: int, period: float, warp_amp: float, width: float) -> np.ndarray:
    """A warped grid of lines (1 on the lines, 0 in the holes) with the given mesh period."""
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    warp = warp_amp * lowfreq(rng, S, 10)
    ang = rng.uniform(0, np.pi)
    u = (xx * np.cos(ang) + yy * np.sin(ang)) / period + warp * 0.15
    v = (-xx * np.sin(ang) + yy * np.cos(ang)) / period + warp * 0.15
    line = np.minimum(np.abs(np.sin(np.pi * u)), np.abs(np.sin(np.pi * v)))
    return np.clip(1.0 - line / width, 0, 1)


@structure("atypical_network")
def _atypical_network(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                      ) -> np.ndarray:
    """Thick, dark, broken lines with meshes of uneven size, ending abruptly: atypical network."""
    S = img.shape[0]
    region = les.region(theta0, np.deg2rad(rng.uniform(50, 70)), 0.2, 0.95) * les.inside
    region = cv2.GaussianBlur(region, (0, 0), 2)
    period = rng.uniform(16, 24)
    net = _net_lines(rng, S, period, rng.uniform(5, 7), 0.6)
    broken = (lowfreq(rng, S, 14) > -0.35).astype(np.float32)  # gaps in the lines
    a = net * broken * region * 0.95 * strength
    darken(img, a, 0.18)
    return np.maximum(region * 0.6, a) * (region > 0.3)


@structure("peripheral_network")
def _peripheral_network(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                        ) -> np.ndarray:
    """A delicate, regular network in a ring at the periphery (dermatofibroma)."""
    S = img.shape[0]
    region = cv2.GaussianBlur(les.region(theta0, np.pi, 0.6, 0.95) * les.inside, (0, 0), 3)
    a = _net_lines(rng, S, rng.uniform(10, 13), 2.0, 0.3) * region * 0.75 * strength
    darken(img, a, 0.45)
    return np.maximum(region * 0.6, a) * (region > 0.3)


@structure("starburst")
def _starburst(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
               ) -> np.ndarray:
    """Regular streaks all around the border, evenly spaced, around a dark centre (Reed/Spitz)."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    n = int(rng.integers(16, 24))
    for t in np.linspace(0, 2 * np.pi, n, endpoint=False) + theta0 + rng.normal(0, 0.03, n):
        x0, y0 = les.point(t, rng.uniform(0.7, 0.8))
        x1, y1 = les.point(t, rng.uniform(1.15, 1.3))
        cv2.line(a, (int(x0), int(y0)), (int(x1), int(y1)), 1.0, int(rng.integers(3, 5)), cv2.LINE_AA)
    a = np.clip(a, 0, 1) * 0.9 * strength
    darken(img, a, 0.25)
    return a


@structure("irregular_streaks")
def _irregular_streaks(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                       ) -> np.ndarray:
    """A few streaks of uneven length, width and direction, in part of the border only."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    n = int(rng.integers(4, 7))
    for t in theta0 + rng.uniform(-0.6, 0.6, n):
        x0, y0 = les.point(t, rng.uniform(0.6, 0.85))
        x1, y1 = les.point(t + rng.normal(0, 0.25), rng.uniform(1.1, 1.45))
        cv2.line(a, (int(x0), int(y0)), (int(x1), int(y1)), 1.0, int(rng.integers(3, 8)), cv2.LINE_AA)
    a = np.clip(a, 0, 1) * 0.95 * strength
    darken(img, a, 0.2)
    return a


@structure("irregular_globules")
def _irregular_globules(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                        ) -> np.ndarray:
    """Dots and globules of very different sizes, scattered unevenly, some near the border."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    region = les.region(theta0, np.deg2rad(rng.uniform(50, 80)), 0.3, 1.0) * (les.alpha > 0.5)
    ys, xs = np.nonzero(region)
    if len(xs) == 0:
        return a
    idx = rng.choice(len(xs), size=min(int(rng.integers(8, 15)), len(xs)), replace=False)
    for i in idx:
        cv2.circle(a, (int(xs[i]), int(ys[i])), int(rng.uniform(2.5, 10)), float(rng.uniform(0.7, 1.0)), -1,
                   cv2.LINE_AA)
    a = np.clip(a, 0, 1) * 0.95 * strength
    darken(img, a, 0.15)
    return a


@structure("cobblestone")
def _cobblestone(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                 ) -> np.ndarray:
    """Large, closely packed, roundish globules over most of the lesion (congenital nevus)."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    step = rng.uniform(15, 19)
    jit = step * 0.15
    r = step * 0.36
    for y in np.arange(les.cy - les.r0 * 1.3, les.cy + les.r0 * 1.3, step):
        for x in np.arange(les.cx - les.r0 * 1.3, les.cx + les.r0 * 1.3, step):
            px, py = x + rng.normal(0, jit), y + rng.normal(0, jit)
            ix, iy = int(np.clip(px, 0, S - 1)), int(np.clip(py, 0, S - 1))
            if les.rho[iy, ix] < 0.85 * les.rad[iy, ix]:
                cv2.ellipse(a, (int(px), int(py)), (int(r * rng.uniform(0.85, 1.15)), int(r * rng.uniform(0.8, 1.1))),
                            rng.uniform(0, 180), 0, 360, 1.0, -1, cv2.LINE_AA)
    a = np.clip(a, 0, 1) * 0.8 * strength
    darken(img, a, 0.45)
    return a


def _vessel_color(rng: np.random.Generator) -> tuple[float, float, float]:
    return (rng.uniform(185, 215), rng.uniform(25, 50), rng.uniform(40, 60))


@structure("comma_vessels")
def _comma_vessels(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                   ) -> np.ndarray:
    """Short, slightly curved red vessels scattered over the lesion (dermal nevus)."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    for _ in range(int(rng.integers(8, 14))):
        x, y = les.point(rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.75))
        ang = rng.uniform(0, 2 * np.pi)
        pts = []
        for _ in range(5):
            pts.append((x, y))
            ang += 0.35
            x += np.cos(ang) * 4
            y += np.sin(ang) * 4
        cv2.polylines(a, [np.array(pts, np.int32)], False, 1.0, 3, cv2.LINE_AA)
    a = np.clip(a, 0, 1) * 0.9 * strength
    over(img, _vessel_color(rng), a)
    return a


@structure("dotted_vessels")
def _dotted_vessels(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                    ) -> np.ndarray:
    """Many small red dots and short irregular linear vessels in one area: atypical vascular pattern."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    region = les.region(theta0, np.deg2rad(45), 0.15, 0.85) * (les.alpha > 0.7)
    ys, xs = np.nonzero(region)
    if len(xs) == 0:
        return a
    for i in rng.choice(len(xs), size=min(int(rng.integers(25, 40)), len(xs)), replace=False):
        cv2.circle(a, (int(xs[i]), int(ys[i])), int(rng.integers(2, 4)), 1.0, -1, cv2.LINE_AA)
    for i in rng.choice(len(xs), size=min(3, len(xs)), replace=False):
        ang = rng.uniform(0, np.pi)
        x1, y1 = xs[i] + np.cos(ang) * 14, ys[i] + np.sin(ang) * 14
        cv2.line(a, (int(xs[i]), int(ys[i])), (int(x1), int(y1)), 1.0, 2, cv2.LINE_AA)
    a = np.clip(a, 0, 1) * 0.95 * strength
    over(img, _vessel_color(rng), a)
    return a


@structure("lacunae")
def _lacunae(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
    """Red-purple round clods separated by paler septa over the lesion (vascular lesion)."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    step = rng.uniform(18, 24)
    for y in np.arange(les.cy - les.r0 * 1.3, les.cy + les.r0 * 1.3, step):
        for x in np.arange(les.cx - les.r0 * 1.3, les.cx + les.r0 * 1.3, step):
            px, py = x + rng.normal(0, step * 0.2), y + rng.normal(0, step * 0.2)
            ix, iy = int(np.clip(px, 0, S - 1)), int(np.clip(py, 0, S - 1))
            if les.rho[iy, ix] < 0.85 * les.rad[iy, ix]:
                cv2.circle(a, (int(px), int(py)), int(step * rng.uniform(0.3, 0.42)), 1.0, -1, cv2.LINE_AA)
    a = np.clip(a, 0, 1) * 0.9 * strength
    over(img, (rng.uniform(120, 160), rng.uniform(20, 40), rng.uniform(60, 90)), a)
    return a


@structure("blue_grey_nests")
def _nests(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
    """Large blue-grey ovoid nests (basal cell carcinoma)."""
    S, r0 = img.shape[0], les.r0
    a = np.zeros((S, S), np.float32)
    for _ in range(int(rng.integers(2, 4))):
        cx, cy = les.point(theta0 + rng.uniform(-0.7, 0.7), rng.uniform(0.3, 0.7))
        a = np.maximum(a, blob(rng, S, cx, cy, r0 * rng.uniform(0.13, 0.2), r0 * rng.uniform(0.09, 0.13), 0.08))
    a = a * les.inside * 0.85 * strength
    over(img, (rng.uniform(85, 105), rng.uniform(100, 115), rng.uniform(125, 145)), a)
    return a


@structure("leaf_like_areas")
def _leaf_like(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
               ) -> np.ndarray:
    """Brown-grey bulbous, leaf-like extensions at the border (basal cell carcinoma)."""
    S, r0 = img.shape[0], les.r0
    a = np.zeros((S, S), np.float32)
    for t in theta0 + np.linspace(-0.5, 0.5, int(rng.integers(3, 5))):
        cx, cy = les.point(t, rng.uniform(0.85, 1.0))
        a = np.maximum(a, blob(rng, S, cx, cy, r0 * 0.16, r0 * 0.08, 0.08))
    a = a * 0.85 * strength
    over(img, (rng.uniform(90, 110), rng.uniform(85, 100), rng.uniform(95, 115)), a)
    return a


@structure("milia_like_cysts")
def _many_milia(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                ) -> np.ndarray:
    """Many whitish-yellow cysts over the whole lesion (seborrheic keratosis)."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    for _ in range(int(rng.integers(14, 24))):
        x, y = les.point(rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0.0, 0.7)))
        cv2.circle(a, (int(x), int(y)), int(rng.integers(4, 7)), 1.0, -1, cv2.LINE_AA)
    a = np.clip(a, 0, 1) * 0.9 * strength
    over(img, (240, 235, 205), a)
    return a


@structure("comedo_like_openings")
def _comedo(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
    """Dark brown-black round plugs with a lighter rim (seborrheic keratosis)."""
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    rim = np.zeros((S, S), np.float32)
    for _ in range(int(rng.integers(8, 14))):
        x, y = les.point(rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0.0, 0.7)))
        r = int(rng.integers(5, 8))
        cv2.circle(rim, (int(x), int(y)), r + 3, 1.0, -1, cv2.LINE_AA)
        cv2.circle(a, (int(x), int(y)), r, 1.0, -1, cv2.LINE_AA)
    rim = np.clip(rim, 0, 1) * 0.6 * strength
    a = np.clip(a, 0, 1) * 0.95 * strength
    over(img, (200, 175, 140), rim)
    darken(img, a, 0.15)
    return np.maximum(a, rim)


@structure("central_white_patch")
def _central_white(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                   ) -> np.ndarray:
    """A central, white, scar-like patch without peppering (dermatofibroma)."""
    S, r0 = img.shape[0], les.r0
    cx, cy = les.point(theta0, rng.uniform(0.0, 0.15))
    a = blob(rng, S, cx, cy, r0 * rng.uniform(0.3, 0.4), r0 * rng.uniform(0.25, 0.33), 0.08) * les.inside
    a = a * 0.85 * strength
    over(img, (rng.uniform(235, 250), rng.uniform(225, 240), rng.uniform(225, 240)), a)
    return a


@structure("scar_with_pigment")
def _scar_pigment(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                  ) -> np.ndarray:
    """A long white scar across the lesion with irregular dark pigment along it (recurrent nevus)."""
    S, r0 = img.shape[0], les.r0
    scar = np.zeros((S, S), np.float32)
    x0, y0 = les.point(theta0, 0.9)
    x1, y1 = les.point(theta0 + np.pi, 0.9)
    cv2.line(scar, (int(x0), int(y0)), (int(x1), int(y1)), 1.0, int(r0 * rng.uniform(0.22, 0.3)), cv2.LINE_AA)
    scar = cv2.GaussianBlur(scar, (0, 0), 3) * (les.alpha > 0.4)
    over(img, (238, 228, 226), scar * 0.9 * strength)
    pig = (lowfreq(rng, S, 18) > 0.6).astype(np.float32) * (scar > 0.5)
    pig = cv2.GaussianBlur(pig, (0, 0), 1.5) * 0.95 * strength
    darken(img, pig, 0.2)
    return np.maximum(scar * 0.9, pig)


@structure("blue_area")
def _blue_area(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
               ) -> np.ndarray:
    """A homogeneous blue-grey part covering about half the lesion, beside a brown part (combined nevus)."""
    a = cv2.GaussianBlur(les.region(theta0, np.pi / 2 * rng.uniform(0.85, 1.1), 0.0, 1.0) * les.inside, (0, 0), 4)
    a = a * 0.9 * strength
    over(img, (rng.uniform(70, 95), rng.uniform(90, 110), rng.uniform(125, 150)), a)
    return a


@structure("homogeneous_blue")
def _homogeneous_blue(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                      ) -> np.ndarray:
    """The whole lesion a structureless steel blue-grey, deepest in the centre (blue nevus)."""
    rel = np.clip(les.rho / np.maximum(les.rad, 1), 0, 1)
    a = les.inside * (0.75 + 0.2 * (1 - rel)) * strength
    over(img, (rng.uniform(55, 80), rng.uniform(70, 90), rng.uniform(105, 130)), a)
    return a


@structure("central_homogeneous")
def _central_homogeneous(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                         ) -> np.ndarray:
    """A round, even, structureless brown centre, symmetric in the lesion (common nevus)."""
    S, r0 = img.shape[0], les.r0
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    d = np.hypot(xx - les.cx, yy - les.cy) / (r0 * rng.uniform(0.5, 0.6))
    a = (1.0 / (1.0 + np.exp(np.clip((d - 1.0) / 0.08, -30, 30)))).astype(np.float32) * les.inside
    a = a * 0.8 * strength
    darken(img, a, rng.uniform(0.6, 0.7))
    return a


@structure("parallel_lines")
def _parallel_lines(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float
                    ) -> np.ndarray:
    """Fine, light-brown, wavy parallel lines over the lesion (melanosis: parallel, ring-like pattern)."""
    S = img.shape[0]
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    ang = rng.uniform(0, np.pi)
    u = (xx * np.cos(ang) + yy * np.sin(ang)) / rng.uniform(8, 11) + 1.5 * lowfreq(rng, S, 4)
    lines = np.clip(1.0 - np.abs(np.sin(np.pi * u)) / 0.35, 0, 1)
    a = lines * les.inside * 0.7 * strength
    darken(img, a, 0.55)
    return np.maximum(les.inside * 0.6, a) * (les.inside > 0.3)


@structure("keratin_scale")
def _scale(rng: np.random.Generator, img: np.ndarray, les: Lesion, theta0: float, strength: float) -> np.ndarray:
    """Rough white-yellow scale and crust over part of the lesion."""
    S, r0 = img.shape[0], les.r0
    a = np.zeros((S, S), np.float32)
    for _ in range(int(rng.integers(2, 4))):
        cx, cy = les.point(theta0 + rng.uniform(-0.8, 0.8), rng.uniform(0.2, 0.6))
        a = np.maximum(a, blob(rng, S, cx, cy, r0 * rng.uniform(0.2, 0.3), r0 * rng.uniform(0.12, 0.2), 0.1))
    grain = np.clip(0.6 + 0.5 * cv2.GaussianBlur(rng.standard_normal((S, S)).astype(np.float32), (0, 0), 2), 0, 1)
    a = a * les.inside * grain * 0.9 * strength
    over(img, (rng.uniform(230, 245), rng.uniform(220, 235), rng.uniform(170, 195)), a)
    return a
