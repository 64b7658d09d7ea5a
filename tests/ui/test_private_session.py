"""The goal of "patient data stays with its user": after a full session in the real window (open a
DICOM patient set, review with notes, export a de-identified report with its key and a report that is
not de-identified, quit), no file the session wrote that identifies a patient can be read by another
account. The test lists every file and folder the session wrote with its mode (`pytest -s` prints it);
as root, the account `nobody` also tries to read each one."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QStandardPaths

from medgrad_desktop import applog
from medgrad_desktop.atomic import FILE_MODE
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.testing.other_account import (
    mode_listing,
    other_account,
    readable_by_other_account,
)
from medgrad_desktop.ui.dialogs.export_dialog import run_export_dialog
from medgrad_desktop.ui.state.settings import AppSettings
from tests.data.test_patient_sets import JANE, _dicom_set

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
WAIT = 120_000


@pytest.fixture
def home(monkeypatch):
    """A fresh user's home that other accounts may enter (0755, as many are), with the app's data and
    settings where they go by default, under a new user's umask (022)."""
    home = Path(tempfile.mkdtemp(prefix="medgrad-session-", dir="/tmp"))
    home.chmod(0o755)
    old_umask = os.umask(0o022)
    monkeypatch.delenv("MEDGRAD_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    config = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(home / ".config"))
    yield home
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, config)
    os.umask(old_umask)
    ProjectStore.close_all()
    shutil.rmtree(home, ignore_errors=True)


def _export(qtbot, win, out: Path, deidentify: bool) -> None:
    dlg = run_export_dialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    dlg.dir_edit.setText(str(out))
    dlg.format_boxes["png"].setChecked(True)
    dlg.deid_box.setChecked(deidentify)
    assert dlg.private_note.isVisibleTo(dlg) == (not deidentify)
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.handle is not None and dlg.handle.is_finished, timeout=WAIT)
    assert dlg.handle.state == "done", dlg.status.text()
    dlg.close()


def test_a_full_session_leaves_nothing_identifying_readable_by_others(
    qtbot, home, make_window, reviewer_prompt, capsys
):
    patients = home / "Patients"
    _dicom_set(patients)  # files named Doe_Jane_..., a folder named by her record number
    data = home / ".local" / "share" / "MedGradDesktop"
    applog.configure(console=False)  # as main() does first
    try:
        reviewer_prompt.answer = "Dr Okafor"
        win = make_window(settings=AppSettings())
        win.app.set_recursive(True)
        assert win.app.open_folder(patients)
        qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
        analysed = [i for i, e in enumerate(win.app.entries) if e.prediction is not None]
        assert len(analysed) >= 3
        win.app.select(analysed[0])
        assert win.app.accept_prediction()
        assert win.app.set_note(f"Discussed with {JANE.name.replace('^', ' ')}, {JANE.patient_id}")
        win.app.select(analysed[1])
        assert win.app.override_prediction("melanoma")
        assert win.app.set_note("Excise; seen 2024-06-10")
        reports = home / "Documents" / "MedGrad reports"
        private_reports = home / "Documents" / "Identified reports"
        _export(qtbot, win, reports, deidentify=True)
        _export(qtbot, win, private_reports, deidentify=False)
        running = dict(mode_listing([data, home / ".config", home / "Documents"]))
        wal = [p for p in running if p.name.endswith(("-wal", "-shm"))]
        read_while_running = readable_by_other_account(wal) if other_account() else []
        win.close()  # quit: settings saved, worker stopped
        ProjectStore.close_all()
    finally:
        applog.close()
    after = dict(mode_listing([data, home / ".config", home / "Documents"]))
    listing = {**running, **after}
    with capsys.disabled():
        print("\nfiles and folders the session wrote (home = " + str(home) + "):")
        for p, m in sorted(listing.items()):
            print(f"  {m}  {p.relative_to(home)}{'' if p in after else '   (while running; gone at quit)'}")

    shared = {p for p in after if p.parent == reports or reports in p.parents} - {reports}
    shared = {p for p in shared if "PSEUDONYM" not in p.name}
    identifying = [p for p, m in listing.items() if m[0] == "-" and p not in shared]
    names = {p.name for p in identifying}
    assert {"project.sqlite3", "project.sqlite3-wal", "project.sqlite3-shm", "audit.jsonl"} <= names
    assert {"medgrad.log", "MedGrad Desktop.conf"} <= names
    assert {"report.pdf", "report.html", "report.csv", "report.manifest.json"} <= names  # identified one
    assert any("PSEUDONYM KEY" in n for n in names)
    assert {str(p): listing[p] for p in identifying if listing[p] != "-rw-------"} == {}
    own_folders = [data, data / "logs", home / ".config" / "MedGrad", private_reports]
    own_folders += [private_reports / "report-png"]
    assert {str(d): listing[d] for d in own_folders} == {str(d): "drwx------" for d in own_folders}
    assert shared and {p.name: p.stat().st_mode & 0o777 for p in shared if p.is_file()} == {
        p.name: FILE_MODE for p in shared if p.is_file()
    }  # a de-identified report keeps the user's umask: it is meant to be shared
    settings_text = (home / ".config" / "MedGrad" / "MedGrad Desktop.conf").read_text()
    assert "Dr Okafor" in settings_text and "Patients" in settings_text  # it does hold identifiers
    log_text = applog.log_path().read_text()
    assert applog.RUN_MARK in log_text and "Discussed with" not in log_text  # no note reaches the log
    exported = [p for p in home.joinpath("Documents").rglob("*") if p.is_file()]
    assert not any(applog.RUN_MARK.encode() in p.read_bytes() for p in exported)  # never in an export
    if other_account() is not None:
        assert read_while_running == [] and len(wal) == 2
        assert readable_by_other_account([p for p in identifying if p.exists()]) == []
        assert readable_by_other_account([reports / "report.csv"]) == [str(reports / "report.csv")]
