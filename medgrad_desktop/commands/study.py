"""`medgrad study`: run a reader study from its study file.

medgrad study validate STUDY-FILE     check the file, its cases and truth; show the plan's size
medgrad study create STUDY-FILE       freeze the plan and the AI's answer for each case into the store
medgrad study status STUDY            each reader's sessions: answered, finished, when the next opens
medgrad study analyze STUDY --out D   the analysis (JSON) and the study report (PDF, HTML)
medgrad study export STUDY --out D    long CSV, iMRMC input file and MRMCaov table

STUDY is the study file or the study's id. Every subcommand but `validate` takes `--store FILE` to use
a store other than the app's. Reading itself happens in the app (Study > Start reading).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from medgrad_desktop.commands._common import add_model_options, model_from_args
from medgrad_desktop.store import ProjectStore, StoreError
from medgrad_desktop.study.errors import StudyError

REPORT_FORMATS = ("pdf", "html")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Run a reader study: check its file, freeze its plan, follow it, analyse and export it."
    actions = p.add_subparsers(dest="study_command", metavar="ACTION")

    val = actions.add_parser("validate", help="check a study file, its cases and its truth CSV")
    val.add_argument("study", metavar="STUDY-FILE", help="the study file (TOML or JSON)")
    val.add_argument("--json", action="store_true", help="print one JSON object")
    val.set_defaults(func=run_validate)

    cre = actions.add_parser("create", help="freeze the plan and the AI's answers into the project store")
    cre.add_argument("study", metavar="STUDY-FILE", help="the study file (TOML or JSON)")
    _store_option(cre)
    add_model_options(cre)
    cre.set_defaults(func=run_create)

    sta = actions.add_parser("status", help="each reader's progress and when their next session opens")
    _study_argument(sta)
    _store_option(sta)
    sta.add_argument("--json", action="store_true", help="print one JSON object")
    sta.set_defaults(func=run_status)

    ana = actions.add_parser("analyze", help="the analysis and the study report")
    _study_argument(ana)
    _store_option(ana)
    ana.add_argument("--out", required=True, metavar="DIR", help="the folder for the report")
    ana.add_argument(
        "--format",
        nargs="+",
        choices=REPORT_FORMATS,
        default=list(REPORT_FORMATS),
        help="report formats (default: pdf html)",
    )
    ana.add_argument("--n-boot", type=_resamples, default=2000, help="bootstrap resamples (default 2000)")
    ana.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (default 0)")
    ana.add_argument("--json", action="store_true", help="also print the analysis as JSON")
    ana.set_defaults(func=run_analyze)

    exp = actions.add_parser("export", help="long CSV, iMRMC input file and MRMCaov table")
    _study_argument(exp)
    _store_option(exp)
    exp.add_argument("--out", required=True, metavar="DIR", help="the folder for the files")
    exp.add_argument("--force", action="store_true", help="overwrite files already there")
    exp.set_defaults(func=run_export)
    p.set_defaults(func=lambda _a: (p.print_help(), 2)[1])


def _resamples(text: str) -> int:
    """--n-boot: a whole number >= 1 (an interval needs resamples), refused by argparse otherwise."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of resamples >= 1 (e.g. 2000)")
    return n


def _study_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", metavar="STUDY", help="the study file, or the study's id")


def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=None, metavar="FILE", help="a store file other than the app's")


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _open_store(args: argparse.Namespace) -> ProjectStore:
    store = ProjectStore.shared(Path(args.store) if args.store else None)
    if store.notice:
        print(f"warning: {store.notice}", file=sys.stderr)
    return store


def _study_id(text: str) -> str:
    """The id of STUDY: read from the study file when it names one, else STUDY itself."""
    from medgrad_desktop.study.spec import load_spec

    path = Path(text)
    return load_spec(path).id if path.is_file() else text


# ---------------------------------------------------------------------------------------------- validate
def run_validate(args: argparse.Namespace) -> int:
    from medgrad_desktop.study.plan import make_plan
    from medgrad_desktop.study.spec import load_spec

    try:
        spec = load_spec(args.study)
        cases = spec.case_files()
    except StudyError as exc:
        return _error(str(exc))
    plan = make_plan(spec, [c.case_id for c in cases])
    per_session = max(sum(1 for a in plan if a.reader == r and a.session == 1) for r in spec.reader_codes)
    summary = {
        "study": spec.id,
        "name": spec.name,
        "cases": len(cases),
        "readers": spec.reader_codes,
        "arms": [a.id for a in spec.arms],
        "sessions_per_reader": len(spec.arms),
        "readings_per_session": per_session,
        "readings": len(plan),
        "washout_days": spec.design.washout_days,
        "spec_sha256": spec.sha256,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{spec.source.name if spec.source else args.study}: valid. Study '{spec.id}' ({spec.name}): "
            f"{len(cases)} cases, {len(spec.readers)} reader(s), arms {', '.join(summary['arms'])}; "
            f"each reader reads {len(spec.arms)} session(s) of {per_session} case(s) "
            f"({len(plan)} readings in all), {spec.design.washout_days:g} day(s) apart."
        )
    return 0


