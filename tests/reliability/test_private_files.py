"""Patient data stays with its user on a shared workstation: the data folder, the project store with its
WAL, the audit log, the settings, the log, the pseudonym key, a report that is not de-identified and
the export's spool are their owner's alone (0600 files, 0700 folders) from the moment they exist;
a de-identified report keeps the user's umask. As root (CI), the account `nobody` tries to read them."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path

import pytest

from medgrad_desktop import appdata, applog, atomic
from medgrad_desktop.atomic import FILE_MODE, write_atomic, write_file_atomic, write_new
from medgrad_desktop.audit import audit_path, log_event
from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.core.method_params import default_params
from medgrad_desktop.reports.export import export_report
from medgrad_desktop.reports.outputs import ReportOptions
from medgrad_desktop.reports.request import ReportRequest
from medgrad_desktop.review import ReviewRecord, ReviewStore
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.testing.other_account import other_account, others_bits, readable_by_other_account
from medgrad_desktop.testing.sample_images import write_sample_folder

posix = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
as_root = pytest.mark.skipif(other_account() is None, reason="needs root to act as another account")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    """A new user's umask (022): without the app's care, files would be 0644 and folders 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def open_home():
    """A folder other accounts may enter, as many home folders are (pytest's own is 0700, which
    would hide everything and prove nothing)."""
    home = Path(tempfile.mkdtemp(prefix="medgrad-home-", dir="/tmp"))
    home.chmod(0o755)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _report(paths, out: Path, deidentify: bool, key: Path | None = None, **kw) -> ReportRequest:
    return ReportRequest(
        paths,
        [default_params("medgrad")],
        out,
        formats=("pdf", "html", "csv", "png"),
        options=ReportOptions(deidentify=deidentify),
        pseudonym_map=key,
        **kw,
    )


@posix
def test_the_data_folder_is_private_and_an_open_one_is_tightened_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MEDGRAD_DATA_DIR", str(tmp_path / "new"))
    assert mode(appdata.data_dir()) == 0o700
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    monkeypatch.setenv("MEDGRAD_DATA_DIR", str(old))
    appdata.take_notices()
    with caplog.at_level(logging.WARNING, logger="medgrad_desktop.appdata"):
        for _ in range(3):
            assert appdata.data_dir() == old
    assert mode(old) == 0o700
    notices = appdata.take_notices()
    assert len(notices) == 1 and str(old) in notices[0] and "private" in notices[0]
    assert [r.getMessage() for r in caplog.records] == notices
    shared = tmp_path / "shared"  # a sticky, shared folder (such as /tmp) is never changed
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setenv("MEDGRAD_DATA_DIR", str(shared))
    appdata.data_dir()
    assert mode(shared) == 0o1777


@posix
def test_store_wal_audit_log_and_settings_are_created_private(tmp_path, data_dir, qapp):
    from medgrad_desktop.ui.state.settings import AppSettings

    store = ProjectStore.shared()
    ReviewStore(store=store).put(ReviewRecord("a" * 64, "Doe_Jane.dcm", "accepted", note="seen by Dr Who"))
    log_event("folder_opened", folder=str(tmp_path))
    for p in (store.path, Path(f"{store.path}-wal"), Path(f"{store.path}-shm"), audit_path()):
        assert p.exists() and mode(p) == 0o600, p
    settings = AppSettings.at(tmp_path / "cfg" / "settings.ini")
    ini = tmp_path / "cfg" / "settings.ini"
    assert mode(ini) == 0o600 and mode(ini.parent) == 0o700 and ini.stat().st_size == 0
    settings.reviewer_name = "Dr Who"
    settings.add_recent_folder(str(tmp_path / "Doe_Jane"))
    settings.sync()
    assert mode(ini) == 0o600 and "Doe_Jane" in ini.read_text()


