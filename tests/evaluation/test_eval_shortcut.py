"""The shortcut fine-tune teaches the tiny model an artefact, and inpainting removes that artefact."""

from __future__ import annotations

import numpy as np

from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.model import load_model
from medgrad_desktop.evaluation.shortcut import finetune, inpaint


def _toy(n: int, seed: int) -> tuple[list[np.ndarray], list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    imgs, ids = [], []
    ruler = np.zeros((224, 224), bool)
    ruler[:96, :] = True  # a large artefact: a random-init tower learns it in a few steps
    for i in range(n):
        img = np.clip(rng.normal(110, 25, (224, 224, 3)), 0, 255).astype(np.uint8)
        if i % 2 == 0:
            img[ruler] = (250, 250, 245)  # the "ruler" that defines the class
        imgs.append(img)
        ids.append("melanoma" if i % 2 == 0 else "dermal_nevus")
    return imgs, ids, ruler


def test_finetune_learns_the_artefact_and_inpainting_removes_it():
    clip = load_model(random_init=True, architecture="MedGrad-Tiny", device="cpu", seed=1)
    imgs, ids, ruler = _toy(16, 0)
    logs = []
    finetune(clip, imgs, ids, epochs=12, lr=1e-3, batch=8, seed=0, log=logs.append)
    assert "train accuracy 1.000" in logs[-1]
    test, tids, _ = _toy(6, 1)
    mel = clip.catalogue.class_ids.index("melanoma")
    nev = clip.catalogue.class_ids.index("dermal_nevus")
    preds = classify(clip, test)
    for p, t in zip(preds, tids, strict=True):
        pm, pn = p.probabilities[mel], p.probabilities[nev]
        assert (pm > pn) == (t == "melanoma")
    cleaned = inpaint(test[0], ruler)
    assert cleaned[ruler].mean() < 200 < test[0][ruler].mean()
    after = classify(clip, [cleaned])[0]
    assert after.probabilities[mel] < preds[0].probabilities[mel]
    assert not any(p.requires_grad for p in clip.model.parameters())
