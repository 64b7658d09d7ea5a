"""Third-party notices: every bundled distribution gets an entry (build/notices.py, used by the spec),
a bundled package without one is found (`notices.py --check`), the LGPL and NVIDIA conditions are
written down, nothing only the tests use reaches the bundle, and no unreviewed strong-copyleft package
does. The notices of a real bundle are checked by `make bundle-test` (build/bundle_test.sh, step 4)."""

from __future__ import annotations

import importlib.metadata as md
import os
import shutil
import sys
from pathlib import Path

import pytest

from medgrad_desktop.licences import notices_text, source_notices
from medgrad_desktop.licences.components import (
    APP_DISTRIBUTION,
    Component,
    app_requirements,
    canonical,
    from_distribution,
    is_strong_copyleft,
    licence_summary,
    requirement_closure,
)
from medgrad_desktop.licences.render import LGPL_SECTION, NOTICES_NAME, component_names
from tests.bundle.conftest import BUILD, ROOT, load_build_module


@pytest.fixture(scope="module")
def notices():
    return load_build_module("notices.py", "medgrad_notices")


@pytest.fixture(scope="module")
def owners(notices):
    return notices.Owners()


@pytest.fixture(scope="module")
def runtime() -> dict[str, md.Distribution]:
    dists = requirement_closure(app_requirements())
    dists.pop(APP_DISTRIBUTION, None)
    return dists


def _collectable(dist: md.Distribution) -> list:
    """Files of `dist` that PyInstaller could collect: in site-packages (not scripts in bin/), not its
    metadata or byte-code caches."""
    return [
        f
        for f in dist.files or []
        if f.parts[0] != ".."
        and ".dist-info" not in f.parts[0]
        and "__pycache__" not in f.parts
        and Path(dist.locate_file(f)).is_file()
    ]


def _one_file(dist: md.Distribution) -> Path:
    """A file of `dist` as installed (its metadata where it has nothing else, as cuda-toolkit)."""
    files = _collectable(dist) or [f for f in dist.files if f.parts[0] != ".."]
    return Path(dist.locate_file(files[0]))


def test_every_bundled_distribution_and_the_runtime_get_an_entry(notices, owners, runtime, tmp_path):
    """A collection holding one file of every runtime distribution, a standard-library module, the app's
    own code and a file the build made: one entry per distribution and one for Python, none for the app."""
    entries = [(f"pkg/{key}", str(_one_file(d))) for key, d in runtime.items()]
    entries += [("os.pyc", os.__file__), ("main.py", str(ROOT / "main.py"))]
    entries += [("medgrad_desktop/__init__.pyc", str(ROOT / "medgrad_desktop" / "__init__.py"))]
    base_zip = tmp_path / "base_library.zip"
    base_zip.write_bytes(b"PK")
    entries.append(("base_library.zip", str(base_zip)))
    out = tmp_path / NOTICES_NAME
    count = notices.write_notices(entries, out, "9.9.9", "gpu", {"example-gpl-decoder": "reason"})
    text = out.read_text(encoding="utf-8")
    listed = {canonical(n) for n in component_names(text)}
    assert listed == set(runtime) | {"python", "pyinstaller"}  # PyInstaller: the bootloader
    assert count == len(listed)
    assert "MedGrad Desktop 9.9.9: third-party notices" in text.splitlines()[0]
    assert f"{count} third-party components" in text
    assert "example-gpl-decoder" not in text  # an acknowledged package that is not bundled is not named


def test_an_acknowledged_copyleft_package_is_named_and_any_other_stops_the_build(notices):
    gpl = Component("example-gpl-decoder", "1.0", "GPL-3.0-only", "Python package")
    mit = Component("example-mit-decoder", "1.0", "MIT", "Python package")
    assert notices.check_copyleft([gpl, mit], {"example-gpl-decoder": "reason"}) == ["example-gpl-decoder"]
    with pytest.raises(SystemExit, match="example-gpl-decoder 1.0"):
        notices.check_copyleft([gpl, mit], {})


def test_a_file_without_an_owner_stops_the_build(notices, owners, tmp_path):
    stray = tmp_path / "vendor" / "mystery.dat"
    stray.parent.mkdir()
    stray.write_text("?")
    with pytest.raises(SystemExit, match="no owner found"):
        notices.bundle_components([("mystery.dat", str(stray))], owners)


