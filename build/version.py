"""The app's version, from its one place: pyproject.toml's [project].version.

    python build/version.py                      # prints it (installer and archive names use this)
    python build/version.py --debian             # the same in Debian's spelling (1.2.0rc1 -> 1.2.0~rc1)
    python build/version.py --set-from-tag v1.2.0   # a release tag writes it (the release workflow)

The package (`medgrad_desktop.__version__`, hence the About dialog and every report's provenance), the
bundle's metadata (copied by the spec; the macOS Info.plist), the .deb, the Inno Setup installer, the
.dmg and the tarball all read it from here, so they cannot disagree (tests/bundle/test_version.py).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
# PEP 440 release, optional pre-release (a/b/rc), post and dev parts: what a tag may carry
_PEP440 = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")
_PROJECT_VERSION = re.compile(r'^(\[project\]\n(?:(?!\[).*\n)*?version\s*=\s*")([^"]*)(")', re.MULTILINE)


def read(pyproject: Path = PYPROJECT) -> str:
    with pyproject.open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def debian(version: str) -> str:
    """Debian's spelling: a pre-release or dev build sorts before the release (`~`)."""
    v = re.sub(r"(?<=\d)(a|b|rc)(?=\d)", r"~\1", version)
    return v.replace(".dev", "~dev")


def from_tag(tag: str) -> str:
    """The version a tag names (`v1.2.0` or `1.2.0`), checked against PEP 440."""
    v = tag.strip().removeprefix("refs/tags/").removeprefix("v")
    if not _PEP440.match(v):
        raise SystemExit(f"error: tag {tag!r} does not name a version (want v1.2.3, v1.2.3rc1 ...)")
    return v


def write(version: str, pyproject: Path = PYPROJECT) -> None:
    """Replace [project].version in place (the rest of the file is kept byte for byte)."""
    text = pyproject.read_text(encoding="utf-8")
    new, n = _PROJECT_VERSION.subn(lambda m: m.group(1) + version + m.group(3), text, count=1)
    if n != 1:
        raise SystemExit(f"error: no version line in the [project] table of {pyproject}")
    pyproject.write_text(new, encoding="utf-8")
    if read(pyproject) != version:
        raise SystemExit(f"error: {pyproject} does not read back as version {version}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--debian", action="store_true", help="print the version in Debian's spelling")
    p.add_argument("--set-from-tag", metavar="TAG", help="write the version a tag names into pyproject.toml")
    args = p.parse_args(argv)
    if args.set_from_tag:
        write(from_tag(args.set_from_tag))
    v = read()
    print(debian(v) if args.debian else v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
