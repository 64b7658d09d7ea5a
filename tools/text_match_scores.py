"""The figures behind `FreeTextRule.min_score` (core/text_match.py, docs/TRUST.md): on the bundled demo model
and its 24 demo images, the image-text score S of each image's own training caption, of the captions of
the other classes' images, and of unrelated words, written to docs/trust/text-match.json.

    .venv/bin/python tools/text_match_scores.py [--out docs/trust/text-match.json]

S is the CLIP cosine the app's free-text map explains (checked here against the engine's map score).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UNRELATED = (
    "banana",
    "ruler",
    "table",
    "a photo of a cat",
    "a car on a road",
    "keyboard",
    "a glass of water",
    "tree",
    "blue sky",
    "hello world",
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "trust" / "text-match.json"))
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from medgrad_desktop.core.embedding import embed_images
    from medgrad_desktop.core.explain import analyze, default_params
    from medgrad_desktop.core.imageio import load_image
    from medgrad_desktop.core.model import load_model
    from medgrad_desktop.core.prompts import Target
    from medgrad_desktop.core.text_match import FREE_TEXT_RULE
    from medgrad_desktop.resources_path import demo_dir

    clip = load_model(None, device="cpu")
    rows = list(csv.DictReader((demo_dir() / "demo_labels.csv").open(encoding="utf-8")))
    rgbs = [load_image(demo_dir() / r["file"]).rgb for r in rows]
    with torch.no_grad():
        x, _ = clip.batch(rgbs)
        images = embed_images(clip.model, x)
        captions = clip.target_embeddings([Target.free_text(r["caption"]) for r in rows])
        unrelated = clip.target_embeddings([Target.free_text(w) for w in UNRELATED])
    own = (images * captions).sum(-1).numpy()
    cross = (images @ captions.T).numpy()
    other = [
        float(cross[i, j])
        for i in range(len(rows))
        for j in range(len(rows))
        if rows[i]["label"] != rows[j]["label"]
    ]
    words = (images @ unrelated.T).numpy()
    # S is what the free-text map explains: the engine's score of one caption must be this cosine
    engine = analyze(clip, rgbs[0], [Target.free_text(rows[0]["caption"])], [default_params("grad-eclip")])
    got = next(iter(engine.maps.values())).score
    assert abs(got - float(own[0])) < 1e-4, (got, float(own[0]))
    cut = FREE_TEXT_RULE.min_score
    melanoma = [i for i, r in enumerate(rows) if r["label"] == "melanoma"]
    doc = {
        "model": clip.card.weights_sha256,
        "images": len(rows),
        "min_score": cut,
        "own_caption": {"min": float(own.min()), "median": float(np.median(own))},
        "other_class_captions": {
            "pairs": len(other),
            "share_below_min": sum(s < cut for s in other) / len(other),
        },
        "unrelated": {
            "words": list(UNRELATED),
            "share_below_min": float((words < cut).mean()),
            "per_word_median": {w: float(statistics.median(words[:, k])) for k, w in enumerate(UNRELATED)},
        },
        "ruler_on_melanoma_images": [float(words[i, UNRELATED.index("ruler")]) for i in melanoma],
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
