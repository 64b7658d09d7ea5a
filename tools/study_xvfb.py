"""Drive the real app's reading mode under Xvfb with xdotool: two readers each read every session of a
demo study with keys alone, one reader's app is killed with SIGKILL in the middle of a session and
restarted, and the study is analysed and exported at the end; the reading form is photographed in the
no-AI arm and the map arm (docs/screenshots/study-reading-*.png).

    .venv/bin/python tools/study_xvfb.py [--cases 4] [--kill-at N] [--out docs/screenshots]
    .venv/bin/python tools/study_xvfb.py --cases 24 --kill-at 5 --out /tmp/medgrad-study-demo  # the issue's goal

What it does, from outside the app as a reader would: writes a study file over the first demo images
(`--cases 24`: all of them; 2 readers, the three arms, a tenth of each session read twice, no washout so
every session opens at once), freezes it with `medgrad study create`, starts `main.py` on its own Xvfb
display (Qt's xcb platform, fresh settings and data folder), and for each reader and session opens
Study > Start reading with Alt+S, R, types the reader's code and Enter, then answers each case with keys
only: the start of a diagnosis and Enter, one digit per scale, Enter. It waits on the window titles
("Reader study · case 2 of 4" appears once the case is ready).

`--kill-at N`: once reader R01 has answered N cases of the first session and the next case is on screen
with a half-typed answer, the app gets SIGKILL (kill -9). The tool then checks that the store holds
each of the N answers as given, starts the app again on the same data folder, opens Study > Start
reading for R01 again, checks that the session resumes at case N + 1 (the position after the last
committed answer), and goes on to the end.

At the end it checks the store (every answer of every reader committed, each with its active seconds)
and runs `medgrad study analyze` and `medgrad study export` on that store, into OUT/study-analysis and
OUT/study-export. Needs Xvfb, xdotool and ImageMagick's `import` (apt-get install -y xvfb xdotool
imagemagick).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STUDY_ID = "xvfb-demo"
READERS = ("R01", "R02")
SEARCHES = ("mel", "bas", "seb", "blue", "derm", "lent")  # the diagnosis each answer types, in turn
DIGITS = {"nothing": "7", "prediction": "75", "map": "753"}  # confidence, trust, map helped
SHOTS = {"nothing": "study-reading-no-ai.png", "map": "study-reading-map.png"}
CASE_TITLE = r"^Reader study .{1,3} case [0-9]+ of [0-9]+"  # a case ready; "preparing case" does not match


class Display:
    """One Xvfb server and the xdotool calls on it."""

    def __init__(self, size: str = "1600x1000"):
        for tool in ("Xvfb", "xdotool", "import"):
            if shutil.which(tool) is None:
                raise SystemExit(f"error: {tool} not found; apt-get install -y xvfb xdotool imagemagick")
        number = next(n for n in range(91, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
        self.display = f":{number}"
        self.proc = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.wait(lambda: self.run("getdisplaygeometry") is not None, 15, "Xvfb to accept connections")

    def env(self) -> dict[str, str]:
        return dict(os.environ, DISPLAY=self.display)

    def run(self, *args: str) -> str | None:
        out = subprocess.run(["xdotool", *args], env=self.env(), capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else None

    def window(self, title_regex: str) -> str | None:
        """The id of a visible window whose title matches, or None."""
        found = self.run("search", "--onlyvisible", "--name", title_regex)
        return found.split()[-1] if found else None

    def wait(self, cond, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = cond()
            if value:
                return value
            time.sleep(0.1)
        shot = Path(tempfile.gettempdir()) / "study-xvfb-timeout.png"
        subprocess.run(["import", "-window", "root", str(shot)], env=self.env())
        raise SystemExit(f"error: timed out waiting for {what}; the screen then: {shot}")

    def wait_window(self, title_regex: str, timeout: float = 120) -> str:
        return self.wait(lambda: self.window(title_regex), timeout, f"a window titled /{title_regex}/")

    def focus(self, wid: str) -> None:
        self.run("windowfocus", "--sync", wid)

    def keys(self, *keys: str) -> None:
        for k in keys:
            self.run("key", "--delay", "60", k)
            time.sleep(0.08)

    def type(self, text: str) -> None:
        self.run("type", "--delay", "60", text)

    def shot(self, wid: str, out: Path) -> None:
        subprocess.run(["import", "-window", wid, str(out)], env=self.env(), check=True)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def write_study(folder: Path, cases: int) -> Path:
    from medgrad_desktop.resources_path import demo_dir

    path = folder / "study.toml"
    path.write_text(
        f"""[study]
