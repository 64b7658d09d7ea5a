"""A progress line per image with an estimate of the time left.

Images with deletion/insertion curves cost far more than the rest, so the two kinds are timed
separately and the estimate uses the rate of each for the images of that kind still to come.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Eta:
    def __init__(self, n: int, n_perturbed: int, clock: Callable[[], float] = time.perf_counter):
        self.n = n
        self.n_perturbed = min(n, n_perturbed)
        self.clock = clock
        self.t0 = self.last = clock()
        self.spent = {True: 0.0, False: 0.0}
        self.done = {True: 0, False: 0}

    def update(self, perturbed: bool) -> None:
        now = self.clock()
        self.spent[perturbed] += now - self.last
        self.done[perturbed] += 1
        self.last = now

    def remaining(self) -> float | None:
        """Seconds left, or None while there is no rate to go on for the images still to come."""
        left = {True: self.n_perturbed - self.done[True], False: self.n - self.n_perturbed - self.done[False]}
        total = 0.0
        for kind, k in left.items():
            if k <= 0:
                continue
            if self.done[kind]:
                total += k * self.spent[kind] / self.done[kind]
            elif self.done[not kind]:  # no image of this kind yet: the other kind's rate
                total += k * self.spent[not kind] / self.done[not kind]
            else:
                return None
        return total

    def line(self, i: int, perturbed: bool) -> str:
        self.update(perturbed)
        rem = self.remaining()
        eta = "" if rem is None else f", about {rem:.0f} s left"
        return f"{i}/{self.n} images ({self.last - self.t0:.0f} s{eta})"
