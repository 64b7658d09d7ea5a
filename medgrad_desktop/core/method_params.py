"""Every choice of every method, in one frozen dataclass per method.

Each "default" of ALGORITHM.md is a field here, and `to_dict()` goes verbatim into every report,
cache key and JSON output, so a number can always be traced to the exact settings that produced it.
"""

from __future__ import annotations

import typing
from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

METHODS = ("gradcam", "grad-eclip", "medgrad")
METHOD_NAMES = {"gradcam": "Grad-CAM", "grad-eclip": "Grad-ECLIP", "medgrad": "MedGrad E-CLIP"}
# The map the app, `medgrad report` and a first start open on: the winner of the rule fixed in advance
# (`evaluation.selection.select_opening_method`, docs/EXPLANATIONS.md) on the bundled model's development
# run, so that the first map a user sees is the one that covers the class-defining structure best (target
# AUROC; within 0.01, MedGrad E-CLIP stays); a test applies the rule again to the stored run. The others
# are one key away.
OPENING_METHOD = "medgrad"


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


MedGradForm = Literal["replace", "multiply", "pixel"]
MAX_SMOOTH = 32.0  # px: a blur wider than this erases the lesion's texture on a 224-px model input

# How each form joins the model's evidence and the entropy weight, in words a reader of a report or
# of the app can follow; "replace" is what the slide's equation says, the others keep Grad-ECLIP's map.
COMBINE_FORMS: dict[str, str] = {
    "replace": "literal slide equation: channel evidence x entropy weight, without Grad-ECLIP's "
    "spatial attention weight (patch grid)",
    "multiply": "Grad-ECLIP map x entropy weight, both on the patch grid",
    "pixel": "Grad-ECLIP map, upsampled to the model's input pixels, x entropy weight at pixel "
    "resolution (finer than the patch grid)",
}


@dataclass(frozen=True)
class MedGradParams(_Common):
    method: Literal["medgrad"] = "medgrad"
    entropy_radius: int = 5  # disk radius in pixels of the entropy image
    entropy_source: Literal["model_input", "original"] = "model_input"
    # see COMBINE_FORMS; the form the rule fixed in advance (`evaluation.selection.select_form`,
    # docs/EXPLANATIONS.md) picks on the bundled model's development run; a test applies the rule again
    combine: MedGradForm = "multiply"
    alpha: float = 1.0  # weight = (1 - alpha) + alpha * normalized entropy
    official_single_head: bool = False
    qk_space: Literal["in_proj", "out_proj"] = "in_proj"  # Grad-ECLIP's spatial weight: not used by "replace"
    # the grey image the entropy counts (`core.entropy.prepare_gray`): blurred with a Gaussian of this
    # sigma in model-input pixels (0 = not blurred), then quantised to this many equal bins (256 = as is)
    entropy_smooth: float = 0.0
    entropy_levels: int = 256

    def __post_init__(self) -> None:
        if self.combine not in COMBINE_FORMS:
            raise ValueError(
                f"unknown MedGrad form combine='{self.combine}'; choose one of {', '.join(COMBINE_FORMS)}"
            )
        smooth = self.entropy_smooth
        if isinstance(smooth, bool) or not isinstance(smooth, int | float) or not 0 <= smooth <= MAX_SMOOTH:
            raise ValueError(
                f"entropy_smooth={smooth!r}: the blur's sigma is a number of pixels from 0 (no blur) "
                f"to {MAX_SMOOTH:g}"
            )
        levels = self.entropy_levels
        if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= 256:
            raise ValueError(
                f"entropy_levels={levels!r}: the grey levels the entropy counts are a whole number "
                "from 2 to 256 (256 = every level of an 8-bit image)"
            )

    @property
    def form_description(self) -> str:
        return COMBINE_FORMS[self.combine]

    def to_dict(self) -> dict:
        """The fields, and the form in plain words, so a report says which MedGrad it shows."""
        return {**super().to_dict(), "form": self.form_description}

    @classmethod
    def field_names(cls) -> list[str]:
        """The keys of `to_dict()` besides "method": "form" is derived from `combine`, never read back."""
        return [*super().field_names(), "form"]


MethodParams = GradCAMParams | GradECLIPParams | MedGradParams


def default_params(method: str) -> MethodParams:
    return {"gradcam": GradCAMParams, "grad-eclip": GradECLIPParams, "medgrad": MedGradParams}[method]()


def params_from_dict(d: dict) -> MethodParams:
    """The dataclass of `d["method"]` from its fields; derived keys such as MedGrad's "form" are ignored."""
    cls = {"gradcam": GradCAMParams, "grad-eclip": GradECLIPParams, "medgrad": MedGradParams}[d["method"]]
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


PARAM_HELP = (
    "METHOD.FIELD=VALUE, repeatable: change one setting of a method, e.g. medgrad.combine=pixel "
    "(forms: " + ", ".join(COMBINE_FORMS) + "), medgrad.alpha=0.5, grad-eclip.official_single_head=true"
)


def _parse_value(text: str, current: object) -> object:
    if isinstance(current, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"'{text}' is not true or false")
    if isinstance(current, int):
        return int(text)
    if isinstance(current, float):
        return float(text)
    return text


def params_with_overrides(methods: list[str], overrides: list[str]) -> list[MethodParams]:
    """Each method's defaults changed by `METHOD.FIELD=VALUE` strings (the CLI's --param).

    Raises ValueError naming the bad override and what is allowed, so a typo never silently falls
    back to a default.
    """
    params = {m: default_params(m) for m in methods}
    for item in overrides:
        key, eq, value = item.partition("=")
        method, dot, name = key.strip().partition(".")
        if not eq or not dot:
            raise ValueError(f"--param '{item}': write METHOD.FIELD=VALUE, e.g. medgrad.combine=pixel")
        if method not in params:
            raise ValueError(
                f"--param '{item}': method '{method}' is not being run; choose from {', '.join(params)}"
            )
        p = params[method]
        names = [f.name for f in fields(p) if f.name != "method"]
        if name not in names:
            raise ValueError(
                f"--param '{item}': {METHOD_NAMES[method]} has no setting '{name}'; "
                f"settings: {', '.join(names)}"
            )
        options = typing.get_args(typing.get_type_hints(type(p))[name])
        if options and value.strip() not in options:
            raise ValueError(f"--param '{item}': {name} must be one of {', '.join(options)}")
        try:
            params[method] = replace(p, **{name: _parse_value(value.strip(), getattr(p, name))})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"--param '{item}': {exc}") from None
    return list(params.values())


def describe(p: MethodParams) -> str:
    """The method and, for MedGrad, its form, in words a clinician can read (tooltips, captions)."""
    name = METHOD_NAMES[p.method]
    if isinstance(p, MedGradParams):
        return f"{name}, form '{p.combine}': {p.form_description}"
    if isinstance(p, GradECLIPParams) and p.official_single_head:
        return f"{name} as the official code computes it (last block as one attention head)"
    return name
