"""Third-party components and their licences, read from the installed distributions' metadata.

A component is what the notices list: a Python distribution (name, version, licence, licence files), the
Python runtime, or an operating-system library the bundle carries. Everything is read from what is
installed, never typed by hand, so a new dependency or a new version shows up by itself.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import re
from dataclasses import dataclass, field
from pathlib import Path

from medgrad_desktop.resources_path import resources_dir

APP_DISTRIBUTION = "medgrad-desktop"

# Files of a distribution that carry licence terms: everything under `*.dist-info/licenses/` (PEP 639),
# and files named like a licence anywhere in the distribution (vendored code keeps its own terms there).
_LICENCE_NAME = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|COPYRIGHT)([-_.].*)?$", re.IGNORECASE)
_TEXT_SUFFIXES = {"", ".txt", ".md", ".rst", ".python", ".apache", ".bsd", ".mit"}

# PySide6 and shiboken6 wheels carry no licence file; they (and Qt inside them) are offered under the
# LGPL-3.0, which incorporates the GPL-3.0: both texts are shipped in resources/licences/.
_VENDORED_TEXTS = {
    "pyside6-essentials": ("LGPL-3.0.txt", "GPL-3.0.txt"),
    "pyside6-addons": ("LGPL-3.0.txt", "GPL-3.0.txt"),
    "pyside6": ("LGPL-3.0.txt", "GPL-3.0.txt"),
    "shiboken6": ("LGPL-3.0.txt", "GPL-3.0.txt"),
}
# python-gdcm's wheel carries only its own Apache-2.0 licence, yet its shared libraries build in GDCM
# (BSD-3) and the libraries GDCM vendors under Utilities/ (CharLS, OpenJPEG, the IJG libjpeg in its 8/12/16-bit
# variants with DCMTK's changes, expat, zlib, uuid, socketxx) and the dicom3tools data dictionary, and
# python_gdcm.libs/ carries OpenSSL 1.1.1k (OpenSSL + SSLeay dual licence). Their binary-redistribution
# conditions ask for their notices, so they are added to the wheel's own texts, each labelled by library.
_BUILT_IN_TEXTS = {
    "python-gdcm": (
        ("GDCM", "python-gdcm/GDCM-Copyright.txt"),
        ("CharLS", "python-gdcm/CharLS-License.txt"),
        ("OpenJPEG", "python-gdcm/OpenJPEG-LICENSE.txt"),
        ("IJG libjpeg (8/12/16-bit)", "python-gdcm/IJG-libjpeg-README-LEGAL-ISSUES.txt"),
        ("DCMTK changes to libjpeg", "python-gdcm/DCMTK-COPYRIGHT.txt"),
        ("expat", "python-gdcm/expat-COPYING.txt"),
        ("zlib", "python-gdcm/zlib-LICENSE.txt"),
        ("uuid", "python-gdcm/uuid-COPYING.txt"),
        ("socketxx", "python-gdcm/socketxx-COPYING.txt"),
        ("dicom3tools data dictionary", "python-gdcm/dicom3tools-COPYRIGHT.txt"),
        ("OpenSSL 1.1.1k (libssl, libcrypto)", "python-gdcm/OpenSSL-1.1.1k-LICENSE.txt"),
    ),
}
LICENCES_DIR = "licences"  # under resources/


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name (`PySide6_Essentials` -> `pyside6-essentials`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class LicenceText:
    """One licence file: where it came from and its text."""

    label: str
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class Component:
    """One entry of the notices."""

    name: str
    version: str
    licence: str
    origin: str  # "Python package", "Python runtime", "Debian package", ...
    url: str = ""
    texts: list[LicenceText] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # bundle folders or files it provides

    @property
    def key(self) -> str:
        return canonical(self.name)


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n").strip("\n")


def licence_summary(meta: md.PackageMetadata) -> str:
    """The SPDX expression (PEP 639) where given, else a short `License:` field, else the classifiers."""
    expr = (meta.get("License-Expression") or "").strip()
    if expr:
        return expr
    lic = (meta.get("License") or "").strip()
    if lic and "\n" not in lic and len(lic) <= 200:  # a one-line statement (PyInstaller: GPL + exception)
        return lic
    classifiers = [
        c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")
    ]
    if classifiers:
        return " / ".join(dict.fromkeys(classifiers))
    return lic.splitlines()[0][:100] if lic else "not stated in its metadata"


def _homepage(meta: md.PackageMetadata) -> str:
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("homepage", "home", "source", "repository", "source code"):
            return url.strip()
    return (meta.get("Home-page") or "").strip()


def licence_files(dist: md.Distribution) -> list[LicenceText]:
    """The licence files a distribution installed, in RECORD order, read as text."""
    out = []
    for f in dist.files or []:
        parts = f.parts
        in_licenses = len(parts) >= 2 and parts[0].endswith(".dist-info") and parts[1] == "licenses"
        named = _LICENCE_NAME.match(f.name) and Path(f.name).suffix.lower() in _TEXT_SUFFIXES
        if not (in_licenses or named):
            continue
        path = Path(dist.locate_file(f))
        if path.is_file():
            out.append(LicenceText(str(f), _read_text(path)))
    return out


def vendored_texts(name: str) -> list[LicenceText]:
    """Licence texts shipped with the app for distributions whose wheels carry none."""
    folder = resources_dir() / LICENCES_DIR
    return [
        LicenceText(f"{LICENCES_DIR}/{f} (the wheel carries no licence file)", _read_text(folder / f))
        for f in _VENDORED_TEXTS.get(canonical(name), ())
    ]


def built_in_texts(name: str) -> list[LicenceText]:
    """Licence texts shipped with the app for libraries built into a distribution's binaries."""
    folder = resources_dir() / LICENCES_DIR
    return [
        LicenceText(f"{LICENCES_DIR}/{f} (built into the wheel: {library})", _read_text(folder / f))
        for library, f in _BUILT_IN_TEXTS.get(canonical(name), ())
    ]


