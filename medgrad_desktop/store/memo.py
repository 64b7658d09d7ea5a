"""What the command line does with the project store: look a prediction up before computing it, and
record each image, prediction and map it computes. `StoreMemo.open(False)` (for `--no-store`) gives a
memo that remembers nothing and touches no file."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from medgrad_desktop.core.imageio import LoadedImage
from medgrad_desktop.core.prediction import Prediction
from medgrad_desktop.core.stability import STABILITY_RULE
from medgrad_desktop.store.project import ProjectStore

if TYPE_CHECKING:  # the store needs no torch; the analysis only arrives from the engine
    from medgrad_desktop.core.explain import AnalysisResult

RULE_JSON = STABILITY_RULE.to_json()  # the rule every stability figure of this app is measured under


class StoreMemo:
    """A store that fails to write (a full disk, a file-size limit) is given up for the rest of the run
    with one warning: the predictions and the report do not depend on it."""

    def __init__(self, store: ProjectStore | None):
        self.store = store
        self.reused = 0
        self.recorded = 0
        self.failure: str | None = None

    def _give_up(self, exc: Exception) -> None:
        self.failure = f"{type(exc).__name__}: {exc}"
        print(
            f"warning: the project store {self.store.path} could not be written ({self.failure}); "
            "nothing more is recorded in this run",
            file=sys.stderr,
        )
        self.store = None

    @classmethod
    def open(cls, enabled: bool = True, path: Path | None = None) -> StoreMemo:
        return cls(ProjectStore.shared(path) if enabled else None)

    @property
    def notice(self) -> str | None:
        return self.store.notice if self.store is not None else None

    def prediction(self, sha256: str, model_sha256: str, ood_sha256: str = "") -> Prediction | None:
        """The stored prediction of this image by this model, unless its out-of-distribution result
        came from other statistics than `ood_sha256` (the model's, "" for none): then None, to be
        made again."""
        if self.store is None:
            return None
        try:
            pred = self.store.predictions([sha256], model_sha256).get((sha256, model_sha256))
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)
            return None
        if pred is not None and not pred.ood_matches(ood_sha256):
            pred = None
        self.reused += pred is not None
        return pred

    def record(self, image: LoadedImage, pred: Prediction) -> None:
        if self.store is None:
            return
        try:
            self.store.record_image(image.sha256, image.path, image.size)
            self.store.put_prediction(image.sha256, pred)
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)
            return
        self.recorded += 1

    def record_analysis(self, image: LoadedImage, result: AnalysisResult) -> None:
        """The prediction and the metadata of each map made (parameters, target, strength) with its
        stability figure where one was measured: the report builder's recorder."""
        if self.store is None or result.prediction is None:
            return
        self.record(image, result.prediction)
        try:
            for key, h in result.maps.items():  # each map carries its own parameters, target and model
                if self.store is None:
                    return
                self.store.put_heatmap(image.sha256, h)
                if key in result.stability:
                    self.store.put_map_stability(
                        image.sha256, h.model_sha256, h.params, h.target.key, result.stability[key], RULE_JSON
                    )
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)
