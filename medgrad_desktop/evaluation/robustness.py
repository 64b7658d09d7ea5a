"""How much each explanation moves under harmless changes of the photo, added artefacts and an attack.

Per image, the engine explains the predicted class of the model-input image, then of each perturbed
copy (`evaluation.perturb`), of copies with one generator artefact drawn in, and of the attack's images
(`evaluation.attack`). Maps are the app's (min-max normalized), upsampled bilinearly to the model input,
carried back to the original frame after a geometric change, and compared on a grid of COMPARE_CELLS
cells per side (area means). A copy whose predicted class differs from the original's is counted apart
and left out of the map scores: a changed map of a changed answer is not instability of the map.

Scores (for a copy set of one perturbation at one strength; x, x' in [0, 1], e, e' the compared maps):
- max-sensitivity (Yeh et al. 2019, Quantus's default norms): max over draws of ||e - e'||_F / ||e||_F;
- relative input stability (Agarwal et al. 2022, Quantus's form): max over draws of
  ||(e - e') / e||_2 / max(||(x - x') / x||_2, EPS_MIN), where a zero of e or x is replaced by EPS_MIN;
- top-10 % intersection (Ghorbani et al. 2019): share of e's top 10 % of cells among e''s (ties broken
  by cell order), mean over draws;
- Spearman rank correlation of e and e', mean over draws; target AUROC of e' where a mask is known;
- attraction per artefact kind: map mass on the artefact's mask with the artefact drawn ÷ the same
  mass without it (1 = not drawn to it).

Settings of MedGrad's `multiply` form that differ only in the entropy weight (`weight_variants`) are
Grad-ECLIP's map times each setting's weight (`weighted_eclip`), the engine's own product, so one
Grad-ECLIP pass serves them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from medgrad_desktop.core.entropy import medgrad_weight
from medgrad_desktop.core.explain import METHODS, analyze_batch, default_params
from medgrad_desktop.core.heatmap import Heatmap, minmax
from medgrad_desktop.core.method_params import MedGradParams, MethodParams
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.evaluation.attack import attack_maps
from medgrad_desktop.evaluation.baselines import entropy_map
from medgrad_desktop.evaluation.localization import auroc, energy_share, pointing_game, to_mask_size
from medgrad_desktop.evaluation.perturb import (
    ARTEFACT_KINDS,
    DEFAULT_PERTURBATIONS,
    Perturbation,
    apply,
    insert_artefact,
    map_back,
)
from medgrad_desktop.evaluation.samples import EvalSample
from medgrad_desktop.evaluation.stats import N_BOOT, Interval, paired_bootstrap, spearman
from medgrad_desktop.evaluation.suite import token_grid

COMPARE_CELLS = 40  # maps are compared on a 40 x 40 grid (area means of the model-input-sized map)
EPS_MIN = 1e-6  # Quantus's eps_min for relative input stability
TOP_FRACTION = 0.10
ATTACK_EPS = (2.0, 4.0, 8.0)  # grey levels of 255
REFERENCE = "grad-eclip"  # paired differences are against this method


def draw_seed(seed: int, index: int, slot: int, draw: int) -> int:
    """The seed of draw `draw` of perturbation `slot` on image `index`: independent streams."""
    return int(
        np.random.SeedSequence([int(seed), 4241, int(index), int(slot), int(draw)]).generate_state(1)[0]
    )


def compare_grid(map_s: np.ndarray) -> np.ndarray:
    return cv2.resize(map_s.astype(np.float32), (COMPARE_CELLS, COMPARE_CELLS), interpolation=cv2.INTER_AREA)


def sensitivity(e: np.ndarray, e2: np.ndarray) -> float:
    """||e - e'||_F / ||e||_F (NaN for an all-zero e)."""
    d = float(np.linalg.norm(e))
    return float(np.linalg.norm(e - e2)) / d if d > 0 else float("nan")


