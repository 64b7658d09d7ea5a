"""Capture every figure the app's outputs carry on the demo images, to prove a refactor changes none.

Runs the real command line (predict, explain with every method, report in every format) on
resources/demo with the bundled demo model, then writes one SHA-256 per output file into a manifest.
Fields that legitimately differ between two runs (times, commit, version, durations, paths of the run's
own folders) are removed before hashing; everything else (probabilities, scores, maps as PNG pixels,
report text) must match byte for byte. Usage:

    python tools/capture_outputs.py OUT_DIR          # writes OUT_DIR/manifest.json
    python tools/capture_outputs.py --compare A/manifest.json B/manifest.json
    python tools/capture_outputs.py --rehash OUT_DIR  # digests again after a change of this script
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
VOLATILE_KEYS = re.compile(
    r"(time|date|created|commit|version|duration|elapsed|seconds|_ms|device|host|platform|python|torch|out|path)",
    re.I,
)
TOLERANCE = 2e-6
VOLATILE_TEXT = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ][0-9:.+\-Z]+|[0-9a-f]{7,40}(-dirty)?(?=\W)|v?\d+\.\d+\.\d+(\+\S+)?)"
)


def _run(args: list[str]) -> str:
    env = dict(os.environ, HF_HUB_OFFLINE="1", QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "medgrad_desktop.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"medgrad {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def _scrub_json(value: object) -> object:
    if isinstance(value, dict):
        return {k: _scrub_json(v) for k, v in value.items() if not VOLATILE_KEYS.search(str(k))}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    if isinstance(value, str):
        return value.replace(str(ROOT), "<root>")
    return value


def _digest(path: Path) -> object:
    """A SHA-256 for most files; JSON and CSV are kept as values, compared to a float tolerance."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _scrub_json(json.loads(data))
    if suffix == ".csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        keep = [i for i, name in enumerate(rows[0]) if not VOLATILE_KEYS.search(name)] if rows else []
        return [[row[i] for i in keep if i < len(row)] for row in rows]
    if suffix in {".html", ".txt"}:
        text = data.decode("utf-8", errors="replace")
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", lambda m: _png_b64_digest(m.group(0)), text)
        data = VOLATILE_TEXT.sub("<v>", text).encode()
    elif suffix == ".png":
        data = _png_pixels(data)
    return hashlib.sha256(data).hexdigest()


def _png_pixels(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.mode.encode() + repr(im.size).encode() + im.tobytes()


def _png_b64_digest(uri: str) -> str:
    import base64

    raw = base64.b64decode(uri.split(",", 1)[1])
    return "png:" + hashlib.sha256(_png_pixels(raw)).hexdigest()


def capture(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    images = sorted(p for p in DEMO.glob("*.png"))
    (out / "predict.json").write_text(_run(["predict", str(DEMO), "--json", "--top-k", "5"]))
    for image in images[:6]:
        _run(
            ["explain", str(image), "--method", "all", "--target", "predicted", "--out", str(out / "explain")]
        )
    _run(
        [
            "explain",
            str(images[0]),
            "--method",
            "all",
            "--target",
            "all-classes",
            "--out",
            str(out / "classes"),
        ]
    )
    _run(
        [
            "explain",
            str(images[1]),
            "--method",
            "all",
            "--target",
            "blue white veil",
            "--out",
            str(out / "text"),
        ]
    )
    _run(
        [
            "report",
            str(DEMO),
            "--out",
            str(out / "report"),
            "--method",
            "all",
            "--format",
            "html,csv,png",
            "--force",
        ]
    )
    write_manifest(out)


def write_manifest(out: Path) -> None:
    manifest = {
        str(p.relative_to(out)): _digest(p)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "manifest.json" and "PSEUDONYM KEY" not in p.name
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    print(f"{len(manifest)} files captured in {out / 'manifest.json'}")


def _same(x: object, y: object, new: frozenset[str] = frozenset()) -> bool:
    """Equal, numbers to TOLERANCE: a batched CPU forward is reproducible to float32 rounding only.

    Keys named in `new` may appear in the second capture only (a field a change adds on purpose)."""
    if isinstance(x, dict) and isinstance(y, dict):
        added = y.keys() - x.keys()
        return x.keys() <= y.keys() and added <= new and all(_same(x[k], y[k], new) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same(a, b, new) for a, b in zip(x, y, strict=True))
    if isinstance(x, str) and isinstance(y, str) and x != y:
        try:
            return abs(float(x) - float(y)) <= TOLERANCE
        except ValueError:
            return False
    if isinstance(x, float | int) and isinstance(y, float | int):
        return abs(x - y) <= TOLERANCE
    return x == y


def compare(a: Path, b: Path, new: frozenset[str] = frozenset()) -> int:
    first, second = json.loads(a.read_text()), json.loads(b.read_text())
    differ = sorted(k for k in first.keys() & second.keys() if not _same(first[k], second[k], new))
    only = sorted(first.keys() ^ second.keys())
    for key in differ:
        print(f"DIFFERS  {key}")
    for key in only:
        print(f"ONLY IN ONE  {key}")
    print(
        f"{len(first.keys() & second.keys()) - len(differ)} identical, {len(differ)} differ, {len(only)} unmatched"
    )
    return 1 if differ or only else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--allow-new", default="", help="comma-separated JSON keys a change adds on purpose")
    parser.add_argument("--rehash", action="store_true", help="rewrite the manifest of a captured folder")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.paths, new=frozenset(filter(None, args.allow_new.split(","))))
    if args.rehash:
        write_manifest(args.paths[0])
        return 0
    capture(args.paths[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
