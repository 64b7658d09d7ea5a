"""Text the model does not read: the words of a typed target its text tower never saw in training, and
a typed target the model does not match to the image.

A text tower trained on a narrow vocabulary still turns any text into an embedding, and the map of that
embedding can look as sharp as a real finding's ("banana" lit a focal spot on the demo model). Two
checks say when not to trust it:

- the words outside the card's record of its training words (`text_tower.training_words`, written by
  `make_demo`): "the model was never trained on: banana". A card without that record names none, since
  it cannot tell.
- the image-text score S (the cosine the map explains) below `FreeTextRule.min_score`: "the model does
  not match this text to the image"; the app draws such a map dimmed.

Both apply to free text only: a typed text that names a catalogue class or criterion is explained
through the catalogue's prompts (`core.typed_text`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from medgrad_desktop.core.card import ModelCard
from medgrad_desktop.core.typed_text import normalized

UNMATCHED_TEXT = "the model does not match this text to the image"
NEVER_TRAINED_TEXT = "the model was never trained on: {words}"


@dataclass(frozen=True)
class FreeTextRule:
    """When a free-text target's score S says the model does not match the text to the image."""

    min_score: float = 0.2
    reason: str = (
        "S is the cosine between the image and the text embedding. On the bundled demo model every demo "
        "image's own training caption scored at least 0.46 (median 0.79), while 78 % of the captions of "
        "other classes and 78 % of ten unrelated words (banana, ruler, table...) scored below 0.2 (tools/text_match_scores.py); a "
        "broadly trained CLIP scores matching texts around 0.25-0.35"
    )

    def matches(self, score: float) -> bool:
        return score >= self.min_score

    def to_dict(self) -> dict:
        return asdict(self)


FREE_TEXT_RULE = FreeTextRule()


def known_words(card: ModelCard | None) -> frozenset[str] | None:
    """Every word the card says the text tower was trained on (normalized as typed text is), or None
    when the card keeps no such record."""
    listed = card.text_tower_record.get("training_words") if card is not None else None
    if not listed:
        return None
    return frozenset(w for word in listed for w in normalized(str(word)).split())


def unknown_words(card: ModelCard | None, text: str) -> list[str]:
    """The words of `text` the model never saw in training, each once in typed order ([] when the card
    cannot tell)."""
    known = known_words(card)
    if known is None:
        return []
    return list(dict.fromkeys(w for w in normalized(text).split() if w not in known))


def never_trained_text(words: list[str]) -> str:
    return NEVER_TRAINED_TEXT.format(words=", ".join(words)) if words else ""


def free_text_warnings(
    card: ModelCard | None, text: str, score: float, rule: FreeTextRule = FREE_TEXT_RULE
) -> dict:
    """What `medgrad explain` writes beside a free-text map: the unknown words, whether the score
    passes the rule, the warnings in words, and the rule itself."""
    words = unknown_words(card, text)
    matched = rule.matches(score)
    warnings = [w for w in (never_trained_text(words), "" if matched else UNMATCHED_TEXT) if w]
    return {
        "unknown_words": words,
        "vocabulary_recorded": known_words(card) is not None,
        "matches_image": matched,
        "warnings": warnings,
        "rule": rule.to_dict(),
    }
