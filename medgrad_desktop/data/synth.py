"""Synthetic dermoscopy images with exact masks: the project's own data, since none can be downloaded.

Why: an explanation can only be scored against regions the model demonstrably uses, and the demo
model needs training data. Every image is drawn from a seed (numpy + OpenCV only), so any number
quoted with `GENERATOR_VERSION` and the seed can be reproduced bit for bit.

API
---
    from medgrad_desktop.data.synth import SynthConfig, render_sample, CLASS_STRUCTURES

    cfg = SynthConfig()                       # 224x224, 6 classes, artefact_rate 0.6, all skin tones
    s = render_sample(seed=7, config=cfg)     # label drawn from the seed; or render_sample(7, cfg, label=2)
    s.image            # (H, W, 3) uint8 RGB
    s.label            # index into cfg.classes;  s.class_id -> catalogue id, e.g. "melanoma"
    s.caption          # "melanoma, absent pigment network, blue-whitish veil, ..." (MedGrad style)
    s.criteria         # {criterion_id: option_id} for the 7 catalogue criteria
    s.lesion_mask      # (H, W) bool
    s.structure_masks  # {name: bool mask} for every structure drawn (target and decoys)
    s.target_structure, s.target_mask      # the label-defining structure
    s.decoy_masks      # {name: mask} label-independent structures in other sectors
    s.artefact_masks   # {name: mask}: hairs, ruler, bubbles, vignette, calibration_patch, glints
    s.counterfactual   # the same seed drawn without the target structure (None if not requested)
    s.counterfactual_diff_mask             # pixels that differ between the two (> 8 grey levels)
    s.metadata         # skin_tone, lesion_radius, lesion_center, artefact_rate, n_artefacts,
                       # target_entropy_rank, target_is_entropy_max, shortcut_artefact, version, ...

Classes and their defining structure (`CLASS_STRUCTURES`), a 6-class subset of the catalogue:
melanoma = blue-whitish veil (low entropy), lentigo = flat dark blotch / irregular pigmentation (low
entropy), clark nevus = typical pigment network, reed/spitz nevus = regular streaks at the periphery,
dermal nevus = regular dots and globules, basal cell carcinoma = arborizing vessels ("regular vascular
structures", as Derm7pt groups them). Two of six targets are low-entropy, so with balanced labels
>= 30 % of targets are low-entropy.

Keeping it honest (EXPLANATION-BENCHMARK.md): the lesion centre is anywhere within +-30 % of the
image centre; decoys (regression structures, milia-like cysts, hypopigmented areas: label-independent,
recorded in `decoy_masks`) sit in other sectors; artefacts, skin tone and lesion size are drawn from
their own seeds, independently of the label; the artefacts are re-drawn (up to `max_entropy_retries`
times) until the target is not the patch with the highest local entropy, except for a seeded fraction
`entropy_peak_allowance` of images, so >= 70 % of targets are not the entropy maximum when artefacts
are on. With `shortcut=True` an artefact (`shortcut_artefact`, ruler or bubbles) is present in 90 % of
images of `shortcut_class` and in 10 % of the others, so "ruler => class" is right 90 % of the time.

Determinism: each component (skin, lesion, target, decoys, artefacts) has its own generator seeded from
(seed, component name), so the counterfactual differs from the image only where the target was.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

GENERATOR_VERSION = "synth-1.1"

# class id -> (target structure name, criterion id, option id that the structure sets)
CLASS_STRUCTURES: dict[str, tuple[str, str, str]] = {
    "melanoma": ("blue_whitish_veil", "blue_whitish_veil", "present"),
    "lentigo": ("flat_blotch", "pigmentation", "irregular"),
    "clark_nevus": ("typical_network", "pigment_network", "typical"),
    "reed_or_spitz_nevus": ("streaks", "streaks", "regular"),
    "dermal_nevus": ("globules", "dots_and_globules", "regular"),
    "basal_cell_carcinoma": ("vessels", "vascular_structures", "regular"),  # arborizing: 7-point "regular"
}
LOW_ENTROPY_STRUCTURES = frozenset({"blue_whitish_veil", "flat_blotch"})
DECOY_TYPES = ("regression", "milia_cysts", "hypopigmentation")
# a decoy that is also a 7-point criterion shows up in the caption; the others are not criteria
DECOY_CRITERIA = {"regression": ("regression_structures", "present")}
ARTEFACT_TYPES = ("hairs", "ruler", "bubbles", "vignette", "calibration_patch", "glints")
CRITERIA_ORDER = ("pigment_network", "blue_whitish_veil", "vascular_structures", "pigmentation",
                  "streaks", "dots_and_globules", "regression_structures")
CRITERION_DEFAULTS = {"pigment_network": "absent", "blue_whitish_veil": "absent",
                      "vascular_structures": "absent", "pigmentation": "regular", "streaks": "absent",
                      "dots_and_globules": "absent", "regression_structures": "absent"}
CRITERION_PHRASES = {
    ("pigment_network", "absent"): "absent pigment network",
    ("pigment_network", "typical"): "typical pigment network",
    ("pigment_network", "atypical"): "atypical pigment network",
    ("blue_whitish_veil", "absent"): "absent blue-whitish veil",
    ("blue_whitish_veil", "present"): "blue-whitish veil",
    ("vascular_structures", "absent"): "absent vascular structures",
    ("vascular_structures", "regular"): "regular vascular structures",
    ("vascular_structures", "atypical"): "atypical vascular structures",
    ("pigmentation", "absent"): "absent pigmentation",
    ("pigmentation", "regular"): "regular pigmentation",
    ("pigmentation", "irregular"): "irregular pigmentation",
    ("streaks", "absent"): "absent streaks",
    ("streaks", "regular"): "regular streaks",
    ("streaks", "irregular"): "irregular streaks",
    ("dots_and_globules", "absent"): "absent dots and globules",
    ("dots_and_globules", "regular"): "regular dots and globules",
    ("dots_and_globules", "irregular"): "irregular dots and globules",
    ("regression_structures", "absent"): "absent regression structures",
    ("regression_structures", "present"): "regression structures",
}
CLASS_PHRASES = {"melanoma": "melanoma", "lentigo": "lentigo", "clark_nevus": "clark nevus",
                 "reed_or_spitz_nevus": "reed or spitz nevus", "dermal_nevus": "dermal nevus",
                 "basal_cell_carcinoma": "basal cell carcinoma"}

# light to dark skin (RGB), roughly Fitzpatrick I..VI
SKIN_TONES = ((242, 214, 194), (228, 190, 160), (203, 156, 120), (165, 114, 80), (120, 80, 55), (82, 55, 40))


@dataclass(frozen=True)
class SynthConfig:
    """Knobs of the generator. All defaults are what the demo model and the benchmark use."""

    size: int = 224
    render_scale: int = 2  # drawn at size*scale then area-resized: anti-aliased thin structures
    classes: tuple[str, ...] = tuple(CLASS_STRUCTURES)
    skin_tones: tuple[int, ...] = tuple(range(len(SKIN_TONES)))
    artefact_rate: float = 0.6  # 0 = clean images, 1 = many artefacts
    irregularity: float = 0.12  # border irregularity (amplitude of the cos harmonics)
    center_jitter: float = 0.30  # lesion centre within +- this fraction of the image centre
    radius_range: tuple[float, float] = (0.15, 0.35)  # lesion radius as a fraction of the size
    decoy_rate: float = 0.6  # expected decoys per image (0..2)
    structure_strength: float = 1.0  # opacity multiplier of the target structure
    shortcut: bool = False
    shortcut_class: str = "melanoma"
    shortcut_artefact: str = "ruler"  # ruler | bubbles
    shortcut_rate: float = 0.9
    entropy_peak_allowance: float = 0.2  # fraction of images allowed to keep the target as entropy max
    max_entropy_retries: int = 6
    entropy_radius: int = 5
    counterfactual: bool = True
    jpeg: bool = True


@dataclass
class SynthSample:
    seed: int
    image: np.ndarray
    label: int
    class_id: str
    caption: str
    criteria: dict[str, str]
    lesion_mask: np.ndarray
    structure_masks: dict[str, np.ndarray]
    target_structure: str
    target_mask: np.ndarray
    decoy_masks: dict[str, np.ndarray]
    artefact_masks: dict[str, np.ndarray]
    counterfactual: np.ndarray | None
    counterfactual_diff_mask: np.ndarray | None
    metadata: dict = field(default_factory=dict)

    @property
    def lesion_id(self) -> str:
        return f"synth-{self.seed}"


# ------------------------------------------------------------------------------------------------
# helpers


def _rng(seed: int, name: str, attempt: int = 0) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode()), attempt])


def _lowfreq(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth noise in about [-1, 1] with `cells` features across the image."""
    g = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(g, (size, size), interpolation=cv2.INTER_CUBIC)


