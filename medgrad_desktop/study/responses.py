"""The answers of a study as `Response` rows: the plan, the answers, the frozen cases and the study
file joined once here, so the analysis and the exports never read the store's tables."""

from __future__ import annotations

from medgrad_desktop.store import ProjectStore
from medgrad_desktop.store.study_tables import StudyTables
from medgrad_desktop.study.errors import UnknownStudy
from medgrad_desktop.study.records import Response
from medgrad_desktop.study.spec import StudySpec


def load_spec_from_store(store: ProjectStore, study_id: str) -> StudySpec:
    """The study file as frozen when the study was created."""
    row = StudyTables(store).study(study_id)
    if row is None:
        raise UnknownStudy(
            f"There is no study '{study_id}' in the project store ({store.path}); create it first with "
            "`medgrad study create STUDY-FILE`."
        )
    return StudySpec.from_json(row.spec)


def load_responses(store: ProjectStore, study_id: str) -> list[Response]:
    """Every answer given so far, in reading order (reader, session, position); unanswered plan rows are
    left out."""
    spec = load_spec_from_store(store, study_id)
    tables = StudyTables(store)
    cases = tables.cases(study_id)
    answers = {(a["reader"], a["session"], a["position"]): a for a in tables.answers(study_id)}
    out: list[Response] = []
    for p in tables.plan(study_id):
        a = answers.get((p["reader"], p["session"], p["position"]))
        if a is None:
            continue
        case = cases[p["case_id"]]
        out.append(
            Response(
                reader=p["reader"],
                case_id=p["case_id"],
                arm=p["arm"],
                shows=spec.arm(p["arm"]).shows,
                session=p["session"],
                position=p["position"],
                repeat=p["repeat"],
                truth=case["truth"],
                answer=a["answer"],
                ai_class=case["ai_class"],
                confidence=a["confidence"],
                trust=a["trust"],
                map_helped=a["map_helped"],
                seconds=float(a["seconds"]),
                ai_unlike_training=bool(case["ai_unlike_training"]),
            )
        )
    return out
