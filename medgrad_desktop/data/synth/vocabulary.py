"""What the generator can say: the classes it draws, the 7-point criteria each structure sets, and the
phrases captions are written with."""

from __future__ import annotations

# class id -> (target structure name, criterion id, option id that the structure sets)
CLASS_STRUCTURES: dict[str, tuple[str, str, str]] = {
    "melanoma": ("blue_whitish_veil", "blue_whitish_veil", "present"),
    "lentigo": ("flat_blotch", "pigmentation", "irregular"),
    "clark_nevus": ("typical_network", "pigment_network", "typical"),
    "reed_or_spitz_nevus": ("streaks", "streaks", "regular"),
    "dermal_nevus": ("globules", "dots_and_globules", "regular"),
    "basal_cell_carcinoma": ("vessels", "vascular_structures", "regular"),  # arborizing: 7-point "regular"
}
LOW_ENTROPY_STRUCTURES = frozenset({"blue_whitish_veil", "flat_blotch"})
DECOY_TYPES = ("regression", "milia_cysts", "hypopigmentation")
# a decoy that is also a 7-point criterion shows up in the caption; the others are not criteria
DECOY_CRITERIA = {"regression": ("regression_structures", "present")}
CRITERIA_ORDER = ("pigment_network", "blue_whitish_veil", "vascular_structures", "pigmentation",
                  "streaks", "dots_and_globules", "regression_structures")
CRITERION_DEFAULTS = {"pigment_network": "absent", "blue_whitish_veil": "absent",
                      "vascular_structures": "absent", "pigmentation": "regular", "streaks": "absent",
                      "dots_and_globules": "absent", "regression_structures": "absent"}
CRITERION_PHRASES = {
    ("pigment_network", "absent"): "absent pigment network",
    ("pigment_network", "typical"): "typical pigment network",
    ("pigment_network", "atypical"): "atypical pigment network",
    ("blue_whitish_veil", "absent"): "absent blue-whitish veil",
    ("blue_whitish_veil", "present"): "blue-whitish veil",
    ("vascular_structures", "absent"): "absent vascular structures",
    ("vascular_structures", "regular"): "regular vascular structures",
    ("vascular_structures", "atypical"): "atypical vascular structures",
    ("pigmentation", "absent"): "absent pigmentation",
    ("pigmentation", "regular"): "regular pigmentation",
    ("pigmentation", "irregular"): "irregular pigmentation",
    ("streaks", "absent"): "absent streaks",
    ("streaks", "regular"): "regular streaks",
    ("streaks", "irregular"): "irregular streaks",
    ("dots_and_globules", "absent"): "absent dots and globules",
    ("dots_and_globules", "regular"): "regular dots and globules",
    ("dots_and_globules", "irregular"): "irregular dots and globules",
    ("regression_structures", "absent"): "absent regression structures",
    ("regression_structures", "present"): "regression structures",
}
CLASS_PHRASES = {"melanoma": "melanoma", "lentigo": "lentigo", "clark_nevus": "clark nevus",
                 "reed_or_spitz_nevus": "reed or spitz nevus", "dermal_nevus": "dermal nevus",
                 "basal_cell_carcinoma": "basal cell carcinoma"}


def caption_for(class_id: str, criteria: dict[str, str]) -> str:
    """MedGrad-style caption: the diagnosis, then one phrase per 7-point criterion."""
    parts = [CLASS_PHRASES.get(class_id, class_id.replace("_", " "))]
    parts += [CRITERION_PHRASES[(c, criteria[c])] for c in CRITERIA_ORDER if c in criteria]
    return ", ".join(parts)
