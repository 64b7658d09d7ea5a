"""What a report says, as plain data: no Qt, no layout. Every writer (PDF, HTML, CSV, PNG) renders
the same `ReportContent`, so the formats can never disagree about a prediction or a hash.

Images are not held in memory: the builder re-encodes each one from its pixels (which drops EXIF and
GPS) into a PNG in the export's spool folder, and `ReportImage` points at it. A folder of a thousand
images therefore costs disk in the staging folder, not RAM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from medgrad_desktop.core.map_evidence import no_evidence_text
from medgrad_desktop.core.prediction import OOD_FLAG_TEXT, OodResult, criterion_text
from medgrad_desktop.core.render import DEFAULT_OVERLAY_ALPHA, overlay_alpha
from medgrad_desktop.core.stability import UNSTABLE_TEXT
from medgrad_desktop.reports.notes import LEFT_OUT_NOTE

NOTICE = "Research use only, not for diagnosis."


@dataclass(frozen=True)
class ReportImage:
    """A PNG re-encoded from pixels (no metadata) in the spool folder."""

    path: Path
    width: int
    height: int

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def rgb(self) -> np.ndarray:
        with Image.open(self.path) as im:
            return np.asarray(im.convert("RGB"))


@dataclass(frozen=True)
class OverlayPanel:
    """One method's map of one image. An empty map (all zero or flat, `core.map_evidence`) has no
    picture: every writer prints `no_evidence` in its place, without a colour bar."""

    method: str  # "gradcam" | "grad-eclip" | "medgrad"
    method_name: str  # what a person reads
    target_label: str  # the class the map explains
    image: ReportImage | None  # None: the map is empty and is not drawn
    score: float  # cosine similarity S the map explains
    raw_max: float  # strength of the evidence before per-map normalization
    empty_reason: str = ""  # why the map is empty ("" when it is not)
    # the map's stability figure (`core.stability`; None: a flat map, no figure), its meaning in words
    # and the line that gives both; "" when the report was asked without stability
    stability: float | None = None
    stability_words: str = ""
    stability_text: str = ""

    @property
    def unstable(self) -> bool:
        return self.stability_words == UNSTABLE_TEXT

    @property
    def empty(self) -> bool:
        return self.image is None

    @property
    def no_evidence(self) -> str:
        """What stands in for an empty map's picture ('' for a map that is drawn)."""
        return no_evidence_text(self.target_label) if self.empty else ""


@dataclass(frozen=True)
class ClassProbability:
    class_id: str
    name: str
    probability: float


@dataclass(frozen=True)
class CriterionRow:
    criterion_id: str
    criterion: str  # display name
    option_id: str
    option: str  # the predicted option's phrase
    probability: float
    points: int

    @property
    def text(self) -> str:
        """'Blue-whitish veil: absent, 99.7%': the finding beside its probability (`criterion_text`)."""
        return criterion_text(self.criterion, self.option_id, self.probability)


@dataclass(frozen=True)
class ReviewInfo:
    decision: str  # pending | accepted | overridden
    final_class_id: str | None = None
    final_class: str | None = None  # display name
    note: str = ""
    updated: str | None = None
    reviewed_prediction: str | None = None  # the prediction the reviewer saw, when it differs from now
    reviewer: str = ""  # who decided: the name, or a code in a de-identified report
    note_left_out: bool = False  # a de-identified report left the reviewer's note out

    @property
    def byline(self) -> str:
        """Who decided and when, for the report; "" for an image not reviewed."""
        if self.decision == "pending" or not self.updated:
            return ""
        return f"Decided by {self.reviewer or 'an unnamed reviewer'} at {self.updated}"

    @property
    def note_text(self) -> str:
        """The note as the report prints it."""
        if self.note_left_out:
            return f"({LEFT_OUT_NOTE})"
        return self.note.strip() or "(no note)"

    @property
    def headline(self) -> str:
        if self.decision == "accepted":
            return f"Accepted: {self.final_class}" if self.final_class else "Accepted"
        if self.decision == "overridden":
            return f"Overridden: {self.final_class or '(no class given)'}"
        return "Pending (not reviewed)"


