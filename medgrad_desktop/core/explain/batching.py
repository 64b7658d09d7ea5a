"""How many images one explanation pass may take, from the memory the device has free now.

Why: a pass over B images keeps, per image, the last block's tensors and, for Grad-CAM, one gradient of
every token per prompt (P x N x D floats); on a GPU that is what bounds B, on a CPU it decides whether a
folder of large images swaps. The estimate is deliberately generous (it counts the Grad-CAM gradient
even for the cheaper methods) and only a quarter of the free memory is planned for, so the default
leaves room for the rest of the app and for other programs.
"""

from __future__ import annotations

from pathlib import Path

import torch

from medgrad_desktop.core.model import ClipModel

BYTES_PER_FLOAT = 4
MAX_BATCH = {"cpu": 16, "cuda": 64}
# Explanations on a CPU go one image per pass by default: there a pass of several images saves little
# (the matrix products are already large enough to keep the cores busy), and one image per pass gives
# the report bit for bit the numbers the app showed for that image (a pass of several can move the 7th
# digit). On a GPU the pass size is what fills the device, so it follows the free memory.
CPU_EXPLAIN_BATCH = 1
FALLBACK_FREE_BYTES = 2 * 2**30  # when the free memory cannot be read


def bytes_per_image(clip: ClipModel, n_prompts: int) -> int:
    """Planned peak bytes of explaining one image for `n_prompts` prompts (all methods together);
    `n_prompts=0` is a plain forward (classification only)."""
    visual = clip.visual
    gs = getattr(visual, "grid_size", None) or (14, 14)
    tokens = int(gs[0]) * int(gs[1]) + 1
    width = int(getattr(getattr(visual, "conv1", None), "out_channels", 768))
    # forward activations (~16 token-wide tensors alive at once), plus ~6 per prompt during the VJPs
    return BYTES_PER_FLOAT * tokens * width * (16 + 6 * max(0, n_prompts))


def free_bytes(device: torch.device) -> int:
    """Free memory of `device`: the GPU's own count, or MemAvailable of the host for the CPU."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return FALLBACK_FREE_BYTES


def default_batch_size(clip: ClipModel, n_prompts: int, fraction: float = 0.25) -> int:
    """Images per pass: what fits in `fraction` of the free memory, at least 1, at most `MAX_BATCH` for
    the device type; explanations (`n_prompts > 0`) on a CPU take `CPU_EXPLAIN_BATCH`."""
    if clip.device.type == "cpu" and n_prompts > 0:
        return CPU_EXPLAIN_BATCH
    fit = int(fraction * free_bytes(clip.device)) // bytes_per_image(clip, n_prompts)
    return max(1, min(MAX_BATCH.get(clip.device.type, MAX_BATCH["cpu"]), fit))
