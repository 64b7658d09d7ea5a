"""MedGrad-style captions from 7-point-checklist criteria (ALGORITHM.md section 6).

A caption joins the diagnosis phrase with one phrase per criterion in catalogue order, e.g.
`clark nevus, typical pigment network, absent blue-whitish veil, ..., absent regression structures`.
The phrases come from the catalogue, so captions and prompts always use the same words.
"""

from __future__ import annotations

from medgrad_desktop.core.prompts import Catalogue, load_catalogue


def caption_from_criteria(class_id: str, criteria: dict[str, str], catalogue: Catalogue | None = None) -> str:
    cat = catalogue or load_catalogue()
    cls = next((c for c in cat.classes if c.id == class_id), None)
    parts = [cls.phrase if cls else class_id.replace("_", " ")]
    for crit in cat.criteria:
        opt_id = criteria.get(crit.id)
        if opt_id is None:
            continue
        opt = next((o for o in crit.options if o.id == opt_id), None)
        if opt is None:
            raise KeyError(
                f"criterion '{crit.id}' has no option '{opt_id}'; "
                f"known: {', '.join(o.id for o in crit.options)}"
            )
        parts.append(opt.phrase)
    return ", ".join(parts)


def resolve_class(name: str, catalogue: Catalogue | None = None) -> str | None:
    """A catalogue class id from an id, display name or phrase (case-insensitive), else None."""
    cat = catalogue or load_catalogue()
    key = name.strip().lower().replace("-", " ")
    for c in cat.classes:
        if key in (c.id, c.id.replace("_", " "), c.display_name.lower(), c.phrase.lower()):
            return c.id
    return None