def relative_input_stability(e: np.ndarray, e2: np.ndarray, x: np.ndarray, x2: np.ndarray) -> float:
    """Agarwal et al.'s RIS for one draw, as Quantus computes it (zeros replaced by EPS_MIN)."""
    num = (e - e2) / np.where(e == 0, EPS_MIN, e)
    xf, x2f = x.astype(np.float32) / 255.0, x2.astype(np.float32) / 255.0
    den = (xf - x2f) / np.where(xf == 0, EPS_MIN, xf)
    return float(np.linalg.norm(num) / max(float(np.linalg.norm(den)), EPS_MIN))


def top_intersection(e: np.ndarray, e2: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    k = max(1, int(round(fraction * e.size)))
    a = np.argsort(-e.ravel(), kind="stable")[:k]
    b = np.argsort(-e2.ravel(), kind="stable")[:k]
    return len(np.intersect1d(a, b)) / k


@dataclass
class RobustnessConfig:
    seed: int
    methods: tuple[str, ...] = METHODS
    baselines: tuple[str, ...] = ("entropy",)  # maps that know nothing of the model; "entropy" only
    perturbations: tuple[Perturbation, ...] = DEFAULT_PERTURBATIONS
    draws: int = 2  # draws of each stochastic perturbation (max-sensitivity takes the worst)
    artefacts: tuple[str, ...] = ARTEFACT_KINDS
    attack_eps: tuple[float, ...] = ATTACK_EPS
    attack_steps: int = 5
    attack_n: int | None = 8  # the attack (a second-order gradient per step) on the first N images only
    batch_images: int = 8
    method_params: dict[str, MethodParams] = field(default_factory=dict)
    # named MedGrad `multiply` settings scored as Grad-ECLIP's map x their weight (needs "grad-eclip")
    weight_variants: dict[str, MedGradParams] = field(default_factory=dict)
    clean_pointing: bool = False  # also the target pointing game of each clean map

    def params_of(self, method: str) -> MethodParams:
        return self.method_params.get(method) or default_params(method)

    @property
    def map_names(self) -> tuple[str, ...]:
        return self.methods + self.baselines + tuple(self.weight_variants)


def weighted_eclip(
    eclip: Heatmap, model_input_rgb: np.ndarray, original_rgb: np.ndarray, p: MedGradParams
) -> np.ndarray:
    """MedGrad's normalized map in the `multiply` form from the engine's Grad-ECLIP map of the same image
    and target: the raw grid times the entropy weight of `p`, min-max normalized. Grad-ECLIP's settings
    must be the ones MedGrad's map reuses."""
    if p.combine != "multiply":
        raise ValueError(f"weighted_eclip computes the 'multiply' form, not '{p.combine}'")
    e = eclip.params
    if (e["official_single_head"], e["qk_space"], e["epsilon"]) != (
        p.official_single_head,
        p.qk_space,
        p.epsilon,
    ):
        raise ValueError("Grad-ECLIP's map was computed with settings other than those MedGrad's map reuses")
    raw = eclip.raw * medgrad_weight(p, model_input_rgb, original_rgb, eclip.raw.shape)
    return minmax(raw, p.epsilon)


@dataclass
class RobustnessResult:
    config: RobustnessConfig
    records: list[dict[str, dict[str, float]]] = field(default_factory=list)  # per image: map -> key -> value
    changed: dict[str, int] = field(default_factory=dict)  # copies whose predicted class changed, per key
    copies: dict[str, int] = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def values(self, map_name: str, key: str) -> np.ndarray:
        return np.array([r.get(map_name, {}).get(key, np.nan) for r in self.records], dtype=np.float64)


def _explain(
    clip: ClipModel, images: list[np.ndarray], class_id: str, cfg: RobustnessConfig, grid: tuple[int, int]
) -> tuple[list[str], list[dict[str, np.ndarray]]]:
    """Predicted class and model-input-sized maps of every map name, all for `class_id`."""
    target = next(t for t in clip.catalogue.class_targets() if t.key == class_id)
    params = [cfg.params_of(m) for m in cfg.methods]
    out: list[dict[str, np.ndarray]] = []
    preds: list[str] = []
    for i in range(0, len(images), 32):
        chunk = images[i : i + 32]
        for img, r in zip(chunk, analyze_batch(clip, chunk, [target], params), strict=True):
            s = img.shape[:2]
            maps = {m: to_mask_size(r.get(m, target).normalized, s) for m in cfg.methods}
            for name, vp in cfg.weight_variants.items():
                maps[name] = to_mask_size(
                    weighted_eclip(r.get(REFERENCE, target), clip.squash(img), img, vp), s
                )
            if "entropy" in cfg.baselines:
                ent = entropy_map(img, grid)
                lo, hi = float(ent.min()), float(ent.max())
                maps["entropy"] = to_mask_size((ent - lo) / (hi - lo + 1e-8), s)
            out.append(maps)
            preds.append(r.prediction.predicted_id)
    return preds, out


def _count(result: RobustnessResult, key: str, changed: bool) -> None:
    result.copies[key] = result.copies.get(key, 0) + 1
    result.changed[key] = result.changed.get(key, 0) + int(changed)


def _image(
    clip: ClipModel, s: EvalSample, index: int, cfg: RobustnessConfig, result: RobustnessResult, grid
) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """One image's scores per map, and its clean maps on the comparison grid."""
    sq = clip.squash(s.image)
    (pred0,), (maps0,) = _explain(clip, [sq], _predicted(clip, sq), cfg, grid)
    rec: dict[str, dict[str, float]] = {n: {} for n in cfg.map_names}
    base = {n: compare_grid(m) for n, m in maps0.items()}
    target = s.masks.get("target")
    if target is not None and target.shape != sq.shape[:2]:
        target = cv2.resize(target.astype(np.uint8), sq.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
    copies: list[np.ndarray] = []
    meta: list[tuple[str, object]] = []  # (key, warp or artefact mask)
    for slot, p in enumerate(cfg.perturbations):
        for d in range(cfg.draws if p.stochastic else 1):
            img, warp = apply(p, sq, draw_seed(cfg.seed, index, slot, d))
            copies.append(img)
            meta.append((p.key, warp))
    for j, kind in enumerate(cfg.artefacts):
        img, mask = insert_artefact(sq, kind, np.random.default_rng(draw_seed(cfg.seed, index, 1000 + j, 0)))
        if mask.any():
            copies.append(img)
            meta.append((f"artefact:{kind}", mask))
    preds, maps = _explain(clip, copies, pred0, cfg, grid)
    per: dict[str, dict[str, list[float]]] = {}
    for img, (key, extra), pred, mp in zip(copies, meta, preds, maps, strict=True):
        _count(result, key, pred != pred0)
        if pred != pred0:
            continue
        for n in cfg.map_names:
            acc = per.setdefault(n, {})
            if key.startswith("artefact:"):
                mass0 = energy_share(maps0[n], extra)
                acc.setdefault(f"{key}.attraction", []).append(
                    energy_share(mp[n], extra) / mass0 if mass0 > 0 else np.nan
                )
                continue
            e2 = compare_grid(map_back(mp[n], extra))
            acc.setdefault(f"{key}.max_sensitivity", []).append(sensitivity(base[n], e2))
            acc.setdefault(f"{key}.ris", []).append(relative_input_stability(base[n], e2, sq, img))
            acc.setdefault(f"{key}.top10", []).append(top_intersection(base[n], e2))
            acc.setdefault(f"{key}.spearman", []).append(spearman(base[n], e2))
            if target is not None and target.any():
                acc.setdefault(f"{key}.target_auroc", []).append(auroc(map_back(mp[n], extra), target))
    for n, acc in per.items():
        for k, vals in acc.items():
            v = np.asarray(vals, dtype=np.float64)
            v = v[np.isfinite(v)]  # undefined draws (an all-zero or constant map) do not count
            if len(v):
                rec[n][k] = float(v.max() if k.endswith((".max_sensitivity", ".ris")) else v.mean())
    if target is not None and target.any():
        for n in cfg.map_names:
            rec[n]["clean.target_auroc"] = auroc(maps0[n], target)
            if cfg.clean_pointing:
                rec[n]["clean.target_pointing"] = pointing_game(maps0[n], target)
    result.samples.append({"id": s.id, "predicted": pred0})
    return rec, base


def _predicted(clip: ClipModel, sq: np.ndarray) -> str:
    return analyze_batch(clip, [sq], [], [])[0].prediction.predicted_id


def _attack(
    clip: ClipModel,
    batch: list[EvalSample],
    ids: list[str],
    bases: list[dict[str, np.ndarray]],
    cfg: RobustnessConfig,
    result: RobustnessResult,
    recs: list[dict[str, dict[str, float]]],
) -> None:
    """The attack per method and radius on a batch; the engine re-explains the attacked images."""
    sqs = [clip.squash(s.image) for s in batch]
    for m in cfg.methods:
        p = cfg.params_of(m)
        if getattr(p, "combine", None) == "pixel":
            continue
        for eps in cfg.attack_eps:
            key = f"attack@{eps:g}"
            res = attack_maps(clip, sqs, ids, p, eps, cfg.attack_steps)
            for b, (img, cid) in enumerate(zip(res.images, ids, strict=True)):
                target = next(t for t in clip.catalogue.class_targets() if t.key == cid)
                r = analyze_batch(clip, [img], [target], [p])[0]
                changed = r.prediction.predicted_id != cid
                _count(result, f"{key}:{m}", changed)
                if changed:
                    continue
                e0 = bases[b][m]
                e2 = compare_grid(to_mask_size(r.get(m, target).normalized, img.shape[:2]))
                recs[b][m][f"{key}.top10"] = top_intersection(e0, e2)
                recs[b][m][f"{key}.spearman"] = spearman(e0, e2)
                recs[b][m][f"{key}.max_sensitivity"] = sensitivity(e0, e2)


def run_robustness(
    clip: ClipModel,
    samples: Iterable[EvalSample],
    cfg: RobustnessConfig,
    progress: Callable[[int], None] | None = None,
) -> RobustnessResult:
    result = RobustnessResult(cfg)
    grid = token_grid(clip)
    t0 = time.perf_counter()
    batch: list[EvalSample] = []

    def flush() -> None:
        start = len(result.records)
        done = [_image(clip, s, start + i, cfg, result, grid) for i, s in enumerate(batch)]
        recs = [d[0] for d in done]
        n_att = len(batch) if cfg.attack_n is None else max(0, min(len(batch), cfg.attack_n - start))
        if cfg.attack_eps and n_att:
            ids = [s["predicted"] for s in result.samples[start : start + n_att]]
            _attack(clip, batch[:n_att], ids, [d[1] for d in done[:n_att]], cfg, result, recs)
        result.records.extend(recs)
        if progress:
            progress(len(result.records))

    for s in samples:
        batch.append(s)
        if len(batch) >= cfg.batch_images:
            flush()
            batch = []
    if batch:
        flush()
    result.seconds = time.perf_counter() - t0
    return result


def bootstrap_median_ratio(a, b, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95) -> Interval:
    """Median over images of the per-image ratio a/b, with a percentile bootstrap interval (images
    resampled); images where either is undefined or b is 0 are left out."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b) & (b > 0)
    r = a[ok] / b[ok]
    if len(r) == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    idx = np.random.default_rng(seed).integers(0, len(r), (n_boot, len(r)))
    meds = np.median(r[idx], axis=1)
    q = (1 - level) / 2
    return Interval(float(np.median(r)), float(np.quantile(meds, q)), float(np.quantile(meds, 1 - q)), len(r))


def score_keys(result: RobustnessResult) -> list[str]:
    keys: dict[str, None] = {}
    for rec in result.records:
        for vals in rec.values():
            keys.update(dict.fromkeys(vals))
    return list(keys)


def summarize_robustness(result: RobustnessResult, seed: int) -> dict:
    """Per map and score: median (and mean) over images; per method against Grad-ECLIP: the median of
    the per-image ratio of max-sensitivity, RIS and attraction, and the paired mean difference of the
    top-10 % intersection and Spearman, each with a 95 % bootstrap interval over images."""
    cfg = result.config
    out: dict = {"scores": {}, "vs_" + REFERENCE.replace("-", "_"): {}, "prediction_changed": {}}
    for n in cfg.map_names:
        out["scores"][n] = {}
        for k in score_keys(result):
            v = result.values(n, k)
            v = v[np.isfinite(v)]
            if len(v):
                out["scores"][n][k] = {"median": float(np.median(v)), "mean": float(v.mean()), "n": len(v)}
    ref = REFERENCE if REFERENCE in cfg.map_names else None
    if ref:
        for n in cfg.map_names:
            if n == ref:
                continue
            cmp: dict[str, dict] = {}
            for k in score_keys(result):
                a, b = result.values(n, k), result.values(ref, k)
                if k.endswith((".max_sensitivity", ".ris", ".attraction")):
                    cmp[k] = {"median_ratio": bootstrap_median_ratio(a, b, seed=seed).to_dict()}
                elif k.endswith((".top10", ".spearman", ".target_auroc")):
                    cmp[k] = {"mean_difference": paired_bootstrap(a, b, seed=seed).to_dict()}
            out["vs_" + REFERENCE.replace("-", "_")][n] = cmp
    for key, c in result.copies.items():
        out["prediction_changed"][key] = {"changed": result.changed.get(key, 0), "copies": c}
    return out


NOISE_KEYS = ("uniform@5.max_sensitivity", "gaussian@5.max_sensitivity")
MARGIN = 1.05  # "not less stable" needs every interval's upper end at most this


def stability_answer(
    vs_reference: dict, method: str = "medgrad", kinds: tuple[str, ...] = ARTEFACT_KINDS
) -> dict:
    """The pre-registered decision (docs/EXPLANATIONS.md): is `method` less stable than Grad-ECLIP?

    Noise: "less stable" if the median-ratio intervals of max-sensitivity under uniform and Gaussian
    noise 5/255 both lie above 1, "not less stable" if both upper ends are at most MARGIN. Artefacts:
    "more attracted" if the attraction ratio's interval lies above 1 for at least two kinds, "not more
    attracted" if every upper end is at most MARGIN. Otherwise "undecided". Yes if either part says so.
    """
    per = vs_reference.get(method, {})

    def iv(key: str) -> dict | None:
        v = per.get(key, {}).get("median_ratio")
        return v if v and v.get("n") else None

    noise = [iv(k) for k in NOISE_KEYS]
    if all(v and v["lo"] > 1 for v in noise):
        noise_says = "less stable"
    elif all(v and v["hi"] <= MARGIN for v in noise):
        noise_says = "not less stable"
    else:
        noise_says = "undecided"
    art = [iv(f"artefact:{k}.attraction") for k in kinds]
    if sum(bool(v and v["lo"] > 1) for v in art) >= 2:
        art_says = "more attracted"
    elif all(v and v["hi"] <= MARGIN for v in art):
        art_says = "not more attracted"
    else:
        art_says = "undecided"
    if noise_says == "less stable" or art_says == "more attracted":
        answer = "yes: less stable than Grad-ECLIP"
    elif noise_says == "not less stable" and art_says == "not more attracted":
        answer = "no: not less stable than Grad-ECLIP"
    else:
        answer = "undecided at this N"
    return {"noise": noise_says, "artefacts": art_says, "answer": answer}