id = "{STUDY_ID}"
name = "Demo reader study"
seed = 20261206
readers = {list(READERS)!r}

[cases]
folder = "{demo_dir().as_posix()}"
truth = "{(demo_dir() / "demo_labels.csv").as_posix()}"
limit = {cases}

[[arms]]
id = "no-ai"
shows = "nothing"
[[arms]]
id = "ai"
shows = "prediction"
[[arms]]
id = "ai-map"
shows = "map"
method = "medgrad"

[design]
washout_days = 0
repeat_share = 0.1
""".replace("'", '"')
    )
    return path


def open_session(x: Display, main_wid: str, reader: str) -> tuple[int, int]:
    """Open the reader's next session from the menu: (the position of the case on screen, the cases in
    the session)."""
    for _try in range(60):  # a map session waits for the model the study froze: refused until it loaded
        x.focus(main_wid)
        x.keys("alt+s", "r")
        dlg = x.wait_window("^Start reading$", 30)
        x.focus(dlg)
        x.type(reader)
        x.keys("Return")
        refused = x.wait(
            lambda: "reading" if x.window("^Reader study") else x.window("^Another model is loaded$"),
            60,
            "a start",
        )
        if refused == "reading":
            break
        x.focus(refused)
        x.keys("Return", "Escape")  # close the message, then the dialog
        time.sleep(1)
    # the middle dot is several bytes to xdotool's regex; Qt may append " — MedGrad Desktop"
    first = x.wait_window(CASE_TITLE, 300)
    found = re.search(r"case (\d+) of (\d+)", x.run("getwindowname", first) or "")
    return int(found.group(1)), int(found.group(2))


def case_window(x: Display, i: int, total: int) -> str:
    return x.wait_window(rf"^Reader study .{{1,3}} case {i} of {total}", 300)


def answer_case(x: Display, i: int, total: int, shows: str, out: Path, shot_taken: set) -> None:
    """Answer case `i` by keys once it is ready (a screenshot of the form at case 2 of the first no-AI
    and map sessions)."""
    wid = case_window(x, i, total)
    x.focus(wid)
    x.type(SEARCHES[(i - 1) % len(SEARCHES)])
    x.keys("Return", *DIGITS[shows])
    if i == 2 and shows in SHOTS and shows not in shot_taken:
        time.sleep(0.5)  # the form filled in, the comment box in focus: what a reader sees
        x.shot(wid, out / SHOTS[shows])
        shot_taken.add(shows)
    x.keys("Return")


def finish_session(x: Display, out: Path, shot_taken: set) -> None:
    done = x.wait_window(r"^Reader study .{1,3} session finished", 60)
    if "finished" not in shot_taken:
        time.sleep(0.3)
        x.shot(done, out / "study-reading-finished.png")
        shot_taken.add("finished")
    x.focus(done)
    x.keys("Return")  # the Close button has the focus
    x.wait(lambda: x.window("^MedGrad Desktop$"), 30, "the main window to come back")


class App:
    """The app under test, started (and restarted) on the tool's data folder."""

    def __init__(self, x: Display):
        self.x = x
        self.proc: subprocess.Popen | None = None
        self.main_wid = ""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py")], env=dict(self.x.env(), QT_QPA_PLATFORM="xcb"), cwd=ROOT
        )
        self.main_wid = self.x.wait_window("^MedGrad Desktop$", 120)

    def kill9(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(30)

    def quit(self) -> None:
        self.x.focus(self.main_wid)
        self.x.keys("ctrl+q")
        self.proc.wait(60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def expected_answers(n: int) -> list[tuple[int, str, int]]:
    """(position, diagnosis, confidence) of the first n answers as the keys give them."""
    from medgrad_desktop.store import ProjectStore
    from medgrad_desktop.study.responses import load_spec_from_store
    from medgrad_desktop.ui.state.answer_draft import AnswerDraft

    spec = load_spec_from_store(ProjectStore(), STUDY_ID)
    draft = AnswerDraft(spec.questions, spec.arms[0])  # the options are the same in every arm
    return [
        (i, draft.filtered(SEARCHES[(i - 1) % len(SEARCHES)])[0].id, int(DIGITS["nothing"]))
        for i in range(1, n + 1)
    ]


def kill_and_resume(x: Display, app: App, reader: str, session: int, n: int, total: int) -> int:
    """SIGKILL the app with case n + 1 on screen and half answered, check the store, restart, reopen:
    the position the reader resumes at."""
    from medgrad_desktop.store import ProjectStore
    from medgrad_desktop.store.study_tables import StudyTables

    wid = case_window(x, n + 1, total)
    x.focus(wid)
    x.type(SEARCHES[n % len(SEARCHES)])  # the diagnosis chosen in the list, nothing committed yet
    code = app.kill9()
    print(
        f"kill -9: {reader} session {session}: {n} of {total} answered, case {n + 1} on screen with a "
        f"half-given answer; pid {app.proc.pid} killed by SIGKILL (exit {code})"
    )
    assert code == -signal.SIGKILL, code
    rows = StudyTables(ProjectStore()).answers(STUDY_ID, reader, session)
    got = [(r["position"], r["answer"], r["confidence"]) for r in rows]
    want = expected_answers(n)
    assert got == want, (got, want)
    assert all(r["seconds"] > 0 for r in rows), [r["seconds"] for r in rows]
    print(
        f"kill -9: the store holds the {len(rows)} answers given before the kill, each as given: "
        + ", ".join(f"{p}:{d}/{c}" for p, d, c in got)
    )
    app.start()
    resumed, again = open_session(x, app.main_wid, reader)
    assert (resumed, again) == (n + 1, total), (resumed, again, n + 1, total)
    print(
        f"kill -9: app restarted (pid {app.proc.pid}) on the same data folder; Study > Start reading "
        f"resumed {reader} session {session} at case {resumed} of {total} (the position after the last "
        "committed one)"
    )
    return resumed


def run_cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "medgrad_desktop.cli", "study", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"error: medgrad study {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=4, help="demo images in the study (default 4; 24: all)")
    ap.add_argument(
        "--kill-at",
        type=int,
        default=0,
        metavar="N",
        help="kill the app with SIGKILL after reader R01's N-th answer of the first session, restart, resume",
    )
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="medgrad-study-xvfb-"))
    os.environ.update(
        MEDGRAD_DATA_DIR=str(tmp / "data"), XDG_CONFIG_HOME=str(tmp / "config"), HF_HUB_OFFLINE="1"
    )
    started = time.monotonic()
    study = write_study(tmp, args.cases)
    subprocess.run(
        [sys.executable, "-m", "medgrad_desktop.cli", "study", "create", str(study)], check=True, cwd=ROOT
    )

    from medgrad_desktop.store import ProjectStore
    from medgrad_desktop.store.study_tables import StudyTables
    from medgrad_desktop.study.spec import StudySpec

    tables = StudyTables(ProjectStore())
    plan = tables.plan(STUDY_ID)
    arms = {a.id: a.shows for a in StudySpec.from_json(tables.study(STUDY_ID).spec).arms}
    shows_of = {(p["reader"], p["session"]): arms[p["arm"]] for p in plan}
    per_session = sum(1 for p in plan if p["reader"] == READERS[0] and p["session"] == 1)
    if args.kill_at and not 1 <= args.kill_at < per_session:
        raise SystemExit(
            f"error: --kill-at must be from 1 to {per_session - 1} (a session has {per_session})"
        )
    x = Display()
    app = App(x)
    try:
        app.start()
        shot_taken: set[str] = set()
        read = 0
        for reader in READERS:
            for session in range(1, len(arms) + 1):
                shows = shows_of[(reader, session)]
                first, total = open_session(x, app.main_wid, reader)
                assert first == 1, (reader, session, first)
                kill = args.kill_at if (reader, session) == (READERS[0], 1) else 0
                i = first
                while i <= total:
                    answer_case(x, i, total, shows, out, shot_taken)
                    read += 1
                    i = kill_and_resume(x, app, reader, session, i, total) if i == kill else i + 1
                finish_session(x, out, shot_taken)
                print(f"{reader} session {session} ({shows}): {total} cases answered by keys")
        app.quit()
    finally:
        app.stop()
        x.close()
    answers = StudyTables(ProjectStore()).answers(STUDY_ID)
    assert len(answers) == read == len(plan), (len(answers), read, len(plan))
    assert all(a["seconds"] > 0 for a in answers), [a["seconds"] for a in answers]
    print(
        f"store: {len(answers)} answers of {len(READERS)} readers committed; screenshots in {out}: "
        + ", ".join(sorted(str(out / n) for n in [*SHOTS.values(), "study-reading-finished.png"]))
    )
    print(run_cli("status", STUDY_ID))
    print(run_cli("analyze", STUDY_ID, "--out", str(out / "study-analysis")))
    print(run_cli("export", STUDY_ID, "--out", str(out / "study-export"), "--force"))
    print(f"done in {time.monotonic() - started:.0f} s; data folder {tmp / 'data'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