def _bbox(alpha: np.ndarray) -> tuple[slice, slice]:
    rows = np.flatnonzero(alpha.max(1) > 0)
    cols = np.flatnonzero(alpha.max(0) > 0)
    if len(rows) == 0:
        return slice(0, 0), slice(0, 0)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _over(img: np.ndarray, color: np.ndarray | tuple, alpha: np.ndarray) -> None:
    """Alpha-composite `color` (RGB tuple or HxWx3) over `img` in place, within alpha's bounding box."""
    ys, xs = _bbox(alpha)
    a = alpha[ys, xs, None]
    col = color[ys, xs] if isinstance(color, np.ndarray) and color.ndim == 3 else np.asarray(color, np.float32)
    sub = img[ys, xs]
    sub *= 1.0 - a
    sub += a * col


def _darken(img: np.ndarray, alpha: np.ndarray, factor: float) -> None:
    """Darken in place towards `factor` x the local colour: dark structures stay visible on dark skin
    and dark lesions, where a fixed near-black colour would vanish."""
    ys, xs = _bbox(alpha)
    img[ys, xs] *= (1.0 - alpha[ys, xs] * (1.0 - factor))[..., None]


def _down_mask(alpha: np.ndarray, size: int, thresh: float = 0.15, close: int = 0) -> np.ndarray:
    m = cv2.resize(alpha.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA) > thresh
    if close:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close, close))
        m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE, k) > 0
    return m


