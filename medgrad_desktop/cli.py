"""The `medgrad` command. Each subcommand lives in its own module under `medgrad_desktop.commands`
and registers itself through `add_parser(subparsers)`, so features never edit a shared dispatcher."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from medgrad_desktop import __version__, commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medgrad",
        description="MedGrad Desktop: explainable CLIP skin-lesion review (research use only).",
    )
    parser.add_argument("--version", action="version", version=f"medgrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"medgrad_desktop.commands.{info.name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
