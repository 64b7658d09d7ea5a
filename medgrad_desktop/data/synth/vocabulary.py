"""What the generator can say: the classes it draws and from what, the 7-point criteria each structure
sets, and the phrases captions are written with (templates and synonyms, some held out of training).

Sources of the descriptions (docs/training/generator-classes.md has the table): Argenziano et al.,
"Epiluminescence microscopy for the diagnosis of doubtful melanocytic skin lesions" (Arch Dermatol
1998) for the 7-point criteria; Kawahara et al., "Seven-point checklist and skin lesion classification
using multitask multimodal neural nets" (IEEE JBHI 2019, the Derm7pt data) for the mapping of vessel
types to the criterion options; the dermoscopy hallmarks of each diagnosis as summarised in Marghoob, Braun &
Malvehy, "Atlas of Dermoscopy" (2nd ed., 2012).
"""

from __future__ import annotations

from dataclasses import dataclass

from medgrad_desktop.data.records import SEVEN_POINT_CRITERIA

CRITERIA_ORDER = SEVEN_POINT_CRITERIA
CRITERION_DEFAULTS = {
    "pigment_network": "absent",
    "blue_whitish_veil": "absent",
    "vascular_structures": "absent",
    "pigmentation": "regular",
    "streaks": "absent",
    "dots_and_globules": "absent",
    "regression_structures": "absent",
}
# the catalogue's own phrase of every option (resources/catalogue.json): what the app's prompts say
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

# structure -> the 7-point option it sets when drawn; structures not listed set no criterion
STRUCTURE_CRITERIA: dict[str, tuple[str, str]] = {
    "typical_network": ("pigment_network", "typical"),
    "peripheral_network": ("pigment_network", "typical"),
    "atypical_network": ("pigment_network", "atypical"),
    "blue_whitish_veil": ("blue_whitish_veil", "present"),
    "vessels": ("vascular_structures", "regular"),  # arborizing: "regular" in Derm7pt's 7-point mapping
    "comma_vessels": ("vascular_structures", "regular"),
    "dotted_vessels": ("vascular_structures", "atypical"),
    "flat_blotch": ("pigmentation", "irregular"),
    "scar_with_pigment": ("pigmentation", "irregular"),
    "streaks": ("streaks", "regular"),
    "starburst": ("streaks", "regular"),
    "irregular_streaks": ("streaks", "irregular"),
    "globules": ("dots_and_globules", "regular"),
    "cobblestone": ("dots_and_globules", "regular"),
    "irregular_globules": ("dots_and_globules", "irregular"),
    "regression": ("regression_structures", "present"),
}
LOW_ENTROPY_STRUCTURES = frozenset(
    {
        "blue_whitish_veil",
        "flat_blotch",
        "homogeneous_blue",
        "central_homogeneous",
        "blue_area",
        "central_white_patch",
    }
)
DECOY_TYPES = ("regression", "milia_cysts", "hypopigmentation")


@dataclass(frozen=True)
class ClassRecipe:
    """How one class is drawn: the body's colour style, the label-defining (target) structure, structures
    always drawn beside it, one more drawn from `one_of` (seeded), and the border irregularity."""

    phrase: str
    body: str
    target: str
    extras: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()
    irregularity: float | None = None  # None: the config's
    hallmark: str = ""  # what the drawing shows, in words (the docs table)


