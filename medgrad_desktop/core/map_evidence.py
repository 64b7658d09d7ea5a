"""When a map shows nothing: a map whose raw relevance is all zero, or the same everywhere, has no part
of the image that counts more than another, and per-map min-max would still stretch it (or its float
noise) over the whole colour bar. Such a map is not drawn as a map: the viewer, the comparison, the
reports and `medgrad explain` say "no positive evidence for <target> in this image" instead.

One rule, here and nowhere else, so every place that shows a map agrees on which maps are empty; its
threshold travels into every report's provenance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

NO_EVIDENCE_TEXT = "no positive evidence for {target} in this image"


@dataclass(frozen=True)
class EmptyMapRule:
    """A map is empty when its raw relevance varies by at most `min_spread` (max - min).

    The raw relevance is in units of the score S it explains (a cosine, in [-1, 1]): the gradient of S
    times the features, summed over channels. On the bundled demo model the smallest non-zero maximum
    of a shown map was 2e-4 (Grad-CAM) and the empty ones were exactly 0, so 1e-6 of the score's unit
    separates the two with room on both sides; a spread that small is float noise, which min-max
    would paint as a sharp spot."""

    min_spread: float = 1e-6

    def is_empty(self, raw: np.ndarray) -> bool:
        r = np.asarray(raw)
        if r.size == 0:
            return True
        spread = float(r.max()) - float(r.min())
        return not spread > self.min_spread  # NaN counts as empty too: it shows nothing either

    def reason(self, raw: np.ndarray) -> str:
        """Why an empty map is empty, in a few words ('' for a map that is not)."""
        if not self.is_empty(raw):
            return ""
        r = np.asarray(raw)
        if r.size and float(np.abs(r).max()) == 0.0:
            return "raw relevance all zero"
        return f"raw relevance flat (max - min <= {self.min_spread:g})"

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "rule": "a map whose raw relevance varies by at most min_spread (max - min, in units of "
            "the score S) is not drawn: no positive evidence for its target in this image",
        }


EMPTY_MAP_RULE = EmptyMapRule()


def no_evidence_text(target_label: str) -> str:
    return NO_EVIDENCE_TEXT.format(target=target_label)
