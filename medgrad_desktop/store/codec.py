"""Predictions to and from the compact bytes the store keeps: JSON of the fields a `Prediction` is made
of (derived values such as the top-k are recomputed), zlib-compressed, so a prediction with a few
classes and seven criteria costs well under a kilobyte.

A row keeps the out-of-distribution result with the SHA-256 of the statistics that gave it; a row
written before the check existed has none and reads back as a prediction without one, which
`Prediction.ood_matches` then finds stale for a model that has statistics, so it is made again rather
than shown unchecked."""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict

from medgrad_desktop.core.prediction import CriterionPrediction, OodResult, Prediction


def encode_prediction(pred: Prediction) -> bytes:
    d = asdict(pred)
    return zlib.compress(json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 6)


def decode_prediction(blob: bytes) -> Prediction:
    d = json.loads(zlib.decompress(blob).decode("utf-8"))
    return Prediction(
        class_ids=tuple(d["class_ids"]),
        class_names=tuple(d["class_names"]),
        probabilities=tuple(d["probabilities"]),
        similarities=tuple(d["similarities"]),
        criteria=tuple(CriterionPrediction(**c) for c in d["criteria"]),
        seven_point_score=int(d["seven_point_score"]),
        seven_point_threshold=int(d["seven_point_threshold"]),
        model_sha256=d["model_sha256"],
        untrained=bool(d.get("untrained", False)),
        top_k_size=int(d.get("top_k_size", 5)),
        ood=OodResult(**d["ood"]) if d.get("ood") else None,
    )