def from_distribution(dist: md.Distribution) -> Component:
    meta = dist.metadata
    return Component(
        name=meta["Name"],
        version=meta["Version"],
        licence=licence_summary(meta),
        origin="Python package",
        url=_homepage(meta),
        texts=(licence_files(dist) or vendored_texts(meta["Name"])) + built_in_texts(meta["Name"]),
    )


def requirement_closure(requirements: list[str]) -> dict[str, md.Distribution]:
    """Every installed distribution the requirement strings pull in, by canonical name: markers are
    evaluated for this interpreter, extras named by a requirement are followed, optional extras of the
    top-level requirements are not."""
    from packaging.requirements import Requirement  # only needed here; the frozen app never calls it

    seen: dict[str, md.Distribution] = {}
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        key = canonical(req.name)
        try:
            dist = seen.get(key) or md.distribution(req.name)
        except md.PackageNotFoundError:
            continue  # not installed here: nothing of it can be bundled either
        first = key not in seen
        seen[key] = dist
        for sub in dist.requires or []:
            sub_req = Requirement(sub)
            if sub_req.marker is None or "extra" not in str(sub_req.marker):
                if first:
                    todo.append((sub_req, ""))
            else:
                todo.extend((sub_req, e) for e in req.extras)
    return seen


def app_requirements(extra: str | None = None) -> list[str]:
    """The app's runtime requirements (or those of one extra) from its installed metadata."""
    out = []
    for r in md.requires(APP_DISTRIBUTION) or []:
        marker_extra = re.search(r"""extra\s*==\s*['"]([^'"]+)['"]""", r)
        if (marker_extra.group(1) if marker_extra else None) == extra:
            out.append(r)
    return out


# Licences that would oblige the whole app to be released under them (strong copyleft without a linking
# exception). An SPDX "A OR B" where one side is not strong copyleft leaves a choice and is fine.
_STRONG_COPYLEFT = re.compile(r"\b(A?GPL|GNU General Public|GNU Affero)", re.IGNORECASE)
_WEAK_OR_EXCEPTION = re.compile(r"\b(LGPL|Lesser|Library|exception)", re.IGNORECASE)


def is_strong_copyleft(licence: str) -> bool:
    """True when every alternative of the licence is GPL/AGPL without a linking exception."""
    alternatives = re.split(r"\s+OR\s+|\s*/\s*", licence)
    return all(_STRONG_COPYLEFT.search(a) and not _WEAK_OR_EXCEPTION.search(a) for a in alternatives)
