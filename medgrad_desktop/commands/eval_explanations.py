"""`medgrad eval-explanations`: score Grad-CAM, Grad-ECLIP and MedGrad E-CLIP against baselines.

Writes explanations.md (tables), explanations.json (every number with its protocol), curves.png and
examples.png into --out. See docs/EXPLANATIONS.md for what the scores mean and measured results.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from medgrad_desktop.commands._common import add_model_options, as_help, model_from_args
from medgrad_desktop.core.batching import RULES, images_per_pass
from medgrad_desktop.core.method_params import METHODS, PARAM_HELP, params_with_overrides

if TYPE_CHECKING:
    from medgrad_desktop.core.model import ClipModel


_DRAWS_HELP = "draws of each noise per image (max-sensitivity: the worst)"
_ATTACK_STEPS_HELP = "projected-gradient steps of the attack (0 = no attack)"
_ATTACK_N_HELP = "the attack on the first N images only (each step is a second-order gradient)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_options(p)
    p.add_argument(
        "--dataset",
        default="synthetic",
        help="synthetic | shortcut (the generator's shortcut variant) | a folder with images/ and masks/ | a MANIFEST.csv "
        "(columns path, optional label, mask, target_mask, diff_mask, masks_npz)",
    )
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument(
        "--baselines",
        nargs="*",
        default=None,
        help="random centre sobel entropy lesion (default: all; lesion needs lesion masks)",
    )
    p.add_argument("--n", type=int, default=12, help="number of images (synthetic) or first N manifest rows")
    p.add_argument(
        "--seed", type=int, default=2026, help="evaluation-set seed (synthetic), fills and tie order"
    )
    p.add_argument(
        "--steps",
        type=int,
        default=10,
        help="points per deletion/insertion curve after the start (100 = Grad-ECLIP's 0.5 %% steps; "
        "10 = 5 %% steps, a coarser curve over the same range)",
    )
    p.add_argument(
        "--protocols",
        nargs="+",
        default=["grad-eclip/patch"],
        help="grad-eclip/patch grad-eclip/pixel rise/patch rise/pixel (each adds as much time again)",
    )
    p.add_argument(
        "--perturb-n",
        type=int,
        default=None,
        help="deletion/insertion on the first N images only (default: all); they cost almost all the time",
    )
    p.add_argument(
        "--ablation", action="store_true", help="also score MedGrad's radius/combine/alpha/source variants"
    )
    p.add_argument(
        "--forms",
        action="store_true",
        help="also score MedGrad's candidate forms and apply the pre-registered choice (docs/EXPLANATIONS.md)",
    )
    p.add_argument(
        "--no-phrases",
        action="store_true",
        help="skip phrase grounding (a criterion phrase per image, scored against its structure)",
    )
    p.add_argument("--param", action="append", default=[], metavar="METHOD.FIELD=VALUE", help=PARAM_HELP)
    p.add_argument("--ablation-protocols", nargs="*", default=["grad-eclip/patch"])
    p.add_argument(
        "--sanity", type=int, default=8, help="images for the randomization sanity checks (0 = skip)"
    )
    p.add_argument(
        "--robustness",
        action="store_true",
        help="run the robustness protocol instead (noise, JPEG, colour, shift+rotation, artefacts, an attack "
        "on the map): writes robustness.md and robustness.json",
    )
    p.add_argument("--robust-draws", type=int, default=2, help=_DRAWS_HELP)
    p.add_argument("--attack-steps", type=int, default=5, help=_ATTACK_STEPS_HELP)
    p.add_argument("--attack-n", type=int, default=8, help=_ATTACK_N_HELP)
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    p.add_argument(
        "--batch",
        type=int,
        default=images_per_pass("evaluate-maps"),
        help=f"images per explanation pass (default: {as_help(RULES['evaluate-maps'])})",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run)


def _protocols(specs: list[str], steps: int):
    from medgrad_desktop.evaluation.perturbation import grad_eclip_protocol, rise_protocol

    out = []
    for s in specs:
        name, _, unit = s.partition("/")
        if name not in ("grad-eclip", "rise") or unit not in ("patch", "pixel"):
            raise SystemExit(
                f"error: unknown protocol '{s}'; use grad-eclip/patch, grad-eclip/pixel, rise/patch or rise/pixel"
            )
        out.append((grad_eclip_protocol if name == "grad-eclip" else rise_protocol)(unit, steps))
    return out


def _commit() -> str:
    from medgrad_desktop.provenance import git_commit

    return git_commit() or "unknown"


def _run_header(schema: str, command: str, n: int, seed: int, dataset: dict) -> dict:
    """The head of a results file: what it is, the command line that made it (`command`, the subcommand
    and its mode, when called from Python), the code's commit and the images."""
    called = sys.argv[0].endswith(("medgrad", "cli.py", "__main__.py"))
    return {
        "schema": schema,
        "command": "medgrad " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if called
        else f"medgrad {command} (called from Python)",
        "commit": _commit(),
        "n": n,
        "seed": seed,
        "dataset": dataset,
    }


