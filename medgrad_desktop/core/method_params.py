"""Every choice of every method, in one frozen dataclass per method.

Each "default" of ALGORITHM.md is a field here, and `to_dict()` goes verbatim into every report,
cache key and JSON output, so a number can always be traced to the exact settings that produced it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

METHODS = ("gradcam", "grad-eclip", "medgrad")
METHOD_NAMES = {"gradcam": "Grad-CAM", "grad-eclip": "Grad-ECLIP", "medgrad": "MedGrad E-CLIP"}


@dataclass(frozen=True)
class _Common:
    epsilon: float = 1e-8  # min-max denominator guard: an all-zero map stays zero, never NaN
    upsample: Literal["bilinear"] = "bilinear"

    def to_dict(self) -> dict:
        return {"method": self.method, **asdict(self)}

    def with_(self, **changes) -> _Common:
        return replace(self, **changes)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class GradCAMParams(_Common):
    """Grad-CAM on the input of the last block, as the Grad-ECLIP code does it."""

    method: Literal["gradcam"] = "gradcam"
    include_cls_in_mean: bool = True  # a_c averages dS/dF over all tokens, class token included


@dataclass(frozen=True)
class GradECLIPParams(_Common):
    method: Literal["grad-eclip"] = "grad-eclip"
    official_single_head: bool = False  # True: recompute the last block as one head (the official code)
    qk_space: Literal["in_proj", "out_proj"] = "in_proj"  # out_proj: the official evaluation script


@dataclass(frozen=True)
class MedGradParams(_Common):
    method: Literal["medgrad"] = "medgrad"
    entropy_radius: int = 5  # disk radius in pixels of the entropy image
    entropy_source: Literal["model_input", "original"] = "model_input"
    combine: Literal["replace", "multiply"] = "replace"  # replace: the published equation
    alpha: float = 1.0  # weight = (1 - alpha) + alpha * normalized entropy
    official_single_head: bool = False
    qk_space: Literal["in_proj", "out_proj"] = "in_proj"  # used only when combine == "multiply"


MethodParams = GradCAMParams | GradECLIPParams | MedGradParams


def default_params(method: str) -> MethodParams:
    return {"gradcam": GradCAMParams, "grad-eclip": GradECLIPParams, "medgrad": MedGradParams}[method]()


def params_from_dict(d: dict) -> MethodParams:
    cls = {"gradcam": GradCAMParams, "grad-eclip": GradECLIPParams, "medgrad": MedGradParams}[d["method"]]
    return cls(**{k: v for k, v in d.items() if k in cls.field_names()})
