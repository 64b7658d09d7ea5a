"""Acquisition artefacts (hairs, ruler, bubbles, vignette, calibration patch, glints), one drawing
function each in `ARTEFACTS`, and the seeded plan of which ones an image gets.

Artefacts are drawn independently of the label (except the opt-in shortcut), so a model that keys on
them is wrong as often as chance allows, and the benchmark can measure how much a map dwells on them.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from medgrad_desktop.data.synth.painting import over

ArtefactFn = Callable[[np.random.Generator, np.ndarray, float], np.ndarray]
ARTEFACTS: dict[str, ArtefactFn] = {}
ARTEFACT_TYPES = ("hairs", "ruler", "bubbles", "vignette", "calibration_patch", "glints")
# chance of each artefact at artefact_rate 1 (scaled linearly with the rate)
ARTEFACT_PROBABILITY = {"hairs": 0.85, "ruler": 0.45, "bubbles": 0.5, "vignette": 0.35, "calibration_patch": 0.25,
                        "glints": 0.5}
SHORTCUT_ARTEFACTS = ("ruler", "bubbles")


def artefact(name: str) -> Callable[[ArtefactFn], ArtefactFn]:
    """Register a drawing function under `name`."""

    def register(fn: ArtefactFn) -> ArtefactFn:
        ARTEFACTS[name] = fn
        return fn

    return register


def draw_artefact(kind: str, rng: np.random.Generator, img: np.ndarray, rate: float) -> np.ndarray:
    """Draw artefact `kind` over the whole image in place; return its alpha."""
    fn = ARTEFACTS.get(kind)
    if fn is None:
        raise ValueError(f"unknown artefact '{kind}'; known: {', '.join(ARTEFACT_TYPES)}")
    return fn(rng, img, rate)


def artefact_plan(rng: np.random.Generator, rate: float, shortcut: bool, shortcut_artefact: str,
                  shortcut_rate: float, in_shortcut_class: bool, shortcut_rng: np.random.Generator) -> list[str]:
    """Which artefacts one image gets. With `shortcut`, `shortcut_artefact` is present with probability
    `shortcut_rate` in the shortcut class and 1 - `shortcut_rate` elsewhere, whatever `rate` says."""
    plan = [k for k in ARTEFACT_TYPES if rng.random() < ARTEFACT_PROBABILITY[k] * rate]
    if shortcut:
        if shortcut_artefact not in SHORTCUT_ARTEFACTS:
            raise ValueError(f"shortcut_artefact must be 'ruler' or 'bubbles', not '{shortcut_artefact}'")
        p = shortcut_rate if in_shortcut_class else 1.0 - shortcut_rate
        plan = [k for k in plan if k != shortcut_artefact]
        if shortcut_rng.random() < p:
            plan.append(shortcut_artefact)
    return plan


@artefact("hairs")
def _hairs(rng: np.random.Generator, img: np.ndarray, rate: float) -> np.ndarray:
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
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
    over(img, (rng.uniform(15, 45),) * 3, a * 0.95)
    return a


@artefact("ruler")
def _ruler(rng: np.random.Generator, img: np.ndarray, rate: float) -> np.ndarray:
    S = img.shape[0]
    edge = int(rng.integers(0, 4))
    band = int(S * rng.uniform(0.07, 0.1))
    strip = np.zeros((band, S), np.uint8)
    step = int(S / rng.uniform(28, 36))
    for i, x in enumerate(range(step // 2, S, step)):
        h = band * (0.8 if i % 5 == 0 else 0.45)
        cv2.line(strip, (x, 0), (x, int(h)), 255, 2, cv2.LINE_AA)
        if i % 10 == 0:  # digit-like marks
            cv2.putText(strip, str((i // 10) % 10), (x + 3, band - 4), cv2.FONT_HERSHEY_SIMPLEX, band / 70, 255, 2,
                        cv2.LINE_AA)
    full = np.zeros((S, S), np.float32)
    full[:band] = strip.astype(np.float32) / 255.0
    full = np.rot90(full, edge).copy()
    back = np.zeros((S, S), np.float32)
    back[:band] = 1.0
    back = np.rot90(back, edge).copy()
    over(img, (230, 228, 220), back * 0.55)
    over(img, (20, 20, 25), full * 0.95)
    return np.maximum(back * 0.55, full)


@artefact("bubbles")
def _bubbles(rng: np.random.Generator, img: np.ndarray, rate: float) -> np.ndarray:
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    for _ in range(int(rng.integers(1, 4 + int(4 * rate)))):
        cx, cy = rng.uniform(0, S, 2)
        r = rng.uniform(0.03, 0.09) * S
        ring = np.zeros((S, S), np.float32)
        cv2.circle(ring, (int(cx), int(cy)), int(r), 1.0, 3, cv2.LINE_AA)
        rim = np.zeros((S, S), np.float32)
        cv2.ellipse(rim, (int(cx), int(cy)), (int(r * 0.8), int(r * 0.8)), 0, 200, 250, 1.0, 3, cv2.LINE_AA)
        over(img, (60, 60, 60), ring * 0.6)
        over(img, (255, 255, 255), rim * 0.95)
        disc = np.zeros((S, S), np.float32)
        cv2.circle(disc, (int(cx), int(cy)), int(r) + 2, 1.0, -1)
        a = np.maximum(a, disc)
    return a


@artefact("vignette")
def _vignette(rng: np.random.Generator, img: np.ndarray, rate: float) -> np.ndarray:
    S = img.shape[0]
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    d = np.hypot(xx - S / 2 + rng.normal(0, S * 0.03), yy - S / 2 + rng.normal(0, S * 0.03)) / (S / 2)
    r = rng.uniform(0.95, 1.2)
    v = np.clip((d - r) / 0.06, 0, 1)
    over(img, (8, 8, 8), v)
    return v


@artefact("calibration_patch")
def _calibration(rng: np.random.Generator, img: np.ndarray, rate: float) -> np.ndarray:
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    sq = int(S * rng.uniform(0.05, 0.07))
    corner = int(rng.integers(0, 4))
    x0 = 6 if corner in (0, 2) else S - 6 - 3 * sq
    y0 = 6 if corner in (0, 1) else S - 6 - 2 * sq
    cols = [(220, 30, 30), (30, 170, 40), (30, 60, 210), (240, 220, 40), (250, 250, 250), (30, 30, 30)]
    for i, c in enumerate(cols):
        x, y = x0 + (i % 3) * sq, y0 + (i // 3) * sq
        m = np.zeros((S, S), np.float32)
        cv2.rectangle(m, (x, y), (x + sq - 2, y + sq - 2), 1.0, -1)
        over(img, c, m)
        a = np.maximum(a, m)
    return a


@artefact("glints")
def _glints(rng: np.random.Generator, img: np.ndarray, rate: float) -> np.ndarray:
    S = img.shape[0]
    a = np.zeros((S, S), np.float32)
    for _ in range(int(rng.integers(3, 9))):
        cx, cy = rng.uniform(0, S, 2)
        cv2.ellipse(a, (int(cx), int(cy)), (int(rng.integers(2, 6)), int(rng.integers(1, 3))), rng.uniform(0, 180),
                    0, 360, 1.0, -1, cv2.LINE_AA)
    a = cv2.GaussianBlur(a, (0, 0), 1.0)
    over(img, (255, 255, 250), np.clip(a, 0, 1) * 0.9)
    return a
