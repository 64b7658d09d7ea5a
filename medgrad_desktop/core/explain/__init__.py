"""Grad-CAM, Grad-ECLIP and MedGrad E-CLIP over one hook manager and one batched class-token tail."""

from medgrad_desktop.core.explain.engine import AnalysisResult, analyze, analyze_batch
from medgrad_desktop.core.heatmap import Heatmap
from medgrad_desktop.core.method_params import (
    METHOD_NAMES,
    METHODS,
    GradCAMParams,
    GradECLIPParams,
    MedGradParams,
    MethodParams,
    default_params,
    params_from_dict,
)

__all__ = [
    "METHODS",
    "METHOD_NAMES",
    "AnalysisResult",
    "GradCAMParams",
    "GradECLIPParams",
    "Heatmap",
    "MedGradParams",
    "MethodParams",
    "analyze",
    "analyze_batch",
    "default_params",
    "params_from_dict",
]
