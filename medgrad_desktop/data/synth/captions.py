"""Captions: the diagnosis and the findings drawn, in varied wording.

Two styles, drawn per image from its seed: the MedGrad paper's (the diagnosis, then the catalogue
phrase of every 7-point criterion, absent ones included), which teaches the text tower the exact
phrases the app's prompts use; and free sentences from templates and synonyms that name what is present
(and sometimes what is absent), which teach it that different wordings mean the same finding.
"""

from __future__ import annotations

import re

import numpy as np

from medgrad_desktop.data.synth.vocabulary import (
    CLASS_PHRASES,
    CLASS_SYNONYMS,
    CRITERIA_ORDER,
    CRITERION_PHRASES,
    FINDING_PHRASES,
    HELD_OUT_PHRASES,
    STRUCTURE_PHRASES,
)

PHRASINGS = ("train", "all")
TEMPLATES = ("{dx} with {f}", "dermoscopy of a {dx} showing {f}", "{f} in a {dx}", "{dx}: {f}")
MEDGRAD_STYLE_SHARE = 0.4
ABSENT_MENTION_RATE = 0.25
_WORD = re.compile(r"[0-9a-z]+")  # as `core.typed_text.normalized` splits typed text


def caption_words(phrasing: str = "train") -> list[str]:
    """Every word a caption can hold (lower case, split at anything but letters and digits, sorted):
    the templates, every class wording, every finding wording of `phrasing`, the structure phrases and
    the "no" of an absent finding. A text tower trained from scratch on these captions knows no other
    word; its card lists them (`text_tower.training_words`) so the app can name a typed word it never saw."""
    texts = [t.format(dx="", f="") for t in TEMPLATES] + ["no"]
    texts += [*CLASS_PHRASES.values(), *(w for ws in CLASS_SYNONYMS.values() for w in ws)]
    texts += [
        *CRITERION_PHRASES.values(),
        *(w for key in FINDING_PHRASES for w in finding_phrases(key, phrasing)),
    ]
    texts += [w for ws in STRUCTURE_PHRASES.values() for w in ws]
    return sorted({w for t in texts for w in _WORD.findall(t.lower())})


def caption_for(class_id: str, criteria: dict[str, str]) -> str:
    """MedGrad-style caption: the diagnosis, then one catalogue phrase per 7-point criterion."""
    parts = [CLASS_PHRASES.get(class_id, class_id.replace("_", " "))]
    parts += [CRITERION_PHRASES[(c, criteria[c])] for c in CRITERIA_ORDER if c in criteria]
    return ", ".join(parts)


def finding_phrases(key: tuple[str, str], phrasing: str = "train") -> tuple[str, ...]:
    """Wordings of one criterion option; held-out wordings only with phrasing 'all'."""
    base = FINDING_PHRASES.get(key, (CRITERION_PHRASES[key],))
    if phrasing == "all":
        return base + tuple(p for p, k in HELD_OUT_PHRASES.items() if k == key)
    return base


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def varied_caption(
    class_id: str,
    criteria: dict[str, str],
    structures: list[str],
    rng: np.random.Generator,
    phrasing: str = "train",
) -> str:
    """One caption for an image of `class_id` showing `structures` with the given criteria."""
    if phrasing not in PHRASINGS:
        raise ValueError(f"phrasing must be one of {', '.join(PHRASINGS)}, not '{phrasing}'")
    if rng.random() < MEDGRAD_STYLE_SHARE:
        return caption_for(class_id, criteria)
    dx = str(
        rng.choice(CLASS_SYNONYMS.get(class_id, (CLASS_PHRASES.get(class_id, class_id.replace("_", " ")),)))
    )
    found: list[str] = []
    for c in CRITERIA_ORDER:
        opt = criteria.get(c)
        if opt is None:
            continue
        if (c, opt) in FINDING_PHRASES:
            found.append(str(rng.choice(finding_phrases((c, opt), phrasing))))
        elif c == "pigmentation" and opt == "absent":
            found.append(CRITERION_PHRASES[(c, opt)])
        elif rng.random() < ABSENT_MENTION_RATE:
            phrase = CRITERION_PHRASES[(c, opt)]
            found.append("no " + phrase.removeprefix("absent ") if opt == "absent" else phrase)
    for s in dict.fromkeys(structures):
        if s in STRUCTURE_PHRASES:
            found.append(str(rng.choice(STRUCTURE_PHRASES[s])))
    order = rng.permutation(len(found))
    found = [found[i] for i in order] or [
        CRITERION_PHRASES[("pigmentation", criteria.get("pigmentation", "regular"))]
    ]
    return str(rng.choice(TEMPLATES)).format(dx=dx, f=_join(found))
