"""What the target selector means, resolved per image: 'the predicted class' differs from image to
image, a top-k rank too; a catalogue class, a criterion option or free text does not."""

from __future__ import annotations

from dataclasses import dataclass

from medgrad_desktop.core.prediction import Prediction
from medgrad_desktop.core.prompts import Catalogue, Target


@dataclass(frozen=True)
class TargetChoice:
    kind: str  # "predicted" | "rank" | "class" | "criterion" | "text"
    value: str = ""  # rank number, class id, "criterion:option" or the text

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.value}" if self.value else self.kind

    @staticmethod
    def from_spec(spec: str) -> TargetChoice:
        kind, _, value = spec.partition(":")
        if kind not in ("predicted", "rank", "class", "criterion", "text"):
            return TargetChoice("predicted")
        return TargetChoice(kind, value)

    def depends_on_prediction(self) -> bool:
        return self.kind in ("predicted", "rank")

    def resolve(self, catalogue: Catalogue, prediction: Prediction | None) -> Target | None:
        """The concrete target for one image; None while its prediction is still unknown."""
        if self.kind == "predicted":
            return catalogue.class_target(prediction.predicted_id) if prediction else None
        if self.kind == "rank":
            if prediction is None:
                return None
            order = prediction.order
            rank = max(1, min(int(self.value or 1), len(order)))
            return catalogue.class_target(prediction.class_ids[order[rank - 1]])
        if self.kind == "class":
            return catalogue.class_target(self.value)
        if self.kind == "criterion":
            crit, _, opt = self.value.partition(":")
            return catalogue.criterion_target(crit, opt)
        return Target.free_text(self.value)