CLASS_RECIPES: dict[str, ClassRecipe] = {
    "melanoma": ClassRecipe(
        "melanoma",
        "dark",
        "blue_whitish_veil",
        ("atypical_network",),
        ("irregular_streaks", "irregular_globules", "flat_blotch", "dotted_vessels"),
        0.22,
        "several criteria at once: blue-whitish veil and atypical network plus one of irregular "
        "streaks, irregular dots/globules, an irregular blotch or dotted vessels; asymmetric "
        "border, dark body",
    ),
    "lentigo": ClassRecipe(
        "lentigo",
        "brown",
        "flat_blotch",
        hallmark="brown macule with a dark structureless blotch (irregular pigmentation)",
    ),
    "clark_nevus": ClassRecipe(
        "clark nevus",
        "brown",
        "typical_network",
        hallmark="typical pigment network in part of a brown lesion",
    ),
    "reed_or_spitz_nevus": ClassRecipe(
        "reed or spitz nevus",
        "dark",
        "starburst",
        irregularity=0.05,
        hallmark="starburst: regular streaks all around a dark, round lesion",
    ),
    "dermal_nevus": ClassRecipe(
        "dermal nevus", "pale", "comma_vessels", hallmark="skin-coloured lesion with comma vessels"
    ),
    "basal_cell_carcinoma": ClassRecipe(
        "basal cell carcinoma",
        "pink",
        "vessels",
        (),
        ("blue_grey_nests", "leaf_like_areas"),
        hallmark="pink, non-pigmented body with arborizing vessels and blue-grey "
        "ovoid nests or leaf-like areas",
    ),
    "blue_nevus": ClassRecipe(
        "blue nevus", "blue", "homogeneous_blue", hallmark="homogeneous steel blue-grey, structureless"
    ),
    "combined_nevus": ClassRecipe(
        "combined nevus", "brown", "blue_area", hallmark="a homogeneous blue-grey half beside a brown half"
    ),
    "congenital_nevus": ClassRecipe(
        "congenital nevus",
        "brown",
        "cobblestone",
        hallmark="globules packed over the lesion: cobblestone pattern",
    ),
    "dermatofibroma": ClassRecipe(
        "dermatofibroma",
        "tan",
        "central_white_patch",
        ("peripheral_network",),
        hallmark="central white scar-like patch with a delicate peripheral network",
    ),
    "melanosis": ClassRecipe(
        "melanosis",
        "tan",
        "parallel_lines",
        hallmark="light brown, fine parallel/ring-like lines over the whole lesion",
    ),
    "miscellaneous": ClassRecipe(
        "miscellaneous",
        "brown",
        "keratin_scale",
        hallmark="brown lesion with rough white-yellow scale (the data's mixed bag, "
        "drawn as one pattern the other classes do not share)",
    ),
    "recurrent_nevus": ClassRecipe(
        "recurrent nevus",
        "brown",
        "scar_with_pigment",
        hallmark="white linear scar crossing the lesion with irregular pigment along it",
    ),
    "seborrheic_keratosis": ClassRecipe(
        "seborrheic keratosis",
        "tan",
        "comedo_like_openings",
        ("milia_like_cysts",),
        hallmark="milia-like cysts and comedo-like openings over a tan body",
    ),
    "vascular_lesion": ClassRecipe(
        "vascular lesion", "red", "lacunae", hallmark="red-purple lacunae separated by paler septa"
    ),
    "common_nevus": ClassRecipe(
        "common nevus",
        "tan",
        "central_homogeneous",
        irregularity=0.04,
        hallmark="small, round, symmetric; even brown centre, no other structure",
    ),
    "atypical_nevus": ClassRecipe(
        "atypical nevus",
        "brown",
        "atypical_network",
        irregularity=0.16,
        hallmark="atypical (thick, broken, uneven) pigment network",
    ),
}
ALL_CLASSES = tuple(CLASS_RECIPES)
# the 6 classes of generator 1.x, kept for benchmarks that quote them
LEGACY_CLASSES = (
    "melanoma",
    "lentigo",
    "clark_nevus",
    "reed_or_spitz_nevus",
    "dermal_nevus",
    "basal_cell_carcinoma",
)
# class id -> (target structure, criterion id, option id the target sets; None where it sets none)
CLASS_STRUCTURES: dict[str, tuple[str, str | None, str | None]] = {
    cid: (r.target, *STRUCTURE_CRITERIA.get(r.target, (None, None))) for cid, r in CLASS_RECIPES.items()
}

