"""Process-group helpers: one process, or N under `torchrun` with DistributedDataParallel (gloo on CPU,
nccl on GPU). With one process every helper is a no-op, so the trainer has one code path."""

from __future__ import annotations

import math
import os

import numpy as np
import torch
import torch.distributed as dist


def dist_init(device: torch.device) -> tuple[int, int]:
    """(rank, world size), joining the process group `torchrun` set up in the environment."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


def barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


def broadcast_flag(flag: bool, world: int) -> bool:
    """Rank 0's value of `flag` on every rank (early stopping is decided on rank 0's validation)."""
    t = torch.tensor([1 if flag else 0])
    if world > 1:
        dist.broadcast(t, 0)
    return bool(int(t))


def rank_batches(n: int, batch: int, world: int, rank: int, seed: int, epoch: int, shuffle: bool
                 ) -> list[np.ndarray]:
    """Index batches of this rank. The global batch i is perm[i*B:(i+1)*B] whatever the world size;
    rank r takes every world-th element of it, so 1 and N processes see the same global batches."""
    perm = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    batch = min(batch, n - n % world) if n < batch else batch
    steps = n // batch if shuffle else math.ceil(n / batch)
    out = []
    for i in range(steps):
        g = perm[i * batch:(i + 1) * batch]
        out.append(g[rank::world])
    return out
