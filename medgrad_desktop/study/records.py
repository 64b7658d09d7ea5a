"""One answer of one reader as the analysis and the exports see it (long format), and how answers are
scored against the truth and the AI.

Why a separate record: the analysis, the simulated readers and the exports must not depend on how the
store keeps answers, so each works on a plain list of `Response`s.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Response:
    reader: str  # the reader's code (R01...), never the name
    case_id: str  # the case's pseudonym in this study
    arm: str  # the arm's id from the study file
    shows: str  # what the arm showed: "nothing", "prediction" or "map"
    session: int  # 1-based
    position: int  # 1-based order within the session
    repeat: bool  # a second reading of a case already read in this session
    truth: str  # catalogue class id
    answer: str  # catalogue class id, or a coarse option id when the study asks the coarse question
    ai_class: str  # the frozen AI prediction for the case (kept for every arm: the analysis needs it)
    confidence: int | None  # 1-10
    trust: int | None  # 1-10, arms that show the AI only
    map_helped: int | None  # 1-5, arms that show a map only
    seconds: float  # active time on the case (paused while the window had no focus)
    ai_unlike_training: bool = False  # the frozen AI answer came with the app's out-of-distribution warning


@dataclass(frozen=True)
class Scoring:
    """How an answer is judged. `coarse` maps each coarse option id to whether it calls the lesion
    malignant (e.g. malignant -> True, excise -> True, benign -> False); empty when readers answer
    with catalogue classes. `malignant` lists the catalogue classes that are malignant."""

    malignant: frozenset[str]
    coarse: dict[str, bool]

    def truth_positive(self, truth: str) -> bool:
        return truth in self.malignant

    def answer_positive(self, answer: str) -> bool:
        return self.coarse[answer] if self.coarse else answer in self.malignant

    def is_correct(self, answer: str, truth: str) -> bool:
        """A catalogue answer is right when it names the class; a coarse one when its call (malignant or
        not) is the truth's."""
        if self.coarse:
            return self.answer_positive(answer) == self.truth_positive(truth)
        return answer == truth

    def agrees_with_ai(self, answer: str, ai_class: str) -> bool:
        if self.coarse:
            return self.answer_positive(answer) == self.truth_positive(ai_class)
        return answer == ai_class

    def ai_correct(self, ai_class: str, truth: str) -> bool:
        if self.coarse:
            return self.truth_positive(ai_class) == self.truth_positive(truth)
        return ai_class == truth
