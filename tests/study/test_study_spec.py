"""The study file: a good one loads (TOML and JSON alike), and every bad key stops it with a message
naming the file and the key."""

from __future__ import annotations

import json

import pytest

from medgrad_desktop.resources_path import resources_dir
from medgrad_desktop.study.errors import StudySpecError
from medgrad_desktop.study.spec import StudySpec, load_spec
from tests.study.conftest import BASE

DEMO_STUDY = resources_dir() / "studies" / "demo-study.toml"


def test_the_demo_study_file_loads_with_its_paths_relative_to_it():
    spec = load_spec(DEMO_STUDY)
    cases = spec.case_files()
    assert spec.id == "demo-2026" and spec.reader_codes == ["R01", "R02"]
    assert [a.id for a in spec.arms] == ["no-ai", "ai", "ai-map"] and spec.arms[2].method == "medgrad"
    assert spec.design.washout_days == 14 and spec.design.repeat_share == 0.1
    assert len(cases) == 24 and cases[0].case_id == "C-001" and cases[-1].case_id == "C-024"
    assert [c.path.name for c in cases] == sorted(c.path.name for c in cases)
    assert all(c.path.is_file() for c in cases)
    assert cases[3].truth == "melanoma"  # demo_04.png in demo_labels.csv


def test_json_and_toml_with_the_same_keys_give_the_same_spec_and_sha(tmp_path, write_study):
    from_json = load_spec(write_study())
    toml = tmp_path / "same.toml"
    toml.write_text(
        '[study]\nid = "t-study"\nname = "Test study"\nseed = 7\nreaders = ["R01", "R02"]\n'
        f"[cases]\nfolder = {json.dumps(BASE['cases']['folder'])}\ntruth = {json.dumps(BASE['cases']['truth'])}\n"
        "limit = 6\n"
        '[[arms]]\nid = "no-ai"\nshows = "nothing"\n[[arms]]\nid = "ai"\nshows = "prediction"\n'
        '[[arms]]\nid = "ai-map"\nshows = "map"\nmethod = "medgrad"\n'
        "[design]\nwashout_days = 0\nrepeat_share = 0.2\n"
    )
    from_toml = load_spec(toml)
    assert from_toml == from_json and from_toml.sha256 == from_json.sha256
    assert StudySpec.from_json(from_json.to_json()) == from_json  # what the store freezes reads back


def test_the_sha_follows_the_content():
    a = load_spec(DEMO_STUDY)
    b = StudySpec.from_json(a.to_json().replace('"washout_days":14.0', '"washout_days":15.0'))
    assert b.design.washout_days == 15 and b.sha256 != a.sha256


BAD = [
    ({"design": {"washout_days": -1}}, "[design] washout_days = -1: must be a number of days >= 0"),
    ({"design": {"washout_days": "two weeks"}}, '[design] washout_days = "two weeks": must be'),
    ({"design": {"washout_days": float("inf")}}, "[design] washout_days = Infinity: must be a number of"),
    ({"design": {"washout_days": float("nan")}}, "[design] washout_days = NaN: must be a number of days"),
    ({"design": {"washout_days": 1e9}}, "[design] washout_days = 1000000000.0: must be a number of days"),
    ({"design": {"repeat_share": 0.7}}, "[design] repeat_share = 0.7: must be a share between 0 and 0.5"),
    ({"design": {"washout_day": 3}}, "[design] washout_day: unknown key"),
    ({"extra": {}}, "[extra]: unknown table"),
    ({"study": {"id": "Demo Study"}}, '[study] id = "Demo Study": use lower-case'),
    ({"study": {"seed": "x"}}, '[study] seed = "x": must be a whole number'),
    ({"study": {"seed": True}}, "[study] seed = true: must be a whole number"),
    ({"study": {"readers": []}}, "[study] readers = []: list at least one reader"),
    ({"study": {"readers": ["R01", "r01"]}}, '[study] readers #2 = "r01": the same reader code twice'),
    ({"study": {"readers": ["R 1"]}}, '[study] readers #1 = "R 1": a code holds'),
    ({"study": {"may_go_back": "no"}}, '[study] may_go_back = "no": must be true or false'),
    ({"study": {"reader": ["R01"]}}, "[study] reader: unknown key"),
    ({"cases": {"limit": 0}}, "[cases] limit = 0: must be a whole number >= 1"),
    ({"cases": {"folder": "/no/such/folder"}}, '[cases] folder = "/no/such/folder": no such folder'),
    ({"cases": {"truth": "missing.csv"}}, '[cases] truth = "missing.csv": cannot read'),
    ({"arms": []}, "[[arms]]: list at least one arm"),
    (
        {"arms": [{"id": "a", "shows": "nothing"}, {"id": "a", "shows": "prediction"}]},
        '[[arms]] #2 id = "a": the same arm id twice',
    ),
    (
        {"arms": [{"id": "a", "shows": "video"}]},
        '[[arms]] #1 shows = "video": must be one of nothing, prediction, map',
    ),
    ({"arms": [{"id": "a", "shows": "map"}]}, "[[arms]] #1 method: missing"),
    (
        {"arms": [{"id": "a", "shows": "map", "method": "lime"}]},
        '[[arms]] #1 method = "lime": unknown method',
    ),
    (
        {"arms": [{"id": "a", "shows": "prediction", "method": "medgrad"}]},
        '[[arms]] #1 method = "medgrad": only an arm',
    ),
    ({"arms": [{"id": "a", "shows": "nothing", "colour": "red"}]}, "[[arms]] #1 colour: unknown key"),
    (
        {"questions": {"diagnosis": "free"}},
        '[questions] diagnosis = "free": must be one of catalogue, coarse',
    ),
    (
        {"questions": {"malignant": ["cancer"]}},
        '[questions] malignant = ["cancer"]: "cancer" is not a catalogue',
    ),
    ({"questions": {"confidence": "yes"}}, '[questions] confidence = "yes": must be true or false'),
    (
        {"questions": {"diagnosis": "coarse", "coarse": [{"id": "m", "label": "M", "malignant": True}]}},
        '[questions] coarse: diagnosis = "coarse" needs at least two',
    ),
    (
        {"questions": {"coarse": [{"id": "m", "label": "M", "malignant": "yes"}]}},
        '[questions] coarse #1 malignant = "yes": must be true or false',
    ),
]


