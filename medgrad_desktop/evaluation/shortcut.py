"""The shortcut variant: a model briefly fine-tuned on images where an artefact predicts the label.

Explanations explain the CLIP score, so the shortcut must live in the CLIP model itself (a probe on
frozen embeddings would be a different model). This module fine-tunes both towers of a given model
(logit scale fixed) with cross-entropy over its class prompts, softmax(logit_scale * cos), on the
generator's shortcut variant (a ruler in 90 % of melanoma images, 10 % of the others), and saves it as
a normal checkpoint + card, so `medgrad eval-explanations --weights FILE --dataset shortcut` scores it.
Whether the model really uses the ruler is measured, not assumed: `intervention_drops` compares the
drop of p(class) when the ruler is inpainted with the drop when the label's structure is removed.

    python -m medgrad_desktop.evaluation.shortcut --out DIR [--weights F | --random-init] [--n 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from medgrad_desktop.core.checkpoint import save_checkpoint
from medgrad_desktop.core.model import ClipModel, load_model
from medgrad_desktop.data.synth import GENERATOR_VERSION, SynthConfig, balanced_labels, render_sample
from medgrad_desktop.data.synth_io import sample_seed

TRAIN_SEED = 424242  # distinct from the evaluation seed (2026) so no image is in both sets


def shortcut_images(
    n: int, seed: int, shortcut: bool = True, structure_strength: float = 1.0
) -> tuple[list[np.ndarray], list[str], list[bool]]:
    cfg = SynthConfig(shortcut=shortcut, counterfactual=False, structure_strength=structure_strength)
    labels = balanced_labels(n, len(cfg.classes), seed)
    imgs, ids, has = [], [], []
    for i in range(n):
        s = render_sample(sample_seed(seed, i), cfg, label=labels[i])
        imgs.append(s.image)
        ids.append(s.class_id)
        has.append(bool(s.metadata["shortcut_artefact_present"]))
    return imgs, ids, has


def finetune(
    clip: ClipModel,
    images: list[np.ndarray],
    class_ids: list[str],
    epochs: int = 6,
    lr: float = 3e-4,
    batch: int = 32,
    seed: int = 0,
    log=print,
) -> ClipModel:
    """Train both towers in place (logit scale fixed) on (image, class) pairs; returns `clip`.

    The text tower trains too: a random-init text tower gives nearly identical class embeddings, and
    the CLIP score that the maps explain is image-text cosine either way."""
    classes = sorted(set(class_ids), key=clip.catalogue.class_ids.index)
    targets = [clip.catalogue.class_target(c) for c in classes]
    tokens = [clip.tokenizer(list(t.prompts)) for t in targets]
    y = torch.tensor([classes.index(c) for c in class_ids])
    x_all = torch.stack([clip.to_tensor(clip.squash(im)) for im in images])
    vis = clip.model.visual
    params = [p for n, p in clip.model.named_parameters() if n != "logit_scale"]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    scale = clip.logit_scale

    def class_text() -> torch.Tensor:
        """Mean of each class's normalized template embeddings, re-normalized (as at inference)."""
        out = []
        for tok in tokens:
            e = torch.nn.functional.normalize(clip.model.encode_text(tok), dim=-1).mean(0)
            out.append(e / e.norm())
        return torch.stack(out)

    gen = torch.Generator().manual_seed(seed)
    clip.model.train()
    try:
        for ep in range(epochs):
            perm = torch.randperm(len(y), generator=gen)
            total, correct = 0.0, 0
            for i in range(0, len(y), batch):
                idx = perm[i : i + batch]
                xb = x_all[idx]
                flip = torch.rand(len(idx), generator=gen) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
                f = torch.nn.functional.normalize(vis(xb), dim=-1)
                logits = scale * f @ class_text().T
                loss = torch.nn.functional.cross_entropy(logits, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                correct += int((logits.argmax(1) == y[idx]).sum())
            log(
                f"  epoch {ep + 1}/{epochs}: loss {total / len(y):.3f}, train accuracy {correct / len(y):.3f}"
            )
    finally:
        clip.model.eval()
        for p in params:
            p.requires_grad_(False)
        clip.clear_text_cache()
        if hasattr(clip, "_prompt_bank"):
            del clip._prompt_bank  # classification must see the new text embeddings
    return clip


def inpaint(image: np.ndarray, mask: np.ndarray, grow: int = 2) -> np.ndarray:
    """The image with `mask` filled from its surroundings (Telea), to remove an artefact."""
    m = cv2.dilate(mask.astype(np.uint8) * 255, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    return cv2.inpaint(image, m, 3, cv2.INPAINT_TELEA)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m medgrad_desktop.evaluation.shortcut",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--weights", default=None, help="start from these weights (default: the demo model)")
    g.add_argument("--random-init", action="store_true", help="start from a random MedGrad-Tiny")
    ap.add_argument("--n", type=int, default=300, help="training images")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--seed", type=int, default=TRAIN_SEED)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--structure-strength",
        type=float,
        default=1.0,
        help="opacity of the label structures in the training images; below 1 the ruler is the "
        "easier cue, so the model is more likely to take the shortcut",
    )
    ap.add_argument(
        "--plain",
        action="store_true",
        help="train on the standard generator instead (no shortcut): a control model",
    )
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    clip = load_model(
        args.weights,
        random_init=args.random_init,
        architecture="MedGrad-Tiny" if args.random_init else None,
        device="cpu",
    )
    classes = list(SynthConfig().classes)
    missing = [c for c in classes if c not in clip.catalogue.class_ids]
    if missing:
        print(
            f"error: the base model has no class {', '.join(missing)}; start from a model whose catalogue "
            "has the synthetic classes",
            file=sys.stderr,
        )
        return 2
    kind = "standard" if args.plain else "shortcut"
    print(f"rendering {args.n} {kind} images (seed {args.seed})", flush=True)
    imgs, ids, has = shortcut_images(
        args.n, args.seed, shortcut=not args.plain, structure_strength=args.structure_strength
    )
    mel = [h for h, c in zip(has, ids, strict=True) if c == "melanoma"]
    other = [h for h, c in zip(has, ids, strict=True) if c != "melanoma"]
    print(
        f"ruler present in {np.mean(mel):.2f} of melanoma and {np.mean(other):.2f} of other images",
        flush=True,
    )
    base = clip.card.to_dict()
    finetune(clip, imgs, ids, args.epochs, args.lr, seed=args.seed)
    out = Path(args.out)
    card = {
        "name": f"{kind} fine-tune of {base['name']}",
        "architecture": clip.card.architecture,
        "arch_config": clip.card.arch_config,
        "quick_gelu": clip.card.quick_gelu,
        "mean": list(clip.card.mean),
        "std": list(clip.card.std),
        "temperature": 1.0,
        "untrained": False,
        "demo": False,
        "catalogue_data": clip.catalogue.subset(classes).data,
        "base_weights": base.get("weights_sha256"),
        "notes": (
            f"both towers fine-tuned {args.epochs} epochs (AdamW lr {args.lr}) on {args.n} images of the "
            f"synthetic shortcut variant ({GENERATOR_VERSION}, seed {args.seed}, structure strength "
            f"{args.structure_strength}): a ruler in 90 % of melanoma images and 10 % of the others. "
            "For evaluating explanations only."
        ),
        "split_seed": args.seed,
    }
    if args.plain:
        card["notes"] = (
            f"both towers trained {args.epochs} epochs (AdamW lr {args.lr}) on {args.n} images of the "
            f"standard synthetic generator ({GENERATOR_VERSION}, seed {args.seed}); a control model "
            "for evaluating explanations only."
        )
    path = save_checkpoint(clip.model, out / f"{kind}-model.safetensors", card)
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
