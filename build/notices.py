"""THIRD-PARTY-NOTICES.txt for a bundle, made from exactly the files PyInstaller collected.

`medgrad.spec` calls `write_notices` after the collection is filtered: every collected file (Python
modules, binaries, data) is traced back to its owner and every owner gets an entry:
- a Python distribution, by the RECORD files of every installed distribution (importlib.metadata);
- the Python runtime (its standard library, lib-dynload, libpython, and on Windows and macOS the whole
  Python installation, which the python.org and GitHub builds ship with their licence file);
- an operating-system library (Linux: the Debian package that owns it, `dpkg-query -S`, with its
  /usr/share/doc/<package>/copyright), or the Microsoft Visual C++ runtime on Windows;
- the app itself (this repository's files), which has no entry.
A file with no owner stops the build: a notice cannot be left out by accident. So does a bundled
component under a strong copyleft licence (GPL/AGPL without an exception) that bundle_config does not
name in ACKNOWLEDGED_COPYLEFT with its reason.

    python build/notices.py --check BUNDLE_DIR    # after a build: every bundled file is covered
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from medgrad_desktop.licences.components import (  # noqa: E402
    APP_DISTRIBUTION,
    Component,
    LicenceText,
    canonical,
    from_distribution,
    is_strong_copyleft,
)
from medgrad_desktop.licences.render import NOTICES_NAME, component_names, render  # noqa: E402

PYTHON = "python"
# The app's own files (no entry); the virtual environment inside the checkout is not among them.
APP_ROOTS = (ROOT / "medgrad_desktop", ROOT / "resources", ROOT / "build" / "hooks", ROOT / "main.py")
_SHARED_LIB = re.compile(r"\.(so(\.\d+)*|dll|dylib|pyd)$", re.IGNORECASE)
_VC_RUNTIME = (
    "vcruntime*.dll",
    "msvcp*.dll",
    "concrt*.dll",
    "vcomp*.dll",
    "api-ms-win-*.dll",
    "ucrtbase.dll",
)


def _norm(p: str | Path) -> str:
    return os.path.normcase(os.path.realpath(p))


class Owners:
    """Who owns a file on this machine: an installed distribution, the Python runtime, the app, or an
    operating-system package."""

    def __init__(self, app_roots: Iterable[Path] = APP_ROOTS) -> None:
        self.dists: dict[str, md.Distribution] = {}
        self.by_file: dict[str, str] = {}
        self.by_record: dict[str, str] = {}  # site-packages-relative RECORD path -> distribution key
        for dist in md.distributions():
            key = canonical(dist.metadata["Name"] or "")
            if not key or key in self.dists:
                continue  # broken metadata, or an older copy further down sys.path (the first is imported)
            self.dists[key] = dist
            for f in dist.files or []:
                self.by_record.setdefault(f.as_posix(), key)
                self.by_file.setdefault(_norm(dist.locate_file(f)), key)
        self.app_roots = [_norm(r) for r in app_roots]
        stdlib = Path(os.__file__).resolve().parent
        self.python_roots = [_norm(stdlib) + os.sep]
        base = Path(sys.base_prefix).resolve()
        if sys.platform in ("win32", "darwin") or str(base) not in ("/usr", "/usr/local"):
            self.python_roots.append(_norm(base) + os.sep)  # a self-contained installation
        libdir, soname = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
        self.libpython = {_norm(Path(libdir) / soname)} if libdir and soname else set()

    def owner(self, src: str) -> str | None:
        """'dist:<key>', 'python', 'app', 'vcruntime', 'system' (to be asked of dpkg) or None."""
        n = _norm(src)
        if n in self.by_file:
            return f"dist:{self.by_file[n]}"
        if os.path.basename(n) == "base_library.zip":
            return PYTHON  # the standard library modules PyInstaller zips for the bootloader
        if any(n == r or n.startswith(r + os.sep) for r in self.app_roots):
            return "app"
        if n in self.libpython or any(n.startswith(r) for r in self.python_roots):
            return PYTHON
        name = os.path.basename(n)
        if sys.platform == "win32" and any(fnmatch.fnmatch(name, p) for p in _VC_RUNTIME):
            return "vcruntime"
        if sys.platform.startswith("linux") and _SHARED_LIB.search(name):
            return "system"
        return None


def toc_sources(*tocs: Iterable[tuple]) -> list[tuple[str, str]]:
    """(bundle path, source file) of PyInstaller TOC entries that copy a real file (not links or
    built-in modules)."""
    out = []
    for toc in tocs:
        for dest, src, typecode in toc:
            if typecode == "SYMLINK" or not src or not os.path.isfile(src):
                continue
            out.append((dest, src))
    return out


def _where(dest: str) -> str:
    parts = dest.replace("\\", "/").split("/")
    if len(parts) == 1:
        return parts[0]
    return "/".join(parts[:2] if parts[0] == "nvidia" else parts[:1]) + "/"


def python_component() -> Component:
    """The Python runtime, with the licence file of its installation (Debian: its copyright file)."""
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    stdlib = Path(os.__file__).resolve().parent
    candidates = [
        stdlib / "LICENSE.txt",
        Path(sys.base_prefix) / "LICENSE.txt",
        Path(f"/usr/share/doc/python{ver}/copyright"),
        Path(f"/usr/share/doc/libpython{ver}-stdlib/copyright"),
        Path(f"/usr/share/doc/libpython{ver}-minimal/copyright"),
    ]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise SystemExit(f"notices: no licence file of Python {ver} found (looked at {candidates})")
    text = found.read_text(encoding="utf-8", errors="replace").strip("\n")
    return Component(
        name="Python",
        version=sys.version.split()[0],
        licence="PSF-2.0 (Python Software Foundation License; bundled libraries under their own terms)",
        origin="Python runtime",
        url="https://www.python.org/",
        texts=[LicenceText(str(found), text)],
    )


def vcruntime_component() -> Component:
    return Component(
        name="Microsoft-Visual-C++-runtime",
        version="14",
        licence="Microsoft Visual Studio redistributable (distributable code of the Visual C++ runtime)",
        origin="Windows runtime library",
        url="https://learn.microsoft.com/cpp/windows/redistributing-visual-cpp-files",
    )


def _dpkg_owner(path: str) -> str | None:
    """The Debian package that installed `path` (trying the /usr-merged spellings), or None."""
    if shutil.which("dpkg-query") is None:
        return None
    real = os.path.realpath(path)
    tries = dict.fromkeys([path, real] + [p.replace("/usr/lib/", "/lib/", 1) for p in (path, real)])
    tries.update(
        dict.fromkeys(p.replace("/lib/", "/usr/lib/", 1) for p in (path, real) if p.startswith("/lib/"))
    )
    for p in tries:
        r = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if r.returncode == 0 and ":" in r.stdout:
            return r.stdout.split(": ", 1)[0].split(",")[0].strip()
    return None


def debian_component(package: str) -> Component:
    name = package.split(":")[0]
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
    ).stdout.strip()
    copyright_file = Path("/usr/share/doc") / name / "copyright"
    if not copyright_file.is_file():
        raise SystemExit(f"notices: Debian package {package} has no {copyright_file}")
    text = copyright_file.read_text(encoding="utf-8", errors="replace").strip("\n")
    licences = sorted(dict.fromkeys(re.findall(r"^License:\s*(\S.*)$", text, re.MULTILINE)))
    return Component(
        name=name,
        version=version or "unknown",
        licence=" / ".join(licences[:4]) or "see the copyright file",
        origin="Debian package",
        url=f"https://packages.debian.org/source/{name}",
        texts=[LicenceText(str(copyright_file), text)],
    )


def bundle_components(entries: list[tuple[str, str]], owners: Owners | None = None) -> list[Component]:
    """One component per owner of the (bundle path, source) entries; stops on a file without one."""
    owners = owners or Owners()
    where: dict[str, set[str]] = {}
    makers: dict[str, object] = {}
    unowned = []
    for dest, src in entries:
        who = owners.owner(src)
        if who == "system":
            pkg = _dpkg_owner(src)
            who = f"deb:{pkg}" if pkg else None
        if who is None:
            unowned.append(f"{dest} <- {src}")
            continue
        if who == "app" or who == f"dist:{APP_DISTRIBUTION}":
            continue
        where.setdefault(who, set()).add(dest.replace("\\", "/") if who.startswith("deb:") else _where(dest))
        makers[who] = who
    if unowned:
        raise SystemExit(
            "notices: no owner found for these bundled files, so they would have no licence entry:\n  "
            + "\n  ".join(sorted(unowned)[:40])
        )
    comps = []
    for who in sorted(makers):
        if who.startswith("dist:"):
            comp = from_distribution(owners.dists[who[5:]])
        elif who.startswith("deb:"):
            comp = debian_component(who[4:])
        elif who == PYTHON:
            comp = python_component()
        else:
            comp = vcruntime_component()
        comp.where = sorted(where[who])
        comps.append(comp)
    return comps


def pyinstaller_component(owners: Owners) -> Component:
    """The bootloader (the executable itself) and PyInstaller's run-time modules are PyInstaller's."""
    comp = from_distribution(owners.dists["pyinstaller"])
    comp.where = ["the executable (PyInstaller's bootloader)", "its run-time modules in the archive"]
    return comp


def check_copyleft(comps: list[Component], acknowledged: dict[str, str]) -> list[str]:
    """Names of strong-copyleft components not acknowledged; stops the build when there are any."""
    found = [c for c in comps if c.origin == "Python package" and is_strong_copyleft(c.licence)]
    bad = [f"{c.name} {c.version} ({c.licence})" for c in found if c.key not in acknowledged]
    if bad:
        raise SystemExit(
            "notices: these bundled packages are under a strong copyleft licence, which would bind the "
            "whole app: " + ", ".join(bad) + ". Remove them, or name them in "
            "bundle_config.ACKNOWLEDGED_COPYLEFT with the decision."
        )
    return [c.name for c in found]


def write_notices(
    entries: list[tuple[str, str]], out: Path, version: str, variant: str, acknowledged: dict[str, str]
) -> int:
    """Write the notices for the collected (bundle path, source) entries; returns the entry count."""
    owners = Owners()
    comps = bundle_components(entries, owners)
    if "pyinstaller" in owners.dists and not any(c.key == "pyinstaller" for c in comps):
        comps.append(pyinstaller_component(owners))
    copyleft = check_copyleft(comps, acknowledged)
    context = [
        f"Bundle for {sys.platform} {os.uname().machine if hasattr(os, 'uname') else ''}, variant {variant}, "
        f"made from the {len(entries)} files PyInstaller collected; every one of them is traced to an entry.",
        "The app itself is proprietary (research use only); these are the components it carries.",
    ]
    for name in copyleft:
        context.append(f"NOTE: {name} is under a strong copyleft licence: {acknowledged[canonical(name)]}")
    text = render(comps, f"MedGrad Desktop {version}: third-party notices", context)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return len(comps)


def _is_system_library(rel: str) -> bool:
    """A shared library in the bundle that is not Python's own (lib-dynload, libpython)."""
    name = rel.rsplit("/", 1)[-1]
    return (
        bool(_SHARED_LIB.search(name))
        and "lib-dynload/" not in rel
        and not name.startswith(("libpython", "python3"))
    )


