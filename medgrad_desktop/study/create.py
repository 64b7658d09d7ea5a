"""Freeze a study into the project store: its file, its cases with the AI's prediction of each, and the
reading plan, all in one transaction.

Freezing is what keeps a running study honest: the plan never changes under it, every reader sees the
same AI answer for a case whatever model the app later loads, and the analysis scores the AI that was
shown. Creating the same study file again is a no-op; a different file under the same id is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medgrad_desktop.store import ProjectStore
from medgrad_desktop.store.project import now
from medgrad_desktop.store.study_tables import StudyExists, StudyRow, StudyTables
from medgrad_desktop.study.errors import StudyConflict
from medgrad_desktop.study.plan import make_plan
from medgrad_desktop.study.spec import StudySpec

if TYPE_CHECKING:
    from medgrad_desktop.core.model import ClipModel

BATCH = 8


@dataclass(frozen=True)
class StudyInfo:
    study_id: str
    created: bool  # False: the same study file was already in the store
    cases: int
    readers: int
    sessions: int
    readings: int  # plan rows: every reading of every reader, repeats included
    spec_sha256: str
    model_sha256: str


def conflict_message(spec: StudySpec, exc: StudyExists) -> str:
    return (
        f"study '{spec.id}' already exists in the store (created {exc.created}) from another study file "
        f"(SHA-256 {exc.spec_sha256[:12]}, this one {spec.sha256[:12]}); a frozen plan is never changed: "
        "give the changed study a new [study] id"
    )


def existing_info(spec: StudySpec, store: ProjectStore) -> StudyInfo | None:
    """The info of the study already created from this very file, None when there is none; a
    `StudyConflict` when the id is taken by another file (checked before the model runs)."""
    tables = StudyTables(store)
    row = tables.study(spec.id)
    if row is None:
        return None
    if row.spec_sha256 != spec.sha256:
        raise StudyConflict(conflict_message(spec, StudyExists(spec.id, row.spec_sha256, row.created)))
    return _info(spec, tables, created=False, model_sha256=row.model_sha256)


def _info(spec: StudySpec, tables: StudyTables, *, created: bool, model_sha256: str) -> StudyInfo:
    return StudyInfo(
        study_id=spec.id,
        created=created,
        cases=len(tables.cases(spec.id)),
        readers=len(spec.readers),
        sessions=len(spec.arms),
        readings=len(tables.plan(spec.id)),
        spec_sha256=spec.sha256,
        model_sha256=model_sha256,
    )


def create_study(
    spec: StudySpec,
    model: ClipModel,
    store: ProjectStore,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> StudyInfo:
    """Read the cases, freeze the model's top class, its probability and whether its out-of-distribution
    check flags the image for each (the warning the app shows beside such a prediction: `classify` runs
    the check as the app's own classifying does), make the plan and write it all. `progress(done, total)`
    is called after each batch of cases."""
    from medgrad_desktop.core.classify import classify
    from medgrad_desktop.core.imageio import load_image

    found = existing_info(spec, store)
    if found is not None:
        return found
    files = spec.case_files()
    cases: list[dict] = []
    for start in range(0, len(files), BATCH):
        chunk = files[start : start + BATCH]
        images = [load_image(f.path) for f in chunk]
        preds = classify(model, [im.rgb for im in images], batch_size=len(images))
        for f, im, pred in zip(chunk, images, preds, strict=True):
            store.record_image(im.sha256, im.path, im.size)
            cases.append(
                {
                    "case_id": f.case_id,
                    "image_sha256": im.sha256,
                    "path": str(f.path),
                    "truth": f.truth,
                    "ai_class": pred.predicted_id,
                    "ai_probability": float(pred.confidence),
                    "ai_unlike_training": int(pred.ood_flagged),
                }
            )
        if progress is not None:
            progress(len(cases), len(files))
    plan = make_plan(spec, [c["case_id"] for c in cases])
    model_sha = model.card.weights_sha256
    row = StudyRow(spec.id, spec.name, spec.to_json(), spec.sha256, model_sha, now())
    tables = StudyTables(store)
    try:
        created = tables.insert_study(
            row,
            cases,
            [a.__dict__ for a in plan],
            audit={"study": spec.id, "spec_sha256": spec.sha256, "cases": len(cases), "readings": len(plan)},
        )
    except StudyExists as exc:  # another process created it from another file meanwhile
        raise StudyConflict(conflict_message(spec, exc)) from None
    if not created:  # another process created it from this file meanwhile
        return existing_info(spec, store) or _info(spec, tables, created=False, model_sha256=model_sha)
    return _info(spec, tables, created=True, model_sha256=model_sha)
