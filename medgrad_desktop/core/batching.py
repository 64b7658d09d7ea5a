"""How many images go through the model in one pass: the one batch policy of the app, the command line
and the evaluation. A pass is one forward (and, for explanations, every prompt's maps of every image).

`images_per_pass(use, clip)` applies the rule of `RULES[use]` (the same words the command-line help
shows); a size the user gives, e.g. `--batch-size`, replaces it. Why each rule:

- the app's predictions: the maps the user asks for run between passes, so on a CPU the pass stays
  small (there a larger one barely beats one image at a time and would delay that map); on a GPU a
  large pass is what keeps it busy;
- explanations on a CPU go one image per pass: a pass of several saves little there (the matrix
  products already keep the cores busy), and one image per pass gives a report bit for bit the numbers
  the app showed (a pass of several can move the 7th digit); on a GPU the pass size is what fills the
  device, so it follows the free memory;
- the evaluations use fixed sizes, so that their figures do not depend on the memory free on the
  machine that computed them;
- the memory estimate is deliberately generous: a pass over B images keeps, per image, the last
  block's tensors and, for Grad-CAM, one gradient of every token per prompt (P x N x D floats), counted
  even for the cheaper methods; only a quarter of the free memory is planned for, so the default leaves
  room for the rest of the app and for other programs.

No torch import at module level: the app's window modules use this policy and must not load torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from medgrad_desktop.core.model import ClipModel

BatchUse = Literal["app-predictions", "classify", "explain", "evaluate-maps", "evaluate-features"]

APP_PREDICTIONS = {"cpu": 4, "cuda": 32}
MAX_BATCH = {"cpu": 16, "cuda": 64}  # the memory-following rules never go above these
CPU_EXPLAIN_BATCH = 1
FIXED = {"evaluate-maps": 8, "evaluate-features": 32}
MEMORY_FRACTION = 0.25

_FREE = f"what {MEMORY_FRACTION:.0%} of the free memory holds"
RULES: dict[BatchUse, str] = {
    "app-predictions": f"{APP_PREDICTIONS['cpu']} images per pass on a CPU, {APP_PREDICTIONS['cuda']} on a GPU",
    "classify": f"{_FREE}, at most {MAX_BATCH['cpu']} images on a CPU and {MAX_BATCH['cuda']} on a GPU",
    "explain": f"{CPU_EXPLAIN_BATCH} image per pass on a CPU; on a GPU {_FREE} with every class prompt's "
    f"gradient counted, at most {MAX_BATCH['cuda']}",
    "evaluate-maps": f"{FIXED['evaluate-maps']} images per pass on any device",
    "evaluate-features": f"{FIXED['evaluate-features']} images per pass on any device",
}
BYTES_PER_FLOAT = 4
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


def free_bytes(device) -> int:
    """Free memory of `device` (a torch.device): the GPU's own count, or MemAvailable of the host."""
    if device.type == "cuda":
        import torch  # a CUDA model is loaded, so torch already is

        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return FALLBACK_FREE_BYTES


def _fits_in_memory(clip: ClipModel, n_prompts: int) -> int:
    kind = clip.device.type
    fit = int(MEMORY_FRACTION * free_bytes(clip.device)) // bytes_per_image(clip, n_prompts)
    return max(1, min(MAX_BATCH.get(kind, MAX_BATCH["cpu"]), fit))


def images_per_pass(use: BatchUse, clip: ClipModel | None = None, requested: int | None = None) -> int:
    """Images per pass for `use` by the rules above; `requested` (when given and positive) wins.
    The fixed evaluation rules need no model; the others read the model's device."""
    if requested:
        return requested
    if use in FIXED:
        return FIXED[use]
    if clip is None:
        raise ValueError(f"the {use!r} batch size depends on the model's device: pass the model")
    kind = clip.device.type
    if use == "app-predictions":
        return APP_PREDICTIONS["cuda" if kind == "cuda" else "cpu"]
    if use == "classify":
        return _fits_in_memory(clip, 0)
    if use == "explain":
        if kind == "cpu":
            return CPU_EXPLAIN_BATCH
        return _fits_in_memory(clip, len(clip.catalogue.class_targets()))
    raise ValueError(f"unknown batch use {use!r}")
