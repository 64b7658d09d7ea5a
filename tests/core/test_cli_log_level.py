"""`medgrad --log-level LEVEL COMMAND ...` also writes the app's private log file at that level; the
command word is still found behind the option's value."""

from __future__ import annotations

import os
import stat

from medgrad_desktop import applog
from medgrad_desktop.cli import command_in, main


def test_log_level_is_skipped_when_finding_the_command():
    assert command_in(["--log-level", "debug", "store", "info"]) == "store"
    assert command_in(["--log-level=debug", "store", "info"]) == "store"
    assert command_in(["--log-level", "info"]) is None


def test_a_command_run_with_log_level_writes_the_private_log(data_dir, capsys):
    try:
        assert main(["--log-level", "DEBUG", "store", "info", "--json"]) == 0
    finally:
        applog.close()
    log = data_dir / "logs" / applog.LOG_NAME
    assert applog.RUN_MARK in log.read_text() and stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert '"images": 0' in capsys.readouterr().out
