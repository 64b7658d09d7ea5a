"""The app's out-of-distribution warning travels with the AI's frozen answer: `create` freezes the flag of
each case as the app's classifying computes it (the bundled demo model, which ships with its statistics,
flags a noise image and not the bundled synthetic images), the AI arms' cases carry it, the no-AI arm's
carry no AI at all, and the long CSV has it on every reading so an analysis can stratify by it."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import cv2
import pytest

from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.imageio import load_image
from medgrad_desktop.data.non_dermoscopy import draw
from medgrad_desktop.resources_path import demo_dir
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.store.study_tables import StudyTables
from medgrad_desktop.study.create import create_study
from medgrad_desktop.study.export import long_csv
from medgrad_desktop.study.responses import load_responses
from medgrad_desktop.study.session import Answer, ReadingSession
from medgrad_desktop.study.spec import load_spec

NOISE = "demo_02.png"  # a noise picture under a demo image's name: the case between two synthetic ones


@pytest.fixture(scope="module")
def demo_model():
    from medgrad_desktop.core.model import load_model

    clip = load_model(None, device="cpu")
    assert clip.ood is not None, "the demo model ships with its out-of-distribution statistics"
    return clip


@pytest.fixture
def cases(tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    for name in ("demo_01.png", "demo_03.png"):
        shutil.copy(demo_dir() / name, folder / name)
    cv2.imwrite(str(folder / NOISE), draw("noise", 77, 0)[..., ::-1])
    (folder / "truth.csv").write_text(
        "file,label\ndemo_01.png,melanoma\ndemo_02.png,melanoma\ndemo_03.png,lentigo\n"
    )
    return folder


def test_create_freezes_the_flag_and_the_ai_arms_and_the_long_csv_carry_it(
    tmp_path, write_study, cases, demo_model
):
    spec = load_spec(write_study({"cases": {"folder": str(cases), "truth": str(cases / "truth.csv")}}))
    store = ProjectStore(tmp_path / "store.sqlite3")
    create_study(spec, demo_model, store)
    frozen = StudyTables(store).cases(spec.id)
    flags = {Path(row["path"]).name: row["ai_unlike_training"] for row in frozen.values()}
    assert flags == {"demo_01.png": 0, NOISE: 1, "demo_03.png": 0}
    app = {
        p.name: classify(demo_model, [load_image(p).rgb])[0].ood_flagged for p in sorted(cases.glob("*.png"))
    }
    assert {name: bool(flag) for name, flag in flags.items()} == app  # what the app's window would show

    shown = {"nothing": set(), "prediction": set(), "map": set()}
    for reader in spec.reader_codes:
        for _ in spec.arms:
            session = ReadingSession.open(store, spec.id, reader)
            while (view := session.current()) is not None:
                if view.ai is None:
                    assert view.arm.shows == "nothing"
                else:
                    assert view.ai.unlike_training == bool(frozen[view.case_id]["ai_unlike_training"])
                    shown[view.arm.shows].add(view.ai.unlike_training)
                session.answer(
                    Answer(
                        "melanoma",
                        5,
                        5 if view.arm.shows_ai else None,
                        3 if view.arm.shows_map else None,
                    ),
                    1.0,
                )
    assert shown["prediction"] == shown["map"] == {True, False}

    rows = list(csv.DictReader(io.StringIO(long_csv(load_responses(store, spec.id), spec))))
    assert {r["arm"] for r in rows} == {"no-ai", "ai", "ai-map"}
    noise_case = next(c for c, row in frozen.items() if row["ai_unlike_training"])
    assert all(r["ai_unlike_training"] == ("1" if r["case"] == noise_case else "0") for r in rows)
    assert any(r["ai_unlike_training"] == "1" and r["arm"] == "no-ai" for r in rows)  # every arm: strata
