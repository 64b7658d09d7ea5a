"""Each map's stability figure in the project store: kept on its map's row with the rule it was measured
under, whichever of the map and its figure is recorded first; a map made again keeps its figure; a flat
map's measurement (no figure) is told apart from a map never measured; a store of schema 2 gains the
columns and keeps its maps."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from medgrad_desktop.core.method_params import default_params
from medgrad_desktop.core.stability import STABILITY_RULE
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.store.schema import migrate

SHA, MODEL, TARGET = "a" * 64, "m" * 64, "class:nevus"
RULE = STABILITY_RULE.to_json()


def _stability_columns(store: ProjectStore) -> list[tuple]:
    return store._query("SELECT score, raw_max, stability, stability_rule FROM maps")


def test_the_figure_goes_on_the_maps_row_and_survives_the_map_made_again(tmp_path: Path):
    store = ProjectStore(tmp_path / "s.sqlite3")
    params = default_params("medgrad").to_dict()
    assert store.map_stability(SHA, MODEL, params, TARGET) is None  # no such map
    store.put_map(SHA, MODEL, params, TARGET, 0.3, 0.8)
    assert store.map_stability(SHA, MODEL, params, TARGET) is None  # recorded, not measured
    store.put_map_stability(SHA, MODEL, params, TARGET, 0.31, RULE)
    assert store.map_stability(SHA, MODEL, params, TARGET) == (pytest.approx(0.31), RULE)
    store.put_map(SHA, MODEL, params, TARGET, 0.3, 0.8)  # the same map again: its figure stays
    assert store.map_stability(SHA, MODEL, params, TARGET) == (pytest.approx(0.31), RULE)
    assert _stability_columns(store) == [(pytest.approx(0.3), pytest.approx(0.8), pytest.approx(0.31), RULE)]
    # another rule's figure replaces it, and says which rule
    other = replace(STABILITY_RULE, copies=3).to_json()
    store.put_map_stability(SHA, MODEL, params, TARGET, 0.2, other)
    assert store.map_stability(SHA, MODEL, params, TARGET) == (pytest.approx(0.2), other)
    store.close()


def test_a_figure_before_its_map_and_a_flat_maps_no_figure(tmp_path: Path):
    store = ProjectStore(tmp_path / "s.sqlite3")
    gradcam, eclip = default_params("gradcam").to_dict(), default_params("grad-eclip").to_dict()
    store.put_map_stability(SHA, MODEL, gradcam, TARGET, 0.05, RULE)  # the figure first
    store.put_map(SHA, MODEL, gradcam, TARGET, 0.4, 0.9)  # then the map's own metadata
    assert store.map_stability(SHA, MODEL, gradcam, TARGET) == (pytest.approx(0.05), RULE)
    store.put_map_stability(SHA, MODEL, eclip, TARGET, None, RULE)  # flat: measured, no figure
    assert store.map_stability(SHA, MODEL, eclip, TARGET) == (None, RULE)
    with pytest.raises(ValueError, match="rule"):
        store.put_map_stability(SHA, MODEL, eclip, TARGET, 0.1, "")
    # the params key is the same whatever the order of the dict
    reordered = dict(reversed(list(gradcam.items())))
    assert store.map_stability(SHA, MODEL, reordered, TARGET) == (pytest.approx(0.05), RULE)
    store.close()


def test_a_store_of_schema_2_gains_the_columns_and_keeps_its_maps(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, upto=2) == 2
    conn.execute(
        "INSERT INTO maps(image_sha256, model_sha256, params, target, score, raw_max, created) "
        "VALUES (?, ?, '{}', ?, 0.5, 1.0, '2024-05-01T00:00:00+00:00')",
        (SHA, MODEL, TARGET),
    )
    conn.close()
    store = ProjectStore(path)
    assert store.map_stability(SHA, MODEL, {}, TARGET) is None
    store.put_map_stability(SHA, MODEL, {}, TARGET, 0.12, RULE)
    assert _stability_columns(store) == [(0.5, 1.0, pytest.approx(0.12), RULE)]
    store.close()