def test_the_venv_inside_the_checkout_is_not_taken_for_the_app(notices, owners):
    """The app's files have no entry; the virtual environment in the checkout is not the app's."""
    assert owners.owner(str(ROOT / "main.py")) == "app"
    assert owners.owner(str(ROOT / "build" / "hooks" / "rth_medgrad.py")) == "app"
    import PySide6

    assert owners.owner(PySide6.__file__) == "dist:pyside6-essentials"
    assert owners.owner(os.__file__) == "python"


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("dpkg-query") is None, reason="Debian"
)
def test_a_system_library_is_traced_to_its_debian_package(notices, owners):
    libz = next((p for p in ("/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1")), None)
    if libz is None or not Path(libz).exists():
        pytest.skip("no libz here")
    comps = notices.bundle_components([("libz.so.1", libz)], owners)
    assert [c.name for c in comps] == ["zlib1g"]
    assert comps[0].origin == "Debian package" and comps[0].where == ["libz.so.1"]
    assert "/usr/share/doc/zlib1g/copyright" in comps[0].texts[0].label


def _fake_bundle(tmp_path: Path, dists: list[md.Distribution], listed: list[str]) -> Path:
    """A bundle folder holding one real file of each of `dists` where PyInstaller puts it, and notices
    naming `listed`."""
    app = tmp_path / "MedGradDesktop"
    (app / "_internal").mkdir(parents=True)
    for d in dists:
        f = _collectable(d)[0]
        dest = app / "_internal" / f
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(d.locate_file(f), dest)
    body = "".join(f"Component: {n} 1.0\n" for n in listed)
    (app / NOTICES_NAME).write_text(f"MedGrad Desktop 0: third-party notices\n{body}", encoding="utf-8")
    return app


def test_check_finds_a_bundled_package_without_an_entry(notices, tmp_path):
    idna, numpy = md.distribution("idna"), md.distribution("numpy")
    app = _fake_bundle(tmp_path, [idna, numpy], ["numpy"])
    problems = notices.check_bundle(app)
    assert len(problems) == 1 and problems[0].startswith("idna ")
    (app / NOTICES_NAME).write_text("Component: idna 3\nComponent: numpy 2\n", encoding="utf-8")
    assert notices.check_bundle(app) == []
    assert notices.main(["--check", str(app)]) == 0


def test_check_finds_a_system_library_named_nowhere(notices, tmp_path):
    app = _fake_bundle(tmp_path, [], [])
    (app / "_internal" / "libmystery.so.3").write_bytes(b"\x7fELF")
    (app / "_internal" / "python3.11" / "lib-dynload").mkdir(parents=True)
    (app / "_internal" / "python3.11" / "lib-dynload" / "_ssl.so").write_bytes(b"\x7fELF")
    assert notices.check_bundle(app) == [
        "libmystery.so.3: a library of no installed distribution, not named in the notices"
    ]
    shutil.rmtree(app / "_internal")
    (app / NOTICES_NAME).unlink()
    assert notices.check_bundle(app) == [f"{NOTICES_NAME} missing from {app}"]


def test_lgpl_section_says_how_to_replace_qt_and_texts_are_shipped(runtime):
    text = source_notices()
    assert "Replacing the Qt libraries" in text and LGPL_SECTION.splitlines()[0] in text
    assert "_internal/PySide6/Qt/lib/" in LGPL_SECTION and "--self-test" in LGPL_SECTION
    # PySide6's wheel carries no licence file: the LGPL-3.0 and GPL-3.0 texts come from resources/licences/
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in text and "GNU GENERAL PUBLIC LICENSE" in text
    assert "NVIDIA CUDA libraries" in text or not any(k.startswith("nvidia-") for k in runtime)
    assert {canonical(n) for n in component_names(text)} == set(runtime)


# A line of each library's own notice, as shipped in resources/licences/python-gdcm/ from the sources.
_GDCM_BUILT_IN = {
    "GDCM": "Copyright (c) 2006-2016 Mathieu Malaterre",
    "CharLS": "Copyright (c) 2007-2010, Jan de Vaan",
    "OpenJPEG": "Copyright (c) 2002-2014, Universite catholique de Louvain (UCL), Belgium",
    "IJG libjpeg": "the Independent JPEG Group",
    "DCMTK": "Copyright (C) 1994-2004, OFFIS",
    "expat": "Thai Open Source Software Center Ltd",
    "zlib": "Jean-loup Gailly and Mark Adler",
    "uuid": "The name of the author may not be used to endorse or promote",
    "socketxx": "Copyright (C) 1992-1996 Gnanasekaran Swaminathan",
    "dicom3tools": "David A. Clunie DBA PixelMed Publishing",
    "OpenSSL": "Original SSLeay License",
}