@dataclass
class _Lesion:
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


def _draw_skin(rng: np.random.Generator, S: int, tone: int) -> np.ndarray:
    base = np.array(SKIN_TONES[tone], np.float32)
    hsv = cv2.cvtColor(base.reshape(1, 1, 3) / 255.0, cv2.COLOR_RGB2HSV)[0, 0]
    hsv[0] = (hsv[0] + rng.uniform(-6, 6)) % 360
    hsv[1] = np.clip(hsv[1] * rng.uniform(0.85, 1.15), 0, 1)
    hsv[2] = np.clip(hsv[2] * rng.uniform(0.92, 1.06), 0, 1)
    base = cv2.cvtColor(hsv.reshape(1, 1, 3).astype(np.float32), cv2.COLOR_HSV2RGB)[0, 0] * 255
    shade = 1.0 + 0.06 * _lowfreq(rng, S, 3)
    pores = cv2.GaussianBlur(rng.standard_normal((S, S)).astype(np.float32), (0, 0), 1.2) * 5.0
    img = base[None, None, :] * shade[..., None] + pores[..., None]
    return img.astype(np.float32)


def _make_lesion(rng: np.random.Generator, S: int, cfg: SynthConfig) -> _Lesion:
    cx = S / 2 + rng.uniform(-cfg.center_jitter, cfg.center_jitter) * S
    cy = S / 2 + rng.uniform(-cfg.center_jitter, cfg.center_jitter) * S
    r0 = rng.uniform(*cfg.radius_range) * S
    room = min(cx, cy, S - cx, S - cy)
    r0 = float(max(min(r0, 0.92 * room / (1 + 2 * cfg.irregularity)), 0.11 * S))
    harmonics = [(k, float(rng.uniform(0, cfg.irregularity) * 2 / k), float(rng.uniform(0, 2 * np.pi)))
                 for k in range(2, 9)]
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    dx, dy = xx - cx, yy - cy
    rho = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    rad = r0 * (1 + sum(a * np.cos(k * theta + p) for k, a, p in harmonics))
    soft = 0.04 + rng.uniform(0, 0.04)
    alpha = 1.0 / (1.0 + np.exp(np.clip((rho / np.maximum(rad, 1) - 1.0) / soft, -30, 30)))
    return _Lesion(cx, cy, r0, harmonics, rho, theta, rad.astype(np.float32), alpha.astype(np.float32))


