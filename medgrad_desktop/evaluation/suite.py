"""Run every score on every sample for every method, ablation variant and baseline.

The per-image numbers are kept (aligned by sample) so that intervals can be paired bootstraps over
images; mean curves are kept for the plots, and a few samples' maps for the example grids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from medgrad_desktop.core.batching import images_per_pass
from medgrad_desktop.core.explain import (
    METHODS,
    GradECLIPParams,
    MedGradParams,
    analyze_batch,
    default_params,
)
from medgrad_desktop.core.heatmap import minmax
from medgrad_desktop.core.method_params import MethodParams
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.evaluation.baselines import BASELINES, baseline_maps
from medgrad_desktop.evaluation.entropy_stats import entropy_vs_mask
from medgrad_desktop.evaluation.localization import energy_share, localization_scores
from medgrad_desktop.evaluation.named import named_maps
from medgrad_desktop.evaluation.perturbation import Protocol, perturbation_curves
from medgrad_desktop.evaluation.samples import EvalSample, target_for
from medgrad_desktop.evaluation.scoring import CompetitorSoftmax
from medgrad_desktop.evaluation.selection import FORM_CANDIDATES

PHRASE_KEYS = ("pointing", "auroc", "energy_lift")  # scored as criterion.<key> against the structure's mask

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


# what the official Grad-ECLIP code computes: the last block recomputed as one head
REFERENCE: dict[str, MethodParams] = {"grad-eclip-official": GradECLIPParams(official_single_head=True)}


@dataclass
class SuiteConfig:
    protocols: list[Protocol]
    methods: tuple[str, ...] = METHODS
    baselines: tuple[str, ...] = BASELINES
    ablation: bool = False
    ablation_protocols: list[Protocol] = field(default_factory=list)
    seed: int = 0
    batch_images: int = images_per_pass("evaluate-maps")
    n_examples: int = 6
    perturb_n: int | None = None  # deletion/insertion only on the first N images (they cost ~all the time)
    forms: bool = False  # also score MedGrad's candidate forms (the pre-registered selection)
    reference: dict[str, MethodParams] = field(default_factory=lambda: dict(REFERENCE))
    phrases: bool = True  # also explain a criterion phrase per image that shows it (phrase grounding)
    method_params: dict[str, MethodParams] = field(default_factory=dict)  # settings other than the defaults

    def params_of(self, method: str) -> MethodParams:
        return self.method_params.get(method) or default_params(method)

    def variants(self) -> dict[str, MethodParams]:
        """Settings scored beside the methods: ablation of MedGrad's choices and its candidate forms."""
        out: dict[str, MethodParams] = dict(ABLATION) if self.ablation else {}
        if self.forms:
            out.update(FORM_CANDIDATES)
        return out


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


def token_grid(clip: ClipModel) -> tuple[int, int]:
    """The image tower's patch grid: baselines are made on it, as the methods' maps are."""
    gs = getattr(clip.visual, "grid_size", None)
    if gs is not None:
        return int(gs[0]), int(gs[1])
    side = clip.input_size // 16
    return side, side


def image_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([int(seed), 7919, int(index)]).generate_state(1)[0])


def _phrase_target(clip: ClipModel, sample: EvalSample) -> tuple[Target, np.ndarray] | None:
    """The first criterion option the image shows that the model's catalogue has, with its mask."""
    for key, mask in sample.phrases.items():
        crit, _, opt = key.partition(":")
        try:
            return clip.catalogue.criterion_target(crit, opt), mask
        except KeyError:
            continue
    return None