# ---------------------------------------------------------------------------------------------- create
def run_create(args: argparse.Namespace) -> int:
    from medgrad_desktop.study.create import create_study, existing_info
    from medgrad_desktop.study.spec import load_spec

    try:
        spec = load_spec(args.study)
        store = _open_store(args)
        info = existing_info(spec, store)
        if info is None:
            model = model_from_args(args)
            info = create_study(
                spec, model, store, progress=lambda d, n: print(f"cases read: {d}/{n}", file=sys.stderr)
            )
    except (StudyError, StoreError) as exc:
        return _error(str(exc))
    if not info.created:
        print(f"study '{info.study_id}' already created from this study file in {store.path}: nothing to do")
        return 0
    print(
        f"created study '{info.study_id}' in {store.path}: {info.cases} cases, {info.readers} reader(s), "
        f"{info.sessions} session(s) each, {info.readings} readings; AI answers frozen from model "
        f"{info.model_sha256[:12]}"
    )
    return 0


# ---------------------------------------------------------------------------------------------- status
def study_status(store: ProjectStore, study_id: str, now: datetime | None = None) -> dict:
    """Each reader's sessions (arm, answered of planned, started, finished) and when the next opens:
    "now", None when every session is finished, else ISO 8601 in UTC (the rule is `study.session.
    next_session`, the one the app keeps)."""
    from medgrad_desktop.store.study_tables import StudyTables
    from medgrad_desktop.study.responses import load_spec_from_store
    from medgrad_desktop.study.session import next_session

    spec = load_spec_from_store(store, study_id)
    tables = StudyTables(store)
    moment = now or datetime.now(UTC)
    answered: dict[tuple[str, int], int] = {}
    for a in tables.answers(study_id):
        answered[(a["reader"], a["session"])] = answered.get((a["reader"], a["session"]), 0) + 1
    readers = []
    for code in spec.reader_codes:
        plan = tables.plan(study_id, code)
        opened = tables.sessions(study_id, code)
        sessions = []
        for s in range(1, len(spec.arms) + 1):
            rows = [p for p in plan if p["session"] == s]
            started, finished = opened.get(s, (None, None))
            sessions.append(
                {
                    "session": s,
                    "arm": rows[0]["arm"] if rows else "",
                    "answered": answered.get((code, s), 0),
                    "planned": len(rows),
                    "started": started,
                    "finished": finished,
                }
            )
        nxt = next_session(store, spec, code)
        opens = None if nxt is None else "now" if nxt.is_open(moment) else nxt.opens.isoformat()
        readers.append({"reader": code, "sessions": sessions, "next_session_opens": opens})
    return {"study": spec.id, "name": spec.name, "readers": readers}


def run_status(args: argparse.Namespace) -> int:
    from medgrad_desktop.study.session import when_text

    try:
        store = _open_store(args)
        status = study_status(store, _study_id(args.study))
    except (StudyError, StoreError) as exc:
        return _error(str(exc))
    if args.json:
        print(json.dumps(status))
        return 0
    print(f"study '{status['study']}' ({status['name']})")
    for r in status["readers"]:
        parts = []
        for s in r["sessions"]:
            state = "finished" if s["finished"] else "started" if s["started"] else "not started"
            parts.append(f"session {s['session']} [{s['arm']}] {s['answered']}/{s['planned']} {state}")
        opens = r["next_session_opens"]
        if opens is None:
            tail = "all sessions finished"
        elif opens == "now":
            tail = "next opens now"
        else:  # the local time of this terminal, naming its zone
            tail = f"next opens {when_text(datetime.fromisoformat(opens))}"
        print(f"  {r['reader']}: {'; '.join(parts)}; {tail}")
    return 0


def _answers(args: argparse.Namespace):
    """The store, the study's id, its frozen study file and every answer, for `analyze` and `export`;
    raises StudyError or StoreError with the message for the user."""
    from medgrad_desktop.study.responses import load_responses, load_spec_from_store

    store = _open_store(args)
    study_id = _study_id(args.study)
    return store, study_id, load_spec_from_store(store, study_id), load_responses(store, study_id)


# ---------------------------------------------------------------------------------------------- analyze
def run_analyze(args: argparse.Namespace) -> int:
    from medgrad_desktop.atomic import write_text_atomic
    from medgrad_desktop.reports.study_report import write_study_report
    from medgrad_desktop.store.study_tables import StudyTables
    from medgrad_desktop.study.analysis import analyze

    try:
        store, study_id, spec, responses = _answers(args)
        row = StudyTables(store).study(study_id)
    except (StudyError, StoreError) as exc:
        return _error(str(exc))
    if not responses or row is None:
        return _error(f"study '{study_id}' has no answers yet; nothing to analyse")
    analysis = analyze(responses, spec.questions.scoring(), n_boot=args.n_boot, seed=args.seed)
    data = json.dumps(analysis.to_dict(), indent=1)
    out = Path(args.out)
    try:
        written = [write_text_atomic(out / f"{spec.id}-analysis.json", data + "\n")]
        written += write_study_report(analysis, spec, out, args.format, model_sha256=row.model_sha256)
    except OSError as exc:
        return _error(f"cannot write into {out} ({exc.strerror or exc}); give --out a folder you can write")
    if args.json:
        print(data)
    for path in written:
        print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


# ---------------------------------------------------------------------------------------------- export
def run_export(args: argparse.Namespace) -> int:
    from medgrad_desktop.study.export import export_files

    try:
        _, study_id, spec, responses = _answers(args)
        written = export_files(responses, spec, Path(args.out), force=args.force)
    except (StudyError, StoreError) as exc:
        return _error(str(exc))
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(f"wrote {len(responses)} answer(s) of study '{study_id}':")
    for path in written:
        print(f"  {path}")
    return 0
