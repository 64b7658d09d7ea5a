"""How long maps take on this machine in this session, measured where they are made, so a long job (an
export) is estimated from the machine's own speed, or not at all: a guess from another machine's speed
would be wrong by a factor of ten between a laptop CPU and a GPU.

A map job's analysis includes its image's forward pass, as each image of an export does, so seconds per
map (one method, one image) is the unit. The median of the recent measurements leaves out the first
map's warm-up and a map that waited behind a batch.
"""

from __future__ import annotations

from collections import deque
from statistics import median

KEEP = 20  # recent measurements


class MeasuredTimes:
    """Seconds per map of the recent map jobs; read and written in the UI thread."""

    def __init__(self) -> None:
        self._per_map: deque[float] = deque(maxlen=KEEP)

    def add_maps(self, seconds: float, maps: int) -> None:
        """A job that made `maps` maps of one image in `seconds`."""
        if seconds > 0 and maps > 0:
            self._per_map.append(seconds / maps)

    def seconds_per_map(self) -> float | None:
        """None until a map was measured."""
        return median(self._per_map) if self._per_map else None

    def estimate(self, images: int, methods: int) -> float | None:
        """Seconds for `images` images with `methods` maps each; None until a map was measured."""
        per_map = self.seconds_per_map()
        return None if per_map is None else per_map * images * max(1, methods)


def describe_duration(seconds: float | None) -> str:
    """'about 3 min', 'under a minute', or '' when nothing was measured: no figure rather than a guess."""
    if seconds is None:
        return ""
    if seconds < 50:
        return "under a minute"
    return f"about {max(1, round(seconds / 60))} min"
