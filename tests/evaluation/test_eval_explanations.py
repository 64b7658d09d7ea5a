"""`medgrad eval-explanations` end to end on the tiny random-init model: outputs, protocol, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.cli import main
from medgrad_desktop.data.records import DatasetError
from medgrad_desktop.evaluation.samples import manifest_samples

FAST = ["--random-init", "--arch", "MedGrad-Tiny", "--device", "cpu", "--steps", "4", "--threads", "1"]


def test_synthetic_run_writes_every_number_with_its_protocol(tmp_path):
    out = tmp_path / "ev"
    rc = main(
        [
            "eval-explanations",
            *FAST,
            "--n",
            "2",
            "--seed",
            "3",
            "--sanity",
            "2",
            "--ablation",
            "--protocols",
            "grad-eclip/patch",
            "rise/pixel",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    doc = json.loads((out / "explanations.json").read_text())
    assert doc["n"] == 2 and doc["seed"] == 3 and doc["commit"]
    assert doc["dataset"]["generator_version"]
    pert = {p["name"] + "/" + p["unit"]: p for p in doc["protocol"]["perturbation"]}
    assert pert["grad-eclip/patch"]["deletion_fill"] == "uniform-random-rgb"
    assert (
        pert["grad-eclip/patch"]["insertion_base"] == "black"
        and pert["grad-eclip/patch"]["max_fraction"] == 0.5
    )
    assert pert["rise/pixel"]["insertion_base"] == "blur" and pert["rise/pixel"]["max_fraction"] == 1.0
    assert "softmax" in doc["protocol"]["score"]
    assert doc["protocol"]["localization"]["pointing_tolerance_px"] == 15
    maps = doc["maps"]
    assert {"gradcam", "grad-eclip", "medgrad", "random", "centre", "sobel", "entropy", "lesion"} <= set(maps)
    assert maps["medgrad r=10"]["params"]["entropy_radius"] == 10
    assert maps["medgrad source=original"]["params"]["entropy_source"] == "original"
    s = doc["scores"]["medgrad"]
    for key in (
        "target.pointing",
        "target.energy_lift",
        "target.auroc",
        "deletion.grad-eclip/patch",
        "insertion.rise/pixel",
    ):
        assert s[key]["n"] == 2 and s[key]["lo"] <= s[key]["mean"] <= s[key]["hi"]
    assert "medgrad - random" in doc["differences"] and "gradcam - grad-eclip" in doc["differences"]
    assert "medgrad r=3 - medgrad" in doc["differences"]
    assert set(doc["sanity"]["checks"]) == {"top-1", "top-2", "all-visual", "random-text", "text-tower"}
    assert len(doc["per_image"]) == 2 and "p_drop_counterfactual" in doc["per_image"][0]
    c = doc["curves"]["medgrad"]["grad-eclip/patch"]["deletion"]
    assert len(c["fractions"]) == 5 and c["fractions"][-1] == 0.5
    md = (out / "explanations.md").read_text()
    assert "MedGrad E-CLIP" in md and "Local entropy" in md and "Ablation" in md and "Sanity" in md
    for png in ("curves.png", "examples.png"):
        with Image.open(out / png) as im:
            assert im.size[0] > 300


def _manifest(tmp_path, n=2):
    rows = ["path,label,mask"]
    for i in range(n):
        rng = np.random.default_rng(i)
        img = rng.integers(100, 200, (90, 120, 3), dtype=np.uint8)
        img[30:60, 40:80] = (60, 40, 30)
        Image.fromarray(img).save(tmp_path / f"im{i}.png")
        m = np.zeros((90, 120), np.uint8)
        m[30:60, 40:80] = 255
        Image.fromarray(m).save(tmp_path / f"im{i}_mask.png")
        rows.append(f"im{i}.png,{'melanoma' if i == 0 else ''},im{i}_mask.png")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "manifest.csv"


def test_manifest_run_scores_against_lesion_masks(tmp_path):
    man = _manifest(tmp_path)
    out = tmp_path / "ev"
    rc = main(
        [
            "eval-explanations",
            *FAST,
            "--dataset",
            str(man),
            "--n",
            "2",
            "--sanity",
            "0",
            "--protocols",
            "grad-eclip/patch",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    doc = json.loads((out / "explanations.json").read_text())
    assert doc["per_image"][0]["target"] == "melanoma"  # the label
    assert doc["per_image"][1]["target"] == doc["per_image"][1]["predicted"]  # no label: the prediction
    lesion = doc["scores"]["lesion"]["lesion.energy_lift"]
    assert lesion["mean"] > 3  # the lesion prior is concentrated on the lesion mask
    assert "target.pointing" not in doc["scores"]["medgrad"]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such manifest"),
        ("path,label\n", "no rows"),
        ("file,label\nx.png,melanoma\n", "no 'path' column"),
        ("path,label\nmissing.png,melanoma\n", "missing.png"),
    ],
)
def test_bad_manifest_says_which_file_and_what_to_do(tmp_path, capsys, content, message):
    man = tmp_path / "m.csv"
    if content is not None:
        man.write_text(content)
    rc = main(
        [
            "eval-explanations",
            *FAST,
            "--dataset",
            str(man),
            "--n",
            "1",
            "--sanity",
            "0",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 2
    assert message in capsys.readouterr().err


def test_folder_dataset_reads_ham_lesion_masks(ham_dir, tmp_path):
    out = tmp_path / "ham"
    rc = main(
        [
            "eval-explanations",
            *FAST,
            "--dataset",
            str(ham_dir),
            "--n",
            "1",
            "--sanity",
            "0",
            "--steps",
            "2",
            "--protocols",
            "grad-eclip/patch",
            "--methods",
            "medgrad",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    doc = json.loads((out / "explanations.json").read_text())
    ent = doc["entropy_vs_lesion"]
    assert ent["lesion_area_share"]["n"] == 1 and 0 < ent["lesion_area_share"]["mean"] < 1
    assert 0 <= ent["entropy_auroc"]["mean"] <= 1
    assert doc["scores"]["lesion"]["lesion.auroc"]["mean"] > 0.9  # the prior made from the mask itself
    assert "Local entropy (radius 5 px" in (out / "explanations.md").read_text()


@pytest.mark.parametrize(
    "data, phrase",
    [
        (b"path,label\nnul\x00.png,melanoma\n", "NUL character"),
        (b"path,label\n" + b"a" * 200_000 + b",melanoma\n", "not valid CSV"),
        (b"path,label\n\xff\xfe,melanoma\n", "not UTF-8"),
    ],
)
def test_eval_manifest_is_read_like_a_training_manifest(tmp_path, data, phrase):
    """The evaluation reads manifests with the data readers' checks and raises their DatasetError."""
    (tmp_path / "m.csv").write_bytes(data)
    with pytest.raises(DatasetError, match=phrase):
        list(manifest_samples(tmp_path / "m.csv"))


