"""Typed text names a catalogue entry whatever its case and punctuation, and a criterion through the wordings
the model's card says it was trained on; anything else stays free text."""

from __future__ import annotations

import copy

import pytest

from medgrad_desktop.core.prompts import load_catalogue
from medgrad_desktop.core.typed_text import normalized, resolve_typed, trained_wordings

PHRASINGS = {
    "blue_whitish_veil:present": ["blue-whitish veil", "blue-white veil", "bluish-white veil"],
    "pigment_network:typical": ["regular pigment network", "fine regular network"],
    "pigment_network:atypical": ["irregular pigment network", "network"],
    "streaks:regular": ["network"],  # names two options: never matched
}


@pytest.fixture
def card(tiny_model):
    c = copy.deepcopy(tiny_model.card)
    c.record = {**c.record, "text_tower": {"trained": True, "training_phrasings": PHRASINGS}}
    return c


def test_normalized_ignores_case_punctuation_and_spacing():
    assert normalized("  Blue-White   VEIL ") == "blue white veil" == normalized("blue_white, veil!")
    assert normalized("---") == ""


def test_a_trained_wording_up_to_punctuation_names_its_criterion(card):
    cat = load_catalogue()
    typed = resolve_typed(cat, "Blue White veil", card)
    assert typed.target.kind == "criterion" and typed.target.key == "blue_whitish_veil:present"
    assert typed.wording == "blue-white veil"
    assert resolve_typed(cat, "fine regular-network", card).target.key == "pigment_network:typical"


def test_exact_catalogue_names_need_no_wording_and_punctuation_is_forgiven(card):
    cat = load_catalogue()
    exact = resolve_typed(cat, "blue-whitish veil", card)
    assert exact.target.key == "blue_whitish_veil:present" and exact.wording == ""
    loose = resolve_typed(cat, "Blue whitish  veil", None)  # no card: the catalogue's own phrase, loosely
    assert loose.target.key == "blue_whitish_veil:present" and loose.wording == "blue-whitish veil"
    assert resolve_typed(cat, "basal-cell carcinoma", None).target.key == "basal_cell_carcinoma"


def test_ambiguous_unknown_and_other_text_stays_free_text(card):
    cat = load_catalogue()
    assert "network" not in trained_wordings(card)  # it names two options
    for text in ("network", "blue white veil with a duck", "!!!"):
        typed = resolve_typed(cat, text, card)
        assert typed.target.kind == "text" and typed.wording == ""
    assert resolve_typed(cat, "blue white veil", None).target.kind == "text"  # no card, no trained wordings
    odd = copy.deepcopy(card)
    odd.record["text_tower"]["training_phrasings"] = {"no_such_criterion:present": ["blue white veil"]}
    assert resolve_typed(cat, "blue white veil", odd).target.kind == "text"
