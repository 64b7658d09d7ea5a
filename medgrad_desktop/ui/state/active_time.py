"""The active time a reader spends on one case of a reader study: a stopwatch that runs only while the
reading window is in front and in use.

Why active time: a reader who turns to a phone call or another window is not reading the case, and
counting that pause would make the arm read in that session look slow. The reading window tells the
timer when it gains or loses the focus (and when the application does); the timer only adds up the
spans in between. No Qt here, and the clock is given, so the rule is tested with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ActiveTimer:
    """Seconds of active time since `restart`, paused while `set_active(False)` holds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._banked = 0.0  # seconds of the spans already closed
        self._since: float | None = None  # when the open span began; None while paused

    @property
    def running(self) -> bool:
        return self._since is not None

    def restart(self, active: bool) -> None:
        """A new case: zero, running at once when the window is in use, else from the next activation."""
        self._banked = 0.0
        self._since = self._clock() if active else None

    def set_active(self, active: bool) -> None:
        """The window gained (True) or lost (False) the focus; repeated calls change nothing."""
        if active and self._since is None:
            self._since = self._clock()
        elif not active and self._since is not None:
            self._banked += max(0.0, self._clock() - self._since)
            self._since = None

    @property
    def seconds(self) -> float:
        """The active seconds so far, the open span included."""
        open_span = max(0.0, self._clock() - self._since) if self._since is not None else 0.0
        return self._banked + open_span
