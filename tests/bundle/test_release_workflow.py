"""The release workflow (.github/workflows/release.yml) cannot run here (no Windows or macOS runner):
it is read as YAML and each of its steps is checked to run a script this repository provides, with
arguments that script accepts, on the platform it is written for; the artefacts get SHA256SUMS."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
# The actions a step may use: GitHub's own and the release uploader, each at a pinned major version.
ALLOWED_ACTIONS = {
    "actions/checkout": "v4",
    "actions/setup-python": "v5",
    "actions/upload-artifact": "v4",
    "actions/download-artifact": "v4",
    "softprops/action-gh-release": "v2",
}
PLATFORM_OF_SCRIPT = {"build/linux/": "Linux", "build/windows/": "Windows", "build/macos/": "macOS"}


@pytest.fixture(scope="module")
def workflow() -> dict:
    # PyYAML reads the bare key `on` as True (YAML 1.1)
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow: dict):
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield name, step


def _commands(run: str) -> list[list[str]]:
    """The command lines of a `run:` block, each split into words (comments and blank lines dropped)."""
    return [
        shlex.split(line, posix=True)
        for line in run.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _script(words: list[str]) -> tuple[str, list[str]]:
    """(repository script, its arguments) of a command line: `build/x.sh a`, `./build/x.ps1 -A`, or
    `python build/x.py a`."""
    if words[0] in ("python", "python3"):
        words = words[1:]
    return words[0].removeprefix("./"), words[1:]


def test_triggers_matrix_and_jobs(workflow):
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["push"]["tags"] == ["v*"] and "workflow_dispatch" in triggers
    build = workflow["jobs"]["build"]
    oses = [row["os"] for row in build["strategy"]["matrix"]["include"]]
    assert {o.split("-")[0] for o in oses} == {"ubuntu", "windows", "macos"}
    assert build["strategy"]["fail-fast"] is False
    assert workflow["jobs"]["publish"]["needs"] == "build"
    assert workflow["permissions"] == {"contents": "read"}  # write only where the release is published
    assert workflow["jobs"]["publish"]["permissions"] == {"contents": "write"}


def test_every_step_runs_a_script_of_this_repository(workflow):
    scripts = []
    for job, step in _steps(workflow):
        if "uses" in step:
            action, _, ref = step["uses"].partition("@")
            assert ALLOWED_ACTIONS.get(action) == ref, f"{job}: {step['uses']} is not an allowed action"
            continue
        for words in _commands(step["run"]):
            script, args = _script(words)
            path = ROOT / script
            assert script.startswith("build/") and path.is_file(), (
                f"{job}: `{' '.join(words)}` is not a repository script"
            )
            if path.suffix == ".sh":
                assert os.access(path, os.X_OK), f"{script} is not executable (git mode 755)"
                assert path.read_text().startswith("#!/usr/bin/env bash"), script
            scripts.append((job, step, script, args))
    names = {s for _, _, s, _ in scripts}
    assert {
        "build/version.py",
        "build/linux/release.sh",
        "build/windows/build.ps1",
        "build/macos/import_certificate.sh",
        "build/macos/make_app.sh",
        "build/checksums.py",
    } <= names
    for job, step, script, _ in scripts:  # a platform's script runs on that platform's runner only
        for prefix, system in PLATFORM_OF_SCRIPT.items():
            if script.startswith(prefix):
                assert f"runner.os == '{system}'" in step.get("if", ""), f"{job}: {script} without its runner"


def test_arguments_are_ones_the_scripts_accept(workflow):
    runs = {
        script: args
        for _, step in _steps(workflow)
        if "run" in step
        for script, args in [_script(w) for w in _commands(step["run"])]
    }
    ps1 = (ROOT / "build/windows/build.ps1").read_text()
    params = set(re.findall(r"\[(?:switch|string)\]\$(\w+)", ps1))
    for arg in runs["build/windows/build.ps1"]:
        if arg.startswith("-"):
            assert arg[1:] in params, f"build.ps1 has no parameter {arg}"
    assert runs["build/windows/build.ps1"] == ["-Variant", "cpu", "-TestInstall"]
    assert re.search(r'ValidateSet\("cpu", "cuda"\)', ps1)
    assert runs["build/linux/release.sh"] == ["cpu"]
    assert runs["build/version.py"] == ["--set-from-tag", "$GITHUB_REF_NAME"]
    assert runs["build/checksums.py"] == ["release"]


def test_the_version_comes_from_the_tag_before_anything_is_built(workflow):
    steps = workflow["jobs"]["build"]["steps"]
    runs = [s.get("run", "") for s in steps]
    tag_step = next(i for i, r in enumerate(runs) if "--set-from-tag" in r)
    assert steps[tag_step]["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert steps[tag_step]["shell"] == "bash"  # the same command on the Windows runner
    first_build = next(
        i for i, r in enumerate(runs) if "release.sh" in r or "build.ps1" in r or "make_app" in r
    )
    assert tag_step < first_build


def test_signing_runs_only_when_the_secrets_exist(workflow):
    build = workflow["jobs"]["build"]
    for name in ("MACOS_CERT_P12", "MACOS_CERT_PASSWORD", "NOTARY_KEY_P8", "NOTARY_KEY_ID", "NOTARY_ISSUER"):
        assert build["env"][name] == f"${{{{ secrets.{name} }}}}"
    cert = next(s for s in build["steps"] if "import_certificate.sh" in s.get("run", ""))
    assert "env.MACOS_CERT_P12 != ''" in cert["if"]
    make_app = (ROOT / "build/macos/make_app.sh").read_text()
    assert (
        'if [ -n "${SIGN_ID:-}" ]' in make_app
        and "notarytool submit" in make_app
        and "stapler staple" in make_app
    )
    for var in ("SIGN_ID", "NOTARY_KEY"):
        assert f"{var}=" in (ROOT / "build/macos/import_certificate.sh").read_text()


def test_artefacts_are_uploaded_and_published_with_checksums(workflow):
    build = workflow["jobs"]["build"]
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert (
        upload["with"]["path"] == "${{ matrix.artefacts }}" and upload["with"]["if-no-files-found"] == "error"
    )
    patterns = {row["os"].split("-")[0]: row["artefacts"] for row in build["strategy"]["matrix"]["include"]}
    assert (
        "-setup.exe" in patterns["windows"]
        and ".dmg" in patterns["macos"]
        and "release/" in patterns["ubuntu"]
    )
    publish = workflow["jobs"]["publish"]["steps"]
    i_sums = next(i for i, s in enumerate(publish) if "checksums.py" in s.get("run", ""))
    release = next(i for i, s in enumerate(publish) if s.get("uses", "").startswith("softprops/"))
    assert i_sums < release and publish[release]["with"]["files"] == "release/*"
    assert publish[release]["if"] == "startsWith(github.ref, 'refs/tags/v')"


def test_checksums_are_written_and_verified(tmp_path):
    spec = importlib.util.spec_from_file_location("medgrad_checksums", ROOT / "build" / "checksums.py")
    checksums = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checksums)
    (tmp_path / "a.deb").write_bytes(b"deb")
    (tmp_path / "b setup.exe").write_bytes(b"exe")
    out = checksums.write(tmp_path)
    lines = out.read_text().splitlines()
    assert lines == [
        f"{hashlib.sha256(b'deb').hexdigest()} *a.deb",
        f"{hashlib.sha256(b'exe').hexdigest()} *b setup.exe",
    ]
    assert checksums.check(tmp_path) == []
    (tmp_path / "a.deb").write_bytes(b"tampered")
    (tmp_path / "extra.dmg").write_bytes(b"")
    assert sorted(checksums.check(tmp_path)) == ["a.deb", "extra.dmg"]
