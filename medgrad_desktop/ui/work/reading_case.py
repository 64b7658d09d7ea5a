"""What the reading window shows of one case of a reader study, made by the app's one worker: the
image, and in an arm that shows a map, the map of the arm's method for the AI's frozen class and its
stability figure.

The same jobs as the main window's maps (`jobs.compute_maps`, `jobs.compute_maps_stability`), with the
method's default parameters, so a reader sees the map the app would show. The image is decoded on the
worker's side thread first (it needs no model), then the map is computed from the decoded pixels and
then its stability, each below the previous in priority. A newer case cancels the jobs of the older
one, and results of an older case are dropped, so a map never lands on another case's image.

Blinding starts in the data: a case whose `ai` is None (the no-AI arm) never submits a map job, and
the signals below carry nothing about the AI for it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from medgrad_desktop.core.imageio import load_image
from medgrad_desktop.core.method_params import default_params
from medgrad_desktop.core.stability import STABILITY_RULE
from medgrad_desktop.ui.state.target_choice import TargetChoice
from medgrad_desktop.ui.work.jobs import (
    MapRequest,
    MapResult,
    MapsStabilityRequest,
    StabilityResult,
    compute_maps,
    compute_maps_stability,
)
from medgrad_desktop.ui.work.qimages import display_qimage
from medgrad_desktop.ui.work.worker import JobHandle, ModelWorker


def shows_map(case) -> bool:
    return case is not None and case.ai is not None and case.arm.shows == "map"


class CaseLoader(QObject):
    """Loads one case at a time; the signals carry the case's position so a late result is dropped."""

    image_ready = Signal(object)  # QImage (RGB32) of the current case
    map_ready = Signal(object, object)  # Heatmap, Target: the map of the arm's method for the AI's class
    stability_ready = Signal(str, str)  # the line under the map, its tooltip ("" when none)
    failed = Signal(str)  # one line: the image or the map could not be made

    def __init__(self, worker: ModelWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.case = None
        self._jobs: list[JobHandle] = []
        self._token = 0  # bumped per case: a result carrying another token is an older case's

    def cancel(self) -> None:
        self._token += 1
        for h in self._jobs:
            if not h.is_finished:
                h.cancel()
        self._jobs = []

    def load(self, case) -> None:
        """Start the jobs for `case` (a `study.session.CaseView`), cancelling the previous case's."""
        self.cancel()
        self.case = case
        token, path, frozen = self._token, case.path, case.image_sha256

        def decode(ctx):
            li = load_image(path)
            if frozen and li.sha256 != frozen:  # the AI's answer shown with it was given for another image
                raise ValueError(
                    f"{path.name} is not the image this study was created with (its content changed since "
                    "`medgrad study create`); put the original image back"
                )
            return token, li.sha256, li.rgb, display_qimage(li.rgb)

        h = self.worker.submit(
            decode, kind="image", priority=ModelWorker.PRIORITY_INTERACTIVE + 1, uses_model=False
        )
        h.result.connect(self._on_image)
        h.error.connect(lambda msg, t=token: self._fail(t, f"The image could not be opened: {msg}"))
        self._jobs.append(h)

    def _fail(self, token: int, message: str) -> None:
        if token == self._token:
            self.failed.emit(message)

    def _on_image(self, res) -> None:
        token, sha, rgb, display = res
        if token != self._token:
            return
        self.image_ready.emit(display)
        case = self.case
        if not shows_map(case):
            return
        params = default_params(case.arm.method)
        req = MapRequest(case.path, TargetChoice("class", case.ai.class_id), [params], rgb=rgb, sha256=sha)
        h = self.worker.submit(compute_maps(req), kind="maps", priority=ModelWorker.PRIORITY_INTERACTIVE)
        h.result.connect(lambda r, t=token: self._on_map(t, r))
        h.error.connect(lambda msg, t=token: self._fail(t, f"The map could not be computed: {msg}"))
        self._jobs.append(h)

    def _on_map(self, token: int, res: MapResult) -> None:
        if token != self._token:
            return
        params = res.params[self.case.arm.method]
        hm = res.maps[params.method]
        self.map_ready.emit(hm, res.target)
        if hm.empty or not STABILITY_RULE.measurable(hm.normalized):
            self.stability_ready.emit("", "")
            return
        self.stability_ready.emit("Stability: measuring…", STABILITY_RULE.how_measured())
        req = MapsStabilityRequest(
            res.sha256, res.model_sha256, res.rgb, res.target, [((token,), params, hm.normalized)]
        )
        h = self.worker.submit(
            compute_maps_stability(req), kind="stability", priority=ModelWorker.PRIORITY_INTERACTIVE - 1
        )
        h.result.connect(self._on_stability)
        h.error.connect(
            lambda msg, t=token: self._fail(t, f"The map's stability could not be measured: {msg}")
        )
        self._jobs.append(h)

    def _on_stability(self, res: StabilityResult) -> None:
        [((token,), _, value)] = res.figures
        if token != self._token:
            return
        self.stability_ready.emit(STABILITY_RULE.text(value), STABILITY_RULE.how_measured())
