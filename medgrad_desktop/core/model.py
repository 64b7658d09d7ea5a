"""Load an OpenCLIP image-text model from a local file (never the network) and describe it.

Three sources are accepted: an OpenCLIP checkpoint (`.safetensors`, or `.pt`/`.bin` read with
`weights_only=True` so a hostile pickle cannot run code), the OpenAI-`clip`-format fp16 state dict that
MedGrad's authors released (QuickGELU), and an `hf-hub:`/`openai` tag only when already cached. The
`ModelCard` travels with every result so a report can say exactly which weights produced it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a missing cache must fail at once, not retry for 46 s
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import open_clip
import torch
from open_clip.model import CLIP
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import load_file

from medgrad_desktop.core.card import DEMO_WARNING as DEMO_WARNING
from medgrad_desktop.core.card import UNTRAINED_WARNING as UNTRAINED_WARNING
from medgrad_desktop.core.card import ModelCard, ModelLoadError
from medgrad_desktop.core.ood import OodCheck, load_check
from medgrad_desktop.core.prompts import Catalogue, Target, catalogue_from_dict, load_catalogue
from medgrad_desktop.resources_path import resources_dir

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NORMALIZATIONS = {"clip": (CLIP_MEAN, CLIP_STD), "imagenet": (IMAGENET_MEAN, IMAGENET_STD)}


def resolve_device(device: str | None = None) -> torch.device:
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(
            f"device '{device}' was requested but no CUDA GPU is available; use --device cpu"
        )
    return torch.device(device)


def arch_config(architecture: str) -> dict:
    """Architecture config: the project's own configs first, then open_clip's table."""
    own = resources_dir() / "model_configs" / f"{architecture}.json"
    if own.exists():
        return json.loads(own.read_text())
    cfg = open_clip.get_model_config(architecture)
    if cfg is None:
        raise ModelLoadError(f"unknown architecture '{architecture}'")
    return cfg


def build_clip(cfg: dict, quick_gelu: bool) -> torch.nn.Module:
    cfg = {k: v for k, v in cfg.items() if k in ("embed_dim", "vision_cfg", "text_cfg")}
    return CLIP(**cfg, quick_gelu=quick_gelu)


def state_dict_digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def _pickle_culprit(message: str) -> str:
    """' (it imports pathlib.Path.write_text)' from torch's weights-only refusal, which is many lines
    with terminal colour codes and advice to load the file unsafely; '' when no name is given."""
    found = re.search(r"GLOBAL ([\w.]+)", re.sub(r"\x1b\[[0-9;]*m", "", message))
    return f" (it imports {found.group(1)})" if found else ""


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                f"{path}: not a readable safetensors file ({str(exc).splitlines()[0][:120]}); "
                "the file may be truncated: copy it again"
            ) from None
    if suffix in (".pt", ".pth", ".bin", ".ckpt"):
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, KeyError) as exc:  # KeyError: an unknown pickle opcode
            culprit = _pickle_culprit(str(exc))
            if culprit:  # a real pickle naming a global: the one case that could run code
                raise ModelLoadError(
                    f"{path}: refused, it holds Python objects beyond tensors that could run "
                    f"code{culprit}; convert it to .safetensors"
                ) from None
            raise ModelLoadError(
                f"{path}: not a PyTorch checkpoint (not a pickle of tensors; a text or other "
                "file renamed .pt?); choose the model's weights file"
            ) from None
        except (RuntimeError, EOFError, OSError, ValueError) as exc:
            raise ModelLoadError(
                f"{path}: not a readable PyTorch checkpoint ({str(exc).splitlines()[0][:120]}); "
                "the file may be truncated: copy it again"
            ) from None
        if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
            obj = obj["state_dict"]
        if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise ModelLoadError(f"{path}: expected a state dict of tensors, found {type(obj).__name__}")
        return {k.removeprefix("module."): v for k, v in obj.items()}
    raise ModelLoadError(
        f"{path}: unknown weights format '{suffix}'; expected .safetensors, .pt, .pth or .bin"
    )


def _is_openai_format(state: dict[str, torch.Tensor]) -> bool:
    """OpenAI `clip` state dicts carry fp16 weights and the bookkeeping keys `input_resolution` etc."""
    if "input_resolution" in state or "context_length" in state:
        return True
    w = state.get("visual.conv1.weight")
    return w is not None and w.dtype == torch.float16


def card_path_for(weights: Path) -> Path | None:
    for cand in (weights.with_suffix(".card.json"), weights.with_name(weights.stem + ".json")):
        if cand.exists():
            return cand
    return None


def _describe_mismatch(
    path: Path, architecture: str, missing: list[str], unexpected: list[str], shapes: list[str]
) -> str:
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]})")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatches (e.g. {shapes[0]})")
    return (
        f"{path}: does not fit architecture {architecture}: "
        + "; ".join(parts)
        + ". Choose the weights file made for it, with its .card.json beside it (the card names the architecture)"
    )


def _load_into(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, architecture: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        raise ModelLoadError(_describe_mismatch(path, architecture, missing, unexpected, shapes))
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


class ClipModel:
    """A loaded model with its tokenizer, card and catalogue, and its out-of-distribution check when
    statistics of its training images sit beside the weights. Text embeddings are cached per prompt."""

    def __init__(
        self,
        model: torch.nn.Module,
        card: ModelCard,
        catalogue: Catalogue,
        device: torch.device,
        ood: OodCheck | None = None,
    ):
        self.model = model.to(device).float().eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.card = card
        self.catalogue = catalogue
        self.device = device
        self.ood = ood
        ctx = int(card.arch_config.get("text_cfg", {}).get("context_length", 77))
        self.tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=ctx)
        self._text_cache: dict[str, torch.Tensor] = {}
        self.mean = torch.tensor(card.mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(card.std, dtype=torch.float32).view(3, 1, 1)

    @property
    def visual(self) -> torch.nn.Module:
        return self.model.visual

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp().item())

    @property
    def input_size(self) -> int:
        return self.card.input_size

    def to(self, device: str | torch.device) -> ClipModel:
        self.device = torch.device(device)
        self.model.to(self.device)
        self._text_cache = {k: v.to(self.device) for k, v in self._text_cache.items()}
        return self

    # --- images -------------------------------------------------------------------------------
    def squash(self, rgb: np.ndarray) -> np.ndarray:
        """The exact uint8 RGB the model sees: a squash resize (no crop), so the map covers the image."""
        s = self.input_size
        if rgb.shape[0] == s and rgb.shape[1] == s:
            return rgb
        resample = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}[
            self.card.interpolation
        ]
        return np.array(Image.fromarray(rgb).resize((s, s), resample))

    def to_tensor(self, squashed: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.array(squashed, dtype=np.uint8, copy=True)).permute(2, 0, 1).float() / 255.0
        return (t - self.mean) / self.std

    def batch(self, images: list[np.ndarray]) -> tuple[torch.Tensor, list[np.ndarray]]:
        squashed = [self.squash(im) for im in images]
        return torch.stack([self.to_tensor(s) for s in squashed]).to(self.device), squashed

    # --- text ---------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> torch.Tensor:
        """L2-normalized text embeddings (P, E), cached so free text costs one text forward once."""
        todo = [p for p in dict.fromkeys(prompts) if p not in self._text_cache]
        if todo:
            tokens = self.tokenizer(todo).to(self.device)
            emb = self.model.encode_text(tokens).float()
            emb = emb / emb.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            for p, e in zip(todo, emb, strict=True):
                self._text_cache[p] = e
        return torch.stack([self._text_cache[p] for p in prompts])

    def target_embeddings(self, targets: list[Target]) -> torch.Tensor:
        """Mean of each target's normalized template embeddings, re-normalized (Grad-ECLIP's rule)."""
        out = []
        for t in targets:
            e = self.encode_prompts(list(t.prompts)).mean(0)
            out.append(e / e.norm().clamp_min(1e-12))
        return torch.stack(out)

    def clear_text_cache(self) -> None:
        self._text_cache.clear()


def load_model(
    weights: str | Path | None = None,
    *,
    random_init: bool = False,
    architecture: str | None = None,
    device: str | None = None,
    normalization: str | None = None,
    seed: int = 0,
) -> ClipModel:
    """The one public loader. `weights=None` and `random_init=False` means the bundled demo model."""
    dev = resolve_device(device)
    if random_init:
        return _random_model(architecture or "ViT-B-16", dev, seed, normalization)
    if weights is None:
        weights = resources_dir() / "demo" / "model" / "demo-model.safetensors"
        if not Path(weights).exists():
            raise ModelLoadError(
                f"{weights}: the bundled demo model is missing; run "
                "`python -m medgrad_desktop.training.make_demo` or pass --weights/--random-init"
            )
    spec = str(weights)
    if spec.startswith("hf-hub:") or spec in ("openai",) or spec.startswith("openai:"):
        return _from_cache(spec, architecture or "ViT-B-16", dev, normalization)
    path = Path(spec).expanduser()
    if not path.exists():
        raise ModelLoadError(f"{path}: no such weights file; choose an existing .safetensors/.pt file")
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a folder; choose the weights file inside it")
    card_file = card_path_for(path)
    stored = _read_card_file(card_file) if card_file is not None else None
    state = _read_state_dict(path)
    openai_fmt = _is_openai_format(state)
    for key in ("input_resolution", "context_length", "vocab_size"):
        state.pop(key, None)
    arch = architecture or "ViT-B-16"
    mean, std = NORMALIZATIONS["imagenet" if openai_fmt else "clip"]
    card = ModelCard.from_json(
        stored or {},
        name=path.stem,
        architecture=arch,
        arch_config={},
        quick_gelu=openai_fmt or (not stored and arch.endswith("quickgelu")),
        mean=mean,
        std=std,
        weights_path=str(path),
        weights_sha256="",
        input_size=0,
        weights_format="openai-fp16"
        if openai_fmt
        else ("safetensors" if path.suffix == ".safetensors" else "openclip-pt"),
    )
    card.architecture = card.architecture or arch
    if not card.arch_config and openai_fmt and not stored:
        try:
            card.arch_config = _openai_cfg(state)
        except (KeyError, IndexError) as exc:
            raise ModelLoadError(
                f"{path}: not an OpenAI-format CLIP ViT state dict (missing {exc})"
            ) from None
    card.arch_config = card.arch_config or arch_config(card.architecture)
    card.input_size = int(card.arch_config["vision_cfg"].get("image_size", 224))
    model = build_clip(card.arch_config, card.quick_gelu)
    _load_into(model, state, path, card.architecture)
    card.weights_sha256 = _sha256(path)
    ood, card.ood = load_check(path, card.weights_sha256)
    if normalization:
        card.mean, card.std = _normalization(normalization)
    elif stored is None and openai_fmt:
        card.extra["normalization_source"] = (
            "assumed ImageNet mean/std (MedGrad's training); pass --normalization to change"
        )
    catalogue = catalogue_from_dict(card.catalogue_data) if card.catalogue_data else load_catalogue()
    card.catalogue = catalogue.to_dict()
    return ClipModel(model, card, catalogue, dev, ood)


def _read_card_file(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: model card is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ModelLoadError(
            f"{path}: a model card is a JSON object, found {type(doc).__name__}; "
            "remove the file or write the card again"
        )
    return doc


def _normalization(name: str) -> tuple[tuple, tuple]:
    if name not in NORMALIZATIONS:
        raise ModelLoadError(f"unknown normalization '{name}'; choose one of {', '.join(NORMALIZATIONS)}")
    return NORMALIZATIONS[name]


def _openai_cfg(state: dict[str, torch.Tensor]) -> dict:
    width = state["visual.conv1.weight"].shape[0]
    patch = state["visual.conv1.weight"].shape[-1]
    layers = len([k for k in state if k.startswith("visual.") and k.endswith(".attn.in_proj_weight")])
    grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    twidth = state["ln_final.weight"].shape[0]
    return {
        "embed_dim": int(state["text_projection"].shape[1]),
        "vision_cfg": {
            "image_size": int(patch * grid),
            "layers": layers,
            "width": int(width),
            "patch_size": int(patch),
        },
        "text_cfg": {
            "context_length": int(state["positional_embedding"].shape[0]),
            "vocab_size": int(state["token_embedding.weight"].shape[0]),
            "width": int(twidth),
            "heads": int(twidth // 64),
            "layers": len({k.split(".")[2] for k in state if k.startswith("transformer.resblocks")}),
        },
    }


def _random_model(architecture: str, dev: torch.device, seed: int, normalization: str | None) -> ClipModel:
    cfg = arch_config(architecture)
    quick_gelu = architecture.endswith("quickgelu")
    torch.manual_seed(seed)
    model = build_clip(cfg, quick_gelu)
    mean, std = _normalization(normalization or "clip")
    card = ModelCard(
        name=f"random-init {architecture} (seed {seed})",
        architecture=architecture,
        arch_config=cfg,
        quick_gelu=quick_gelu,
        weights_path=None,
        weights_sha256=state_dict_digest(model.state_dict()),
        weights_format="random-init",
        mean=mean,
        std=std,
        input_size=int(cfg["vision_cfg"].get("image_size", 224)),
        untrained=True,
        intended_use="tests and demonstrations of the software only",
    )
    catalogue = load_catalogue()
    card.catalogue = catalogue.to_dict()
    return ClipModel(model, card, catalogue, dev)


def _from_cache(spec: str, architecture: str, dev: torch.device, normalization: str | None) -> ClipModel:
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        if spec.startswith("hf-hub:"):
            model = open_clip.create_model(spec, pretrained=None)
            arch = spec
        else:
            tag = spec.partition(":")[2] or "openai"
            model = open_clip.create_model(architecture, pretrained=tag)
            arch = architecture
    except Exception as exc:  # noqa: BLE001 - open_clip raises many types for a missing cache
        raise ModelLoadError(
            f"{spec}: not in the local cache and the network is never used "
            f"({type(exc).__name__}); download the weights elsewhere and pass --weights FILE"
        ) from None
    mean, std = _normalization(normalization or "clip")
    cfg = open_clip.get_model_config(architecture) or {}
    card = ModelCard(
        name=spec,
        architecture=arch,
        arch_config=cfg,
        quick_gelu=True,
        weights_path=spec,
        weights_sha256=state_dict_digest(model.state_dict()),
        weights_format=f"cache:{spec}",
        mean=mean,
        std=std,
        input_size=int(cfg.get("vision_cfg", {}).get("image_size", 224)),
    )
    catalogue = load_catalogue()
    card.catalogue = catalogue.to_dict()
    return ClipModel(model, card, catalogue, dev)
