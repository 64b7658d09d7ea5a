"""One synthetic sample: skin, lesion, decoys and the label's structure, then artefacts, then the
entropy check, the masks, the criteria and the caption.

Determinism: each component (skin, lesion, target, decoys, artefacts) has its own generator seeded from
(seed, component name), so the counterfactual differs from the image only where the target was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from medgrad_desktop.data.synth.artefacts import artefact_plan, draw_artefact
from medgrad_desktop.data.synth.captions import PHRASINGS, varied_caption
from medgrad_desktop.data.synth.entropy_rank import target_entropy_rank
from medgrad_desktop.data.synth.painting import (
    BODY_PIGMENTATION,
    SKIN_TONES,
    component_rng,
    down_mask,
    draw_body,
    draw_skin,
    make_lesion,
)
from medgrad_desktop.data.synth.structures import draw_structure
from medgrad_desktop.data.synth.vocabulary import (
    ALL_CLASSES,
    CLASS_RECIPES,
    CRITERION_DEFAULTS,
    DECOY_TYPES,
    LOW_ENTROPY_STRUCTURES,
    STRUCTURE_CRITERIA,
)

GENERATOR_VERSION = "synth-2.0"


@dataclass(frozen=True)
class SynthConfig:
    """Knobs of the generator. All defaults are what the demo model and the benchmark use."""

    size: int = 224
    render_scale: int = 2  # drawn at size*scale then area-resized: anti-aliased thin structures
    classes: tuple[str, ...] = ALL_CLASSES
    skin_tones: tuple[int, ...] = tuple(range(len(SKIN_TONES)))
    artefact_rate: float = 0.6  # 0 = clean images, 1 = many artefacts
    irregularity: float = 0.12  # border irregularity (amplitude of the cos harmonics), unless the class sets it
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
    phrasing: str = "train"  # train: held-out phrasings never used in captions; all: any phrasing


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


@dataclass
class _Base:
    """Skin, lesion, decoys and the class's other structures (shared by the image, its counterfactual
    and every artefact retry), and the same with the target drawn on top."""

    without_target: np.ndarray
    with_target: np.ndarray
    alphas: dict[str, np.ndarray]
    meta: dict


def _sector(rng: np.random.Generator, sector: int) -> float:
    return float(sector * np.pi / 3 + rng.uniform(-0.2, 0.2))


def _base(seed: int, cfg: SynthConfig, class_id: str) -> _Base:
    recipe = CLASS_RECIPES[class_id]
    S = cfg.size * cfg.render_scale
    rng_skin = component_rng(seed, "skin")
    tone = int(cfg.skin_tones[int(rng_skin.integers(0, len(cfg.skin_tones)))])
    img = draw_skin(rng_skin, S, tone)
    rng_les = component_rng(seed, "lesion")
    irregularity = cfg.irregularity if recipe.irregularity is None else recipe.irregularity
    les = make_lesion(rng_les, S, cfg.center_jitter, cfg.radius_range, irregularity)
    draw_body(recipe.body, rng_les, img, les, tone)
    alphas: dict[str, np.ndarray] = {"lesion": les.alpha}
    rng_layout = component_rng(seed, "layout")
    sectors = rng_layout.permutation(6)
    theta_t = _sector(rng_layout, sectors[0])
    n_decoys = int(min(2, rng_layout.poisson(cfg.decoy_rate)))
    decoys = [(str(rng_layout.choice(DECOY_TYPES)), _sector(rng_layout, sectors[1 + 2 * i])) for i in range(n_decoys)]
    extras = list(recipe.extras)
    if recipe.one_of:
        extras.append(str(rng_layout.choice(recipe.one_of)))
    extra_at = [_sector(rng_layout, sectors[(2, 4, 5)[i % 3]]) for i in range(len(extras))]
    # decoys and the other structures first, so the target sits on top of any overlap; each has its own
    # generator
    for i, (kind, th) in enumerate(decoys):
        alphas[f"decoy:{kind}" + (f"_{i}" if any(k == kind for k, _ in decoys[:i]) else "")] = draw_structure(
            kind, component_rng(seed, f"decoy{i}"), img, les, th)
    for i, (kind, th) in enumerate(zip(extras, extra_at, strict=True)):
        alphas[f"extra:{kind}"] = draw_structure(kind, component_rng(seed, f"extra{i}"), img, les, th,
                                                 cfg.structure_strength)
    without = img.copy()
    alphas["target:" + recipe.target] = draw_structure(recipe.target, component_rng(seed, "target"), img, les,
                                                       theta_t, cfg.structure_strength)
    meta = {"skin_tone": tone, "lesion_center": [les.cx / S, les.cy / S], "lesion_radius": les.r0 / S,
            "target_sector_angle": theta_t, "decoys": [k for k, _ in decoys], "body": recipe.body,
            "structures": [recipe.target, *extras]}
    return _Base(without, img, alphas, meta)


def criteria_of(body: str, structures: list[str]) -> dict[str, str]:
    """The 7-point criteria that follow from what was drawn: the body sets pigmentation, each drawn
    structure its own option (an irregular one overrides the body's regular pigmentation)."""
    criteria = dict(CRITERION_DEFAULTS)
    criteria["pigmentation"] = BODY_PIGMENTATION[body]
    for s in structures:
        if s in STRUCTURE_CRITERIA:
            c, o = STRUCTURE_CRITERIA[s]
            criteria[c] = o
    return criteria


def _finish(base_img: np.ndarray, seed: int, cfg: SynthConfig, class_id: str, attempt: int, plan_cache: dict
            ) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """Artefacts of retry `attempt` over a copy of `base_img`, area-resized, optionally JPEG-compressed."""
    img = base_img.copy()
    plan = plan_cache.get(attempt)
    if plan is None:
        plan = artefact_plan(component_rng(seed, "artefacts", attempt), cfg.artefact_rate, cfg.shortcut,
                             cfg.shortcut_artefact, cfg.shortcut_rate, class_id == cfg.shortcut_class,
                             component_rng(seed, "shortcut"))
        plan_cache[attempt] = plan
    alphas = {"artefact:" + kind: draw_artefact(kind, component_rng(seed, "artefact:" + kind, attempt), img, cfg.artefact_rate)
              for kind in plan}
    small = cv2.resize(np.clip(img, 0, 255), (cfg.size, cfg.size), interpolation=cv2.INTER_AREA)
    out = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    if cfg.jpeg:
        q_rng = component_rng(seed, "jpeg", attempt)
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
        if c not in CLASS_RECIPES:
            raise ValueError(f"class '{c}' has no synthetic recipe; choose from {', '.join(CLASS_RECIPES)}")
    if cfg.phrasing not in PHRASINGS:
        raise ValueError(f"phrasing must be one of {', '.join(PHRASINGS)}, not '{cfg.phrasing}'")
    if label is None:
        label = int(component_rng(seed, "label").integers(0, len(cfg.classes)))
    if not 0 <= label < len(cfg.classes):
        raise ValueError(f"label {label} out of range for {len(cfg.classes)} classes")
    class_id = cfg.classes[label]
    size = cfg.size
    allow_peak = component_rng(seed, "entropy-allowance").random() < cfg.entropy_peak_allowance
    plan_cache: dict = {}
    base = _base(seed, cfg, class_id)
    tkey = next(k for k in base.alphas if k.startswith("target:"))
    tmask = down_mask(base.alphas[tkey], size, 0.15, close=5)
    for attempt in range(max(1, cfg.max_entropy_retries)):
        img, art_alphas, plan = _finish(base.with_target, seed, cfg, class_id, attempt, plan_cache)
        rank, ent = target_entropy_rank(img, tmask, cfg.entropy_radius)
        if rank > 0 or allow_peak:
            break
    alphas = {**base.alphas, **art_alphas}
    meta = dict(base.meta, artefacts=plan)
    target_kind = CLASS_RECIPES[class_id].target
    structure_masks = {}
    decoy_masks = {}
    artefact_masks = {}
    for k, a in alphas.items():
        group, _, name = k.partition(":")
        if group == "target":
            structure_masks[name] = tmask
        elif group == "decoy":
            m = down_mask(a, size, 0.15, close=3)
            structure_masks[name] = m
            decoy_masks[name] = m
        elif group == "extra":
            structure_masks[name] = down_mask(a, size, 0.15, close=3)
        elif group == "artefact":
            artefact_masks[name] = down_mask(a, size, 0.15)
    lesion_mask = down_mask(alphas["lesion"], size, 0.5)
    drawn = [*meta["structures"], *meta["decoys"]]
    criteria = criteria_of(meta["body"], drawn)
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
        seed=int(seed), image=img, label=int(label), class_id=class_id,
        caption=varied_caption(class_id, criteria, drawn, component_rng(seed, "caption"), cfg.phrasing),
        criteria=criteria, lesion_mask=lesion_mask, structure_masks=structure_masks,
        target_structure=target_kind, target_mask=tmask, decoy_masks=decoy_masks, artefact_masks=artefact_masks,
        counterfactual=cf, counterfactual_diff_mask=diff, metadata=meta,
    )


def config_to_dict(cfg: SynthConfig) -> dict:
    d = asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def balanced_labels(n: int, n_classes: int, seed: int) -> list[int]:
    """Labels for n images: each class n/n_classes times (+-1), shuffled by seed. Balanced classes keep
    the share of low-entropy targets fixed instead of leaving it to chance."""
    labels = [i % n_classes for i in range(n)]
    component_rng(seed, "balanced-labels").shuffle(labels)
    return labels
