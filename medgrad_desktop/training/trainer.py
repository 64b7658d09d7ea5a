"""Fine-tune (or train from scratch) an OpenCLIP model on image-caption pairs.

The defaults are the MedGrad paper's (Adam, lr 1e-5, betas (0.9, 0.98), eps 1e-6, weight decay 0.2,
batch 64, 30 epochs, squash 224 + flips + +-15 degree rotation). Added for honesty and robustness: a
split by lesion id, seeds for everything, validation loss each epoch with early stopping, a checkpoint
each epoch with `resume`, temperature scaling fitted on the validation split, a model card that
records the data (manifest hash, split seed), the metrics and the intended use, and the statistics of
the training images for the out-of-distribution check beside the weights (`ood_stats.py`).

Runs as one process, or under `torchrun --nproc_per_node=N` with DistributedDataParallel (gloo on
CPU, nccl on GPU); `batch_size` is always the global batch, split evenly across ranks.
"""

from __future__ import annotations

import math
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from medgrad_desktop.core.card import ModelCard
from medgrad_desktop.core.checkpoint import save_checkpoint
from medgrad_desktop.core.embedding import embed_images
from medgrad_desktop.core.model import load_model
from medgrad_desktop.core.prompts import load_catalogue
from medgrad_desktop.data.readers import read_dataset
from medgrad_desktop.data.records import Record
from medgrad_desktop.training.card_io import build_card, save_state, split_lesions, write_json
from medgrad_desktop.training.config import DEFAULT_INTENDED_USE, DEMO_INTENDED_USE, TrainConfig, TrainResult
from medgrad_desktop.training.dataset import ImageCaptionDataset, collate
from medgrad_desktop.training.distributed import barrier, broadcast_flag, dist_init, rank_batches
from medgrad_desktop.training.embed import class_bank, encode_texts
from medgrad_desktop.training.loss import (
    balanced_option_weights,
    caption_keys,
    contrastive_loss,
    gather,
    phrase_rank_loss,
    prompt_bank_loss,
)
from medgrad_desktop.training.metrics import classification_metrics, fit_temperature, softmax
from medgrad_desktop.training.ood_stats import write_stats as write_ood_stats
from medgrad_desktop.training.optim import lr_at, make_optimizer, set_trainable
from medgrad_desktop.training.split import split_by_lesion

__all__ = [
    "DEFAULT_INTENDED_USE",
    "DEMO_INTENDED_USE",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "load_records",
    "train",
]


# --- data --------------------------------------------------------------------------------------------


def load_records(paths: list[str], skip_bad: bool, log) -> list[Record]:
    records: list[Record] = []
    for p in paths:
        ds = read_dataset(p, skip_bad=skip_bad)
        for prob in ds.problems:
            log(f"warning: skipped {prob}")
        records.extend(ds.records)
    return records


# --- model ---------------------------------------------------------------------------------------------


class _TwoTowers(torch.nn.Module):
    """Both encoders in one forward: normalized image features, normalized text features, logit scale."""

    def __init__(self, clip: torch.nn.Module):
        super().__init__()
        self.clip = clip

    def forward(self, images: torch.Tensor, tokens: torch.Tensor):
        img = embed_images(self.clip, images)
        txt = torch.nn.functional.normalize(self.clip.encode_text(tokens).float(), dim=-1)
        return img, txt, self.clip.logit_scale.exp().clamp(max=100)


