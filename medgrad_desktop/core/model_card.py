"""What a model is, as plain data: its card, its warnings and the error a bad weights file gives.

Apart from `core.model` so that the window can name a model, print its warnings and catch a load
failure without importing torch: the window is on screen before the model (and torch) has loaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

UNTRAINED_WARNING = "UNTRAINED: random weights; predictions and maps are meaningless"
DEMO_WARNING = "DEMO: trained on synthetic images; demonstration only; not for clinical use"
RESEARCH_NOTICE = "Research use only, not for diagnosis."


class ModelLoadError(Exception):
    """One line naming the file and what was expected."""


@dataclass
class ModelCard:
    name: str
    architecture: str
    arch_config: dict
    quick_gelu: bool
    weights_path: str | None
    weights_sha256: str
    weights_format: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int
    interpolation: str = "bicubic"
    resize: str = "squash"
    temperature: float = 1.0
    untrained: bool = False
    demo: bool = False
    intended_use: str = "research use only, not for diagnosis"
    catalogue: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def short_hash(self) -> str:
        return self.weights_sha256[:12]

    def warnings(self) -> list[str]:
        out = []
        if self.untrained:
            out.append(UNTRAINED_WARNING)
        if self.demo:
            out.append(DEMO_WARNING)
        return out

    def display_name(self) -> str:
        tag = " [UNTRAINED]" if self.untrained else " [DEMO]" if self.demo else ""
        return f"{self.name}{tag}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        d["warnings"] = self.warnings()
        return d

DEMO_MISSING_NOTE = "bundled demo model missing: using an UNTRAINED random MedGrad-Tiny model"
