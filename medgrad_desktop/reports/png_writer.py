"""PNG export: for each image, the original and one overlay per method with its colour bar, all
re-encoded from pixels (no EXIF/GPS), named by pseudonym when de-identified. An empty map's file is the
original with a line saying there is no positive evidence, and no colour bar. In a report that measured
the maps' stability, each map's first caption line ends with it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from medgrad_desktop.atomic import make_dir, write_atomic
from medgrad_desktop.reports.content import ReportContent
from medgrad_desktop.reports.deidentify import encode_png
from medgrad_desktop.reports.figures import with_captions, with_colorbar


def safe_name(label: str) -> str:
    stem = label.rsplit(".", 1)[0] if "." in label else label
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "image"


def write_pngs(content: ReportContent, folder: Path, tick: Callable[[str], None] | None = None) -> Path:
    private = not content.deidentified  # named by file: a private folder of private files
    folder = make_dir(folder, private=private)
    for e in content.ok_entries:
        if tick is not None:
            tick(e.label)
        base = f"{e.index:04d}_{safe_name(e.label)}" if not content.deidentified else safe_name(e.label)
        write_atomic(folder / f"{base}_original.png", encode_png(e.original.rgb()), private=private)
        for o in e.overlays:
            notice = " ".join([*(w.split(":")[0] for w in content.warnings), content.notice])
            stability = f" \u00b7 {o.stability_text}" if o.stability_text else ""
            if o.image is None:  # an empty map is not drawn: the original, and why there is no map
                pic = with_captions(
                    e.original.rgb(),
                    (f"{o.method_name}: {o.no_evidence} ({o.empty_reason}){stability}", notice),
                )
            else:
                captions = (
                    f"{o.method_name}: explains {o.target_label} (S={o.score:.3f}){stability}",
                    notice,
                )
                pic = with_colorbar(o.image.rgb(), content.colormap, captions, content.overlay_alpha)
            write_atomic(folder / f"{base}_{o.method}.png", encode_png(pic), private=private)
    return folder
