"""Draw the app icon (a lesion under a heat-map ring) and write it in every format the installers need:
build/icons/medgrad.png (256 px, Linux .desktop and the window), medgrad.ico (Windows), medgrad.icns
(macOS). Run once after changing the drawing; the outputs are committed (a few KB each)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent / "icons"


def draw(size: int = 1024) -> Image.Image:
    s = size
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([s * 0.04, s * 0.04, s * 0.96, s * 0.96], radius=s * 0.18, fill=(238, 196, 170, 255))
    # heat map: a radial inferno-like glow centred slightly off the lesion centre
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    r = np.sqrt((xx - 0.55) ** 2 + (yy - 0.47) ** 2)
    heat = np.clip(1.0 - r / 0.38, 0, 1) ** 1.5
    stops = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float32)
    pos = heat * (len(stops) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - lo)[..., None]
    rgb = stops[lo] * (1 - frac) + stops[lo + 1] * frac
    alpha = (heat * 200).astype(np.uint8)
    glow = Image.fromarray(np.dstack([rgb.astype(np.uint8), alpha]), "RGBA")
    lesion = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ld = ImageDraw.Draw(lesion)
    ld.ellipse([s * 0.30, s * 0.28, s * 0.72, s * 0.68], fill=(92, 52, 36, 255))
    ld.ellipse([s * 0.44, s * 0.36, s * 0.62, s * 0.52], fill=(60, 30, 22, 255))
    lesion = lesion.filter(ImageFilter.GaussianBlur(s * 0.012))
    img = Image.alpha_composite(img, lesion)
    img = Image.alpha_composite(img, glow)
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle([s * 0.04, s * 0.04, s * 0.96, s * 0.96], radius=s * 0.18, fill=255)
    img.putalpha(Image.fromarray(np.minimum(np.array(img.getchannel("A")), np.array(mask))))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([s * 0.04, s * 0.04, s * 0.96, s * 0.96], radius=s * 0.18, outline=(40, 40, 60, 255),
                        width=max(2, s // 64))
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    big = draw(1024)
    big.resize((256, 256), Image.LANCZOS).save(OUT / "medgrad.png", optimize=True)
    big.save(OUT / "medgrad.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    big.resize((256, 256), Image.LANCZOS).save(OUT / "medgrad.icns")
    for p in sorted(OUT.iterdir()):
        print(f"{p}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
