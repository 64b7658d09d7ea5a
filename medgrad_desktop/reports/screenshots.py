"""Re-create `docs/screenshots/report-page-1.png` and `-2.png`: a report of the demo folder (or, while
it is missing, a few synthetic lesions and an untrained tiny model), one accepted and one overridden
review, rendered with poppler's `pdftoppm`.

    python -m medgrad_desktop.reports.screenshots [--out docs/screenshots] [--dpi 110]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from medgrad_desktop.atomic import write_atomic
from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.explain import METHODS, default_params
from medgrad_desktop.core.imageio import list_images, load_image
from medgrad_desktop.core.model import ModelLoadError, load_model
from medgrad_desktop.data.synth import SynthConfig, render_sample
from medgrad_desktop.reports.export import export_report
from medgrad_desktop.reports.request import plan_report
from medgrad_desktop.resources_path import demo_dir
from medgrad_desktop.review import ReviewRecord, ReviewStore


def _images(folder: Path) -> list[Path]:
    demo = [p for p in list_images(demo_dir(), recursive=True) if "model" not in p.parts]
    folder.mkdir(parents=True, exist_ok=True)
    if demo:
        picked = demo[:4]
        for p in picked:
            shutil.copy(p, folder / p.name)
    else:
        for i in range(4):
            Image.fromarray(render_sample(100 + i, SynthConfig(size=448)).image).save(
                folder / f"lesion_{i}.jpg", quality=92
            )
    return list_images(folder)


def _model():
    try:
        return load_model(device="cpu")
    except ModelLoadError:
        return load_model(random_init=True, architecture="MedGrad-Tiny", device="cpu")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/screenshots")
    ap.add_argument("--dpi", type=int, default=110)
    args = ap.parse_args(argv)
    if shutil.which("pdftoppm") is None:
        print("error: pdftoppm not found; install poppler-utils", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        os.environ["MEDGRAD_DATA_DIR"] = str(tmp_path / "data")  # the sample reviews stay out of the user's
        folder = tmp_path / "images"
        paths = _images(folder)
        clip = _model()
        store = ReviewStore()
        first, second = load_image(paths[0]), load_image(paths[1])
        pred = classify(clip, [first.rgb])[0]
        store.put(
            ReviewRecord(
                first.sha256,
                paths[0].name,
                "accepted",
                pred.predicted_id,
                pred.predicted_id,
                "Agree with the prediction on dermoscopy. Sample note: follow-up visit in 3 months.",
            )
        )
        store.put(
            ReviewRecord(second.sha256, paths[1].name, "overridden", "melanoma", None, "Asymmetric; excise.")
        )
        request = plan_report(
            paths, folder, [default_params(m) for m in METHODS], tmp_path / "report", formats=("pdf",)
        )
        export_report(request, clip, reviews=store)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(args.dpi),
                "-f",
                "1",
                "-l",
                "2",
                "-png",
                str(tmp_path / "report" / "report.pdf"),
                str(tmp_path / "page"),
            ],
            check=True,
        )
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for n in (1, 2):
            src = next(tmp_path.glob(f"page-*{n}.png"))
            write_atomic(out / f"report-page-{n}.png", src.read_bytes())
            print(f"wrote {out / f'report-page-{n}.png'} ({clip.card.display_name()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
