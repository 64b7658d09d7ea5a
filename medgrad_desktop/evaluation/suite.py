"""Run every score on every sample for every method, ablation variant and baseline.

The per-image numbers are kept (aligned by sample) so that intervals can be paired bootstraps over
images; mean curves are kept for the plots, and a few samples' maps for the example grids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from medgrad_desktop.core.explain import METHODS, MedGradParams, analyze_batch, default_params
from medgrad_desktop.core.method_params import MethodParams
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.evaluation.baselines import BASELINES, baseline_maps
from medgrad_desktop.evaluation.entropy_stats import entropy_vs_mask
from medgrad_desktop.evaluation.localization import energy_share, localization_scores
from medgrad_desktop.evaluation.perturbation import Protocol, perturbation_curves
from medgrad_desktop.evaluation.samples import EvalSample, target_for
from medgrad_desktop.evaluation.scoring import CompetitorSoftmax

ABLATION: dict[str, MedGradParams] = {
    "medgrad r=3": MedGradParams(entropy_radius=3),
    "medgrad r=7": MedGradParams(entropy_radius=7),
    "medgrad r=10": MedGradParams(entropy_radius=10),
    "medgrad r=15": MedGradParams(entropy_radius=15),
    "medgrad multiply": MedGradParams(combine="multiply"),
    "medgrad alpha=0": MedGradParams(alpha=0.0),
    "medgrad alpha=0.5": MedGradParams(alpha=0.5),
    "medgrad source=original": MedGradParams(entropy_source="original"),
}


@dataclass
class SuiteConfig:
    protocols: list[Protocol]
    methods: tuple[str, ...] = METHODS
    baselines: tuple[str, ...] = BASELINES
    ablation: bool = False
    ablation_protocols: list[Protocol] = field(default_factory=list)
    seed: int = 0
    batch_images: int = 8
    n_examples: int = 6
    perturb_n: int | None = None  # deletion/insertion only on the first N images (they cost ~all the time)


@dataclass
class EvalResult:
    config: SuiteConfig
    kinds: dict[str, str]  # map name -> "method" | "ablation" | "baseline"
    params: dict[str, dict]
    samples: list[dict] = field(default_factory=list)
    records: list[dict[str, dict[str, float]]] = field(
        default_factory=list
    )  # per sample: map -> key -> value
    curve_sums: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)
    curve_counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    fractions: dict[str, np.ndarray] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)
    forwards: int = 0
    seconds: float = 0.0
    map_seconds: list[float] = field(default_factory=list)  # per batch: s per image for all prompts' maps

    @property
    def map_names(self) -> list[str]:
        return list(self.kinds)

    def score_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        for rec in self.records:
            for vals in rec.values():
                keys.update(dict.fromkeys(vals))
        return list(keys)

    def values(self, map_name: str, key: str) -> np.ndarray:
        """Per-sample values (NaN where undefined, e.g. no decoy in that image)."""
        return np.array([rec.get(map_name, {}).get(key, np.nan) for rec in self.records], dtype=np.float64)

    def mean_curve(self, map_name: str, protocol_key: str, mode: str) -> np.ndarray | None:
        k = (map_name, protocol_key, mode)
        return self.curve_sums[k] / self.curve_counts[k] if k in self.curve_sums else None


def _minmax(g: np.ndarray) -> np.ndarray:
    g = np.asarray(g, dtype=np.float32)
    lo, hi = float(g.min()), float(g.max())
    return (g - lo) / (hi - lo) if hi > lo else np.zeros_like(g)


def image_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([int(seed), 7919, int(index)]).generate_state(1)[0])


def _maps_for_batch(
    clip: ClipModel, batch: list[EvalSample], cfg: SuiteConfig, timings: list[float]
) -> tuple[list[dict[str, np.ndarray]], list, list]:
    imgs = [s.image for s in batch]
    first = analyze_batch(clip, imgs, [], [], with_prediction=True)
    preds = [r.prediction for r in first]
    targets = [target_for(clip, s, p.predicted_id) for s, p in zip(batch, preds, strict=True)]
    uniq = list({t.key: t for t in targets}.values())
    grids: list[dict[str, np.ndarray]] = [{} for _ in batch]
    variants: list[tuple[str, MethodParams]] = [(m, default_params(m)) for m in cfg.methods]
    if cfg.ablation:
        variants += list(ABLATION.items())
    main = [p for n, p in variants if n in cfg.methods]
    res = analyze_batch(clip, imgs, uniq, main, with_prediction=False) if main else None
    if main:  # the time the app spends on one image: all three maps for every class prompt
        t0 = time.perf_counter()
        analyze_batch(clip, imgs, clip.catalogue.class_targets(), main, with_prediction=True)
        timings.append((time.perf_counter() - t0) / len(imgs))
    for b, t in enumerate(targets):
        for m in cfg.methods:
            grids[b][m] = res[b].get(m, t).normalized
    for name, p in variants:
        if name in cfg.methods:
            continue
        r = analyze_batch(clip, imgs, uniq, [p], with_prediction=False)
        for b, t in enumerate(targets):
            grids[b][name] = r[b].get(p.method, t).normalized
    return grids, targets, preds


def run_suite(
    clip: ClipModel,
    samples: Iterable[EvalSample],
    cfg: SuiteConfig,
    progress: Callable[[int], None] | None = None,
) -> EvalResult:
    kinds = {m: "method" for m in cfg.methods}
    params = {m: default_params(m).to_dict() for m in cfg.methods}
    if cfg.ablation:
        kinds.update({n: "ablation" for n in ABLATION})
        params.update({n: p.to_dict() for n, p in ABLATION.items()})
    kinds.update({b: "baseline" for b in cfg.baselines})
    result = EvalResult(cfg, kinds, params)
    classes = clip.catalogue.class_targets()
    score = CompetitorSoftmax(clip, classes)
    class_ids = clip.catalogue.class_ids
    t0 = time.perf_counter()
    index = 0
    buf: list[EvalSample] = []

    def process(batch: list[EvalSample]) -> None:
        nonlocal index
        grids, targets, preds = _maps_for_batch(clip, batch, cfg, result.map_seconds)
        for s, g, t, pred in zip(batch, grids, targets, preds, strict=True):
            seed_i = image_seed(cfg.seed, index)
            sq = clip.squash(s.image)
            lesion = s.masks.get("lesion")
            for name, bm in baseline_maps(
                sq, g[cfg.methods[0]].shape if cfg.methods else (14, 14), seed_i, lesion
            ).items():
                if name in cfg.baselines:
                    g[name] = _minmax(bm)
            rec: dict[str, dict[str, float]] = {name: {} for name in kinds}
            for name in kinds:
                if name not in g:
                    continue
                for mname, mask in s.masks.items():
                    for k, v in localization_scores(g[name], mask).items():
                        rec[name][f"{mname}.{k}"] = v
                for aname, amask in s.avoid.items():
                    rec[name][f"mass.{aname}"] = energy_share(g[name], amask)
            ti = class_ids.index(t.key)
            main_maps = {n: g[n] for n in kinds if n in g and kinds[n] != "ablation"}
            perturb = cfg.perturb_n is None or index < cfg.perturb_n
            curves = perturbation_curves(sq, main_maps, score, ti, cfg.protocols, seed_i) if perturb else {}
            if perturb and cfg.ablation and cfg.ablation_protocols:
                abl = {n: g[n] for n in kinds if kinds[n] == "ablation"}
                if "medgrad" in g and not {p.key for p in cfg.ablation_protocols} <= {
                    p.key for p in cfg.protocols
                }:
                    abl["medgrad"] = g["medgrad"]  # the default setting, for comparison with its variants
                for key, c in perturbation_curves(sq, abl, score, ti, cfg.ablation_protocols, seed_i).items():
                    curves.setdefault(key, c)
            for (name, pkey, mode), c in curves.items():
                rec[name][f"{mode}.{pkey}"] = c.auc
                k = (name, pkey, mode)
                result.curve_sums[k] = result.curve_sums.get(k, 0) + c.values
                result.curve_counts[k] = result.curve_counts.get(k, 0) + 1
                result.fractions[pkey] = c.fractions
            p_img = float(pred.probabilities[ti])
            info = {
                "id": s.id,
                "target": t.key,
                "label": s.label,
                "predicted": pred.predicted_id,
                "correct": pred.predicted_id == t.key if s.label else None,
                "p_target": p_img,
                "strata": s.strata,
            }
            if lesion is not None and lesion.any():
                info["entropy_vs_lesion"] = entropy_vs_mask(sq, lesion)
            edits = dict(s.interventions)
            if s.counterfactual is not None:
                edits["counterfactual"] = s.counterfactual
            for ename, eimg in edits.items():
                p_e = float(score(clip.squash(eimg)[None])[0, ti])
                info.update({f"p_{ename}": p_e, f"p_drop_{ename}": p_img - p_e})
            result.samples.append(info)
            result.records.append(rec)
            if len(result.examples) < cfg.n_examples:
                result.examples.append(
                    {
                        "id": s.id,
                        "image": sq,
                        "target": t.label,
                        "maps": dict(g),
                        "masks": {k: v for k, v in s.masks.items()},
                        "avoid": {k: v for k, v in s.avoid.items()},
                    }
                )
            index += 1
            if progress:
                progress(index)

    for s in samples:
        buf.append(s)
        if len(buf) >= cfg.batch_images:
            process(buf)
            buf = []
    if buf:
        process(buf)
    result.forwards = score.forwards
    result.seconds = time.perf_counter() - t0
    return result
