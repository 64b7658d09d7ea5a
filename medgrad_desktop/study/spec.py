"""The study file: which cases, which readers, which arms, the design and the questions.

A study file is TOML (or JSON with the same keys). Every key is checked and a wrong one stops the study
before anything is written, with a message naming the file, the table and the key and saying what to
write instead (`study.toml: [design] washout_days = -1: must be a number of days >= 0`); an unknown key is
an error too, since a misspelt `washout_day` silently left at its default would change the study. Paths
are relative to the study file, so a study folder can be moved or shared whole.

`StudySpec.to_json()` is the canonical form frozen into the store with the plan, and its SHA-256 tells a
second `create` of the same study (a no-op) from a different file under the same id (refused).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from medgrad_desktop.core.method_params import METHODS
from medgrad_desktop.core.prompts import load_catalogue
from medgrad_desktop.study.errors import StudySpecError
from medgrad_desktop.study.records import Scoring

SHOWS = ("nothing", "prediction", "map")
DIAGNOSIS = ("catalogue", "coarse")
DEFAULT_MALIGNANT = ("melanoma", "basal_cell_carcinoma")
CONFIDENCE_RANGE = (1, 10)
TRUST_RANGE = (1, 10)
MAP_HELPED_RANGE = (1, 5)
MAX_WASHOUT_DAYS = 3650
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_TABLES = {
    "study": ("id", "name", "seed", "readers", "names_in_export", "may_go_back"),
    "cases": ("folder", "truth", "limit"),
    "arms": ("id", "shows", "method"),
    "design": ("washout_days", "repeat_share"),
    "questions": ("diagnosis", "coarse", "malignant", "confidence", "trust", "map_helped", "comment"),
}


@dataclass(frozen=True)
class Reader:
    code: str  # what exports and analyses carry
    name: str = ""  # shown only where the study allows names (names_in_export)


@dataclass(frozen=True)
class CaseFile:
    case_id: str  # pseudonym C-001... in the sorted order of the file names
    path: Path
    truth: str  # catalogue class id


@dataclass(frozen=True)
class Cases:
    folder: str  # as written in the study file (relative to it)
    truth: str
    limit: int | None = None
    base: Path | None = field(default=None, compare=False)  # the study file's folder; None from the store

    def _resolve(self, text: str) -> Path:
        p = Path(text).expanduser()
        return p if p.is_absolute() or self.base is None else (self.base / p).resolve()

    @property
    def folder_path(self) -> Path:
        return self._resolve(self.folder)

    @property
    def truth_path(self) -> Path:
        return self._resolve(self.truth)


@dataclass(frozen=True)
class Arm:
    id: str
    shows: str  # "nothing" | "prediction" | "map"
    method: str | None = None  # the map's method when shows == "map"

    @property
    def shows_ai(self) -> bool:
        return self.shows != "nothing"

    @property
    def shows_map(self) -> bool:
        return self.shows == "map"


@dataclass(frozen=True)
class Design:
    washout_days: float = 0.0
    repeat_share: float = 0.0


@dataclass(frozen=True)
class CoarseOption:
    id: str
    label: str
    malignant: bool


@dataclass(frozen=True)
class Questions:
    diagnosis: str = "catalogue"
    coarse: tuple[CoarseOption, ...] = ()
    malignant: tuple[str, ...] = DEFAULT_MALIGNANT
    confidence: bool = True
    trust: bool = True
    map_helped: bool = True
    comment: bool = True

    def scoring(self) -> Scoring:
        coarse = {o.id: o.malignant for o in self.coarse} if self.diagnosis == "coarse" else {}
        return Scoring(malignant=frozenset(self.malignant), coarse=coarse)

    def diagnosis_options(self) -> list[tuple[str, str]]:
        """(answer id, label) of every diagnosis a reader may give, in the order to offer them."""
        if self.diagnosis == "coarse":
            return [(o.id, o.label) for o in self.coarse]
        return [(c.id, c.display_name) for c in load_catalogue().classes]

    def asks_trust(self, arm: Arm) -> bool:
        return self.trust and arm.shows_ai

    def asks_map_helped(self, arm: Arm) -> bool:
        return self.map_helped and arm.shows_map


@dataclass(frozen=True)
class StudySpec:
    id: str
    name: str
    seed: int
    readers: tuple[Reader, ...]
    cases: Cases
    arms: tuple[Arm, ...]
    design: Design = Design()
    questions: Questions = Questions()
    names_in_export: bool = False
    may_go_back: bool = False
    source: Path | None = field(default=None, compare=False)  # the file it was read from

    @property
    def reader_codes(self) -> list[str]:
        return [r.code for r in self.readers]

    def reader(self, code_or_name: str) -> Reader | None:
        """The reader by code, else by name (case-insensitive both)."""
        key = code_or_name.strip().lower()
        for r in self.readers:
            if r.code.lower() == key:
                return r
        return next((r for r in self.readers if r.name and r.name.strip().lower() == key), None)

    def arm(self, arm_id: str) -> Arm:
        return next(a for a in self.arms if a.id == arm_id)

    def to_dict(self) -> dict:
        return {
            "study": {
                "id": self.id,
                "name": self.name,
                "seed": self.seed,
                "readers": [{"code": r.code, "name": r.name} for r in self.readers],
                "names_in_export": self.names_in_export,
                "may_go_back": self.may_go_back,
            },
            "cases": {"folder": self.cases.folder, "truth": self.cases.truth, "limit": self.cases.limit},
            "arms": [{"id": a.id, "shows": a.shows, "method": a.method} for a in self.arms],
            "design": {"washout_days": self.design.washout_days, "repeat_share": self.design.repeat_share},
            "questions": {
                "diagnosis": self.questions.diagnosis,
                "coarse": [
                    {"id": o.id, "label": o.label, "malignant": o.malignant} for o in self.questions.coarse
                ],
                "malignant": list(self.questions.malignant),
                "confidence": self.questions.confidence,
                "trust": self.questions.trust,
                "map_helped": self.questions.map_helped,
                "comment": self.questions.comment,
            },
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): what the store freezes and the SHA-256 is taken of."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def case_files(self) -> list[CaseFile]:
        """The cases from the truth CSV, sorted by file name (first `limit` of them), with pseudonyms."""
        return _read_truth(self.cases, self.source.name if self.source else "study")

    @staticmethod
    def from_json(text: str, source: Path | None = None) -> StudySpec:
        """The spec frozen in the store (no file checks: its cases are frozen beside it)."""
        return _parse(json.loads(text), _Where(source.name if source else "study (in the store)"), None)


def load_spec(path: Path | str) -> StudySpec:
    """Read and check a study file, its case folder and its truth CSV; `StudySpecError` on any fault."""
    path = Path(path)
    where = _Where(path.name)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise StudySpecError(f"{path}: cannot read the study file ({exc.strerror}); check the path") from None
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StudySpecError(f"{path.name}: not UTF-8 text; save the study file as UTF-8") from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise StudySpecError(f"{path.name}: not valid {kind} ({exc}); fix the syntax") from None
    spec = _parse(raw, where, path.resolve().parent)
    spec = StudySpec(**{**spec.__dict__, "source": path.resolve()})
    spec.case_files()  # the folder and the truth CSV exist and every label is known
    return spec


# ---------------------------------------------------------------------------------------------- parsing
class _Where:
    """Builds the messages: `file: [table] key = value: what is wrong; what to do`."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, table: str, key: str, message: str, value: Any = None, *, shown: bool = True) -> NoReturn:
        head = f"[{table}]" if not table.startswith("[") else table
        val = f" = {_show(value)}" if shown and value is not None else ""
        raise StudySpecError(f"{self.file}: {head} {key}{val}: {message}")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def _table(raw: Any, table: str, where: _Where, label: str | None = None) -> dict:
    label = label or f"[{table}]"
    if not isinstance(raw, dict):
        raise StudySpecError(f"{where.file}: {label}: must be a table of keys")
    known = _TABLES[table]
    for key in raw:
        if key not in known:
            where.fail(label, key, f"unknown key; the keys of {label} are {', '.join(known)}", shown=False)
    return raw


