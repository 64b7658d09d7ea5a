"""The answer a reader is giving to the current case of a reader study, before it is committed: which
questions this case asks, which are answered, and the keys that answer them.

The questions follow the study file and the case's arm: trust in the AI only where the arm shows the
AI, "the map helped me" only where it shows a map, so a question never reveals what another arm shows.
The diagnosis options are the same list, in the same order, in every arm (the catalogue's classes or
the study's coarse options), and a type-to-filter search finds one by the start of any word of its
name. Scales are answered with one digit key, 0 standing for 10. No Qt: the form is a view of this.
"""

from __future__ import annotations

from dataclasses import dataclass

from medgrad_desktop.study.session import Answer
from medgrad_desktop.study.spec import CONFIDENCE_RANGE, MAP_HELPED_RANGE, TRUST_RANGE, Arm, Questions


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Scale:
    key: str  # the Answer field it fills
    prompt: str
    high: int  # answers run from 1 to high
    low_words: str
    high_words: str
    short: str  # its name in "Still open: ..."

    def value_of_key(self, text: str) -> int | None:
        """The value a typed digit picks: 1-9 as themselves, 0 as 10 on a 1-10 scale; None otherwise."""
        if len(text) != 1 or not text.isdigit():
            return None
        value = 10 if text == "0" else int(text)
        return value if 1 <= value <= self.high else None


CONFIDENCE = Scale(
    "confidence", "Confidence in your diagnosis", CONFIDENCE_RANGE[1], "not at all", "fully", "confidence"
)
TRUST = Scale("trust", "Trust in the AI for this case", TRUST_RANGE[1], "none", "complete", "trust")
MAP_HELPED = Scale(
    "map_helped", "The map helped me", MAP_HELPED_RANGE[1], "not at all", "very much", "the map helped me"
)


def matches(option: Option, text: str) -> bool:
    """Whether typed text finds the option: each typed word starts a word of its label (or its id), so
    "mel" finds Melanoma and Melanosis, "bl nev" Blue nevus; empty text finds all."""
    words = text.lower().replace("_", " ").split()
    if not words:
        return True
    for name in (option.label, option.id.replace("_", " ")):
        have = name.lower().replace("-", " ").replace("/", " ").split()
        if all(any(h.startswith(w) for h in have) for w in words):
            return True
    return False


class AnswerDraft:
    """What the reader has answered so far for one case, and whether it can be committed."""

    def __init__(self, questions: Questions, arm: Arm, previous: Answer | None = None):
        """`previous`: the answer already given to this case (the reader went back), filled in."""
        q = questions
        self.options = [Option(oid, label) for oid, label in q.diagnosis_options()]
        self.scales: list[Scale] = []
        if q.confidence:
            self.scales.append(CONFIDENCE)
        if q.asks_trust(arm):
            self.scales.append(TRUST)
        if q.asks_map_helped(arm):
            self.scales.append(MAP_HELPED)
        self.asks_comment = bool(q.comment)
        self.diagnosis: str | None = None
        self.values: dict[str, int | None] = {s.key: None for s in self.scales}
        self.comment = ""
        if previous is not None:
            self.diagnosis = (
                previous.diagnosis if previous.diagnosis in {o.id for o in self.options} else None
            )
            for s in self.scales:
                self.values[s.key] = getattr(previous, s.key)
            self.comment = previous.comment if self.asks_comment else ""

    def filtered(self, text: str) -> list[Option]:
        return [o for o in self.options if matches(o, text)]

    def choose(self, option_id: str) -> None:
        if option_id not in {o.id for o in self.options}:
            raise ValueError(f"not an option of this question: {option_id}")
        self.diagnosis = option_id

    def set_value(self, key: str, value: int) -> None:
        scale = next(s for s in self.scales if s.key == key)
        if not 1 <= value <= scale.high:
            raise ValueError(f"{scale.prompt}: {value} is not between 1 and {scale.high}")
        self.values[key] = value

    def missing(self) -> list[str]:
        """The questions still unanswered, in the form's order ("diagnosis" first); the comment is
        optional and never missing."""
        out = [] if self.diagnosis is not None else ["diagnosis"]
        return out + [s.key for s in self.scales if self.values[s.key] is None]

    @property
    def complete(self) -> bool:
        return not self.missing()

    def answer(self) -> Answer:
        if not self.complete:
            raise ValueError(f"unanswered: {', '.join(self.missing())}")
        return Answer(
            diagnosis=self.diagnosis,
            confidence=self.values.get("confidence"),
            trust=self.values.get("trust"),
            map_helped=self.values.get("map_helped"),
            comment=self.comment.strip() if self.asks_comment else "",
        )