def _draw_lesion(rng: np.random.Generator, img: np.ndarray, les: _Lesion, skin_tone: int) -> None:
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
    fields = np.stack([_lowfreq(rng, small, 3) for _ in range(n)], -1) * 1.8
    weights = np.exp(fields - fields.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    color = weights @ np.stack(browns)
    color = cv2.resize(color.astype(np.float32), (S, S), interpolation=cv2.INTER_LINEAR)
    rel = np.clip(les.rho / np.maximum(les.rad, 1), 0, 1.5)
    color *= (0.88 + 0.15 * rel)[..., None]  # slightly darker towards the centre
    _over(img, color, les.alpha * 0.95)


# --- structures: each returns an alpha map (S x S); drawing happens in place ---------------------


def _blob(rng: np.random.Generator, S: int, cx: float, cy: float, ax: float, ay: float, edge: float) -> np.ndarray:
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    ang = rng.uniform(0, np.pi)
    c, s = np.cos(ang), np.sin(ang)
    u, v = (xx - cx) * c + (yy - cy) * s, -(xx - cx) * s + (yy - cy) * c
    d = np.sqrt((u / ax) ** 2 + (v / ay) ** 2) + 0.25 * _lowfreq(rng, S, 6)
    return (1.0 / (1.0 + np.exp(np.clip((d - 1.0) / edge, -30, 30)))).astype(np.float32)


def _structure(kind: str, rng: np.random.Generator, img: np.ndarray, les: _Lesion, theta0: float,
               strength: float = 1.0) -> np.ndarray:
    """Draw structure `kind` in the sector around angle theta0; return its alpha (footprint)."""
    S = img.shape[0]
    r0 = les.r0
    inside = np.clip((les.alpha - 0.5) * 2.5, 0, 1)
    if kind == "blue_whitish_veil":
        cx, cy = les.point(theta0, rng.uniform(0.35, 0.55))
        a = _blob(rng, S, cx, cy, r0 * rng.uniform(0.32, 0.45), r0 * rng.uniform(0.25, 0.35), 0.12) * inside
        col = np.array([rng.uniform(115, 140), rng.uniform(135, 155), rng.uniform(165, 190)], np.float32)
        a = a * rng.uniform(0.72, 0.85) * strength
        _over(img, col, a)
        return a
    if kind in ("flat_blotch", "hypopigmentation"):
        cx, cy = les.point(theta0, rng.uniform(0.35, 0.55))
        a = _blob(rng, S, cx, cy, r0 * rng.uniform(0.28, 0.4), r0 * rng.uniform(0.22, 0.32), 0.05) * inside
        if kind == "flat_blotch":
            a = a * 0.95 * strength
            _darken(img, a, rng.uniform(0.22, 0.32))
        else:
            col = img[int(np.clip(les.cy, 0, S - 1)), int(np.clip(les.cx, 0, S - 1))] * 0.3 + \
                np.array([200, 160, 130], np.float32) * 0.7
            a = a * 0.6
            _over(img, col, a)
        return a
    if kind == "typical_network":
        region = les.region(theta0, np.deg2rad(rng.uniform(35, 50)), 0.15, 0.85) * inside
        region = cv2.GaussianBlur(region, (0, 0), 3)
        yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
        period = rng.uniform(11, 15)
        warp = 2.0 * _lowfreq(rng, S, 10)
        ang = rng.uniform(0, np.pi)
        u = (xx * np.cos(ang) + yy * np.sin(ang)) / period + warp * 0.15
        v = (-xx * np.sin(ang) + yy * np.cos(ang)) / period + warp * 0.15
        line = np.minimum(np.abs(np.sin(np.pi * u)), np.abs(np.sin(np.pi * v)))
        net = np.clip(1.0 - line / 0.35, 0, 1)
        a = net * region * 0.85 * strength
        _darken(img, a, 0.35)
        return np.maximum(region * 0.6, a) * (region > 0.3)
    if kind == "streaks":
        a = np.zeros((S, S), np.float32)
        n = int(rng.integers(7, 12))
        half = np.deg2rad(rng.uniform(30, 45))
        for t in np.linspace(theta0 - half, theta0 + half, n) + rng.normal(0, 0.03, n):
            x0, y0 = les.point(t, rng.uniform(0.65, 0.8))
            x1, y1 = les.point(t, rng.uniform(1.12, 1.3))
            cv2.line(a, (int(x0), int(y0)), (int(x1), int(y1)), 1.0, int(rng.integers(3, 5)), cv2.LINE_AA)
            cv2.circle(a, (int(x1), int(y1)), int(rng.integers(3, 6)), 1.0, -1, cv2.LINE_AA)
        a = np.clip(a, 0, 1) * 0.9 * strength
        _darken(img, a, 0.3)
        return a
    if kind in ("globules", "milia_cysts"):
        a = np.zeros((S, S), np.float32)
        region = les.region(theta0, np.deg2rad(40), 0.2, 0.85) * (les.alpha > 0.7)
        ys, xs = np.nonzero(region)
        if len(xs) == 0:
            return a
        n = int(rng.integers(10, 18)) if kind == "globules" else int(rng.integers(5, 9))
        idx = rng.choice(len(xs), size=min(n, len(xs)), replace=False)
        rad = rng.uniform(5, 7) if kind == "globules" else rng.uniform(2.5, 3.5)
        for i in idx:
            cv2.circle(a, (int(xs[i]), int(ys[i])), int(round(rad * rng.uniform(0.85, 1.15))), 1.0, -1,
                       cv2.LINE_AA)
        a = np.clip(a, 0, 1)
        if kind == "globules":
            a = a * 0.9 * strength
            _darken(img, a, 0.3)
        else:
            a = a * 0.85
            _over(img, (235, 230, 215), a)
        return a
    if kind == "vessels":
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
                    branch(pts[j][0], pts[j][1], ang + rng.choice([-1, 1]) * rng.uniform(0.5, 1.0),
                           length * 0.6, depth + 1)

        for _ in range(int(rng.integers(2, 4))):
            branch(cx, cy, rng.uniform(0, 2 * np.pi), span, 0)
        a = np.clip(a, 0, 1) * (les.alpha > 0.3) * 0.95 * strength
        _over(img, (200, 30, 45), a)
        return a
    if kind == "regression":
        cx, cy = les.point(theta0, rng.uniform(0.35, 0.6))
        a = _blob(rng, S, cx, cy, r0 * rng.uniform(0.25, 0.35), r0 * rng.uniform(0.2, 0.28), 0.1) * inside
        _over(img, (215, 210, 212), a * 0.7)
        pep = (rng.random((S, S)) < 0.02).astype(np.float32)
        pep = cv2.dilate(pep, np.ones((2, 2), np.uint8)) * (a > 0.4)
        _over(img, (110, 110, 118), pep * 0.9)
        return a * 0.7
    raise ValueError(f"unknown structure '{kind}'")


# --- artefacts ------------------------------------------------------------------------------------


def _artefact(kind: str, rng: np.random.Generator, img: np.ndarray, rate: float) -> np.ndarray:
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    if kind == "hairs":
        n = max(1, int(rng.poisson(2 + 8 * rate)))
        for _ in range(n):
            x, y = rng.uniform(0, S, 2)
            ang = rng.uniform(0, 2 * np.pi)
            pts = []
            for _ in range(int(rng.integers(10, 30))):
                ang += rng.normal(0, 0.08)
                x += np.cos(ang) * S / 40
                y += np.sin(ang) * S / 40
                pts.append((x, y))
            cv2.polylines(a, [np.array(pts, np.int32)], False, 1.0, int(rng.integers(2, 4)), cv2.LINE_AA)
        a = np.clip(a, 0, 1)
        _over(img, (rng.uniform(15, 45),) * 3, a * 0.95)
        return a
    if kind == "ruler":
        edge = int(rng.integers(0, 4))
        band = int(S * rng.uniform(0.07, 0.1))
        strip = np.zeros((band, S), np.uint8)
        step = int(S / rng.uniform(28, 36))
        for i, x in enumerate(range(step // 2, S, step)):
            h = band * (0.8 if i % 5 == 0 else 0.45)
            cv2.line(strip, (x, 0), (x, int(h)), 255, 2, cv2.LINE_AA)
            if i % 10 == 0:  # digit-like marks
                cv2.putText(strip, str((i // 10) % 10), (x + 3, band - 4), cv2.FONT_HERSHEY_SIMPLEX,
                            band / 70, 255, 2, cv2.LINE_AA)
        full = np.zeros((S, S), np.float32)
        full[:band] = strip.astype(np.float32) / 255.0
        full = np.rot90(full, edge).copy()
        back = np.zeros((S, S), np.float32)
        back[:band] = 1.0
        back = np.rot90(back, edge).copy()
        _over(img, (230, 228, 220), back * 0.55)
        _over(img, (20, 20, 25), full * 0.95)
        return np.maximum(back * 0.55, full)
    if kind == "bubbles":
        for _ in range(int(rng.integers(1, 4 + int(4 * rate)))):
            cx, cy = rng.uniform(0, S, 2)
            r = rng.uniform(0.03, 0.09) * S
            ring = np.zeros((S, S), np.float32)
            cv2.circle(ring, (int(cx), int(cy)), int(r), 1.0, 3, cv2.LINE_AA)
            rim = np.zeros((S, S), np.float32)
            cv2.ellipse(rim, (int(cx), int(cy)), (int(r * 0.8), int(r * 0.8)), 0, 200, 250, 1.0, 3, cv2.LINE_AA)
            _over(img, (60, 60, 60), ring * 0.6)
            _over(img, (255, 255, 255), rim * 0.95)
            disc = np.zeros((S, S), np.float32)
            cv2.circle(disc, (int(cx), int(cy)), int(r) + 2, 1.0, -1)
            a = np.maximum(a, disc)
        return a
    if kind == "vignette":
        yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
        d = np.hypot(xx - S / 2 + rng.normal(0, S * 0.03), yy - S / 2 + rng.normal(0, S * 0.03)) / (S / 2)
        r = rng.uniform(0.95, 1.2)
        v = np.clip((d - r) / 0.06, 0, 1)
        _over(img, (8, 8, 8), v)
        return v
    if kind == "calibration_patch":
        sq = int(S * rng.uniform(0.05, 0.07))
        corner = int(rng.integers(0, 4))
        x0 = 6 if corner in (0, 2) else S - 6 - 3 * sq
        y0 = 6 if corner in (0, 1) else S - 6 - 2 * sq
        cols = [(220, 30, 30), (30, 170, 40), (30, 60, 210), (240, 220, 40), (250, 250, 250), (30, 30, 30)]
        for i, c in enumerate(cols):
            x, y = x0 + (i % 3) * sq, y0 + (i // 3) * sq
            m = np.zeros((S, S), np.float32)
            cv2.rectangle(m, (x, y), (x + sq - 2, y + sq - 2), 1.0, -1)
            _over(img, c, m)
            a = np.maximum(a, m)
        return a
    if kind == "glints":
        for _ in range(int(rng.integers(3, 9))):
            cx, cy = rng.uniform(0, S, 2)
            cv2.ellipse(a, (int(cx), int(cy)), (int(rng.integers(2, 6)), int(rng.integers(1, 3))),
                        rng.uniform(0, 180), 0, 360, 1.0, -1, cv2.LINE_AA)
        a = cv2.GaussianBlur(a, (0, 0), 1.0)
        _over(img, (255, 255, 250), np.clip(a, 0, 1) * 0.9)
        return a
    raise ValueError(f"unknown artefact '{kind}'")


def _artefact_plan(rng: np.random.Generator, cfg: SynthConfig, class_id: str, shortcut_rng: np.random.Generator
                   ) -> list[str]:
    r = cfg.artefact_rate
    probs = {"hairs": 0.85 * r, "ruler": 0.45 * r, "bubbles": 0.5 * r, "vignette": 0.35 * r,
             "calibration_patch": 0.25 * r, "glints": 0.5 * r}
    plan = [k for k in ARTEFACT_TYPES if rng.random() < probs[k]]
    if cfg.shortcut:
        art = cfg.shortcut_artefact
        if art not in ("ruler", "bubbles"):
            raise ValueError(f"shortcut_artefact must be 'ruler' or 'bubbles', not '{art}'")
        p = cfg.shortcut_rate if class_id == cfg.shortcut_class else 1.0 - cfg.shortcut_rate
        plan = [k for k in plan if k != art]
        if shortcut_rng.random() < p:
            plan.append(art)
    return plan


# --- entropy check -------------------------------------------------------------------------------


def target_entropy_rank(image: np.ndarray, target_mask: np.ndarray, radius: int = 5, grid: int = 14
                        ) -> tuple[int, float]:
    """Rank (0 = highest) of the best target patch among all patches by mean local entropy, and the
    entropy of that patch. A patch counts as target when >= 25 % of it is target mask (or, for sparse
    targets such as small globules, at least half the best-covered patch's share)."""
    from medgrad_desktop.core.entropy import gray_bt601, local_entropy, patch_mean

    ent = patch_mean(local_entropy(gray_bt601(image), radius), (grid, grid))
    cover = patch_mean(target_mask.astype(np.float32), (grid, grid))
    order = np.argsort(-ent, axis=None)
    flat_cover = cover.ravel()
    need = min(0.25, 0.5 * float(flat_cover.max()))
    if need <= 0:
        return len(order), 0.0
    for rank, idx in enumerate(order):
        if flat_cover[idx] >= need:
            return rank, float(ent.ravel()[idx])
    return len(order), 0.0


# --- the sample ----------------------------------------------------------------------------------


def caption_for(class_id: str, criteria: dict[str, str]) -> str:
    """MedGrad-style caption: the diagnosis, then one phrase per 7-point criterion."""
    parts = [CLASS_PHRASES.get(class_id, class_id.replace("_", " "))]
    parts += [CRITERION_PHRASES[(c, criteria[c])] for c in CRITERIA_ORDER if c in criteria]
    return ", ".join(parts)


@dataclass
class _Base:
    """Skin, lesion and decoys (shared by the image, its counterfactual and every artefact retry),
    and the same with the target drawn on top."""

    without_target: np.ndarray
    with_target: np.ndarray
    alphas: dict[str, np.ndarray]
    meta: dict


def _base(seed: int, cfg: SynthConfig, class_id: str) -> _Base:
    S = cfg.size * cfg.render_scale
    rng_skin = _rng(seed, "skin")
    tone = int(cfg.skin_tones[int(rng_skin.integers(0, len(cfg.skin_tones)))])
    img = _draw_skin(rng_skin, S, tone)
    rng_les = _rng(seed, "lesion")
    les = _make_lesion(rng_les, S, cfg)
    _draw_lesion(rng_les, img, les, tone)
    alphas: dict[str, np.ndarray] = {"lesion": les.alpha}
    rng_layout = _rng(seed, "layout")
    sectors = rng_layout.permutation(6)
    theta_t = float(sectors[0] * np.pi / 3 + rng_layout.uniform(-0.2, 0.2))
    n_decoys = int(min(2, rng_layout.poisson(cfg.decoy_rate)))
    decoys = [(str(rng_layout.choice(DECOY_TYPES)), float(sectors[1 + 2 * i] * np.pi / 3 + rng_layout.uniform(-0.2, 0.2)))
              for i in range(n_decoys)]
    target_kind = CLASS_STRUCTURES[class_id][0]
    # decoys first so the target sits on top of any overlap; each has its own generator
    for i, (kind, th) in enumerate(decoys):
        alphas[f"decoy:{kind}" + (f"_{i}" if any(k == kind for k, _ in decoys[:i]) else "")] = _structure(
            kind, _rng(seed, f"decoy{i}"), img, les, th)
    without = img.copy()
    alphas["target:" + target_kind] = _structure(target_kind, _rng(seed, "target"), img, les, theta_t,
                                                 cfg.structure_strength)
    meta = {"skin_tone": tone, "lesion_center": [les.cx / S, les.cy / S], "lesion_radius": les.r0 / S,
            "target_sector_angle": theta_t, "decoys": [k for k, _ in decoys]}
    return _Base(without, img, alphas, meta)


def _finish(base_img: np.ndarray, seed: int, cfg: SynthConfig, class_id: str, attempt: int, plan_cache: dict
            ) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """Artefacts of retry `attempt` over a copy of `base_img`, area-resized, optionally JPEG-compressed."""
    img = base_img.copy()
    plan = plan_cache.get(attempt)
    if plan is None:
        plan = _artefact_plan(_rng(seed, "artefacts", attempt), cfg, class_id, _rng(seed, "shortcut"))
        plan_cache[attempt] = plan
    alphas = {"artefact:" + kind: _artefact(kind, _rng(seed, "artefact:" + kind, attempt), img, cfg.artefact_rate)
              for kind in plan}
    small = cv2.resize(np.clip(img, 0, 255), (cfg.size, cfg.size), interpolation=cv2.INTER_AREA)
    out = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    if cfg.jpeg:
        q_rng = _rng(seed, "jpeg", attempt)
        if q_rng.random() < 0.5:
            q = int(q_rng.integers(70, 95))
            ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
            if ok:
                out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return out, alphas, list(plan)


def render_sample(seed: int, config: SynthConfig | None = None, label: int | None = None) -> SynthSample:
    """Draw one image from `seed` (and `label`, an index into config.classes; drawn from the seed if None)."""
    cfg = config or SynthConfig()
    for c in cfg.classes:
        if c not in CLASS_STRUCTURES:
            raise ValueError(f"class '{c}' has no synthetic structure; choose from {', '.join(CLASS_STRUCTURES)}")
    if label is None:
        label = int(_rng(seed, "label").integers(0, len(cfg.classes)))
    if not 0 <= label < len(cfg.classes):
        raise ValueError(f"label {label} out of range for {len(cfg.classes)} classes")
    class_id = cfg.classes[label]
    size = cfg.size
    allow_peak = _rng(seed, "entropy-allowance").random() < cfg.entropy_peak_allowance
    plan_cache: dict = {}
    base = _base(seed, cfg, class_id)
    tkey = next(k for k in base.alphas if k.startswith("target:"))
    tmask = _down_mask(base.alphas[tkey], size, 0.15, close=5)
    for attempt in range(max(1, cfg.max_entropy_retries)):
        img, art_alphas, plan = _finish(base.with_target, seed, cfg, class_id, attempt, plan_cache)
        rank, ent = target_entropy_rank(img, tmask, cfg.entropy_radius)
        if rank > 0 or allow_peak:
            break
    alphas = {**base.alphas, **art_alphas}
    meta = dict(base.meta, artefacts=plan)
    target_kind = CLASS_STRUCTURES[class_id][0]
    structure_masks = {}
    decoy_masks = {}
    artefact_masks = {}
    for k, a in alphas.items():
        group, _, name = k.partition(":")
        if group == "target":
            structure_masks[name] = tmask
        elif group == "decoy":
            m = _down_mask(a, size, 0.15, close=3)
            structure_masks[name] = m
            decoy_masks[name] = m
        elif group == "artefact":
            artefact_masks[name] = _down_mask(a, size, 0.15)
    lesion_mask = _down_mask(alphas["lesion"], size, 0.5)
    criteria = dict(CRITERION_DEFAULTS)
    _, crit, opt = CLASS_STRUCTURES[class_id]
    criteria[crit] = opt
    for name in decoy_masks:
        kind = name.rsplit("_", 1)[0] if name not in DECOY_CRITERIA else name
        if kind in DECOY_CRITERIA:
            c, o = DECOY_CRITERIA[kind]
            criteria[c] = o
    cf = diff = None
    if cfg.counterfactual:
        cf, _, _ = _finish(base.without_target, seed, cfg, class_id, attempt, plan_cache)
        diff = np.abs(img.astype(np.int16) - cf.astype(np.int16)).max(-1) > 8
    meta.update({
        "seed": int(seed), "label": int(label), "class_id": class_id, "artefact_rate": cfg.artefact_rate,
        "n_artefacts": len(artefact_masks), "target_entropy_rank": int(rank),
        "target_is_entropy_max": bool(rank == 0), "target_low_entropy": target_kind in LOW_ENTROPY_STRUCTURES,
        "entropy_attempts": attempt + 1, "shortcut": cfg.shortcut,
        "shortcut_artefact": cfg.shortcut_artefact if cfg.shortcut else None,
        "shortcut_artefact_present": bool(cfg.shortcut and cfg.shortcut_artefact in artefact_masks),
        "lesion_area": float(lesion_mask.mean()), "target_area": float(tmask.mean()),
        "generator_version": GENERATOR_VERSION, "config": config_to_dict(cfg),
    })
    return SynthSample(
        seed=int(seed), image=img, label=int(label), class_id=class_id, caption=caption_for(class_id, criteria),
        criteria=criteria, lesion_mask=lesion_mask, structure_masks=structure_masks,
        target_structure=target_kind, target_mask=tmask, decoy_masks=decoy_masks, artefact_masks=artefact_masks,
        counterfactual=cf, counterfactual_diff_mask=diff, metadata=meta,
    )


def config_to_dict(cfg: SynthConfig) -> dict:
    d = asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def balanced_labels(n: int, n_classes: int, seed: int) -> list[int]:
    """Labels for n images: each class n/n_classes times (+-1), shuffled by seed. Balanced classes keep
    the share of low-entropy targets at 2/6 instead of leaving it to chance."""
    labels = [i % n_classes for i in range(n)]
    _rng(seed, "balanced-labels").shuffle(labels)
    return labels
