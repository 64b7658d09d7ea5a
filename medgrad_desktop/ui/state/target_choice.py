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


def describe_match(catalogue: Catalogue, target: Target, wording: str = "") -> str:
    """What typed text was taken to mean, e.g. 'matched criterion: Blue-whitish veil', so a user sees that
    the catalogue's prompts are explained rather than the words typed; `wording` (the catalogue or trained
    wording the text matched up to case and punctuation) is named when it differs from the label."""
    via = f' as "{wording}"' if wording and wording.lower() != target.label.lower() else ""
    if target.kind == "class":
        return f"matched class: {target.label}{via}"
    if target.kind == "criterion":
        crit_id, _, _opt = target.key.partition(":")
        crit = next((c for c in catalogue.criteria if c.id == crit_id), None)
        name = crit.display_name if crit is not None else crit_id
        detail = "" if target.label.lower() == name.lower() else f" ({target.label})"
        return f"matched criterion: {name}{detail}{via}"
    return ""


def completion_phrases(catalogue: Catalogue) -> list[str]:
    """Everything the free-text box completes: class names and phrases, criteria names, option phrases
    and any synonyms the catalogue lists for them, each once, in catalogue order."""
    phrases: list[str] = []
    for c in catalogue.classes:
        phrases += [c.display_name, c.phrase, *getattr(c, "synonyms", ())]
    for crit in catalogue.criteria:
        phrases.append(crit.display_name)
        for o in crit.options:
            phrases += [o.phrase, *getattr(o, "synonyms", ())]
    seen: set[str] = set()
    out = []
    for p in phrases:
        if p and p.lower() not in seen:
            seen.add(p.lower())
            out.append(p)
    return out
