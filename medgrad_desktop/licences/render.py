"""THIRD-PARTY-NOTICES.txt: the text a clinic's IT department reads to see what the app carries.

Layout: a header with the count, an index (one line per component), the sections whose conditions ask
for more than a notice (replacing the Qt libraries under the LGPL; NVIDIA's redistribution terms), one
entry per component, and the licence texts at the end, each distinct text once (the NVIDIA libraries
share one agreement, so it is printed once and referred to by its tag). Each entry starts with a
`Component: <name> <version>` line, which `component_names` reads back for the coverage checks.
"""

from __future__ import annotations

import re

from medgrad_desktop.licences.components import Component

NOTICES_NAME = "THIRD-PARTY-NOTICES.txt"
_ENTRY = re.compile(r"^Component: (\S+) (\S+)$", re.MULTILINE)
_RULE = "=" * 100

LGPL_SECTION = """\
Qt for Python (PySide6, shiboken6) and the Qt libraries are used under the GNU Lesser General Public
License version 3 (LGPL-3.0; its text and the GPL-3.0 it builds on are at the end of this file). The Qt
source code is available from https://download.qt.io/official_releases/qt/ and Qt for Python's from
https://download.qt.io/official_releases/QtForPython/ (the versions are in the entries below).

Replacing the Qt libraries. The app is a one-folder bundle: Qt and PySide6 are separate, unmodified
shared libraries, loaded at start-up, never linked into the executable. To use your own build of the same
(or a binary-compatible) Qt / PySide6 version:
  1. Close the app. Find the bundle folder: /opt/medgrad-desktop (Debian package), the unpacked
     MedGradDesktop/ folder (tarball), %LOCALAPPDATA%\\Programs\\MedGrad Desktop (Windows) or
     "MedGrad Desktop.app/Contents/Frameworks" (macOS).
  2. The Qt libraries are in _internal/PySide6/Qt/lib/ (Linux: libQt6*.so.6; macOS: Qt*.framework) or
     _internal/PySide6/ (Windows: Qt6*.dll), the Qt plug-ins in the `plugins` folder beside them, and
     PySide6's own modules (QtCore, QtGui, QtWidgets ...) with libpyside6 and libshiboken6 in
     _internal/PySide6/ and _internal/shiboken6/.
  3. Replace those files with yours, keeping the file names. PySide6's modules must be built against
     the Qt you install (build Qt for Python from source against your Qt if you modified Qt).
  4. Start the app, or run it with --self-test to check it still works.
A signed macOS app must be re-signed after its files change (codesign --force --deep -s - on your Mac).
Nothing in the app's licence forbids this or reverse engineering for debugging such modifications."""

NVIDIA_SECTION = """\
The NVIDIA CUDA libraries (the nvidia-* and cuda-* entries; in the bundle under _internal/nvidia/ and
_internal/cuda*/) are redistributed as unmodified binaries under NVIDIA's own terms: the CUDA Toolkit
End User License Agreement, the NVIDIA Software License Agreement for cuDNN and cuSPARSELt, and the BSD
licence of NCCL. Their texts are reproduced with each entry. The EULA lets applications redistribute the
listed runtime libraries with the application; it forbids modifying them, reverse engineering them, and
distributing them apart from the application. The CPU build of the app carries fewer or none of them."""

SECTION_TRIGGERS = {  # a section is printed when a component of this name prefix is in the notices
    "Qt for Python and the LGPL: replacing the Qt libraries": (("pyside6", "shiboken6"), LGPL_SECTION),
    "NVIDIA CUDA libraries": (("nvidia-", "cuda-"), NVIDIA_SECTION),
}


def _heading(title: str) -> list[str]:
    return ["", _RULE, title, _RULE, ""]


def render(components: list[Component], title: str, context: list[str]) -> str:
    """The notices text for `components` (sorted by name) under `title`, with `context` lines (what was
    bundled, for which platform) after it."""
    comps = sorted(components, key=lambda c: c.key)
    tags: dict[str, str] = {}
    texts: list[tuple[str, str, str]] = []  # (tag, first label, text)
    for c in comps:
        for t in c.texts:
            if t.digest not in tags:
                tags[t.digest] = f"L{len(tags) + 1}"
                texts.append((tags[t.digest], f"{c.name} {c.version}: {t.label}", t.text))
    lines = [title, *context, "", f"{len(comps)} third-party components, each with its licence below.", ""]
    lines += ["Index", "-----"]
    lines += [f"{i:4d}. {c.name} {c.version} ({c.origin}): {c.licence}" for i, c in enumerate(comps, 1)]
    keys = [c.key for c in comps]
    for heading, (prefixes, body) in SECTION_TRIGGERS.items():
        if any(k.startswith(prefixes) for k in keys):
            lines += _heading(heading) + [body]
    lines += _heading("Components")
    for c in comps:
        lines += [f"Component: {c.name} {c.version}", f"  Kind: {c.origin}", f"  Licence: {c.licence}"]
        if c.url:
            lines.append(f"  Home: {c.url}")
        if c.where:
            shown = c.where[:6] + ([f"... {len(c.where) - 6} more"] if len(c.where) > 6 else [])
            lines.append(f"  In the bundle: {', '.join(shown)}")
        if c.texts:
            lines += [f"  Licence text {tags[t.digest]}: {t.label}" for t in c.texts]
        else:
            lines.append("  Licence text: none shipped with it; its licence is the one named above")
        lines.append("")
    lines += _heading("Licence texts")
    for tag, label, text in texts:
        lines += [f"---- [{tag}] {label} ----", text, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def component_names(text: str) -> dict[str, str]:
    """{name: version} of every entry in a notices text."""
    return {m.group(1): m.group(2) for m in _ENTRY.finditer(text)}
