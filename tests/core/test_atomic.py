"""The one write mechanism: single files appear whole or not at all, and a staged set is published
all or nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from medgrad_desktop import atomic
from medgrad_desktop.atomic import PublishClashError, publish, write_atomic, write_file_atomic


def _stage(tmp_path: Path) -> tuple[Path, Path, list[tuple[Path, Path]]]:
    staging, out = tmp_path / ".staging", tmp_path / "out"
    staging.mkdir()
    out.mkdir()
    (staging / "a.txt").write_text("new a")
    (staging / "pngs").mkdir()
    (staging / "pngs" / "1.png").write_bytes(b"png")
    (staging / "b.txt").write_text("new b")
    return staging, out, [(staging / n, out / n) for n in ("a.txt", "pngs", "b.txt")]


def test_publish_moves_everything_and_drops_what_it_replaced(tmp_path):
    staging, out, staged = _stage(tmp_path)
    (out / "a.txt").write_text("old a")
    assert publish(staged, force=True) == [dst for _, dst in staged]
    assert (out / "a.txt").read_text() == "new a" and (out / "pngs" / "1.png").read_bytes() == b"png"
    assert list(staging.iterdir()) == []  # no backup left behind


def test_publish_refuses_an_existing_output_and_changes_nothing(tmp_path):
    _, out, staged = _stage(tmp_path)
    (out / "b.txt").write_text("old b")
    with pytest.raises(PublishClashError, match="b.txt"):
        publish(staged)
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"] and (out / "b.txt").read_text() == "old b"


def test_publish_undoes_the_moves_made_when_one_fails(tmp_path, monkeypatch):
    _, out, staged = _stage(tmp_path)
    (out / "a.txt").write_text("old a")
    real = os.replace

    def fail_on_b(src, dst):
        if Path(src).name == "b.txt":
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", fail_on_b)
    with pytest.raises(OSError, match="No space"):
        publish(staged, force=True)
    monkeypatch.undo()
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"] and (out / "a.txt").read_text() == "old a"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "card.json"
    target.write_text("old")

    def half_then_fail(f):
        f.write(b"half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_atomic(target, half_then_fail)
    with pytest.raises(RuntimeError):
        write_file_atomic(target, lambda tmp: half_then_fail(tmp.open("wb")))
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_written_files_get_the_mode_a_plain_open_gives(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    for p in (
        write_atomic(tmp_path / "a", b"x"),
        write_file_atomic(tmp_path / "b", lambda t: t.write_bytes(b"x")),
    ):
        assert stat.S_IMODE(p.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
