"""A prediction as plain data: the diagnosis probabilities, the 7-point criteria and their score, and
whether the image is unlike the model's training images.

Apart from `core.classify` (which computes them with torch) so that the window, the thumbnail grid
and the review store can show and keep predictions without importing torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class CriterionPrediction:
    criterion_id: str
    display_name: str
    option_id: str
    phrase: str
    probability: float
    points: int
    probabilities: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """'Blue-whitish veil: absent, 99.7%' (see `criterion_text`)."""
        return criterion_text(self.display_name, self.option_id, self.probability)


OOD_FLAG_TEXT = "unlike the images this model was trained on: prediction and maps unreliable"
NO_OOD_CHECK_TEXT = "no out-of-distribution check for this model"


@dataclass(frozen=True)
class OodResult:
    """How unlike the model's training images one image is (`core.ood`): `score` by `method` (higher is
    less alike), flagged when above `threshold`; `stats_sha256` names the statistics file that gave both,
    so a stored result is only reused with the same statistics."""

    method: str
    score: float
    threshold: float
    flagged: bool
    stats_sha256: str


@dataclass(frozen=True)
class Prediction:
    class_ids: tuple[str, ...]
    class_names: tuple[str, ...]
    probabilities: tuple[float, ...]
    similarities: tuple[float, ...]
    criteria: tuple[CriterionPrediction, ...]
    seven_point_score: int
    seven_point_threshold: int
    model_sha256: str
    untrained: bool = False
    top_k_size: int = 5
    ood: OodResult | None = None  # None: the model has no out-of-distribution statistics

    @property
    def order(self) -> list[int]:
        return sorted(range(len(self.probabilities)), key=lambda i: -self.probabilities[i])

    @property
    def predicted_id(self) -> str:
        return self.class_ids[self.order[0]]

    @property
    def predicted_name(self) -> str:
        return self.class_names[self.order[0]]

    @property
    def confidence(self) -> float:
        return self.probabilities[self.order[0]]

    def top_k(self, k: int | None = None) -> list[tuple[str, str, float]]:
        k = k or self.top_k_size
        return [(self.class_ids[i], self.class_names[i], self.probabilities[i]) for i in self.order[:k]]

    @property
    def seven_point_positive(self) -> bool:
        return self.seven_point_score >= self.seven_point_threshold

    @property
    def ood_flagged(self) -> bool:
        return self.ood is not None and self.ood.flagged

    def ood_matches(self, stats_sha256: str) -> bool:
        """Whether this prediction's out-of-distribution result came from the statistics `stats_sha256`
        ("" for a model without any): a stored prediction that does not match is made again."""
        return (self.ood.stats_sha256 if self.ood is not None else "") == stats_sha256

    def to_dict(self) -> dict:
        d = asdict(self)
        d["predicted"] = self.predicted_id
        d["confidence"] = self.confidence
        d["top_k"] = [{"id": i, "name": n, "probability": p} for i, n, p in self.top_k()]
        return d


def finding_word(option_id: str) -> str:
    """A criterion option as the finding it names: 'absent', 'atypical', 'present'."""
    return option_id.replace("_", " ")


def criterion_text(criterion: str, option_id: str, probability: float) -> str:
    """One 7-point criterion as its finding and that finding's probability: 'Blue-whitish veil: absent,
    99.7%'. The name comes first and the finding next to the number, so 99.7 % is read as the
    probability of the absence, never of the veil (a catalogue phrase such as 'absent blue-whitish veil'
    under a bare 'Blue-whitish veil 99.7%' read backwards)."""
    return f"{criterion}: {finding_word(option_id)}, {format_probability(probability)}"


def format_probability(p: float) -> str:
    """Whole percent, except near 0 and 100 where rounding would claim certainty the model lacks."""
    if p >= 0.9995:
        return ">99.9%"
    if p >= 0.995 or p < 0.01:
        return f"{p:.1%}"
    return f"{p:.0%}"
