"""A torch Dataset of (image tensor, caption, class index) built from reader `Record`s.

Augmentation draws come from (seed, epoch, index), not from a global generator, so a run is the same
with 0 or N loader workers and with one process or several under DDP: the DDP test relies on it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from medgrad_desktop.core.imageio import ImageLoadError, load_image
from medgrad_desktop.data.records import Record
from medgrad_desktop.training.augment import augment, squash, to_tensor


class ImageCaptionDataset(Dataset):
    def __init__(
        self,
        records: list[Record],
        class_ids: list[str],
        size: int,
        mean: tuple,
        std: tuple,
        train: bool,
        seed: int = 0,
        cache: bool = True,
        max_rotation: float = 15.0,
        flip: bool = True,
        photometric_p: float = 0.0,
    ):
        self.records = list(records)
        self.class_ids = list(class_ids)
        self.size, self.mean, self.std = size, tuple(mean), tuple(std)
        self.train, self.seed = train, int(seed)
        self.max_rotation, self.flip, self.photometric_p = max_rotation, flip, photometric_p
        self.epoch = 0
        self._cache: dict[int, np.ndarray] | None = {} if cache else None
        unknown = sorted({r.label for r in self.records} - set(self.class_ids))
        if unknown:
            raise ValueError(f"labels not among the model's classes: {', '.join(unknown)}")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.records)

    def image(self, i: int) -> np.ndarray:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        rec = self.records[i]
        try:
            rgb = squash(load_image(rec.path).rgb, self.size)
        except ImageLoadError as exc:
            raise ImageLoadError(rec.path, f"{exc.cause} (from {rec.source or 'dataset'})") from None
        if self._cache is not None:
            self._cache[i] = rgb
        return rgb

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str, int]:
        rgb = self.image(i)
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            rgb = augment(rgb, rng, self.max_rotation, self.flip, self.photometric_p)
        rec = self.records[i]
        return to_tensor(rgb, self.mean, self.std), rec.caption, self.class_ids.index(rec.label)


def collate(batch: list[tuple[torch.Tensor, str, int]]) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    images = torch.stack([b[0] for b in batch])
    return images, [b[1] for b in batch], torch.tensor([b[2] for b in batch], dtype=torch.long)