def _get(
    t: dict, table: str, key: str, kind: type | tuple, where: _Where, default: Any = ..., label: str = ""
) -> Any:
    label = label or f"[{table}]"
    if key not in t:
        if default is ...:
            where.fail(label, key, "missing; this key is required")
        return default
    value = t[key]
    if value is None and default is not ...:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        names = {bool: "true or false", int: "a whole number", float: "a number", str: "text", list: "a list"}
        want = " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))
        where.fail(label, key, f"must be {want}", value)
    return value


def _parse(raw: Any, where: _Where, base: Path | None) -> StudySpec:
    if not isinstance(raw, dict):
        raise StudySpecError(f"{where.file}: must hold the tables [study], [cases] and [[arms]]")
    for key in raw:
        if key not in _TABLES:
            raise StudySpecError(f"{where.file}: [{key}]: unknown table; the tables are {', '.join(_TABLES)}")
    for key in ("study", "cases", "arms"):
        if key not in raw:
            raise StudySpecError(f"{where.file}: [{key}]: missing; the study file needs this table")
    study = _table(raw["study"], "study", where)
    sid = _get(study, "study", "id", str, where)
    if not _ID.match(sid):
        where.fail("study", "id", "use lower-case letters, digits and '-' (e.g. \"demo-2026\")", sid)
    seed = _get(study, "study", "seed", int, where)
    readers = _readers(study, where)
    cases_t = _table(raw["cases"], "cases", where)
    limit = _get(cases_t, "cases", "limit", int, where, None)
    if limit is not None and limit < 1:
        where.fail("cases", "limit", "must be a whole number >= 1 (or left out for every case)", limit)
    cases = Cases(
        folder=_nonempty(cases_t, "cases", "folder", where),
        truth=_nonempty(cases_t, "cases", "truth", where),
        limit=limit,
        base=base,
    )
    design = _design(_table(raw.get("design", {}), "design", where), where)
    questions = _questions(_table(raw.get("questions", {}), "questions", where), where)
    return StudySpec(
        id=sid,
        name=_get(study, "study", "name", str, where, sid) or sid,
        seed=seed,
        readers=readers,
        cases=cases,
        arms=_arms(raw["arms"], where),
        design=design,
        questions=questions,
        names_in_export=_get(study, "study", "names_in_export", bool, where, False),
        may_go_back=_get(study, "study", "may_go_back", bool, where, False),
    )


