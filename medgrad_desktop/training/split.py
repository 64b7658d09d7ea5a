"""Split records by lesion id, so that no lesion is on both sides (the paper's split leaked: ALGORITHM.md
section 6), deterministically from a seed."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from medgrad_desktop.data.records import Record


def split_by_lesion(
    records: list[Record], val_fraction: float = 0.1, test_fraction: float = 0.0, seed: int = 0
) -> dict[str, list[Record]]:
    """Shuffle lesion ids by seed and cut them into train/val/test by image count. A split the data
    set defines itself (Derm7pt's index files) wins over the random one for its records."""
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError("val and test fractions must be in [0, 1) and sum to less than 1")
    out: dict[str, list[Record]] = {"train": [], "val": [], "test": []}
    free: list[Record] = []
    for r in records:
        if r.split in out:
            out[r.split].append(r)
        else:
            free.append(r)
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in free:
        groups[r.lesion_id].append(r)
    ids = sorted(groups)
    np.random.default_rng(seed).shuffle(ids)
    n = len(free)
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    taken = {"test": 0, "val": 0}
    for lid in ids:
        g = groups[lid]
        if taken["test"] < n_test:
            out["test"].extend(g)
            taken["test"] += len(g)
        elif taken["val"] < n_val:
            out["val"].extend(g)
            taken["val"] += len(g)
        else:
            out["train"].extend(g)
    check_no_leak(out)
    return out


def check_no_leak(splits: dict[str, list[Record]]) -> None:
    """Raise if a lesion id appears in more than one split."""
    seen: dict[str, str] = {}
    for name, recs in splits.items():
        for r in recs:
            other = seen.setdefault(r.lesion_id, name)
            if other != name:
                raise ValueError(
                    f"lesion '{r.lesion_id}' is in both the {other} and the {name} split "
                    f"({r.source or r.path}); give each lesion one split"
                )
