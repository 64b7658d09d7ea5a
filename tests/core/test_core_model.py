"""The public loader: formats, equivalence of formats, and one clear line for every bad file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from medgrad_desktop.core.card import ModelCard
from medgrad_desktop.core.checkpoint import save_checkpoint
from medgrad_desktop.core.embedding import embed_images
from medgrad_desktop.core.model import ModelLoadError, build_clip, load_model
from medgrad_desktop.core.prompts import catalogue_from_dict, load_catalogue
from medgrad_desktop.resources_path import resources_dir
from tests.conftest import random_rgb


def _features(clip, rgb):
    x, _ = clip.batch([rgb])
    with torch.no_grad():
        return embed_images(clip.model, x)


def _openai_state(module):
    """The OpenAI `clip` layout: same keys, fp16 weights and the three bookkeeping entries."""
    sd = {k: v.half() if v.is_floating_point() else v for k, v in module.state_dict().items()}
    sd["input_resolution"] = torch.tensor(224)
    sd["context_length"] = torch.tensor(77)
    sd["vocab_size"] = torch.tensor(49408)
    return sd


@pytest.mark.slow
def test_vit_b16_safetensors_and_openai_fp16_load_to_same_embeddings(tmp_path, ham_dir):
    from medgrad_desktop.core.imageio import load_image

    torch.manual_seed(0)
    from medgrad_desktop.core.model import arch_config

    module = build_clip(arch_config("ViT-B-16"), quick_gelu=True)
    st = tmp_path / "vitb16.safetensors"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, st)
    pt = tmp_path / "medgrad_openai.pt"
    torch.save(_openai_state(module), pt)
    a = load_model(st, architecture="ViT-B-16-quickgelu", device="cpu", normalization="clip")
    b = load_model(pt, device="cpu", normalization="clip")
    assert a.card.weights_format == "safetensors" and b.card.weights_format == "openai-fp16"
    assert b.card.quick_gelu and a.card.quick_gelu
    rgb = load_image(sorted((ham_dir / "images").iterdir())[0]).rgb
    fa, fb = _features(a, rgb), _features(b, rgb)
    ref = torch.nn.functional.normalize(module.visual(a.batch([rgb])[0]), dim=-1)
    assert (fa - ref).abs().max().item() < 1e-5
    assert (fa - fb).abs().max().item() < 2e-2  # fp16 rounding of every weight
    assert torch.nn.functional.cosine_similarity(fa, fb).item() > 0.999


def test_safetensors_with_card_roundtrip(tmp_path, tiny_model):
    path = tmp_path / "m.safetensors"
    card = {
        "name": "unit",
        "architecture": "MedGrad-Tiny",
        "arch_config": tiny_model.card.arch_config,
        "quick_gelu": False,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.25, 0.25, 0.25],
        "temperature": 1.7,
        "demo": True,
    }
    save_checkpoint(tiny_model.model, path, card)
    m = load_model(path, device="cpu")
    assert m.card.name == "unit" and m.card.temperature == 1.7 and m.card.demo
    assert m.card.mean == (0.5, 0.5, 0.5) and len(m.card.weights_sha256) == 64
    assert any("DEMO" in w for w in m.card.warnings())
    rgb = random_rgb(40, 40)
    m2 = load_model(path, device="cpu", normalization="clip")
    assert not torch.allclose(_features(m, rgb), _features(m2, rgb))  # the card's normalization is used


def test_random_init_is_labelled_untrained(tiny_model):
    assert tiny_model.card.untrained
    assert any("UNTRAINED" in w for w in tiny_model.card.warnings())
    assert "UNTRAINED" in tiny_model.card.display_name()


def test_missing_file_message(tmp_path):
    with pytest.raises(ModelLoadError, match="no such weights file"):
        load_model(tmp_path / "nope.safetensors")


def test_truncated_safetensors_message(tmp_path, tiny_model):
    path = tmp_path / "t.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_model.model.state_dict().items()}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError) as exc:
        load_model(path, architecture="MedGrad-Tiny")
    msg = str(exc.value)
    assert "t.safetensors" in msg and "truncated" in msg and "\n" not in msg


def test_wrong_architecture_message(tmp_path, tiny_model):
    path = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_model.model.state_dict().items()}, path)
    with pytest.raises(ModelLoadError, match=r"does not fit architecture ViT-B-16.*shape mismatches"):
        load_model(path)  # no card: ViT-B-16 assumed


def test_missing_keys_message(tmp_path, tiny_model):
    sd = {
        k: v.contiguous() for k, v in tiny_model.model.state_dict().items() if not k.startswith("visual.proj")
    }
    path = tmp_path / "partial.safetensors"
    save_file(sd, path)
    with pytest.raises(ModelLoadError, match=r"1 missing keys \(e.g. visual.proj\)"):
        load_model(path, architecture="MedGrad-Tiny")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_code_running_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pt"
    torch.save({"visual.proj": _Payload(str(marker))}, path)
    assert not marker.exists()
    with pytest.raises(ModelLoadError, match="refused"):
        load_model(path)
    assert not marker.exists()


def test_uncached_hub_tag_fails_fast():
    import time

    t = time.perf_counter()
    with pytest.raises(ModelLoadError, match="local cache"):
        load_model("hf-hub:nobody/not-a-model-xyz")
    assert time.perf_counter() - t < 30


def test_card_json_invalid(tmp_path, tiny_model):
    path = tmp_path / "m.safetensors"
    save_checkpoint(tiny_model.model, path, {"architecture": "MedGrad-Tiny"})
    path.with_suffix(".card.json").write_text("{broken")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(path)
    path.with_suffix(".card.json").write_text("[1, 2]")
    with pytest.raises(ModelLoadError, match="JSON object, found list"):
        load_model(path)


def test_catalogue_resolve(tiny_model):
    cat = tiny_model.catalogue
    assert len(cat.classes) == 17
    assert cat.resolve("Melanoma").key == "melanoma"
    assert cat.resolve("blue-whitish veil").key == "blue_whitish_veil:present"
    assert cat.resolve("pigment_network:atypical").kind == "criterion"
    t = cat.resolve("a dark irregular blotch")
    assert t.kind == "text" and t.prompts == ("a dark irregular blotch",)
    emb = tiny_model.target_embeddings([t, cat.class_target("melanoma")])
    np.testing.assert_allclose(emb.norm(dim=-1).numpy(), 1.0, atol=1e-5)


def test_card_written_by_save_is_json(tmp_path, tiny_model):
    p = save_checkpoint(tiny_model.model, tmp_path / "x.safetensors", {"name": "n"})
    assert json.loads(p.with_suffix(".card.json").read_text())["name"] == "n"


def test_model_card_json_roundtrip(tiny_model):
    """What the trainer writes with `to_json` reads back as the same card, training record included."""
    card = ModelCard(
        name="unit",
        architecture="MedGrad-Tiny",
        arch_config=tiny_model.card.arch_config,
        quick_gelu=True,
        weights_path="/w/unit.safetensors",
        weights_sha256="ab" * 32,
        weights_format="safetensors",
        mean=(0.5, 0.4, 0.3),
        std=(0.2, 0.2, 0.25),
        input_size=224,
        temperature=1.3,
        demo=True,
        catalogue=load_catalogue().subset(["melanoma", "lentigo"]).to_dict(),
        extra={"split_seed": 3, "notes": None, "metrics": {"test": {"accuracy": 0.5}}},
        record={
            "catalogue_data": load_catalogue().subset(["melanoma", "lentigo"]).data,
            "classes": ["lentigo", "melanoma"],
            "history": [{"epoch": 1}],
        },
    )
    text = card.to_json()
    doc = json.loads(text)
    assert "weights_sha256" not in doc and "record" not in doc and doc["history"] == [{"epoch": 1}]
    back = ModelCard.from_json(
        text,
        weights_path=card.weights_path,
        weights_sha256=card.weights_sha256,
        weights_format=card.weights_format,
        input_size=card.input_size,
    )
    assert back == card and back.catalogue_data["name"] == "medgrad-17-subset-2"
    assert back.to_json() == text


def test_old_card_file_reads_as_before():
    """The bundled demo card (written as a plain dict) gives the same card fields as the old reader."""
    path = resources_dir() / "demo" / "model" / "demo-model.card.json"
    doc = json.loads(path.read_text())
    card = ModelCard.from_json(
        path.read_text(),
        weights_path=str(path),
        weights_sha256="0" * 64,
        weights_format="safetensors",
        input_size=224,
    )
    assert (card.name, card.architecture, card.quick_gelu, card.temperature, card.demo, card.untrained) == (
        doc["name"],
        doc["architecture"],
        doc["quick_gelu"],
        float(doc["temperature"]),
        doc["demo"],
        doc["untrained"],
    )
    assert (
        card.mean == tuple(doc["mean"])
        and card.std == tuple(doc["std"])
        and card.arch_config == doc["arch_config"]
    )
    assert card.extra == {
        k: doc[k]
        for k in (
            "base_weights",
            "training_manifest_sha256",
            "split_seed",
            "metrics",
            "date",
            "app_version",
            "notes",
        )
        if k in doc
    }
    assert "training_config" in card.record and "training_config" not in card.to_dict()
    written = json.loads(card.to_json())
    assert {k: written[k] for k in doc} == doc  # nothing of the file is lost


def test_catalogue_subset_keeps_order_and_criteria():
    full = load_catalogue()
    sub = full.subset(["melanoma", "basal_cell_carcinoma"])
    assert sub.class_ids == [c for c in full.class_ids if c in ("melanoma", "basal_cell_carcinoma")]
    assert sub.criteria == full.criteria and sub.templates == full.templates
    assert sub.name == f"{full.name}-subset-2" and sub.subset(["melanoma"]).name == f"{full.name}-subset-1"
    assert sub.digest == catalogue_from_dict(sub.data).digest  # reads back as the card embeds it
    assert len(full.class_ids) == 17  # the original is untouched
    with pytest.raises(KeyError, match="kittens"):
        full.subset(["melanoma", "kittens"])