def _nonempty(t: dict, table: str, key: str, where: _Where) -> str:
    value = _get(t, table, key, str, where)
    if not value.strip():
        where.fail(table, key, "must not be empty", value)
    return value


def _readers(study: dict, where: _Where) -> tuple[Reader, ...]:
    items = _get(study, "study", "readers", list, where)
    if not items:
        where.fail("study", "readers", 'list at least one reader code, e.g. ["R01", "R02"]', items)
    out: list[Reader] = []
    for i, item in enumerate(items, 1):
        if isinstance(item, str):
            code, name = item, ""
        elif isinstance(item, dict):
            extra = sorted(set(item) - {"code", "name"})
            if extra or not isinstance(item.get("code"), str) or not isinstance(item.get("name", ""), str):
                where.fail(
                    "study", f"readers #{i}", 'a reader is a code or {code = "R01", name = "..."}', item
                )
            code, name = item["code"], item.get("name", "")
        else:
            where.fail("study", f"readers #{i}", 'a reader is a code such as "R01"', item)
        if not _CODE.match(code):
            where.fail("study", f"readers #{i}", "a code holds letters, digits, '-' and '_' only", code)
        if any(r.code.lower() == code.lower() for r in out):
            where.fail(
                "study", f"readers #{i}", "the same reader code twice; give each reader one code", code
            )
        out.append(Reader(code, name.strip()))
    return tuple(out)


def _arms(raw: Any, where: _Where) -> tuple[Arm, ...]:
    if not isinstance(raw, list) or not raw:
        raise StudySpecError(
            f"{where.file}: [[arms]]: list at least one arm, each with id and shows ({' | '.join(SHOWS)})"
        )
    arms: list[Arm] = []
    for i, item in enumerate(raw, 1):
        label = f"[[arms]] #{i}"
        t = _table(item, "arms", where, label)
        aid = _get(t, "arms", "id", str, where, label=label)
        if not _ID.match(aid):
            where.fail(label, "id", "use lower-case letters, digits and '-' (e.g. \"ai-map\")", aid)
        if any(a.id == aid for a in arms):
            where.fail(label, "id", "the same arm id twice; give each arm its own id", aid)
        shows = _get(t, "arms", "shows", str, where, label=label)
        if shows not in SHOWS:
            where.fail(label, "shows", f"must be one of {', '.join(SHOWS)}", shows)
        method = _get(t, "arms", "method", str, where, None, label=label)
        if shows == "map" and method is None:
            where.fail(
                label, "method", f"missing; an arm that shows a map names its method ({', '.join(METHODS)})"
            )
        if method is not None and shows != "map":
            where.fail(label, "method", 'only an arm with shows = "map" has a method; remove it', method)
        if method is not None and method not in METHODS:
            where.fail(label, "method", f"unknown method; use one of {', '.join(METHODS)}", method)
        arms.append(Arm(aid, shows, method))
    return tuple(arms)


def _design(t: dict, where: _Where) -> Design:
    washout = _get(t, "design", "washout_days", (int, float), where, 0)
    # NaN, infinity or a huge number would leave the next session without a date
    if not 0 <= washout <= MAX_WASHOUT_DAYS:
        where.fail(
            "design", "washout_days", f"must be a number of days >= 0 (at most {MAX_WASHOUT_DAYS})", washout
        )
    share = _get(t, "design", "repeat_share", (int, float), where, 0)
    if not 0 <= share <= 0.5:
        where.fail("design", "repeat_share", "must be a share between 0 and 0.5 (e.g. 0.1)", share)
    return Design(washout_days=float(washout), repeat_share=float(share))


