"""SHA256SUMS for release artefacts, in the format `sha256sum -c` and `shasum -a 256 -c` read.

    python build/checksums.py FOLDER       # writes FOLDER/SHA256SUMS over every other file in FOLDER
    python build/checksums.py --check FOLDER

Python rather than sha256sum/shasum so the one script runs on every release runner (Windows has neither).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

NAME = "SHA256SUMS"


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def artefacts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != NAME)


def write(folder: Path) -> Path:
    files = artefacts(folder)
    if not files:
        raise SystemExit(f"error: no artefacts in {folder}")
    out = folder / NAME
    # binary mode marker '*' is what both tools write for binary files; two spaces would do as well
    out.write_text("".join(f"{digest(p)} *{p.name}\n" for p in files), encoding="utf-8", newline="\n")
    return out


def check(folder: Path) -> list[str]:
    """Names whose digest differs or that are listed but missing; files not listed count as errors too."""
    listed = {}
    for line in (folder / NAME).read_text(encoding="utf-8").splitlines():
        value, _, name = line.partition(" ")
        listed[name.lstrip("*").strip()] = value
    bad = [n for n, v in listed.items() if not (folder / n).is_file() or digest(folder / n) != v]
    bad += [p.name for p in artefacts(folder) if p.name not in listed]
    return bad


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--check", action="store_true", help="verify FOLDER/SHA256SUMS instead of writing it")
    args = p.parse_args(argv)
    if args.check:
        bad = check(args.folder)
        for name in bad:
            print(f"{name}: FAILED", file=sys.stderr)
        return 1 if bad else 0
    out = write(args.folder)
    print(out.read_text(encoding="utf-8"), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
