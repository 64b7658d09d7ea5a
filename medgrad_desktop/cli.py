"""The `medgrad` command. The subcommands are plug-ins listed in `medgrad_desktop.commands.COMMANDS`
(name, module, one-line help): every one is listed in the parser, but only the module of the command
the arguments name is imported to add its options, so `medgrad --help` and `medgrad store info` start
without loading torch, and features never edit a shared dispatcher."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from medgrad_desktop import __version__, applog
from medgrad_desktop.applog import LEVELS
from medgrad_desktop.commands import COMMANDS

LOG_LEVEL = "--log-level"  # `medgrad`'s one option that takes a value


def command_in(argv: Sequence[str]) -> str | None:
    """The command word of `argv`: its first argument that is neither an option nor the value of
    `--log-level` (`medgrad`'s other options, -h and --version, take no value)."""
    words = iter(argv)
    for a in words:
        if a == LOG_LEVEL:
            next(words, None)
        elif not a.startswith("-"):
            return a
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `medgrad` parser listing every command, with the options of `command` (if it is one);
    the other commands' modules are not imported."""
    parser = argparse.ArgumentParser(
        prog="medgrad",
        description="MedGrad Desktop: explainable CLIP skin-lesion review (research use only).",
    )
    parser.add_argument("--version", action="version", version=f"medgrad {__version__}")
    parser.add_argument(
        LOG_LEVEL,
        choices=LEVELS,
        type=str.lower,
        help="also write the app's log file (Help > Show log in the app) at this level",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for c in COMMANDS:
        p = sub.add_parser(c.name, help=c.help)
        if c.name == command:
            importlib.import_module(f"medgrad_desktop.commands.{c.module}").add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(command_in(argv))
    args = parser.parse_args(argv)
    if args.log_level:
        applog.configure(args.log_level)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