def _questions(t: dict, where: _Where) -> Questions:
    class_ids = load_catalogue().class_ids
    diagnosis = _get(t, "questions", "diagnosis", str, where, "catalogue")
    if diagnosis not in DIAGNOSIS:
        where.fail("questions", "diagnosis", f"must be one of {', '.join(DIAGNOSIS)}", diagnosis)
    coarse = _coarse(_get(t, "questions", "coarse", list, where, []), where)
    if diagnosis == "coarse" and len(coarse) < 2:
        where.fail("questions", "coarse", 'diagnosis = "coarse" needs at least two options', shown=False)
    malignant = _get(t, "questions", "malignant", list, where, list(DEFAULT_MALIGNANT))
    for c in malignant:
        if not isinstance(c, str) or c not in class_ids:
            where.fail(
                "questions",
                "malignant",
                f"{_show(c)} is not a catalogue class id; use ids such as {', '.join(DEFAULT_MALIGNANT)}",
                malignant,
            )
    if not malignant:
        where.fail("questions", "malignant", "name at least one malignant catalogue class", malignant)
    return Questions(
        diagnosis=diagnosis,
        coarse=coarse,
        malignant=tuple(malignant),
        confidence=_get(t, "questions", "confidence", bool, where, True),
        trust=_get(t, "questions", "trust", bool, where, True),
        map_helped=_get(t, "questions", "map_helped", bool, where, True),
        comment=_get(t, "questions", "comment", bool, where, True),
    )


def _coarse(items: list, where: _Where) -> tuple[CoarseOption, ...]:
    out: list[CoarseOption] = []
    for i, item in enumerate(items, 1):
        key = f"coarse #{i}"
        if not isinstance(item, dict) or set(item) != {"id", "label", "malignant"}:
            where.fail(
                "questions", key, 'each option is {id = "...", label = "...", malignant = true|false}', item
            )
        if not isinstance(item["id"], str) or not _ID.match(item["id"]):
            where.fail("questions", f"{key} id", "use lower-case letters, digits and '-'", item["id"])
        if not isinstance(item["label"], str) or not item["label"].strip():
            where.fail("questions", f"{key} label", "must be non-empty text", item["label"])
        if not isinstance(item["malignant"], bool):
            where.fail("questions", f"{key} malignant", "must be true or false", item["malignant"])
        if any(o.id == item["id"] for o in out):
            where.fail("questions", f"{key} id", "the same option id twice", item["id"])
        out.append(CoarseOption(item["id"], item["label"].strip(), item["malignant"]))
    return tuple(out)


def _read_truth(cases: Cases, file: str) -> list[CaseFile]:
    where = _Where(file)
    folder, truth = cases.folder_path, cases.truth_path
    if not folder.is_dir():
        where.fail(
            "cases",
            "folder",
            f"no such folder ({folder}); give the case folder relative to the study file",
            cases.folder,
        )
    try:
        text = truth.read_text(encoding="utf-8-sig")
    except OSError:
        where.fail(
            "cases",
            "truth",
            f"cannot read {truth}; give the truth CSV relative to the study file",
            cases.truth,
        )
    except UnicodeDecodeError:
        where.fail("cases", "truth", "not UTF-8 text; save the CSV as UTF-8", cases.truth)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        where.fail("cases", "truth", f"not valid CSV ({exc})", cases.truth)
    missing = [c for c in ("file", "label") if c not in fields]
    if missing:
        where.fail(
            "cases",
            "truth",
            f"the header lacks column(s) {', '.join(missing)}; it needs file,label",
            cases.truth,
        )
    class_ids = load_catalogue().class_ids
    seen: dict[str, str] = {}
    for line, row in enumerate(rows, 2):
        name, label = (row.get("file") or "").strip(), (row.get("label") or "").strip()
        if label not in class_ids:
            where.fail(
                "cases",
                "truth",
                f"line {line}: label {_show(label)} is not a catalogue class id "
                f"(e.g. {', '.join(class_ids[:3])})",
                cases.truth,
            )
        if not name or not (folder / name).is_file():
            where.fail("cases", "truth", f"line {line}: no file {_show(name)} in {folder}", cases.truth)
        if name in seen:
            where.fail("cases", "truth", f"line {line}: {_show(name)} is listed twice", cases.truth)
        seen[name] = label
    if not seen:
        where.fail("cases", "truth", "lists no case; add rows file,label", cases.truth)
    names = sorted(seen)[: cases.limit] if cases.limit else sorted(seen)
    return [CaseFile(f"C-{i:03d}", (folder / n).resolve(), seen[n]) for i, n in enumerate(names, 1)]