# Phrasings. Each finding has synonyms; those marked held out never appear in a training caption (the
# default `phrasing="train"`), so the phrase AUROC on them measures whether the text tower generalises
# to new wordings. Held-out phrases only recombine words that training captions use: a text tower
# trained from scratch cannot know a word it never saw.
FINDING_PHRASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("blue_whitish_veil", "present"): (
        "blue-whitish veil",
        "blue-white veil",
        "bluish-white veil",
        "whitish-blue veil",
        "blue-white structureless zone",
    ),
    ("pigment_network", "typical"): (
        "typical pigment network",
        "regular pigment network",
        "regular reticular pattern",
        "fine regular network",
    ),
    ("pigment_network", "atypical"): (
        "atypical pigment network",
        "irregular pigment network",
        "thick irregular network",
        "broadened network",
    ),
    ("vascular_structures", "regular"): (
        "regular vascular structures",
        "regular vessels",
        "regular blood vessels",
    ),
    ("vascular_structures", "atypical"): (
        "atypical vascular structures",
        "irregular vessels",
        "dotted vessels",
        "irregular vascular structures",
    ),
    ("pigmentation", "irregular"): (
        "irregular pigmentation",
        "irregular blotch",
        "dark blotch",
        "uneven pigmentation",
    ),
    ("streaks", "regular"): ("regular streaks", "symmetric radial streaks", "regular radial streaming"),
    ("streaks", "irregular"): ("irregular streaks", "irregular radial streaming", "uneven streaks"),
    ("dots_and_globules", "regular"): ("regular dots and globules", "regular globules", "uniform globules"),
    ("dots_and_globules", "irregular"): (
        "irregular dots and globules",
        "irregular globules",
        "uneven globules",
        "scattered dots of uneven size",
    ),
    ("regression_structures", "present"): (
        "regression structures",
        "white scar-like area with peppering",
        "regression",
        "peppering",
    ),
}
HELD_OUT_PHRASES: dict[str, tuple[str, str]] = {
    "bluish-white structureless area": ("blue_whitish_veil", "present"),
    "blue white veil": ("blue_whitish_veil", "present"),
    "regular network": ("pigment_network", "typical"),
    "atypical network": ("pigment_network", "atypical"),
    "irregular reticular pattern": ("pigment_network", "atypical"),
    "regular vascular pattern": ("vascular_structures", "regular"),
    "atypical vessels": ("vascular_structures", "atypical"),
    "uneven dark blotch": ("pigmentation", "irregular"),
    "regular radial streaks": ("streaks", "regular"),
    "irregular radial streaks": ("streaks", "irregular"),
    "uniform dots and globules": ("dots_and_globules", "regular"),
    "uneven dots and globules": ("dots_and_globules", "irregular"),
    "regression with peppering": ("regression_structures", "present"),
}
# structures that are hallmarks of a class but no 7-point criterion: named in captions all the same
STRUCTURE_PHRASES: dict[str, tuple[str, ...]] = {
    "starburst": ("starburst pattern",),
    "cobblestone": ("cobblestone pattern",),
    "vessels": ("arborizing vessels", "branching vessels"),
    "comma_vessels": ("comma vessels",),
    "lacunae": ("red-purple lacunae", "red lacunae"),
    "blue_grey_nests": ("blue-grey ovoid nests", "blue-gray ovoid nests"),
    "leaf_like_areas": ("leaf-like areas",),
    "milia_like_cysts": ("milia-like cysts", "white milia-like cysts"),
    "comedo_like_openings": ("comedo-like openings", "dark comedo-like openings"),
    "central_white_patch": ("central white patch", "central scar-like white patch"),
    "scar_with_pigment": ("scar with pigment", "white scar with irregular pigment"),
    "blue_area": ("blue area beside a brown area", "blue and brown parts"),
    "homogeneous_blue": ("homogeneous blue-grey pigmentation", "steel-blue homogeneous pattern"),
    "central_homogeneous": ("homogeneous brown centre", "uniform brown centre"),
    "parallel_lines": ("fine parallel lines", "parallel pattern"),
    "keratin_scale": ("white-yellow scale", "keratin crust"),
    "peripheral_network": ("delicate peripheral network",),
    "milia_cysts": ("milia-like cysts",),
    "hypopigmentation": ("hypopigmented area",),
}
CLASS_SYNONYMS: dict[str, tuple[str, ...]] = {
    "melanoma": ("melanoma", "malignant melanoma"),
    "basal_cell_carcinoma": ("basal cell carcinoma", "bcc"),
    "seborrheic_keratosis": ("seborrheic keratosis", "seborrhoeic keratosis"),
    "reed_or_spitz_nevus": ("reed or spitz nevus", "spitz nevus", "reed nevus"),
    "dermal_nevus": ("dermal nevus", "intradermal nevus"),
    "vascular_lesion": ("vascular lesion", "hemangioma"),
    "clark_nevus": ("clark nevus", "clark's nevus"),
    "congenital_nevus": ("congenital nevus", "congenital naevus"),
    "common_nevus": ("common nevus", "common naevus"),
    "atypical_nevus": ("atypical nevus", "dysplastic nevus"),
    "blue_nevus": ("blue nevus", "blue naevus"),
}
CLASS_PHRASES = {cid: r.phrase for cid, r in CLASS_RECIPES.items()}
