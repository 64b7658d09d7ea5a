"""The model card: which weights, which architecture, how images are prepared, what the model is for.

It travels with every result so a report can say exactly which weights produced it. On disk it sits
beside the weights as `<weights>.card.json`; that file describes the model but not the weights file
itself (path, hash, format and input size are read from the weights when they are loaded), so
`from_json` takes those as arguments. The same file carries the training record (data split, history,
configuration), kept verbatim in `record` so a card read and written again loses nothing. The
out-of-distribution check (`ood`) is likewise read from its own file beside the weights when they load
(`core.ood`), so recomputing those statistics never rewrites the card.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from medgrad_desktop.core.prediction import NO_OOD_CHECK_TEXT

UNTRAINED_WARNING = "UNTRAINED: random weights; predictions and maps are meaningless"
DEMO_WARNING = "DEMO: trained on synthetic images; demonstration only; not for clinical use"
DEFAULT_INTENDED_USE = "research use only, not for diagnosis"
RESEARCH_NOTICE = "Research use only, not for diagnosis."
DEMO_MISSING_NOTE = "bundled demo model missing: using an UNTRAINED random MedGrad-Tiny model"

# fields known only once the weights file is read; never written into the card file
FILE_FIELDS = ("weights_path", "weights_sha256", "weights_format", "input_size", "ood")
# card-file keys shown with the model in reports and provenance
EXTRA_KEYS = (
    "base_weights",
    "training_manifest_sha256",
    "split_seed",
    "metrics",
    "date",
    "app_version",
    "normalization_source",
    "notes",
)
CATALOGUE_KEY = "catalogue_data"  # the record's embedded catalogue (a model trained on a subset of classes)


class ModelLoadError(Exception):
    """One line naming the file and what was expected."""


@dataclass
class ModelCard:
    name: str
    architecture: str
    arch_config: dict
    quick_gelu: bool
    weights_path: str | None
    weights_sha256: str
    weights_format: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int
    interpolation: str = "bicubic"
    resize: str = "squash"
    temperature: float = 1.0
    untrained: bool = False
    demo: bool = False
    intended_use: str = DEFAULT_INTENDED_USE
    catalogue: dict = field(default_factory=dict)  # name, version, digest and classes of the catalogue in use
    extra: dict = field(default_factory=dict)  # the `EXTRA_KEYS` the file has
    # the rest of the card file: the embedded catalogue, classes, prompts, training configuration, history
    record: dict = field(default_factory=dict, repr=False)
    # the out-of-distribution check (`core.ood.OodCheck.describe`: method, threshold, statistics file and
    # its SHA-256), or {"reason": why there is none}; read from the statistics file, never the card file
    ood: dict = field(default_factory=dict)

    @property
    def catalogue_data(self) -> dict | None:
        """The full catalogue the model was trained with, when the card embeds one."""
        return self.record.get(CATALOGUE_KEY)

    @property
    def text_tower_record(self) -> dict:
        """The card's record of how its text tower was trained (`training_phrasings`, `held_out_phrases`...),
        or {} when the card states only a word or nothing; the phrase metrics and the free-text matching
        read their wordings from it."""
        stated = self._stated_text_tower
        return stated if isinstance(stated, dict) else {}

    @property
    def _stated_text_tower(self) -> dict | str:
        """What the card says of its text tower, a record or a word ("" when nothing)."""
        return self.extra.get("text_tower") or self.record.get("text_tower") or ""

    @property
    def short_hash(self) -> str:
        return self.weights_sha256[:12]

    def warnings(self) -> list[str]:
        out = []
        if self.untrained:
            out.append(UNTRAINED_WARNING)
        if self.demo:
            out.append(DEMO_WARNING)
        return out

    @property
    def text_tower_note(self) -> str:
        """Why typed text may mean little to this model, or '' when its text tower was trained broadly.

        A card may say so itself: `"text_tower"` is either a word ("trained" | "limited" | "untrained",
        with an optional `"text_tower_note"`) or a record of how the tower was trained (`trained`,
        `frozen`, `limitations`; a tower trained on a narrow vocabulary states its limitations).
        Otherwise an untrained model, or one trained from scratch with its text tower frozen at random
        weights, only knows the catalogue phrases it was trained against.
        """
        stated = self._stated_text_tower
        if isinstance(stated, dict):
            if not stated.get("trained", False) or stated.get("frozen", False):
                return "Text tower untrained (frozen at random init): only catalogue phrases mean something"
            limits = stated.get("limitations")
            return f"Text tower limited: {limits}" if limits else ""
        word = str(stated).lower()
        if word == "trained":
            return ""
        if word in ("limited", "untrained"):
            note = self.extra.get("text_tower_note") or self.record.get("text_tower_note")
            return str(note or f"Text tower {word}: free text may mean little to this model")
        if self.untrained:
            return "Untrained model: typed text means nothing to it"
        training = self.record.get("training_config") or {}
        if training.get("freeze_text") and training.get("random_init"):
            return "Text tower untrained (frozen at random init): only catalogue phrases mean something"
        return ""

    @property
    def ood_checked(self) -> bool:
        return bool(self.ood.get("method"))

    @property
    def ood_stats_sha256(self) -> str:
        """The statistics file's SHA-256, "" without a check: what stored predictions must match."""
        return str(self.ood.get("stats_sha256", "")) if self.ood_checked else ""

    @property
    def ood_note(self) -> str:
        """'' when the model has an out-of-distribution check, else the plain statement and why."""
        if self.ood_checked:
            return ""
        reason = self.ood.get("reason")
        return f"{NO_OOD_CHECK_TEXT} ({reason})" if reason else NO_OOD_CHECK_TEXT

    @property
    def ood_rule(self) -> str:
        """What flags an image, in a line ("layers score above 9.823, the 99th percentile of held-out
        training images"), or the plain statement that the model has no check (and why)."""
        if not self.ood_checked:
            return self.ood_note
        o = self.ood
        return (
            f"{o['method']} score above {o['threshold']:.4g}, the {o.get('percentile', 0):g}th percentile "
            "of held-out training images"
        )

    @property
    def ood_statistics(self) -> str:
        """The statistics file and its SHA-256 (shortened), "" without a check."""
        if not self.ood_checked:
            return ""
        return f"{self.ood.get('stats_file', '')}, SHA-256 {str(self.ood.get('stats_sha256', ''))[:12]}…"

    @property
    def ood_description(self) -> str:
        """The check in one line, for the model card and every report."""
        return f"{self.ood_rule}; statistics {self.ood_statistics}" if self.ood_checked else self.ood_rule

    def display_name(self) -> str:
        tag = " [UNTRAINED]" if self.untrained else " [DEMO]" if self.demo else ""
        return f"{self.name}{tag}"

    def to_dict(self) -> dict:
        """What reports and provenance show: every field but the training record, plus the warnings."""
        d = asdict(self)
        del d["record"]
        d["mean"], d["std"] = list(self.mean), list(self.std)
        d["warnings"] = self.warnings()
        return d

    def to_json(self) -> str:
        """The text of the card file written beside the weights (sorted keys, one-space indent)."""
        doc: dict[str, Any] = dict(self.record)
        doc.update(self.extra)
        for f in fields(self):
            if f.name not in (*FILE_FIELDS, "extra", "record"):
                doc[f.name] = getattr(self, f.name)
        doc["mean"], doc["std"] = list(self.mean), list(self.std)
        return json.dumps(doc, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any], **known: Any) -> ModelCard:
        """A card from its file (text or parsed). `known` gives the fields the file cannot hold
        (`FILE_FIELDS`) and the value of any field the file leaves out or sets to null; without one
        such a field takes its dataclass default.

        The mean and std are taken from the file only as a pair (half a normalization is none)."""
        doc = dict(json.loads(text) if isinstance(text, str) else text)
        names = {f.name for f in fields(cls)} - {"extra", "record", *FILE_FIELDS}
        kw = dict(known)
        for name in names:
            if doc.get(name) is not None and name not in ("mean", "std"):
                kw[name] = doc[name]
        if doc.get("mean") is not None and doc.get("std") is not None:
            kw["mean"], kw["std"] = doc["mean"], doc["std"]
        kw["extra"] = {k: v for k, v in doc.items() if k in EXTRA_KEYS}  # in the file's order
        kw["record"] = {k: v for k, v in doc.items() if k not in names and k not in EXTRA_KEYS}
        card = cls(**kw)
        card.mean, card.std = tuple(card.mean), tuple(card.std)
        card.temperature = float(card.temperature)
        card.quick_gelu, card.untrained, card.demo = (
            bool(card.quick_gelu),
            bool(card.untrained),
            bool(card.demo),
        )
        return card