def check_bundle(app_dir: Path) -> list[str]:
    """Problems with a built bundle's notices: a file that belongs to an installed distribution whose
    entry is missing, or a shared library (not Python's own) named nowhere in the notices."""
    internal = app_dir / "_internal"
    notices = next((p for p in (app_dir / NOTICES_NAME, internal / NOTICES_NAME) if p.is_file()), None)
    if notices is None:
        return [f"{NOTICES_NAME} missing from {app_dir}"]
    text = notices.read_text(encoding="utf-8")
    listed = {canonical(n) for n in component_names(text)}
    owners = Owners()
    problems = set()
    for path in internal.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        rel = path.relative_to(internal).as_posix()
        key = owners.by_record.get(rel)
        if key is not None:
            if key != APP_DISTRIBUTION and key not in listed:
                problems.add(f"{owners.dists[key].metadata['Name']} (e.g. {rel}) has no entry")
        elif _is_system_library(rel) and path.name not in text:
            problems.add(f"{rel}: a library of no installed distribution, not named in the notices")
    return sorted(problems)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", type=Path, metavar="BUNDLE_DIR", required=True)
    args = p.parse_args(argv)
    problems = check_bundle(args.check)
    for line in problems:
        print(f"notices: {line}", file=sys.stderr)
    if not problems:
        path = next(
            q for q in (args.check / NOTICES_NAME, args.check / "_internal" / NOTICES_NAME) if q.is_file()
        )
        print(f"notices: {len(component_names(path.read_text(encoding='utf-8')))} entries cover the bundle")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
