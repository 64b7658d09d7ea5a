"""The class catalogue and 7-point-checklist criteria, read from JSON so they stay data, not code.

A `Target` is anything a heatmap can explain: a catalogue class, one option of a criterion, or free
text a user typed. All three share one type so every explanation path treats them the same.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from medgrad_desktop.resources_path import resources_dir


@dataclass(frozen=True)
class Target:
    """One thing to explain. `prompts` are the texts whose mean normalized embedding is the target."""

    kind: str  # "class" | "criterion" | "text"
    key: str  # class id, "group:option" or the free text itself
    label: str  # what a person reads
    prompts: tuple[str, ...]

    @staticmethod
    def free_text(text: str) -> Target:
        text = text.strip()
        if not text:
            raise ValueError("a free-text target needs some text")
        return Target(kind="text", key=text, label=f'"{text}"', prompts=(text,))


@dataclass(frozen=True)
class LesionClass:
    """A diagnosis of the catalogue: its `phrase` fills the templates to make the class prompts."""

    id: str
    display_name: str
    phrase: str


@dataclass(frozen=True)
class CriterionOption:
    """One answer to a criterion; `points` are what it adds to the seven-point score."""

    id: str
    phrase: str
    points: int


@dataclass(frozen=True)
class Criterion:
    id: str
    display_name: str
    options: tuple[CriterionOption, ...]


@dataclass(frozen=True)
class Catalogue:
    name: str
    version: str
    templates: tuple[str, ...]
    classes: tuple[LesionClass, ...]
    criteria: tuple[Criterion, ...]
    seven_point_threshold: int = 3
    digest: str = field(default="", compare=False)
    data: dict = field(default_factory=dict, compare=False, repr=False)  # the JSON it was read from

    @property
    def class_ids(self) -> list[str]:
        return [c.id for c in self.classes]

    def class_target(self, class_id: str) -> Target:
        cls = next((c for c in self.classes if c.id == class_id), None)
        if cls is None:
            raise KeyError(f"unknown class '{class_id}'; known: {', '.join(self.class_ids)}")
        return Target("class", cls.id, cls.display_name, tuple(t.format(cls.phrase) for t in self.templates))

    def class_targets(self) -> list[Target]:
        return [self.class_target(c.id) for c in self.classes]

    def criterion_target(self, criterion_id: str, option_id: str) -> Target:
        crit = next((c for c in self.criteria if c.id == criterion_id), None)
        if crit is None:
            raise KeyError(f"unknown criterion '{criterion_id}'")
        opt = next((o for o in crit.options if o.id == option_id), None)
        if opt is None:
            raise KeyError(f"criterion '{criterion_id}' has no option '{option_id}'")
        prompts = tuple(t.format(opt.phrase) for t in self.templates)
        return Target("criterion", f"{crit.id}:{opt.id}", opt.phrase, prompts)

    def criterion_targets(self) -> list[Target]:
        return [self.criterion_target(c.id, o.id) for c in self.criteria for o in c.options]

    def resolve(self, spec: str) -> Target:
        """Turn what a user typed (class id, display name, 'criterion:option' or text) into a Target."""
        lowered = spec.strip().lower()
        for c in self.classes:
            if lowered in (c.id, c.display_name.lower(), c.phrase):
                return self.class_target(c.id)
        if ":" in spec:
            crit_id, _, opt_id = spec.partition(":")
            try:
                return self.criterion_target(crit_id.strip(), opt_id.strip())
            except KeyError:
                pass
        for crit in self.criteria:
            for opt in crit.options:
                if lowered == opt.phrase:
                    return self.criterion_target(crit.id, opt.id)
        return Target.free_text(spec)

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "digest": self.digest, "classes": self.class_ids}

    def subset(self, class_ids: list[str]) -> Catalogue:
        """This catalogue restricted to `class_ids` (catalogue order kept), for a model trained on some of
        the classes; the 7-point criteria are kept whole. Its `data` is what a model card embeds."""
        unknown = [c for c in class_ids if c not in self.class_ids]
        if unknown:
            raise KeyError(f"unknown class(es) {', '.join(unknown)}; known: {', '.join(self.class_ids)}")
        data = copy.deepcopy(self.data)
        keep = set(class_ids)
        data["classes"] = [c for c in data["classes"] if c["id"] in keep]
        data["name"] = f"{re.sub(r'-subset-[0-9]+$', '', data['name'])}-subset-{len(data['classes'])}"
        return catalogue_from_dict(data)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The bundled catalogue (or the JSON file at `path`); its digest is that of the file's bytes."""
    path = path or resources_dir() / "catalogue.json"
    raw = path.read_bytes()
    return _from_data(json.loads(raw), hashlib.sha256(raw).hexdigest()[:16])


def catalogue_from_dict(data: dict) -> Catalogue:
    """A catalogue embedded in a model card (for models trained on a subset of the 17 classes)."""
    return _from_data(data, hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16])


def _from_data(data: dict, digest: str) -> Catalogue:
    return Catalogue(
        name=data["name"],
        version=data["version"],
        templates=tuple(data["templates"]),
        classes=tuple(LesionClass(**c) for c in data["classes"]),
        criteria=tuple(
            Criterion(c["id"], c["display_name"], tuple(CriterionOption(**o) for o in c["options"]))
            for c in data["criteria"]
        ),
        seven_point_threshold=int(data.get("seven_point", {}).get("threshold", 3)),
        digest=digest,
        data=data,
    )
