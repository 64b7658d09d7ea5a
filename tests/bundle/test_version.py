"""One version, from pyproject.toml's [project].version: the package, the About dialog, reports'
provenance, the bundle's metadata and every installer name read it there (build/version.py), and a
release tag writes it there. The .deb and tarball are made here from a stand-in bundle; the frozen app's
own `--version` is checked against pyproject by build/linux/deb_test.sh (`make bundle-test`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import medgrad_desktop
from medgrad_desktop import provenance
from tests.bundle.conftest import BUILD, ROOT, load_build_module


@pytest.fixture(scope="module")
def version_py():
    return load_build_module("version.py", "medgrad_version")


@pytest.fixture(scope="module")
def pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def test_package_cli_reports_and_build_read_one_version(version_py, pyproject_version):
    cfg = load_build_module("bundle_config.py", "bundle_config")
    assert medgrad_desktop.__version__ == pyproject_version == version_py.read() == cfg.version()
    out = subprocess.run(
        [sys.executable, str(BUILD / "version.py")], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == pyproject_version


def test_reports_provenance_carries_it(tiny_model, pyproject_version):
    manifest = provenance.collect(tiny_model.card, tiny_model.device, [], [])
    assert manifest["app"]["version"] == pyproject_version


def test_the_app_reads_a_changed_pyproject_without_a_reinstall(tmp_path, monkeypatch):
    """A checkout's version is its pyproject's, even before `pip install -e .` refreshes the metadata."""
    pkg = tmp_path / "medgrad_desktop"
    pkg.mkdir()
    shutil.copy(ROOT / "medgrad_desktop" / "__init__.py", pkg / "__init__.py")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "medgrad-desktop"\nversion = "7.8.9rc1"\n')
    code = "import medgrad_desktop; print(medgrad_desktop.__version__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "7.8.9rc1"


def test_a_frozen_app_reads_the_bundled_metadata():
    """No pyproject.toml beside the package (a bundle): the version comes from the metadata the spec copies."""
    spec = (BUILD / "medgrad.spec").read_text()
    assert 'copy_metadata("medgrad-desktop")' in spec
    init = (ROOT / "medgrad_desktop" / "__init__.py").read_text()
    assert 'version("medgrad-desktop")' in init


def test_tag_writes_the_version_and_debian_spells_it(version_py, tmp_path):
    copy = tmp_path / "pyproject.toml"
    shutil.copy(ROOT / "pyproject.toml", copy)
    before = copy.read_text()
    version_py.write(version_py.from_tag("v2.3.0rc1"), copy)
    assert version_py.read(copy) == "2.3.0rc1"
    changed = [
        (a, b) for a, b in zip(before.splitlines(), copy.read_text().splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 1 and changed[0][1] == 'version = "2.3.0rc1"'
    assert version_py.from_tag("refs/tags/v1.0.0") == "1.0.0"
    with pytest.raises(SystemExit):
        version_py.from_tag("nightly")
    assert version_py.debian("2.3.0rc1") == "2.3.0~rc1" and version_py.debian("1.0.0") == "1.0.0"
    assert version_py.debian("1.1.0.dev4") == "1.1.0~dev4"


def test_no_build_file_writes_a_version_of_its_own(pyproject_version):
    """Installer scripts, the spec and the Inno Setup script take the version from build/version.py (or the
    package), never a literal."""
    files = [BUILD / "medgrad.spec", BUILD / "windows" / "medgrad.iss", BUILD / "windows" / "build.ps1"]
    files += [
        BUILD / "macos" / "make_app.sh",
        BUILD / "linux" / "make_tarball.sh",
        BUILD / "linux" / "make_deb.sh",
    ]
    literal = re.compile(r"""["'=]\s*\d+\.\d+\.\d+["']""")
    for f in files:
        text = f.read_text()
        assert not literal.search(text), f"{f.name} has a version literal: {literal.search(text).group(0)}"
    iss = (BUILD / "windows" / "medgrad.iss").read_text()
    assert "#error AppVersion is not defined" in iss
    assert "OutputBaseFilename=MedGradDesktop-{#AppVersion}-windows-{#Variant}-setup" in iss
    assert '"/DAppVersion=$Version"' in (BUILD / "windows" / "build.ps1").read_text()
    for script in ("windows/build.ps1", "macos/make_app.sh", "linux/common.sh", "linux/make_deb.sh"):
        assert "build/version.py" in (BUILD / script).read_text().replace("\\", "/"), script
    for script in ("linux/make_tarball.sh", "linux/make_deb.sh"):  # their VERSION comes from common.sh
        assert 'source "$(dirname "$0")/common.sh"' in (BUILD / script).read_text(), script
    spec = (BUILD / "medgrad.spec").read_text()
    assert '"CFBundleShortVersionString": VERSION' in spec and "VERSION = cfg.version()" in spec
    assert (
        'DMG="$ROOT/build/dist/MedGradDesktop-$VERSION-macos-'
        in (BUILD / "macos" / "make_app.sh").read_text()
    )


@pytest.fixture
def fake_bundle(tmp_path) -> Path:
    """A stand-in for build/dist/MedGradDesktop: an executable and a notices file."""
    app = tmp_path / "dist" / "MedGradDesktop"
    (app / "_internal").mkdir(parents=True)
    exe = app / "MedGradDesktop"
    exe.write_text("#!/bin/sh\necho MedGrad Desktop\n")
    exe.chmod(0o755)
    (app / "THIRD-PARTY-NOTICES.txt").write_text("notices\n")
    return app


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb (Debian/Ubuntu)")
def test_deb_carries_the_version_menu_entry_mime_types_and_launcher(fake_bundle, tmp_path, version_py):
    out = tmp_path / "out"
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "PYTHON": sys.executable}
    r = subprocess.run(
        [str(BUILD / "linux" / "make_deb.sh"), str(fake_bundle), str(out), "cpu"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    deb = Path(r.stdout.strip().splitlines()[-1])
    version = version_py.read()
    assert deb.name.startswith(f"MedGradDesktop-{version}-linux-") and deb.name.endswith("-cpu.deb")

    def field(name: str) -> str:
        return subprocess.run(
            ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True
        ).stdout.strip()

    assert field("Package") == "medgrad-desktop" and field("Version") == version_py.debian(version)
    assert field("Depends").startswith("libc6 (>= 2.35)")
    x = tmp_path / "x"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(x)], check=True)
    subprocess.run(["dpkg-deb", "-e", str(deb), str(x / "DEBIAN")], check=True)
    entry = (x / "usr/share/applications/org.medgrad.desktop.desktop").read_text()
    assert "Exec=medgrad-desktop %f" in entry and "Icon=org.medgrad.desktop" in entry
    assert "MimeType=application/dicom;inode/directory;" in entry
    if shutil.which("desktop-file-validate"):
        subprocess.run(
            ["desktop-file-validate", str(x / "usr/share/applications/org.medgrad.desktop.desktop")],
            check=True,
        )
    launcher = x / "usr/bin/medgrad-desktop"
    assert (
        launcher.stat().st_mode & 0o111 and "exec /opt/medgrad-desktop/MedGradDesktop" in launcher.read_text()
    )
    assert (x / "opt/medgrad-desktop/THIRD-PARTY-NOTICES.txt").is_file()
    assert (x / "usr/share/icons/hicolor/256x256/apps/org.medgrad.desktop.png").is_file()
    assert "THIRD-PARTY-NOTICES.txt" in (x / "usr/share/doc/medgrad-desktop/copyright").read_text()
    for script in ("postinst", "postrm"):
        text = (x / "DEBIAN" / script).read_text()
        assert "update-desktop-database" in text and "command -v" in text
    # the launcher turns a file (a DICOM file from the file manager) into the folder it is in
    fake_opt = tmp_path / "opt"
    shutil.copytree(x / "opt", fake_opt)
    (fake_opt / "medgrad-desktop" / "MedGradDesktop").write_text('#!/bin/sh\necho "$@"\n')
    launch = launcher.read_text().replace("/opt/medgrad-desktop", str(fake_opt / "medgrad-desktop"))
    (tmp_path / "launch").write_text(launch)
    dcm = tmp_path / "scans" / "a.dcm"
    dcm.parent.mkdir()
    dcm.write_bytes(b"")
    got = subprocess.run(["sh", str(tmp_path / "launch"), str(dcm)], capture_output=True, text=True).stdout
    assert got.strip() == str(dcm.parent)


@pytest.mark.skipif(shutil.which("tar") is None, reason="tar")
def test_tarball_name_carries_the_version(fake_bundle, tmp_path, version_py):
    env = {"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "ZSTD_LEVEL": "1"}
    r = subprocess.run(
        [str(BUILD / "linux" / "make_tarball.sh"), str(fake_bundle), str(tmp_path / "out"), "cpu"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert Path(r.stdout.strip()).name.startswith(f"MedGradDesktop-{version_py.read()}-linux-")
