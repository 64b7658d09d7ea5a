"""The `medgrad` subcommands: one module each, listed in `COMMANDS` with the line `medgrad --help`
shows for it.

The list names each command's module instead of importing the modules to ask them, because a
command's imports can cost seconds and a gigabyte (torch, open_clip): `medgrad --help` imports no
command module, and `medgrad NAME ...` imports NAME's module alone (see `medgrad_desktop.cli`).

Commands are plug-ins: adding one is a module here that defines `add_arguments(parser)` (its options,
its description if it has one, and `parser.set_defaults(func=run)` where `run(args)` returns the exit
code), plus one line in `COMMANDS`. A command module imports torch, open_clip and the model code inside
the function that runs the model, never at its top, so that building its parser (for `--help` or a
usage error) stays quick; `tests/core/test_cli_lazy.py` checks that for every command.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str  # what follows `medgrad` on the command line
    module: str  # the module under `medgrad_desktop.commands` that defines `add_arguments`
    help: str  # its line in `medgrad --help`


def _commands(table: str) -> tuple[Command, ...]:
    """One `Command` a line of `table`: the name, then its help; the module is the name with `_` for `-`."""
    rows = (line.split(maxsplit=1) for line in table.strip().splitlines())
    return tuple(Command(name, name.replace("-", "_"), text) for name, text in rows)


COMMANDS: tuple[Command, ...] = _commands("""
bench              time all-prompt maps against one plain forward
eval-explanations  faithfulness, localization and sanity checks of the maps
eval-ood           the pre-registered test of the out-of-distribution check
evaluate           accuracy, balanced accuracy, macro-F1, ECE and plots on a labelled data set
explain            heatmaps for one image
ood-stats          write the out-of-distribution statistics of existing weights from their training folders
predict            classify images (files or folders); shards across torchrun processes
report             annotated report of a folder (PDF, HTML, CSV, PNG)
store              the project store: info, export of review decisions
study              a reader study: validate, create, status, analyze, export
synth              write synthetic dermoscopy images, masks, counterfactuals and a CSV manifest
train              fine-tune a CLIP model on labelled images with captions
""")