def test_eval_manifest_with_byte_order_mark(tmp_path):
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "m.csv").write_bytes("\ufeffpath,label\na.png,melanoma\n".encode())
    (s,) = manifest_samples(tmp_path / "m.csv")
    assert s.id == "a" and s.label == "melanoma"


def test_forms_phrases_and_the_official_row_are_scored(tmp_path, capsys):
    """--forms scores every candidate form and applies the rule; criterion phrases are scored against
    their structure for methods and baselines; the official single-head Grad-ECLIP has its own row."""
    out = tmp_path / "ev"
    rc = main(
        [
            "eval-explanations",
            *FAST,
            "--n",
            "3",
            "--seed",
            "5",
            "--sanity",
            "2",
            "--forms",
            "--param",
            "medgrad.combine=pixel",
            "--protocols",
            "grad-eclip/patch",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    err = capsys.readouterr().err
    assert "3/3 images" in err and "s left" in err  # a line per image with the time left
    doc = json.loads((out / "explanations.json").read_text())
    maps = doc["maps"]
    assert maps["medgrad"]["params"]["combine"] == "pixel" and "pixel" in maps["medgrad"]["params"]["form"]
    assert maps["grad-eclip-official"]["kind"] == "reference"
    assert maps["grad-eclip-official"]["params"]["official_single_head"] is True
    from medgrad_desktop.evaluation.selection import FORM_CANDIDATES

    assert set(FORM_CANDIDATES) <= set(maps)
    with_phrase = [p for p in doc["per_image"] if p["criterion_phrase"]]
    assert with_phrase, "the synthetic images show criterion structures"
    for name in (
        "gradcam",
        "grad-eclip",
        "medgrad",
        "grad-eclip-official",
        "entropy",
        "random",
        "medgrad form=pixel",
    ):
        for key in ("criterion.pointing", "criterion.auroc", "criterion.energy_lift"):
            assert doc["scores"][name][key]["n"] == len(with_phrase), (name, key)
    assert "criterion.pointing" in doc["differences"]["medgrad - entropy"]
    assert "target.pointing" in doc["differences"]["grad-eclip-official - grad-eclip"]
    assert "target.pointing" in doc["differences"]["medgrad form=multiply - entropy"]
    assert "deletion.grad-eclip/patch" in doc["scores"]["medgrad form=pixel"]
    sel = doc["form_selection"]
    assert set(sel["candidates"]) == set(FORM_CANDIDATES) and "local-entropy" in sel["rule"]
    assert sel["winner"] is None or sel["winner"] in sel["ranking"]
    assert {"top-1", "random-text"} <= set(doc["sanity"]["checks"])
    assert "grad-eclip-official" in doc["sanity"]["checks"]["top-1"]
    md = (out / "explanations.md").read_text()
    assert "Choice of MedGrad's form" in md and "Pointing (criterion phrase)" in md
    assert "Grad-ECLIP (official, single head)" in md


def test_a_bad_param_is_refused_before_any_work(tmp_path, capsys):
    rc = main(
        ["eval-explanations", *FAST, "--n", "1", "--param", "medgrad.combine=add", "--out", str(tmp_path)]
    )
    assert rc == 2 and "replace, multiply, pixel" in capsys.readouterr().err


def test_explain_command_takes_a_form(tmp_path):
    img = tmp_path / "a.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(img)
    rc = main(
        [
            "explain",
            str(img),
            "--random-init",
            "--arch",
            "MedGrad-Tiny",
            "--device",
            "cpu",
            "--method",
            "medgrad",
            "--param",
            "medgrad.combine=multiply",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 0
    rows = json.loads((tmp_path / "o" / "a_explain.json").read_text())["maps"]
    assert rows and all(r["params"]["combine"] == "multiply" for r in rows)
    assert rows[0]["params"]["form"].startswith("Grad-ECLIP map x entropy weight")
