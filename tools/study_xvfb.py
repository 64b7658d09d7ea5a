"""Drive the real app's reading mode under Xvfb with xdotool: two readers each read every session of a
small demo study with keys alone, and the reading form is photographed in the no-AI arm and the map arm
(docs/screenshots/study-reading-*.png).

    .venv/bin/python tools/study_xvfb.py [--cases 4] [--out docs/screenshots]

What it does, from outside the app as a reader would: writes a study file over the first demo images
(2 readers, the three arms, no washout so every session opens at once), freezes it with `medgrad study
create`, starts `main.py` on its own Xvfb display (Qt's xcb platform, fresh settings and data folder),
and for each reader and session opens Study > Start reading with Alt+S, R, types the reader's code and
Enter, then answers each case with keys only: the start of a diagnosis and Enter, one digit per scale,
Enter. It waits on the window titles ("Reader study · case 2 of 4" appears once the case is ready) and
at the end checks the store: every answer of every reader committed, each with its active seconds.
Needs Xvfb, xdotool and ImageMagick's `import` (apt-get install -y xvfb xdotool imagemagick).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

READERS = ("R01", "R02")
SEARCHES = ("mel", "bas", "seb", "blue", "derm", "lent")  # the diagnosis each answer types, in turn
DIGITS = {"nothing": "7", "prediction": "75", "map": "753"}  # confidence, trust, map helped
SHOTS = {"nothing": "study-reading-no-ai.png", "map": "study-reading-map.png"}


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
id = "xvfb-demo"
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
repeat_share = 0
""".replace("'", '"')
    )
    return path


def read_session(x: Display, main_wid: str, reader: str, shows: str, out: Path, shot_taken: set) -> int:
    """Open the reader's next session from the menu and answer every case by keys; the number read."""
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
    first = x.wait_window(r"^Reader study .{1,3} case 1 of [0-9]+", 300)
    total = int(re.search(r"case 1 of (\d+)", x.run("getwindowname", first) or "").group(1))
    for i in range(1, total + 1):
        wid = x.wait_window(rf"^Reader study .{{1,3}} case {i} of {total}", 300)
        x.focus(wid)
        x.type(SEARCHES[(i - 1) % len(SEARCHES)])
        x.keys("Return", *DIGITS[shows])
        if i == 2 and shows in SHOTS and shows not in shot_taken:
            time.sleep(0.5)  # the form filled in, the comment box in focus: what a reader sees
            x.shot(wid, out / SHOTS[shows])
            shot_taken.add(shows)
        x.keys("Return")
    done = x.wait_window(r"^Reader study .{1,3} session finished", 60)
    if "finished" not in shot_taken:
        time.sleep(0.3)
        x.shot(done, out / "study-reading-finished.png")
        shot_taken.add("finished")
    x.focus(done)
    x.keys("Return")  # the Close button has the focus
    x.wait(lambda: x.window("^MedGrad Desktop$"), 30, "the main window to come back")
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=4, help="demo images in the study (default 4)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="medgrad-study-xvfb-"))
    os.environ.update(
        MEDGRAD_DATA_DIR=str(tmp / "data"), XDG_CONFIG_HOME=str(tmp / "config"), HF_HUB_OFFLINE="1"
    )
    study = write_study(tmp, args.cases)
    python = sys.executable
    subprocess.run([python, "-m", "medgrad_desktop.cli", "study", "create", str(study)], check=True, cwd=ROOT)

    from medgrad_desktop.store import ProjectStore
    from medgrad_desktop.store.study_tables import StudyTables
    from medgrad_desktop.study.spec import StudySpec

    store = ProjectStore()
    plan = StudyTables(store).plan("xvfb-demo")
    arms = {a.id: a.shows for a in StudySpec.from_json(StudyTables(store).study("xvfb-demo").spec).arms}
    shows_of = {(p["reader"], p["session"]): arms[p["arm"]] for p in plan}
    x = Display()
    app = subprocess.Popen(
        [python, str(ROOT / "main.py")], env=dict(x.env(), QT_QPA_PLATFORM="xcb"), cwd=ROOT
    )
    try:
        main_wid = x.wait_window("^MedGrad Desktop$", 120)
        shot_taken: set[str] = set()
        read = 0
        for reader in READERS:
            for session in range(1, len(arms) + 1):
                shows = shows_of[(reader, session)]
                n = read_session(x, main_wid, reader, shows, out, shot_taken)
                print(f"{reader} session {session} ({shows}): {n} cases answered by keys")
                read += n
        x.focus(main_wid)
        x.keys("ctrl+q")
        app.wait(60)
    finally:
        if app.poll() is None:
            app.terminate()
            app.wait(30)
        x.close()
    answers = StudyTables(ProjectStore()).answers("xvfb-demo")
    assert len(answers) == read == len(plan), (len(answers), read, len(plan))
    assert all(a["seconds"] > 0 for a in answers), [a["seconds"] for a in answers]
    print(
        f"store: {len(answers)} answers of {len(READERS)} readers committed; screenshots in {out}: "
        + ", ".join(sorted(str(out / n) for n in [*SHOTS.values(), "study-reading-finished.png"]))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
