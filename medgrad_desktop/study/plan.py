"""The reading plan: which reader reads which case, in which arm, in which order.

A crossover: every reader reads every case once per arm, one session per arm. The arm order of the
readers comes from Williams squares (each arm follows each other arm equally often, so a carry-over
from one session to the next does not favour an arm), their arms relabelled and their rows dealt to the
readers in an order drawn from the seed; the readers take the rows block by block, every block a whole
Latin square, so with R readers and A arms each arm sits in each session slot floor(R/A) or ceil(R/A)
times. Within each session the case order is shuffled per reader, and `round(repeat_share * n_cases)`
cases (Python's rounding: halves to even) are read a second time in the same session, never right
after their first reading: at least `MIN_REPEAT_GAP` positions later where the session is long enough.

Everything is drawn from one `random.Random(seed)` in a fixed order, so the same study file gives the
same plan on any machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from medgrad_desktop.study.spec import StudySpec

MIN_REPEAT_GAP = 3


@dataclass(frozen=True)
class Assignment:
    reader: str
    session: int  # 1-based
    position: int  # 1-based within the session
    case_id: str
    arm: str
    repeat: bool  # the second reading of a case in this session


def williams_squares(n: int) -> list[list[list[int]]]:
    """Latin squares of order n whose rows together balance first-order carry-over: one square for an
    even n, a square and its mirror for an odd n (each row of the mirror is a row reversed)."""
    first: list[int] = [0]
    lo, hi = 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    square = [[(v + i) % n for v in first] for i in range(n)]
    return [square] if n % 2 == 0 else [square, [row[::-1] for row in square]]


def arm_orders(readers: list[str], arms: list[str], rng: random.Random) -> dict[str, list[str]]:
    """Each reader's arm order (session 1 first)."""
    relabel = arms[:]
    rng.shuffle(relabel)
    squares = williams_squares(len(arms))
    order = readers[:]
    rng.shuffle(order)
    out: dict[str, list[str]] = {}
    block = len(arms)
    for start in range(0, len(order), block):
        rows = squares[(start // block) % len(squares)][:]
        rng.shuffle(rows)
        for reader, row in zip(order[start : start + block], rows, strict=False):
            out[reader] = [relabel[k] for k in row]
    return out


def session_order(case_ids: list[str], n_repeats: int, rng: random.Random) -> list[tuple[str, bool]]:
    """The cases of one session shuffled, with `n_repeats` of them read again later in the session."""
    seq: list[tuple[str, bool]] = [(c, False) for c in case_ids]
    rng.shuffle(seq)
    n_repeats = min(n_repeats, len(case_ids))
    # leave room for the gap; in a short session, the earliest cases (never the last, so no repeat
    # lands right after its first reading)
    pool = [c for c, _ in seq[: max(n_repeats, len(seq) - MIN_REPEAT_GAP)]]
    for case in rng.sample(pool, n_repeats):
        first = seq.index((case, False))
        earliest = min(first + MIN_REPEAT_GAP, len(seq))
        seq.insert(rng.randint(earliest, len(seq)), (case, True))
    return seq


def make_plan(spec: StudySpec, case_ids: list[str]) -> list[Assignment]:
    rng = random.Random(spec.seed)
    readers = spec.reader_codes
    orders = arm_orders(readers, [a.id for a in spec.arms], rng)
    n_repeats = round(spec.design.repeat_share * len(case_ids))
    plan: list[Assignment] = []
    for reader in readers:
        for session, arm in enumerate(orders[reader], 1):
            for position, (case, repeat) in enumerate(session_order(case_ids, n_repeats, rng), 1):
                plan.append(Assignment(reader, session, position, case, arm, repeat))
    return plan
