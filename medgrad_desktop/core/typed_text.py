"""What a typed text names: a catalogue class or criterion option, matched whatever its case, hyphens and
spacing, and through the wordings the model's card says its text tower was trained on.

Why: a text tower trained on a small vocabulary reads a wording it never saw unreliably, and can read it
backwards: without the hyphens of its training wording ("blue-white veil"), a from-scratch tower reads
"blue" and "white" apart and ranks blue and white lesions above veils (the bundled demo model's AUROC for
"blue white veil" is in docs/TRAINING.md). A user who types a wording the model knows up to punctuation
gets the finding it names, and the app says which wording it took; any other text goes to the text tower
as typed. The model is not changed by this: the held-out phrase AUROC of `medgrad evaluate` still encodes
each phrase as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medgrad_desktop.core.card import ModelCard
from medgrad_desktop.core.prompts import Catalogue, Target

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalized(text: str) -> str:
    """Lower case, every run of punctuation and spacing one space: 'Blue-White  veil' -> 'blue white veil'."""
    return _NOT_ALNUM.sub(" ", text.lower()).strip()


@dataclass(frozen=True)
class TypedTarget:
    target: Target
    wording: str = ""  # the trained or catalogue wording the text was matched through, "" when exact


def trained_wordings(card: ModelCard | None) -> dict[str, tuple[str, str]]:
    """Normalized wording -> ('criterion:option', the wording as trained), from the card's
    `training_phrasings`; a wording that names two options is left out (it cannot say which one the
    user meant)."""
    listed = card.text_tower_record.get("training_phrasings") if card is not None else None
    out: dict[str, tuple[str, str]] = {}
    clashes: set[str] = set()
    for key, wordings in (listed or {}).items():
        for w in map(str, wordings):
            n = normalized(w)
            if n in out and out[n][0] != key:
                clashes.add(n)
            out.setdefault(n, (key, w))
    return {n: v for n, v in out.items() if n not in clashes}


def _catalogue_wordings(catalogue: Catalogue) -> dict[str, tuple[Target, str]]:
    """Normalized catalogue name -> (its target, the name as the catalogue writes it)."""
    out: dict[str, tuple[Target, str]] = {}
    for c in catalogue.classes:
        for w in (c.display_name, c.phrase, c.id):
            out.setdefault(normalized(w), (catalogue.class_target(c.id), w))
    for crit in catalogue.criteria:
        for o in crit.options:
            out.setdefault(normalized(o.phrase), (catalogue.criterion_target(crit.id, o.id), o.phrase))
    return out


def resolve_typed(catalogue: Catalogue, text: str, card: ModelCard | None = None) -> TypedTarget:
    """The target a typed text names. Exact catalogue names first (as `Catalogue.resolve`), then the same
    up to case and punctuation, then the card's trained wordings; otherwise the text itself."""
    target = catalogue.resolve(text)
    if target.kind != "text":
        return TypedTarget(target)
    key = normalized(text)
    if not key:
        return TypedTarget(target)
    named = _catalogue_wordings(catalogue).get(key)
    if named is not None:
        return TypedTarget(*named)
    trained = trained_wordings(card).get(key)
    if trained is None:
        return TypedTarget(target)
    option, wording = trained
    crit_id, _, opt_id = option.partition(":")
    try:
        return TypedTarget(catalogue.criterion_target(crit_id, opt_id), wording)
    except KeyError:  # the card names an option this catalogue lacks: the text goes to the tower as typed
        return TypedTarget(target)
