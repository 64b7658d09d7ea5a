"""`medgrad study validate|create|status|export` end to end on the demo study with the bundled demo
model, in a store of the test's own (`--store`)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from medgrad_desktop.cli import main
from medgrad_desktop.resources_path import demo_dir, resources_dir
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.study.session import Answer, ReadingSession, when_text

DEMO_STUDY = resources_dir() / "studies" / "demo-study.toml"


@pytest.fixture(scope="module")
def created_once(tmp_path_factory):
    """The demo study created once by the command (the demo model reads the 24 images)."""
    store = tmp_path_factory.mktemp("study-cli") / "store.sqlite3"
    code = main(["study", "create", str(DEMO_STUDY), "--store", str(store), "--device", "cpu"])
    assert code == 0
    ProjectStore.close_all()  # checkpoints the WAL, so the file alone holds the study
    return store


@pytest.fixture
def created(created_once, tmp_path):
    """A copy of the created store for each test: no test sees another's answers, whatever the order."""
    copy = tmp_path / "store.sqlite3"
    for tail in ("", "-wal"):  # a connection the command left open may still hold the study in its WAL
        if Path(f"{created_once}{tail}").exists():
            shutil.copyfile(f"{created_once}{tail}", f"{copy}{tail}")
    yield copy
    ProjectStore.close_all()


def test_validate_describes_the_demo_study(capsys):
    assert main(["study", "validate", str(DEMO_STUDY)]) == 0
    out = capsys.readouterr().out
    assert "demo-study.toml: valid. Study 'demo-2026'" in out and "24 cases, 2 reader(s)" in out
    assert main(["study", "validate", str(DEMO_STUDY), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["readings"] == 2 * 3 * (24 + 2) and summary["arms"] == ["no-ai", "ai", "ai-map"]


def test_validate_names_the_bad_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(DEMO_STUDY.read_text().replace("washout_days = 14", "washout_days = -1"))
    assert main(["study", "validate", str(bad)]) == 2
    assert (
        "error: bad.toml: [design] washout_days = -1: must be a number of days >= 0"
        in capsys.readouterr().err
    )


def test_create_freezes_the_study_once(created, capsys):
    store = ProjectStore(created)
    from medgrad_desktop.store.study_tables import StudyTables

    tables = StudyTables(store)
    assert tables.study_ids() == ["demo-2026"]
    cases = tables.cases("demo-2026")
    assert len(cases) == 24 and cases["C-004"]["truth"] == "melanoma"
    assert cases["C-004"]["path"] == str((demo_dir() / "demo_04.png").resolve())
    assert len(tables.plan("demo-2026")) == 156
    store.close()
    assert main(["study", "create", str(DEMO_STUDY), "--store", str(created)]) == 0
    assert "already created from this study file" in capsys.readouterr().out


def test_create_refuses_another_file_under_the_same_id(created, tmp_path, capsys):
    changed = tmp_path / "changed.toml"
    text = DEMO_STUDY.read_text().replace("washout_days = 14", "washout_days = 7")
    changed.write_text(text.replace('"../demo', f'"{demo_dir().parent}/demo'))
    assert main(["study", "create", str(changed), "--store", str(created)]) == 2
    err = capsys.readouterr().err
    assert "study 'demo-2026' already exists" in err and "give the changed study a new [study] id" in err


def test_status_and_export_follow_the_answers(created, tmp_path, capsys):
    store = ProjectStore.shared(created)
    session = ReadingSession.open(store, "demo-2026", "R02")
    for _ in range(5):
        view = session.current()
        session.answer(
            Answer("melanoma", 8, 6 if view.arm.shows_ai else None, 4 if view.arm.shows_map else None), 2.0
        )
    assert main(["study", "status", str(DEMO_STUDY), "--store", str(created), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    r01, r02 = status["readers"]
    assert r01["sessions"][0]["answered"] == 0 and r01["next_session_opens"] == "now"
    assert r02["sessions"][0] | {"started": None} == {
        "session": 1,
        "arm": view.arm.id,
        "answered": 5,
        "planned": 26,
        "started": None,
        "finished": None,
    }
    assert main(["study", "status", "demo-2026", "--store", str(created)]) == 0  # by id too
    assert "R02: session 1 [" in capsys.readouterr().out

    out = tmp_path / "export"
    assert main(["study", "export", "demo-2026", "--store", str(created), "--out", str(out)]) == 0
    assert "wrote 5 answer(s)" in capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO((out / "demo-2026-long.csv").read_text())))
    assert len(rows) == 5 and {r["reader"] for r in rows} == {"R02"}
    assert main(["study", "export", "demo-2026", "--store", str(created), "--out", str(out)]) == 3
    assert "--force" in capsys.readouterr().err


def test_an_unknown_study_is_an_error(created, capsys):
    assert main(["study", "status", "no-such-study", "--store", str(created)]) == 2
    assert "no study 'no-such-study'" in capsys.readouterr().err


def test_analyze_writes_the_analysis_and_the_report(created, tmp_path, capsys):
    store = ProjectStore.shared(created)
    for reader in ("R01", "R02"):
        session = ReadingSession.open(store, "demo-2026", reader)
        k = 0
        while (view := session.current()) is not None:
            k += 1
            session.answer(
                Answer(
                    ("melanoma", "common_nevus", "basal_cell_carcinoma")[k % 3],
                    1 + k % 10,
                    6 if view.arm.shows_ai else None,
                    4 if view.arm.shows_map else None,
                ),
                1.0 + k,
            )
    out = tmp_path / "analysis"
    args = ["study", "analyze", "demo-2026", "--store", str(created), "--out", str(out)]
    assert main([*args, "--format", "html", "--n-boot", "50"]) == 0
    assert "demo-2026-report.html" in capsys.readouterr().out
    analysis = json.loads((out / "demo-2026-analysis.json").read_text())
    assert analysis and (out / "demo-2026-report.html").stat().st_size > 0
    assert main(["study", "status", "demo-2026", "--store", str(created), "--json"]) == 0
    for reader in json.loads(capsys.readouterr().out)["readers"]:
        finished = datetime.fromisoformat(reader["sessions"][0]["finished"])
        opens = datetime.fromisoformat(reader["next_session_opens"])  # ISO 8601 in UTC
        assert opens == finished + timedelta(days=14) and opens.utcoffset() == timedelta(0)
    assert main(["study", "status", "demo-2026", "--store", str(created)]) == 0
    text = capsys.readouterr().out  # the terminal's local time, naming its zone, as the app writes it
    assert f"next opens {when_text(opens)}" in text and "(UTC" in text


@pytest.mark.parametrize("n_boot", ["0", "-5", "many"])
def test_analyze_refuses_a_bootstrap_without_resamples(tmp_path, capsys, n_boot):
    """Usage error (exit 2, naming the option), not a traceback from the resampling."""
    args = ["study", "analyze", "s", "--store", str(tmp_path / "s.sqlite3"), "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--n-boot", n_boot])
    assert exc.value.code == 2 and "--n-boot" in capsys.readouterr().err


def test_analyze_into_a_folder_it_cannot_make_is_an_error_naming_it(make_study, tmp_path, capsys):
    store, spec = make_study()
    session = ReadingSession.open(store, spec.id, "R01")
    view = session.current()
    session.answer(
        Answer("melanoma", 5, 5 if view.arm.shows_ai else None, 3 if view.arm.shows_map else None), 2.0
    )
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    args = ["study", "analyze", spec.id, "--store", str(store.path), "--out", str(blocker), "--n-boot", "20"]
    assert main(args) == 2
    assert f"cannot write into {blocker}" in capsys.readouterr().err
