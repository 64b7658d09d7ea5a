"""benchmarks/startup.py edits only its own "## Startup" section of docs/BENCHMARKS.md and states the
bundle/source ratio against the 2x goal."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("startup_bench", ROOT / "benchmarks" / "startup.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _res(shown: float) -> dict:
    t = {"shown": shown, "model": shown + 1, "first_prediction": shown + 2}
    return {"cold": t, "median": t, "n": 3}


def test_section_replaced_in_place_and_others_untouched(tmp_path):
    b = _bench()
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\n## Speed\nA\n\n## Startup\nold numbers\n\n## Memory\nB\n")
    b.write_section("## Startup\n\nnew numbers\n", doc)
    text = doc.read_text()
    assert "old numbers" not in text and "new numbers" in text
    assert text.index("## Speed") < text.index("## Startup") < text.index("## Memory")
    assert "A\n" in text and "B\n" in text
    b.write_section("## Startup\n\nnewer\n", doc)
    assert doc.read_text().count("## Startup") == 1 and "newer" in doc.read_text()


def test_section_appended_when_absent_or_last(tmp_path):
    b = _bench()
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\n## Speed\nA\n")
    b.write_section("## Startup\n\nx\n", doc)
    b.write_section("## Startup\n\ny\n", doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\n## Speed\nA\n") and text.endswith("## Startup\n\ny\n")
    missing = tmp_path / "new" / "BENCHMARKS.md"
    b.write_section("## Startup\n\nz\n", missing)
    assert missing.read_text().startswith("# Benchmarks")


def test_render_states_ratio_against_goal():
    b = _bench()
    ok = b.render({"source": _res(2.0), "bundle": _res(3.0)}, {"Date": "d"})
    assert "**1.50x** (meets" in ok and "| bundle, warm (median) | 3 | 3.00 |" in ok
    bad = b.render({"source": _res(2.0), "bundle": _res(5.0)}, {"Date": "d"})
    assert "**2.50x** (misses" in bad


def test_visible_section_leaves_the_cold_launch_out_and_judges_each_goal():
    b = _bench()
    text = b.render_visible(
        [
            ("source, before", [9.0, 5.0, 6.0, 5.5], 1.2),
            ("source, after", [3.0, 1.0, 1.1, 0.9], 1.2),
            ("bundle", [4.0, 1.6, 1.7, 1.8], 1.5),
        ],
        {"Date": "d"},
    )
    assert text.startswith(b.VISIBLE_SECTION)
    assert "| source, before | 3 | 9.00 | 5.50 | 5.00-6.00 | MISSES 1.2 s |" in text
    assert "| source, after | 3 | 3.00 | 1.00 | 0.90-1.10 | meets 1.2 s |" in text
    assert "| bundle | 3 | 4.00 | 1.70 | 1.60-1.80 | MISSES 1.5 s |" in text