@pytest.mark.parametrize(("changes", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_a_bad_key_is_named_with_the_file(write_study, changes, message):
    path = write_study(changes, name="bad-study.json")
    with pytest.raises(StudySpecError) as exc:
        load_spec(path)
    assert str(exc.value).startswith("bad-study.json: "), str(exc.value)
    assert message in str(exc.value), str(exc.value)


def test_missing_tables_and_keys_are_named(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"study": {"id": "x", "seed": 1, "readers": ["R01"]}, "arms": []}))
    with pytest.raises(StudySpecError, match=r"^s\.json: \[cases\]: missing"):
        load_spec(path)
    path.write_text(json.dumps({**BASE, "study": {"seed": 1, "readers": ["R01"]}}))
    with pytest.raises(StudySpecError, match=r"^s\.json: \[study\] id: missing"):
        load_spec(path)


def test_the_truth_csv_is_checked_row_by_row(tmp_path, write_study):
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"x")
    truth = tmp_path / "truth.csv"
    for text, message in [
        ("file,diagnosis\na.png,melanoma\n", "the header lacks column(s) label"),
        ("file,label\na.png,cancer\n", 'line 2: label "cancer" is not a catalogue class id'),
        ("file,label\na.png,melanoma\nb.png,melanoma\n", 'line 3: no file "b.png"'),
        ("file,label\na.png,melanoma\na.png,lentigo\n", 'line 3: "a.png" is listed twice'),
        ("file,label\n", "lists no case"),
    ]:
        truth.write_text(text)
        path = write_study({"cases": {"folder": "cases", "truth": "truth.csv", "limit": None}})
        with pytest.raises(StudySpecError) as exc:
            load_spec(path)
        assert '[cases] truth = "truth.csv": ' + message in str(exc.value), str(exc.value)


def test_not_toml_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[study\nid = 1")
    with pytest.raises(StudySpecError, match=r"^broken\.toml: not valid TOML"):
        load_spec(path)


def test_coarse_questions_score_by_their_call(write_study):
    coarse = [
        {"id": "malignant", "label": "Malignant", "malignant": True},
        {"id": "benign", "label": "Benign", "malignant": False},
        {"id": "excise", "label": "Excise", "malignant": True},
    ]
    spec = load_spec(write_study({"questions": {"diagnosis": "coarse", "coarse": coarse}}))
    scoring = spec.questions.scoring()
    assert spec.questions.diagnosis_options() == [
        ("malignant", "Malignant"),
        ("benign", "Benign"),
        ("excise", "Excise"),
    ]
    assert scoring.is_correct("excise", "melanoma") and not scoring.is_correct("benign", "melanoma")
    assert scoring.is_correct("benign", "common_nevus")


def test_the_demo_study_loads_wherever_the_resources_folder_lies(tmp_path):
    """In a bundle the resources sit under _MEIPASS: the study file finds its cases relative to itself."""
    import shutil

    res = tmp_path / "bundle" / "resources"
    shutil.copytree(resources_dir() / "studies", res / "studies")
    shutil.copytree(resources_dir() / "demo", res / "demo", ignore=shutil.ignore_patterns("model"))
    spec = load_spec(res / "studies" / "demo-study.toml")
    assert spec == load_spec(DEMO_STUDY) and spec.sha256 == load_spec(DEMO_STUDY).sha256
    assert all(c.path.parent == (res / "demo").resolve() for c in spec.case_files())