# --- the loop ----------------------------------------------------------------------------------------


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.out = Path(cfg.out)
        base = load_model(
            cfg.weights,
            random_init=cfg.random_init or cfg.weights is None,
            architecture=cfg.architecture,
            device=cfg.device,
            normalization=cfg.normalization,
            seed=cfg.seed,
        )
        self.device = base.device
        self.rank, self.world = dist_init(self.device)
        if cfg.batch_size % self.world:
            raise ValueError(f"batch size {cfg.batch_size} must be divisible by the {self.world} processes")
        self.base_card = base.card
        self.tokenizer = base.tokenizer
        self.model = base.model
        self.model.train()
        set_trainable(self.model, cfg.freeze_image, cfg.freeze_text)
        torch.manual_seed(cfg.seed)
        records = load_records(cfg.data, cfg.skip_bad, self.log)
        self.splits = split_by_lesion(records, cfg.val_fraction, cfg.test_fraction, cfg.split_seed)
        if not self.splits["train"]:
            raise ValueError("the training split is empty; add data or lower --val-fraction/--test-fraction")
        if cfg.select_on not in ("loss", "accuracy"):
            raise ValueError(f"select_on={cfg.select_on!r}; choose loss or accuracy")
        bundled = load_catalogue()
        present = {r.label for r in records}
        self.class_ids = [c for c in bundled.class_ids if c in present]
        self.catalogue = bundled.subset(self.class_ids)
        self.criteria_weights = self._criteria_weights() if cfg.criteria_balanced else {}
        size = self.base_card.input_size
        mean, std = self.base_card.mean, self.base_card.std
        self.train_ds = ImageCaptionDataset(
            self.splits["train"],
            self.class_ids,
            size,
            mean,
            std,
            True,
            cfg.seed,
            max_rotation=cfg.max_rotation,
            flip=cfg.flip,
            photometric_p=cfg.photometric_p,
        )
        self.val_ds = ImageCaptionDataset(self.splits["val"], self.class_ids, size, mean, std, False)
        self.test_ds = ImageCaptionDataset(self.splits["test"], self.class_ids, size, mean, std, False)
        self.towers = _TwoTowers(self.model)
        self.ddp = None
        if self.world > 1:
            self.ddp = DistributedDataParallel(
                self.towers, device_ids=[self.device] if self.device.type == "cuda" else None
            )
        self.opt = make_optimizer(self.model, cfg.optimizer, cfg.lr, cfg.betas, cfg.eps, cfg.weight_decay)
        self.history: list[dict] = []
        self.start_epoch = 0
        self.best_val = float("inf")
        self.bad_epochs = 0
        self.step = 0
        self.ckpt_dir = self.out / "checkpoints"
        if cfg.resume:
            self._resume()

    def log(self, msg: str) -> None:
        if getattr(self, "rank", 0) == 0:
            print(msg, file=sys.stderr, flush=True)

    # --- checkpoints -------------------------------------------------------------------------------
    def _card(self, extra: dict | None = None) -> ModelCard:
        return build_card(
            self.cfg, self.base_card, self.out, self.class_ids, self.catalogue, self.splits, extra
        )

    def _selection_score(self, val_loss: float, val: dict) -> float:
        """What the best checkpoint minimises: the validation loss, or minus the validation accuracy
        (`select_on="accuracy"`; without a validation split, the training loss either way)."""
        if self.cfg.select_on == "accuracy" and val.get("accuracy") is not None:
            return -float(val["accuracy"])
        return val_loss

    def _save_epoch(self, epoch: int, improved: bool) -> None:
        if self.rank != 0:
            return
        card = self._card({"epoch": epoch + 1, "history": self.history})
        save_checkpoint(self.model, self.ckpt_dir / "last.safetensors", card)
        if improved:
            save_checkpoint(self.model, self.ckpt_dir / "best.safetensors", card)
        state = {
            "epoch": epoch + 1,
            "optimizer": self.opt.state_dict(),
            "best_val": self.best_val,
            "bad_epochs": self.bad_epochs,
            "step": self.step,
            "history": self.history,
            "torch_rng": torch.get_rng_state(),
        }
        save_state(self.ckpt_dir / "state.pt", state)

    def _resume(self) -> None:
        state_path = self.ckpt_dir / "state.pt"
        weights = self.ckpt_dir / "last.safetensors"
        if not (state_path.exists() and weights.exists()):
            raise FileNotFoundError(f"{self.ckpt_dir}: nothing to resume (no last.safetensors + state.pt)")
        self.model.load_state_dict(load_file(str(weights)))
        state = torch.load(state_path, map_location="cpu", weights_only=False)  # our own file
        self.opt.load_state_dict(state["optimizer"])
        self.start_epoch, self.best_val = state["epoch"], state["best_val"]
        self.bad_epochs, self.step, self.history = state["bad_epochs"], state["step"], state["history"]
        torch.set_rng_state(state["torch_rng"])
        self.log(
            f"resumed after epoch {self.start_epoch} (best selection score {self.best_val:.4f}, {self.cfg.select_on})"
        )

    # --- steps -----------------------------------------------------------------------------------------
    def _criteria_loss(
        self, img: torch.Tensor, batch_records: list[Record], scale: torch.Tensor, crit_emb: torch.Tensor
    ) -> torch.Tensor:
        """Mean over criteria of the cross-entropy against that criterion's option prompts, over the
        images whose record states the criterion (synthetic data and Derm7pt do; others do not)."""
        total = img.new_zeros(())
        col = 0
        banks = {}
        for crit in self.catalogue.criteria:
            banks[crit.id] = crit_emb[col : col + len(crit.options)]
            col += len(crit.options)
        for cid, bank in banks.items():
            crit = next(c for c in self.catalogue.criteria if c.id == cid)
            opts = [o.id for o in crit.options]
            idx = [
                (i, opts.index(r.criteria[cid]))
                for i, r in enumerate(batch_records)
                if r.criteria.get(cid) in opts
            ]
            if idx:
                rows = torch.tensor([i for i, _ in idx], device=self.device)
                tgt = torch.tensor([j for _, j in idx], device=self.device)
                weight = self.criteria_weights.get(cid)
                total = total + prompt_bank_loss(img[rows], bank, scale, tgt, weight) * len(idx) / len(
                    batch_records
                )
        return total / max(1, len(banks))

    def _criteria_weights(self) -> dict[str, torch.Tensor]:
        """Each criterion's option weights for its loss, from the training split's option counts."""
        out = {}
        for crit in self.catalogue.criteria:
            opts = [o.id for o in crit.options]
            counts = [sum(1 for r in self.splits["train"] if r.criteria.get(crit.id) == o) for o in opts]
            if sum(counts):
                out[crit.id] = torch.tensor(balanced_option_weights(counts), device=self.device)
                self.log(
                    f"criteria loss weights {crit.id}: "
                    + ", ".join(f"{o} {w:.2f}" for o, w in zip(opts, out[crit.id].tolist(), strict=True))
                )
        return out

    def _criterion_prompt(self, crit_id: str, opt_id: str) -> str:
        """This step's prompt of one criterion option: the catalogue's templates in turn or, with
        `criteria_synonyms`, a seeded draw over templates x (catalogue phrase + synonyms), the same on
        every rank."""
        prompts = self.catalogue.criterion_target(crit_id, opt_id).prompts
        extra = self.cfg.criteria_synonyms.get(f"{crit_id}:{opt_id}", [])
        if not extra:
            return prompts[self.step % len(prompts)]
        pool = list(prompts) + [t.format(x) for x in extra for t in self.catalogue.templates]
        rng = np.random.default_rng([self.cfg.seed, self.step, zlib.crc32(f"{crit_id}:{opt_id}".encode())])
        return pool[int(rng.integers(len(pool)))]

    def _forward_step(self, idx: np.ndarray) -> torch.Tensor:
        """One step's loss. Image and all texts (unique captions, class and criteria prompts) go through
        one forward of the (DDP-wrapped) two-tower module, so DDP sees every trained parameter."""
        images, captions, labels = collate([self.train_ds[int(i)] for i in idx])
        images = images.to(self.device)
        texts = list(dict.fromkeys(captions))
        cls_groups = (
            [list(self.catalogue.class_target(c).prompts) for c in self.class_ids]
            if self.cfg.class_loss_weight
            else []
        )
        crit_texts: list[str] = []
        if self.cfg.criteria_loss_weight:
            for crit in self.catalogue.criteria:
                for opt in crit.options:
                    crit_texts.append(self._criterion_prompt(crit.id, opt.id))
        findings = self._finding_wordings() if self.cfg.phrase_rank_loss_weight else []
        finding_texts = [w for _, w in findings]
        all_texts = list(
            dict.fromkeys(texts + [p for g in cls_groups for p in g] + crit_texts + finding_texts)
        )
        tokens = self.tokenizer(all_texts).to(self.device)
        img, txt_u, scale = (self.ddp or self.towers)(images, tokens)
        pos = {t: i for i, t in enumerate(all_texts)}
        txt = txt_u[torch.tensor([pos[c] for c in captions], device=self.device)]
        keys = caption_keys(captions, self.device)
        if self.world > 1:
            img_all, txt_all, keys_all = gather(img, True), gather(txt, True), gather(keys, False)
        else:
            img_all, txt_all, keys_all = img, txt, keys
        loss = contrastive_loss(img_all, txt_all, scale, keys_all)
        if cls_groups:
            bank = torch.stack(
                [
                    torch.nn.functional.normalize(
                        txt_u[torch.tensor([pos[p] for p in g], device=self.device)].mean(0), dim=-1
                    )
                    for g in cls_groups
                ]
            )
            loss = loss + self.cfg.class_loss_weight * prompt_bank_loss(
                img, bank, scale, labels.to(self.device)
            )
        recs = [self.train_ds.records[int(i)] for i in idx]
        if crit_texts:
            loss = loss + self.cfg.criteria_loss_weight * self._criteria_loss(
                img, recs, scale, txt_u[torch.tensor([pos[t] for t in crit_texts], device=self.device)]
            )
        if findings:
            keys = [k.split(":", 1) for k, _ in findings]
            stated = torch.tensor([[c in r.criteria for c, _ in keys] for r in recs], device=self.device)
            present = torch.tensor(
                [[r.criteria.get(c) == o for c, o in keys] for r in recs], device=self.device
            )
            sims = img @ txt_u[torch.tensor([pos[t] for t in finding_texts], device=self.device)].T
            loss = loss + self.cfg.phrase_rank_loss_weight * phrase_rank_loss(sims, present, stated, scale)
        return loss

    def _finding_wordings(self) -> list[tuple[str, str]]:
        """This step's (finding, wording) pairs: one training wording of each finding in
        `criteria_synonyms`, a seeded draw, the same on every rank."""
        out = []
        for key in sorted(self.cfg.criteria_synonyms):
            wordings = self.cfg.criteria_synonyms[key]
            if wordings:
                rng = np.random.default_rng([self.cfg.seed, self.step, zlib.crc32(f"rank:{key}".encode())])
                out.append((key, wordings[int(rng.integers(len(wordings)))]))
        return out

    @torch.no_grad()
    def evaluate_split(self, ds: ImageCaptionDataset) -> dict:
        """Validation/test loss (contrastive, batches of the training size) and class metrics."""
        if len(ds) == 0:
            return {}
        was = self.model.training
        self.model.eval()
        feats, losses, labels = [], [], []
        scale = self.model.logit_scale.exp().clamp(max=100)
        for idx in rank_batches(len(ds), self.cfg.batch_size, 1, 0, 0, 0, False):
            images, captions, lab = collate([ds[int(i)] for i in idx])
            img = embed_images(self.model, images.to(self.device))
            txt = encode_texts(self.model, self.tokenizer, captions, self.device)
            losses.append(
                (float(contrastive_loss(img, txt, scale, caption_keys(captions, self.device))), len(idx))
            )
            feats.append(img)
            labels.append(lab)
        bank = class_bank(self.model, self.tokenizer, self.catalogue, self.class_ids, self.device)
        f = torch.cat(feats)
        logits = (scale * f @ bank.T).cpu().numpy().astype(np.float64)
        y = torch.cat(labels).numpy()
        self.model.train(was)
        loss = sum(v * n for v, n in losses) / sum(n for _, n in losses)
        return {
            "loss": loss,
            "logits": logits,
            "labels": y,
            "accuracy": float(np.mean(logits.argmax(1) == y)),
        }

    def fit(self) -> TrainResult:
        cfg = self.cfg
        n = len(self.train_ds)
        per_epoch = len(rank_batches(n, cfg.batch_size, self.world, self.rank, cfg.seed, 0, True))
        if cfg.max_steps_per_epoch:
            per_epoch = min(per_epoch, cfg.max_steps_per_epoch)
        total = per_epoch * cfg.epochs
        self.log(
            f"training on {n} images ({len(self.splits['val'])} validation, {len(self.splits['test'])} test; "
            f"split by lesion id, seed {cfg.split_seed}), {len(self.class_ids)} classes, "
            f"{self.world} process(es), {per_epoch} steps/epoch"
        )
        for epoch in range(self.start_epoch, cfg.epochs):
            t0 = time.time()
            self.train_ds.set_epoch(epoch)
            batches = rank_batches(n, cfg.batch_size, self.world, self.rank, cfg.seed, epoch, True)[
                :per_epoch
            ]
            bar = None
            if cfg.progress and self.rank == 0:
                bar = tqdm(
                    total=len(batches),
                    desc=f"epoch {epoch + 1}/{cfg.epochs}",
                    file=sys.stderr,
                    leave=False,
                    disable=not sys.stderr.isatty(),
                )
            run_loss = 0.0
            for idx in batches:
                for g in self.opt.param_groups:
                    g["lr"] = lr_at(cfg.lr, cfg.schedule, cfg.warmup_steps, self.step, total)
                loss = self._forward_step(idx)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()
                with torch.no_grad():
                    self.model.logit_scale.clamp_(0, math.log(100))
                self.step += 1
                run_loss += loss.item()
                if bar:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss.item():.3f}")
            if bar:
                bar.close()
            train_loss = run_loss / max(1, len(batches))
            val = self.evaluate_split(self.val_ds) if self.rank == 0 else {}
            val_loss = val.get("loss", train_loss)
            score = self._selection_score(val_loss, val)
            improved = score < self.best_val - 1e-6
            if improved:
                self.best_val, self.bad_epochs = score, 0
            else:
                self.bad_epochs += 1
            rec = {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_accuracy": val.get("accuracy"),
                "seconds": round(time.time() - t0, 1),
                "logit_scale": float(self.model.logit_scale.detach().exp()),
            }
            self.history.append(rec)
            self.log(
                f"epoch {epoch + 1}: train loss {train_loss:.4f}, validation loss {val_loss:.4f}"
                + (f", validation accuracy {val['accuracy']:.3f}" if val else "")
                + f" ({rec['seconds']} s)"
            )
            self._save_epoch(epoch, improved)
            barrier(self.world)
            if broadcast_flag(bool(cfg.patience and self.bad_epochs >= cfg.patience), self.world):
                self.log(
                    f"early stopping: validation {cfg.select_on} did not improve for {cfg.patience} epochs"
                )
                break
        return self._finish()

    def _finish(self) -> TrainResult:
        final = self.out / "model.safetensors"
        test_metrics = None
        card: ModelCard | None = None
        if self.rank == 0:
            best = self.ckpt_dir / "best.safetensors"
            if best.exists():
                self.model.load_state_dict(load_file(str(best)))
            val = self.evaluate_split(self.val_ds)
            temperature = fit_temperature(val["logits"], val["labels"]) if val else 1.0
            metrics: dict = {"split": "test", "temperature_fitted_on": "validation" if val else "none"}
            if val:
                metrics["validation"] = {
                    k: v
                    for k, v in classification_metrics(
                        softmax(val["logits"] / temperature), val["labels"], self.class_ids
                    ).items()
                    if k in ("accuracy", "balanced_accuracy", "macro_f1", "ece", "n")
                }
            test = self.evaluate_split(self.test_ds)
            if test:
                m = classification_metrics(
                    softmax(test["logits"] / temperature), test["labels"], self.class_ids
                )
                m_raw = classification_metrics(softmax(test["logits"]), test["labels"], self.class_ids)
                test_metrics = {
                    k: m[k]
                    for k in ("n", "accuracy", "balanced_accuracy", "macro_f1", "ece", "nll", "per_class")
                }
                test_metrics["ece_before_temperature"] = m_raw["ece"]
                metrics["test"] = test_metrics
            card = self._card({"temperature": temperature, "metrics": metrics, "history": self.history})
            save_checkpoint(self.model, final, card, half=self.cfg.half)
            write_json(self.out / "history.json", self.history)
            write_json(self.out / "split.json", split_lesions(self.splits))
            self.log(f"wrote {final} (temperature {temperature:.3f})")
            if self.cfg.ood_stats:
                self._write_ood_stats(final)
        barrier(self.world)
        return TrainResult(final, card, self.history, self.splits, test_metrics)

    def _write_ood_stats(self, final: Path) -> None:
        """The out-of-distribution statistics of the installed weights as the app loads them (fp16
        weights included): training-split embeddings, thresholds from the validation split."""
        clip = load_model(final, device=str(self.device))
        write_ood_stats(clip, self.splits["train"], self.splits["val"], seed=self.cfg.seed, log=self.log)


def train(cfg: TrainConfig) -> TrainResult:
    return Trainer(cfg).fit()
