"""The HTML report as a browser shows it: headless Chromium renders a de-identified patient report and
the screenshot must be a page with content (not blank, not an error page)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.cli import main
from medgrad_desktop.testing import dicom_samples as ds_

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def render(html: Path, png: Path, size: tuple[int, int] = (1100, 1500)) -> np.ndarray:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--disable-dev-shm-usage",
        f"--user-data-dir={png.parent / 'chromium-profile'}",
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={png}",
        html.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    with Image.open(png) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)"
)
def test_html_report_renders_in_chromium(tmp_path: Path, demo_like_weights):
    folder = tmp_path / "set"
    for i, date in enumerate(("20230105", "20240220")):
        ds_.write(
            ds_.photo_dataset(ds_.lesion_rgb(240, 320, seed=i), study_uid=f"1.2.3.{i}", study_date=date),
            folder / f"visit{i}.dcm",
        )
    out = tmp_path / "out"
    assert (
        main(
            [
                "report",
                str(folder),
                "--out",
                str(out),
                "--weights",
                str(demo_like_weights),
                "--format",
                "html",
                "--method",
                "all",
            ]
        )
        == 0
    )
    shot = render(out / "report.html", tmp_path / "report.png")
    assert shot.shape[0] >= 1000 and shot.shape[1] >= 1000
    grey = shot.mean(axis=2)
    assert grey.std() > 20  # text, tables and pictures, not one flat colour
    dark = (grey < 100).mean()
    assert 0.002 < dark < 0.6  # some ink, but not a black error page
    colourful = (shot.max(axis=2).astype(int) - shot.min(axis=2)).mean()
    assert colourful > 3  # the warning banner / images carry colour
    keep = os.environ.get("MEDGRAD_KEEP_SCREENSHOT")  # a path: where to keep the screenshot for a person
    if keep:
        shutil.copyfile(tmp_path / "report.png", keep)