def test_gdcm_entry_carries_the_notices_of_the_libraries_built_into_its_wheel(runtime):
    """python-gdcm's wheel holds only its Apache-2.0 licence; GDCM, the libraries it builds in and the
    OpenSSL 1.1.1k of python_gdcm.libs/ come from resources/licences/python-gdcm/, each labelled."""
    if "python-gdcm" not in runtime:
        pytest.skip("python-gdcm is not installed")
    entry = from_distribution(runtime["python-gdcm"])
    texts = {t.label: t.text for t in entry.texts}
    assert any("Apache License" in t for t in texts.values())  # the wheel's own licence is kept
    for library, line in _GDCM_BUILT_IN.items():
        assert any(library in label and line in text for label, text in texts.items()), library
    openssl = next(text for label, text in texts.items() if "OpenSSL" in label)
    assert "OpenSSL 1.1.1" in next(label for label in texts if "OpenSSL" in label)
    assert "OpenSSL License" in openssl and "Eric Young" in openssl
    notices = source_notices()
    assert all(line in notices for line in _GDCM_BUILT_IN.values()) and "OpenSSL 1.1.1k" in notices


def test_each_distinct_licence_text_is_printed_once(runtime):
    text = source_notices()
    nvidia = [k for k in runtime if k.startswith("nvidia-cu")]
    if len(nvidia) < 2:
        pytest.skip("no CUDA libraries installed")
    assert text.count("End User License Agreement\n--------------------------") == 1


def test_frozen_app_shows_the_file_of_its_bundle(tmp_path, monkeypatch):
    (tmp_path / NOTICES_NAME).write_text("Component: demo 1\n", encoding="utf-8")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert notices_text() == "Component: demo 1\n"
    (tmp_path / NOTICES_NAME).unlink()
    assert "missing from this bundle" in notices_text()


@pytest.mark.parametrize(
    ("licence", "strong"),
    [
        ("GPL V3.0", True),
        ("GPL-3.0-or-later", True),
        ("GNU General Public License v2 (GPLv2)", True),
        ("AGPL-3.0-only", True),
        ("LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only", False),
        ("GPLv2-or-later with a special exception which allows to use PyInstaller", False),
        ("Apache Software License / GNU General Public License v2 (GPLv2)", False),
        ("GNU Lesser General Public License v3 (LGPLv3)", False),
        ("MIT", False),
        ("BSD-3-Clause AND 0BSD AND MIT", False),
    ],
)
def test_strong_copyleft_is_recognised(licence, strong):
    assert is_strong_copyleft(licence) is strong


def test_no_unreviewed_strong_copyleft_package_is_a_runtime_requirement(cfg, runtime):
    """A package under the GPL would bind the whole (proprietary) app: each one the runtime pulls in must
    be named, with its decision, in bundle_config.ACKNOWLEDGED_COPYLEFT (and the build stops otherwise)."""
    copyleft = {k for k, d in runtime.items() if is_strong_copyleft(licence_summary(d.metadata))}
    assert copyleft <= set(cfg.ACKNOWLEDGED_COPYLEFT), copyleft - set(cfg.ACKNOWLEDGED_COPYLEFT)


def test_packages_outside_the_runtime_requirements_are_excluded_from_the_bundle(cfg, runtime):
    """Test runners, linters, PyInstaller, the rest of the dev extra and anything else installed here
    (a copyleft evaluation toolkit such as quantus, where installed) are excluded by name; no runtime
    package is. The GUI importing none of them is checked in test_bundle_spec.py."""
    excluded = set(cfg.not_runtime_modules())
    assert {"pytest", "_pytest", "hypothesis", "pytestqt", "pypdf", "PyInstaller", "importlinter"} <= excluded
    runtime_names = set().union(*(cfg._import_names(d) for d in runtime.values()))
    assert not excluded & runtime_names
    for dist in md.distributions():
        key = canonical(dist.metadata["Name"])
        lic = licence_summary(dist.metadata)
        if key in runtime or key in (APP_DISTRIBUTION, "pyinstaller", "pyinstaller-hooks-contrib"):
            continue  # PyInstaller's bootloader and run-time hooks are in every bundle, under their exceptions
        names = {n for n in cfg._import_names(dist) if n.isidentifier()}
        assert names <= excluded, f"{key} ({lic}) could reach the bundle: {names - excluded}"
    spec = (BUILD / "medgrad.spec").read_text()
    assert "excludes=list(cfg.EXCLUDES) + list(cfg.not_runtime_modules())" in spec


def test_spec_writes_the_notices_into_the_bundle(cfg):
    from medgrad_desktop.licences.render import NOTICES_NAME as APP_NAME

    assert cfg.NOTICES_NAME == APP_NAME
    spec = (BUILD / "medgrad.spec").read_text()
    assert "cfg.write_notices([a.pure, a.scripts, a.binaries, a.datas]" in spec
    assert "a.datas.append((cfg.NOTICES_NAME" in spec  # _internal/, where the frozen app reads it
    assert "Path(DISTPATH) / cfg.APP_NAME / cfg.NOTICES_NAME" in spec  # and beside the executable