@dataclass
class ImageEntry:
    """One input image: its prediction, maps and review, or the error that stopped it; `ood`, the
    out-of-distribution check's result (None when the model has no check)."""

    index: int  # 1-based position in the report
    label: str  # pseudonym when de-identified, else the file name
    sha256: str | None
    width: int = 0
    height: int = 0
    error: str | None = None
    predicted_id: str | None = None
    predicted_name: str | None = None
    confidence: float | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    top_k: list[ClassProbability] = field(default_factory=list)
    criteria: list[CriterionRow] = field(default_factory=list)
    seven_point_score: int | None = None
    seven_point_threshold: int | None = None
    review: ReviewInfo = field(default_factory=lambda: ReviewInfo("pending"))
    original: ReportImage | None = None
    overlays: list[OverlayPanel] = field(default_factory=list)
    patient: str = ""  # pseudonyms (P-001, L-01, V-1) when de-identified; "" when not grouped
    lesion: str = ""
    visit: str = ""
    ood: OodResult | None = None

    @property
    def ood_flagged(self) -> bool:
        return self.ood is not None and self.ood.flagged

    @property
    def ood_text(self) -> str:
        """The warning a flagged image's page carries, with the figures behind it; "" otherwise."""
        if not self.ood_flagged:
            return ""
        o = self.ood
        return (
            f"{OOD_FLAG_TEXT[0].upper()}{OOD_FLAG_TEXT[1:]} ({o.method} score {o.score:.4g} above the "
            f"threshold {o.threshold:.4g})"
        )

    @property
    def group_text(self) -> str:
        return " \u00b7 ".join(x for x in (self.patient, self.lesion, self.visit) if x)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def seven_point_text(self) -> str:
        if self.seven_point_score is None:
            return "not available (this model's catalogue has no 7-point criteria)"
        above = (
            self.seven_point_threshold is not None and self.seven_point_score >= self.seven_point_threshold
        )
        return (
            f"{self.seven_point_score} (threshold {self.seven_point_threshold}: "
            f"{'at or above' if above else 'below'})"
        )


@dataclass
class ReportContent:
    title: str
    created: str  # ISO 8601, UTC
    model_name: str
    model_sha256: str
    warnings: list[str]  # UNTRAINED / DEMO lines; shown on every page
    methods: list[dict]  # each method's full parameters (`MethodParams.to_dict()`)
    method_names: list[str]
    colormap: str
    opacity: float
    class_ids: list[str]
    class_names: list[str]
    criterion_ids: list[str]
    entries: list[ImageEntry]
    provenance: dict
    deidentified: bool
    notice: str = NOTICE
    grouped: bool = False  # entries carry patient / lesion / visit, in that order
    notes: str = ""  # what the report did with the reviewers' notes (the cover's "Notes" line)
    notes_left_out: int = 0
    # reviewer code -> name, for the pseudonym key only: never written into the report
    reviewer_key: dict[str, str] = field(default_factory=dict)
    overlay_alpha: str = DEFAULT_OVERLAY_ALPHA  # how the overlays' opacity follows relevance
    ood_check: str = (
        ""  # what the out-of-distribution check flags (`ModelCard.ood_rule`), or that there is none
    )
    ood_statistics: str = ""  # its statistics file and SHA-256 (`ModelCard.ood_statistics`)
    ood_checked: bool = False
    # how the maps' stability was measured (`StabilityRule.parameters_text`), once for the report;
    # "" when the report was asked without stability
    stability_rule: str = ""

    @property
    def colour_text(self) -> str:
        """The cover's 'Colour map' line: colormap, opacity and how the opacity follows relevance."""
        return (
            f"{self.colormap}, overlay opacity {self.opacity:.2f}, "
            f"{overlay_alpha(self.overlay_alpha).describe()}"
        )

    @property
    def deidentified_text(self) -> str:
        if self.deidentified:
            return "yes: pseudonyms; no DICOM identifiers, EXIF or GPS"
        return (
            "NO: real file names and patient IDs shown"
            if self.grouped
            else "no: original file names are shown"
        )

    @property
    def ok_entries(self) -> list[ImageEntry]:
        return [e for e in self.entries if e.ok]

    @property
    def failed_entries(self) -> list[ImageEntry]:
        return [e for e in self.entries if not e.ok]

    def summary_line(self) -> str:
        n, bad = len(self.entries), len(self.failed_entries)
        reviewed = sum(e.review.decision != "pending" for e in self.ok_entries)
        unlike = (  # without a check the cover says so once, on its own line (`ood_check`)
            f", {sum(e.ood_flagged for e in self.ok_entries)} unlike the images the model was trained on"
            if self.ood_checked
            else ""
        )
        return f"{n} image{'s' if n != 1 else ''}, {reviewed} reviewed{unlike}" + (
            f", {bad} could not be read" if bad else ""
        )