def _machine(clip: ClipModel) -> dict:
    """The model and where it ran, for a results file."""
    import torch

    return {"model": clip.card.to_dict(), "device": str(clip.device), "threads": torch.get_num_threads()}


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from medgrad_desktop.core.explain import analyze_batch
    from medgrad_desktop.data.records import DatasetError
    from medgrad_desktop.data.synth import GENERATOR_VERSION, SynthConfig
    from medgrad_desktop.evaluation.baselines import BASELINES
    from medgrad_desktop.evaluation.eta import Eta
    from medgrad_desktop.evaluation.localization import LOCALIZATION_PROTOCOL
    from medgrad_desktop.evaluation.report import write_outputs
    from medgrad_desktop.evaluation.samples import (
        folder_samples,
        manifest_samples,
        synthetic_samples,
        target_for,
    )
    from medgrad_desktop.evaluation.sanity import sanity_checks
    from medgrad_desktop.evaluation.selection import FORM_CANDIDATES
    from medgrad_desktop.evaluation.stats import N_BOOT, bootstrap_mean
    from medgrad_desktop.evaluation.suite import SuiteConfig, run_suite
    from medgrad_desktop.evaluation.summary import summarize

    torch.set_num_threads(max(1, args.threads))
    if args.n < 1:
        print("error: --n must be at least 1", file=sys.stderr)
        return 2
    try:
        method_params = params_with_overrides(list(args.methods), args.param)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clip = model_from_args(args)
    if args.robustness:
        return _run_robustness(args, clip, method_params)
    protocols = _protocols(args.protocols, args.steps)
    abl_protocols = _protocols(args.ablation_protocols, args.steps) if args.ablation or args.forms else []
    baselines = tuple(args.baselines) if args.baselines is not None else BASELINES
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        print(
            f"error: unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINES)}",
            file=sys.stderr,
        )
        return 2
    if args.dataset in ("synthetic", "shortcut"):
        # only the classes the model knows: a label outside its catalogue has no class score to explain
        shortcut = args.dataset == "shortcut"
        classes = tuple(c for c in SynthConfig().classes if c in clip.catalogue.class_ids)
        if not classes or (shortcut and SynthConfig().shortcut_class not in classes):
            print(
                f"error: the model's catalogue has none of the synthetic classes needed "
                f"({', '.join(SynthConfig().classes)}); use a model trained on them",
                file=sys.stderr,
            )
            return 2
        synth_cfg = SynthConfig(shortcut=shortcut, classes=classes)
        dataset = {
            "name": f"synthetic{' (shortcut variant)' if shortcut else ''}",
            "generator_version": GENERATOR_VERSION,
            "seed": args.seed,
            "classes": list(classes),
            "images": "sample_seed(seed, i), balanced classes",
        }
        samples = lambda: synthetic_samples(args.n, args.seed, shortcut=shortcut, config=synth_cfg)  # noqa: E731
    elif Path(args.dataset).is_dir():
        path = Path(args.dataset)
        dataset = {"name": path.name, "folder": str(path), "labels": "none: the predicted class is explained"}
        samples = lambda: folder_samples(path, args.n)  # noqa: E731
    else:
        path = Path(args.dataset)
        if not path.is_file():
            print(f"error: {path}: no such manifest; pass synthetic, shortcut or a CSV file", file=sys.stderr)
            return 2
        dataset = {"name": path.name, "manifest": str(path)}
        samples = lambda: manifest_samples(path, args.n)  # noqa: E731
    cfg = SuiteConfig(
        protocols=protocols,
        methods=tuple(args.methods),
        baselines=baselines,
        ablation=args.ablation,
        ablation_protocols=abl_protocols,
        seed=args.seed,
        batch_images=args.batch,
        perturb_n=args.perturb_n,
        forms=args.forms,
        phrases=not args.no_phrases,
        method_params={p.method: p for p in method_params},
    )
    eta = Eta(args.n, min(args.n, args.perturb_n or args.n))

    def progress(i: int, perturbed: bool) -> None:
        print(f"  {eta.line(i, perturbed)}", file=sys.stderr, flush=True)

    try:
        result = run_suite(clip, samples(), cfg, progress)
        sanity = None
        if args.sanity > 0:
            chosen = []
            for s in samples():
                chosen.append(s)
                if len(chosen) >= min(args.sanity, args.n):
                    break
            preds = [r.prediction for r in analyze_batch(clip, [s.image for s in chosen], [], [])]
            targets = [target_for(clip, s, p.predicted_id) for s, p in zip(chosen, preds, strict=True)]
            print(f"  sanity checks on {len(chosen)} images ...", file=sys.stderr, flush=True)
            raw = sanity_checks(
                clip,
                [s.image for s in chosen],
                targets,
                {
                    **{p.method: p for p in method_params},
                    **cfg.reference,
                    **(FORM_CANDIDATES if args.forms else {}),
                },
                seed=args.seed,
            )
            sanity = {
                "n": len(chosen),
                "seed": args.seed,
                "statistic": "Spearman rank correlation of 14x14 maps",
                "checks": {
                    c: {m: bootstrap_mean(v, N_BOOT, args.seed).to_dict() for m, v in per.items()}
                    for c, per in raw.items()
                },
                "per_image": raw,
            }
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = summarize(result, args.seed)
    meta = {
        **_run_header(
            "medgrad-explanation-eval/1", "eval-explanations", len(result.samples), args.seed, dataset
        ),
        "n_perturbation": min(len(result.samples), args.perturb_n or len(result.samples)),
        **_machine(clip),
        "protocol": {
            "score": "softmax(logit_scale / temperature * cos(image, class embedding)) of the target class "
            "over the model's class prompts",
            "target": "the image's label class (synthetic: the class its structure defines); the predicted "
            "class when there is no label in the model's catalogue",
            "maps": "min-max normalized 14x14 grid, bilinear upsampling for pixel units and masks",
            "perturbation": [p.to_dict() for p in protocols],
            "ablation_perturbation": [p.to_dict() for p in abl_protocols],
            "localization": LOCALIZATION_PROTOCOL,
            "tie_order_and_fill_seed": "per image: SeedSequence([seed, 7919, index])",
        },
        "bootstrap": {"n_boot": N_BOOT, "level": 0.95, "kind": "percentile, paired over images"},
        "seconds": result.seconds,
        "forwards": result.forwards,
        "all_prompt_maps_seconds_per_image": {
            "median": float(np.median(result.map_seconds)) if result.map_seconds else None,
            "what": f"{len(args.methods)} methods x {len(clip.catalogue.classes)} class prompts, batches of "
            f"{args.batch} images, {torch.get_num_threads()} threads, {clip.device}",
        },
    }
    if sanity:
        meta["sanity"] = sanity
    paths = write_outputs(Path(args.out), result, summary, meta)
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _run_robustness(args: argparse.Namespace, clip, method_params) -> int:
    """The robustness protocol on synthetic images of the model's classes (the artefact masks and the
    generator's target masks are known there)."""

    from medgrad_desktop.data.synth import GENERATOR_VERSION, SynthConfig
    from medgrad_desktop.evaluation.perturb import DESCRIPTIONS
    from medgrad_desktop.evaluation.robustness import (
        COMPARE_CELLS,
        RobustnessConfig,
        run_robustness,
        summarize_robustness,
    )
    from medgrad_desktop.evaluation.robustness_report import write_robustness
    from medgrad_desktop.evaluation.samples import synthetic_samples

    if args.dataset != "synthetic":
        print("error: --robustness runs on --dataset synthetic only", file=sys.stderr)
        return 2
    classes = tuple(c for c in SynthConfig().classes if c in clip.catalogue.class_ids)
    if not classes:
        print("error: the model's catalogue has none of the synthetic classes", file=sys.stderr)
        return 2
    cfg = RobustnessConfig(
        seed=args.seed,
        methods=tuple(args.methods),
        baselines=("entropy",) if args.baselines is None or "entropy" in args.baselines else (),
        draws=max(1, args.robust_draws),
        attack_steps=args.attack_steps,
        attack_n=args.attack_n,
        attack_eps=(2.0, 4.0, 8.0) if args.attack_steps > 0 else (),
        batch_images=args.batch,
        method_params={p.method: p for p in method_params},
    )

    def progress(i: int) -> None:
        print(f"  robustness: {i}/{args.n} images", file=sys.stderr, flush=True)

    samples = synthetic_samples(args.n, args.seed, config=SynthConfig(classes=classes))
    result = run_robustness(clip, samples, cfg, progress)
    summary = summarize_robustness(result, args.seed)
    dataset = {"name": "synthetic", "generator_version": GENERATOR_VERSION, "classes": list(classes)}
    meta = {
        **_run_header(
            "medgrad-robustness-eval/1",
            "eval-explanations --robustness",
            len(result.records),
            args.seed,
            dataset,
        ),
        **_machine(clip),
        "seconds": result.seconds,
        "protocol": {
            "explained": "the predicted class of the clean model-input image, for every copy",
            "perturbations": {p.key: p.describe() for p in cfg.perturbations},
            "kinds": DESCRIPTIONS,
            "draws": cfg.draws,
            "artefacts": list(cfg.artefacts),
            "attack": {
                "eps_255": list(cfg.attack_eps),
                "steps": cfg.attack_steps,
                "images": f"the first {cfg.attack_n}",
                "objective": "Ghorbani top-k: lower the map's mass share on its original top 10 % of cells; "
                "the class must stay",
            },
            "compare": f"min-max maps at the model input, mapped back, area means on {COMPARE_CELLS}x"
            f"{COMPARE_CELLS}",
            "prediction_changed": "copies whose predicted class changed are left out of the map scores",
        },
    }
    paths = write_robustness(Path(args.out), result, summary, meta)
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
