"""Share a folder's images between the processes `torchrun` starts, and merge their results on rank 0.

Why by pass and not by image: every process explains whole passes (the same consecutive images a
single process would take together), so each image's numbers come from exactly the pass they would
come from in one process, and the merged output is the single-process output, not merely close to it.
Pass k goes to rank k mod world size; rank 0 gathers everything and alone prints or writes.

Backends: gloo on the CPU, NCCL on GPUs (each process on the GPU of its LOCAL_RANK). Outside torchrun
(no WORLD_SIZE, or 1) nothing here starts a process group and the world is one process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world_from_env() -> World:
    """The world `torchrun` describes in the environment; one process when it describes none."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError as exc:
        raise SystemExit(
            f"error: bad torchrun environment ({exc}); run under torchrun or unset WORLD_SIZE, "
            "RANK and LOCAL_RANK"
        ) from None
    return World(rank, size, local) if size > 1 else World()


def device_for(world: World, requested: str) -> str:
    """Under torchrun each process takes the GPU of its local rank when the run is on CUDA."""
    if not world.distributed:
        return requested
    wants_cuda = requested.startswith("cuda") or (requested in ("", "auto") and torch.cuda.is_available())
    return f"cuda:{world.local_rank}" if wants_cuda else requested


def start(world: World, device: torch.device) -> None:
    """Join the process group (gloo for CPU, NCCL for CUDA); nothing for a single process."""
    if not world.distributed or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def stop(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def my_passes(passes: Sequence[T], world: World) -> list[T]:
    """This process's share: pass k for k mod size == rank."""
    return [p for k, p in enumerate(passes) if k % world.size == world.rank]


def gather_to_root(obj: T, world: World) -> list[T] | None:
    """Every rank's `obj` on rank 0, in rank order; None on the other ranks."""
    if not world.distributed:
        return [obj]
    out: list[T] | None = [None] * world.size if world.is_root else None  # type: ignore[list-item]
    dist.gather_object(obj, out, dst=0)
    return out


def broadcast_from_root(obj: T, world: World) -> T:
    """Rank 0's `obj` on every rank (e.g. whether rank 0 could write the report)."""
    if not world.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
