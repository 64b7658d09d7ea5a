"""The command line lists its commands without importing them, and a command's module keeps torch out
until it runs a model: checked in a fresh interpreter, where nothing else has imported torch yet. The
registry is complete: every command module in the package is listed, and every listed one has options."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

from medgrad_desktop import commands
from medgrad_desktop.commands import COMMANDS

HEAVY = ("torch", "open_clip", "PySide6")

PROBE = f"""
import contextlib, io, json, sys
from medgrad_desktop.cli import main
heavy = {HEAVY!r}
seen = {{}}
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(["--help"])
    except SystemExit:
        pass
    seen["--help"] = [m for m in heavy if m in sys.modules]
    seen["store info code"] = main(["store", "info", "--json"])
    seen["store info"] = [m for m in heavy if m in sys.modules]
    for name in sys.argv[1:]:
        try:
            main([name, "--help"])  # imports the command's module, adds its options, renders them
        except SystemExit:
            pass
        seen[name] = [m for m in heavy if m in sys.modules]
print(json.dumps({{"seen": seen, "out": out.getvalue()}}))
"""


def _probe(tmp_path: Path, names: list[str]) -> dict:
    env = {**os.environ, "MEDGRAD_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(
        [sys.executable, "-c", PROBE, *names], capture_output=True, text=True, env=env, timeout=300
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_help_store_info_and_every_commands_help_leave_torch_unimported(tmp_path):
    res = _probe(tmp_path, [c.name for c in COMMANDS])
    assert res["seen"] == {
        "--help": [],
        "store info code": 0,
        "store info": [],
        **{c.name: [] for c in COMMANDS},
    }
    assert all(f"usage: medgrad {c.name} " in res["out"] for c in COMMANDS)
    assert '"images": 0' in res["out"]  # `store info` ran on the fresh store


def test_every_command_module_is_registered_and_defines_its_options():
    modules = {m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")}
    assert modules == {c.module for c in COMMANDS}
    assert len({c.name for c in COMMANDS}) == len(COMMANDS)
    for c in COMMANDS:
        assert callable(importlib.import_module(f"medgrad_desktop.commands.{c.module}").add_arguments)


def test_the_command_word_is_found_past_the_top_level_options():
    from medgrad_desktop.cli import build_parser, command_in

    assert command_in(["--version"]) is None
    assert command_in(["-h"]) is None
    assert command_in(["--", "store", "info"]) == "store"
    args = build_parser(command_in(["store", "info", "--json"])).parse_args(["store", "info", "--json"])
    assert args.command == "store" and args.json and args.func.__name__ == "run_info"
