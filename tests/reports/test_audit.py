"""The audit log is append-only JSON Lines: every event keeps time, model hash and file hash, earlier
lines are never rewritten, and a damaged line does not hide the others."""

from __future__ import annotations

import json

from medgrad_desktop import audit


def test_append_only_and_fields(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGRAD_DATA_DIR", str(tmp_path))
    audit.log_event("folder_opened", folder="/x")
    before = audit.audit_path().read_bytes()
    rec = audit.log_event("override", model_sha256="m" * 64, file_sha256="f" * 64, final_class="melanoma")
    after = audit.audit_path().read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 2
    assert rec["event"] == "override" and rec["model_sha256"] == "m" * 64 and rec["file_sha256"] == "f" * 64
    events = audit.read_events()
    assert [e["event"] for e in events] == ["folder_opened", "override"]
    assert all(e["time"].endswith("+00:00") for e in events)


def test_damaged_line_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGRAD_DATA_DIR", str(tmp_path))
    audit.log_event("predict", model_sha256="a", file_sha256="b")
    with open(audit.audit_path(), "a", encoding="utf-8") as f:
        f.write('{"time": "2026-01-01", "event": "tru')  # a crash mid-write
    audit.log_event("export", model_sha256="a", file_sha256="b")
    events = audit.read_events()
    assert [e["event"] for e in events] == ["predict", "export"]  # the new event starts its own line
    lines = audit.audit_path().read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["file_sha256"] == "b"


def test_one_review_decision_is_one_line_and_one_store_row(tmp_path, monkeypatch):
    """A decision is audited by the review store once in each sink: one line in the JSON Lines log and
    one row in the project store's audit table, written with the decision itself. Any other event is
    mirrored into the open store once."""
    from medgrad_desktop.review import ReviewRecord, ReviewStore
    from medgrad_desktop.store import ProjectStore

    monkeypatch.setenv("MEDGRAD_DATA_DIR", str(tmp_path))
    reviews = ReviewStore(reviewer="Dr Audit")
    assert ProjectStore.current() is reviews.store  # the store log_event mirrors into
    sha = "f" * 64
    record = ReviewRecord(sha, "a.jpg", "accepted", "melanoma", "melanoma")
    reviews.put(record, event="review_accept", model_sha256="m" * 64)
    reviews.remove(sha, event="review_undo", action="accept a.jpg")
    audit.log_event("folder_opened", folder=str(tmp_path))

    lines = [e for e in audit.read_events() if e["event"] != "folder_opened"]
    rows = [e for e in reviews.store.audit_events() if e["event"] != "folder_opened"]
    assert [e["event"] for e in lines] == [e["event"] for e in rows] == ["review_accept", "review_undo"]
    for line, row in zip(lines, rows, strict=True):
        assert {k: v for k, v in line.items() if k != "time"} == {k: v for k, v in row.items() if k != "time"}
    accept = lines[0]
    assert accept["file_sha256"] == sha and accept["model_sha256"] == "m" * 64
    assert (accept["decision"], accept["final"], accept["reviewer"]) == ("accepted", "melanoma", "Dr Audit")
    assert lines[1]["action"] == "accept a.jpg"
    assert [e["event"] for e in reviews.store.audit_events()].count("folder_opened") == 1
