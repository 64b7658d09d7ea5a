"""Provenance manifest: identifies code, weights, settings, machine and inputs."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from medgrad_desktop import __version__, provenance
from medgrad_desktop.core.explain import METHODS, default_params


def test_manifest_fields(tiny_model):
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    inputs = [{"name": "IMG-0001", "sha256": "ab" * 32}]
    m = provenance.collect(
        tiny_model.card,
        tiny_model.device,
        [default_params(x).to_dict() for x in METHODS],
        inputs,
        settings={"deidentified": True},
        now=now,
    )
    assert m["schema"] == provenance.SCHEMA
    assert m["app"]["version"] == __version__
    assert m["created"] == "2026-01-02T03:04:05+00:00"
    model = m["model"]
    assert model["weights_sha256"] == tiny_model.card.weights_sha256 and len(model["weights_sha256"]) == 64
    assert model["architecture"] == "MedGrad-Tiny" and model["untrained"] is True
    assert model["catalogue"]["version"] == tiny_model.catalogue.version
    assert model["catalogue"]["digest"] == tiny_model.catalogue.digest
    assert model["temperature"] == tiny_model.card.temperature
    assert any("UNTRAINED" in w for w in model["warnings"])
    assert [x["method"] for x in m["methods"]] == list(METHODS)
    assert m["methods"][2]["alpha"] == default_params("medgrad").alpha
    assert m["environment"]["device"] == "cpu" and m["environment"]["torch"]
    assert m["inputs"] == inputs and m["settings"] == {"deidentified": True}
    json.dumps(m)  # JSON-able as is


def test_git_commit_of_a_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDGRAD_GIT_COMMIT", raising=False)
    assert provenance.git_commit(tmp_path) is None  # not a checkout
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "a.txt").write_text("1")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert provenance.git_commit(repo) == head
    (repo / "a.txt").write_text("2")
    assert provenance.git_commit(repo) == f"{head}-dirty"
    monkeypatch.setenv("MEDGRAD_GIT_COMMIT", "frozen-build-123")
    assert provenance.git_commit(Path(repo)) == "frozen-build-123"