@posix
def test_files_left_readable_by_an_earlier_version_are_made_private(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    first = ProjectStore(folder / "project.sqlite3")
    first.close()
    for name in ("project.sqlite3", "audit.jsonl"):
        (folder / name).touch()
        (folder / name).chmod(0o644)
    store = ProjectStore(folder / "project.sqlite3")
    store.audit("x")
    assert mode(store.path) == 0o600 and mode(Path(f"{store.path}-wal")) == 0o600
    fd = atomic.open_private(folder / "audit.jsonl", os.O_RDWR | os.O_APPEND)
    os.close(fd)
    assert mode(folder / "audit.jsonl") == 0o600
    store.close()


@posix
def test_no_private_file_is_ever_open_to_others_while_it_is_written(tmp_path, monkeypatch, data_dir, qapp):
    """Each mechanism makes the file with its mode first, and only then writes: checked at each file's
    first write (or, for SQLite and Qt, which write by name, before they open it)."""
    seen: dict[str, int] = {}
    real_write = os.write

    def watched_write(fd, data):
        seen.setdefault(os.readlink(f"/proc/self/fd/{fd}"), mode(f"/proc/self/fd/{fd}"))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", watched_write)
    log_event("folder_opened", folder="Doe_Jane")  # os.open with 0600, then os.write
    write_new(tmp_path / "spool.png", b"pixels", private=True)
    assert seen == {str(audit_path()): 0o600, str(tmp_path / "spool.png"): 0o600}

    def first_write_mode(f) -> None:
        seen["atomic"] = mode(f"/proc/self/fd/{f.fileno()}")
        f.write(b"key")

    write_atomic(tmp_path / "key.csv", first_write_mode, private=True)
    assert seen["atomic"] == 0o600 and mode(tmp_path / "key.csv") == 0o600
    write_atomic(tmp_path / "shared.csv", first_write_mode)  # the umask's mode, set before the data
    assert seen["atomic"] == FILE_MODE
    write_file_atomic(tmp_path / "by-name", lambda tmp: seen.update(by_name=mode(tmp)), private=True)
    assert seen["by_name"] == 0o600

    real_connect = sqlite3.connect
    opened: list[int] = []

    def watched_connect(path, *a, **kw):
        opened.append(mode(path))  # the store file exists, private, before SQLite opens it
        return real_connect(path, *a, **kw)

    monkeypatch.setattr(sqlite3, "connect", watched_connect)
    ProjectStore(tmp_path / "s" / "project.sqlite3").audit("x")
    assert opened == [0o600]

    from medgrad_desktop.ui.state.settings import AppSettings

    AppSettings.at(tmp_path / "q" / "s.ini")  # before QSettings has written anything
    assert mode(tmp_path / "q" / "s.ini") == 0o600

    applog.close()
    made: list[int] = []
    real_open_private = applog.open_private

    def watched_open_private(path, flags):
        fd = real_open_private(path, flags)
        made.append(mode(f"/proc/self/fd/{fd}"))
        return fd

    monkeypatch.setattr(applog, "open_private", watched_open_private)
    monkeypatch.setattr(applog, "MAX_BYTES", 2000)
    try:
        applog.configure(console=False)
        for i in range(100):
            logging.getLogger("medgrad_desktop.test").info("line %d %s", i, "x" * 80)
        logs = sorted(applog.log_path().parent.iterdir())
    finally:
        applog.close()
    assert len(made) > 2 and set(made) == {0o600}  # the first file and each one after a rollover
    assert len(logs) == 1 + applog.BACKUPS and {mode(p) for p in logs} == {0o600}
    assert mode(applog.log_path().parent) == 0o700


@posix
def test_report_modes_follow_de_identification(tmp_path, tiny_model, monkeypatch, data_dir):
    write_sample_folder(tmp_path / "imgs", 2)
    paths = list_images(tmp_path / "imgs")
    key = tmp_path / "keys" / "report - PSEUDONYM KEY (re-identifies, keep private).csv"
    shared = export_report(_report(paths, tmp_path / "deid", True, key), tiny_model)
    assert shared.pseudonym_map == key and mode(key) == 0o600
    assert mode(tmp_path / "deid") == 0o777 & ~0o022
    for p in [*shared.outputs, *(tmp_path / "deid" / "report-png").iterdir()]:
        assert mode(p) == (0o755 if p.is_dir() else FILE_MODE), p

    pdf_modes: list[int] = []
    from medgrad_desktop.reports import pdf_writer

    real_pdf = pdf_writer.write_pdf

    def watched_pdf(content, path, tick=None):
        pdf_modes.append(mode(path))  # Qt writes the PDF by name into a file already private
        return real_pdf(content, path, tick)

    monkeypatch.setattr(pdf_writer, "write_pdf", watched_pdf)
    spool_modes: set[int] = set()

    def look_at_the_spool() -> None:
        for p in (tmp_path / "named").glob(".report.*.partial/spool/*"):
            spool_modes.add(mode(p))

    named = export_report(_report(paths, tmp_path / "named", False), tiny_model, checkpoint=look_at_the_spool)
    assert pdf_modes == [0o600] and spool_modes == {0o600}
    assert mode(tmp_path / "named") == 0o700
    files = [*named.outputs, *(tmp_path / "named" / "report-png").iterdir()]
    assert {p.name: mode(p) for p in files} == {p.name: 0o700 if p.is_dir() else 0o600 for p in files}


@posix
@as_root
def test_another_account_reads_none_of_it_while_the_owner_works_on(open_home, tiny_model, monkeypatch):
    data = open_home / "appdata"
    monkeypatch.setenv("MEDGRAD_DATA_DIR", str(data))
    write_sample_folder(open_home / "Doe_Jane_images", 2)
    paths = list_images(open_home / "Doe_Jane_images")
    reviews = ReviewStore()
    reviews.put(ReviewRecord("b" * 64, "Doe_Jane.dcm", "overridden", "melanoma", None, "MRN-4411 biopsy"))
    control = open_home / "world-readable.txt"  # the witness can read what is open to it
    control.write_text("anyone")
    during: list[list[str]] = []

    def try_the_spool() -> None:
        spool = list((open_home / "reports").glob(".report.*.partial/spool/*"))
        if spool and not during:
            during.append(readable_by_other_account([*spool, control]))

    key = open_home / "keys" / "PSEUDONYM KEY.csv"
    export_report(_report(paths, open_home / "shared-reports", True, key), tiny_model, reviews=reviews)
    export_report(
        _report(paths, open_home / "reports", False), tiny_model, reviews=reviews, checkpoint=try_the_spool
    )
    store = reviews.store
    private = [
        store.path,
        Path(f"{store.path}-wal"),
        Path(f"{store.path}-shm"),
        audit_path(),
        key,
        *[p for p in (open_home / "reports").rglob("*") if p.is_file()],
    ]
    assert all(p.exists() for p in private) and len(private) > 8
    assert during == [[str(control)]]  # the spool's temporary files: none
    assert readable_by_other_account([*private, control]) == [str(control)]
    # a de-identified report is meant to be shared: it keeps the umask's mode
    assert str(open_home / "shared-reports" / "report.pdf") in readable_by_other_account(
        [open_home / "shared-reports" / "report.pdf"]
    )
    # and the owner's app goes on as before
    reviews.put(ReviewRecord("c" * 64, "Doe_Jane_2.dcm", "accepted"))
    log_event("folder_opened", folder="Doe_Jane_images")
    assert reviews.get("c" * 64).decision == "accepted" and store.integrity_check() == "ok"
    assert others_bits(store.path) == 0 and others_bits(data) == 0