def _maps_for_batch(
    clip: ClipModel, batch: list[EvalSample], cfg: SuiteConfig, timings: list[float]
) -> tuple[list[dict[str, np.ndarray]], list, list, list[dict[str, np.ndarray]]]:
    """Class maps of every setting, criterion-phrase maps where the image shows a phrase, the targets
    and the predictions."""
    imgs = [s.image for s in batch]
    first = analyze_batch(clip, imgs, [], [], with_prediction=True)
    preds = [r.prediction for r in first]
    targets = [target_for(clip, s, p.predicted_id) for s, p in zip(batch, preds, strict=True)]
    uniq = list({t.key: t for t in targets}.values())
    main = [cfg.params_of(m) for m in cfg.methods]
    if main:  # the time the app spends on one image: all three maps for every class prompt
        t0 = time.perf_counter()
        analyze_batch(clip, imgs, clip.catalogue.class_targets(), main, with_prediction=True)
        timings.append((time.perf_counter() - t0) / len(imgs))
    named: dict[str, MethodParams] = {m: p for m, p in zip(cfg.methods, main, strict=True)}
    named.update(cfg.reference)
    named.update(cfg.variants())
    maps = named_maps(clip, imgs, uniq, named)
    grids = [{n: maps[b][(n, t.key)].normalized for n in named} for b, t in enumerate(targets)]
    phrase_grids: list[dict[str, np.ndarray]] = [{} for _ in batch]
    if cfg.phrases:
        found = [_phrase_target(clip, s) for s in batch]
        ptargets = list({f[0].key: f[0] for f in found if f}.values())
        pmaps = named_maps(clip, imgs, ptargets, {n: p for n, p in named.items()})
        for b, f in enumerate(found):
            if f:
                phrase_grids[b] = {n: pmaps[b][(n, f[0].key)].normalized for n in named}
    return grids, targets, preds, phrase_grids


def run_suite(
    clip: ClipModel,
    samples: Iterable[EvalSample],
    cfg: SuiteConfig,
    progress: Callable[[int, bool], None] | None = None,
) -> EvalResult:
    kinds = {m: "method" for m in cfg.methods}
    params = {m: cfg.params_of(m).to_dict() for m in cfg.methods}
    kinds.update({n: "reference" for n in cfg.reference})
    params.update({n: p.to_dict() for n, p in cfg.reference.items()})
    kinds.update({n: "ablation" for n in cfg.variants()})
    params.update({n: p.to_dict() for n, p in cfg.variants().items()})
    kinds.update({b: "baseline" for b in cfg.baselines})
    grid = token_grid(clip)
    result = EvalResult(cfg, kinds, params)
    classes = clip.catalogue.class_targets()
    score = CompetitorSoftmax(clip, classes)
    class_ids = clip.catalogue.class_ids
    t0 = time.perf_counter()
    index = 0
    buf: list[EvalSample] = []

    def process(batch: list[EvalSample]) -> None:
        nonlocal index
        grids, targets, preds, phrase_grids = _maps_for_batch(clip, batch, cfg, result.map_seconds)
        for s, g, t, pred, pg in zip(batch, grids, targets, preds, phrase_grids, strict=True):
            seed_i = image_seed(cfg.seed, index)
            sq = clip.squash(s.image)
            lesion = s.masks.get("lesion")
            for name, bm in baseline_maps(sq, grid, seed_i, lesion).items():
                if name in cfg.baselines:
                    g[name] = minmax(bm)
                    if pg:
                        pg[name] = g[name]  # a baseline ignores the text: the same map for the phrase
            rec: dict[str, dict[str, float]] = {name: {} for name in kinds}
            phrase = _phrase_target(clip, s) if pg else None
            for name in kinds:
                if name not in g:
                    continue
                for mname, mask in s.masks.items():
                    for k, v in localization_scores(g[name], mask).items():
                        rec[name][f"{mname}.{k}"] = v
                for aname, amask in s.avoid.items():
                    rec[name][f"mass.{aname}"] = energy_share(g[name], amask)
                if phrase and name in pg:
                    loc = localization_scores(pg[name], phrase[1])
                    rec[name].update({f"criterion.{k}": loc[k] for k in PHRASE_KEYS})
            ti = class_ids.index(t.key)
            main_maps = {n: g[n] for n in kinds if n in g and kinds[n] != "ablation"}
            perturb = cfg.perturb_n is None or index < cfg.perturb_n
            curves = (
                perturbation_curves(sq, main_maps, score, ti, cfg.protocols, seed_i, patch_grid=grid)
                if perturb
                else {}
            )
            if perturb and cfg.variants() and cfg.ablation_protocols:
                abl = {n: g[n] for n in kinds if kinds[n] == "ablation"}
                if "medgrad" in g and not {p.key for p in cfg.ablation_protocols} <= {
                    p.key for p in cfg.protocols
                }:
                    abl["medgrad"] = g["medgrad"]  # the default setting, for comparison with its variants
                for key, c in perturbation_curves(
                    sq, abl, score, ti, cfg.ablation_protocols, seed_i, patch_grid=grid
                ).items():
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
                "criterion_phrase": phrase[0].key if phrase else None,
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
                progress(index, perturb)

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
