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

from medgrad_desktop import __version__
from medgrad_desktop.commands import COMMANDS


def command_in(argv: Sequence[str]) -> str | None:
    """The command word of `argv`: its first argument that is not an option (`medgrad` itself has
    only -h and --version, which take no value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `medgrad` parser listing every command, with the options of `command` (if it is one);
    the other commands' modules are not imported."""
    parser = argparse.ArgumentParser(
        prog="medgrad",
        description="MedGrad Desktop: explainable CLIP skin-lesion review (research use only).",
    )
    parser.add_argument("--version", action="version", version=f"medgrad {__version__}")
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
