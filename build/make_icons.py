"""Derive the installers' icon files from the app's own icon, `resources/icons/medgrad.png` (the window
icon), so the window, the menu entry, the Windows installer and the macOS .app show the same picture:
build/icons/medgrad.ico (Windows, several sizes) and medgrad.icns (macOS). The Linux tarball uses the
PNG itself. Run after changing the app icon; the outputs are committed (tens of KB)."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icons" / "medgrad.png"
OUT = Path(__file__).resolve().parent / "icons"


def main() -> int:
    if not SOURCE.is_file():
        print(f"error: {SOURCE} missing; the app icon is the source of the installer icons", file=sys.stderr)
        return 2
    img = Image.open(SOURCE).convert("RGBA")
    OUT.mkdir(parents=True, exist_ok=True)
    side = max(img.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    sizes = [s for s in (16, 24, 32, 48, 64, 128, 256) if s <= side] or [side]
    square.save(OUT / "medgrad.ico", sizes=[(s, s) for s in sizes])
    square.save(OUT / "medgrad.icns")
    for p in sorted(OUT.iterdir()):
        print(f"{p}: {p.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
