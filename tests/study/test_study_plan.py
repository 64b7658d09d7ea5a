"""The reading plan: reproducible from its seed, a full crossover, arm orders balanced across readers
(counted), case orders shuffled, and repeats present and spaced."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from medgrad_desktop.study.plan import MIN_REPEAT_GAP, make_plan, williams_squares
from medgrad_desktop.study.spec import Arm, Cases, Design, Reader, StudySpec

CASES = [f"C-{i:03d}" for i in range(1, 25)]


def spec(readers: int = 2, arms: int = 3, seed: int = 1, share: float = 0.1) -> StudySpec:
    return StudySpec(
        id="p",
        name="p",
        seed=seed,
        readers=tuple(Reader(f"R{i:02d}") for i in range(1, readers + 1)),
        cases=Cases(folder=".", truth="t.csv"),
        arms=tuple(Arm(f"arm-{k}", "nothing") for k in range(arms)),
        design=Design(washout_days=0, repeat_share=share),
    )


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    assert make_plan(spec(seed=5), CASES) == make_plan(spec(seed=5), CASES)
    assert make_plan(spec(seed=5), CASES) != make_plan(spec(seed=6), CASES)


def test_every_reader_reads_every_case_once_per_arm_one_session_per_arm():
    s = spec(readers=4, arms=3)
    plan = make_plan(s, CASES)
    for reader in s.reader_codes:
        mine = [a for a in plan if a.reader == reader]
        assert sorted({a.session for a in mine}) == [1, 2, 3]
        assert sorted({a.arm for a in mine}) == [a.id for a in s.arms]
        for session in (1, 2, 3):
            rows = [a for a in mine if a.session == session]
            assert len({a.arm for a in rows}) == 1  # one arm per session
            assert sorted(a.case_id for a in rows if not a.repeat) == CASES
            assert [a.position for a in rows] == list(range(1, len(rows) + 1))


@pytest.mark.parametrize(
    ("readers", "arms"), [(2, 3), (3, 3), (4, 3), (5, 3), (6, 3), (7, 3), (5, 2), (6, 4), (9, 4)]
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_arm_sits_in_each_session_slot_floor_or_ceil_of_readers_over_arms_times(readers, arms, seed):
    plan = make_plan(spec(readers, arms, seed, share=0), CASES[:4])
    slot = Counter((a.session, a.arm) for a in plan if a.position == 1)
    low, high = readers // arms, -(-readers // arms)
    for session in range(1, arms + 1):
        for k in range(arms):
            assert low <= slot[(session, f"arm-{k}")] <= high, (session, k, slot)


def test_readers_in_whole_blocks_balance_carry_over_williams():
    """With 6 readers and 3 arms (two whole Williams squares) each arm follows each other arm equally often."""
    plan = make_plan(spec(readers=6, arms=3, share=0), CASES[:3])
    orders = {}
    for a in plan:
        if a.position == 1:
            orders.setdefault(a.reader, {})[a.session] = a.arm
    pairs = Counter((o[s], o[s + 1]) for o in orders.values() for s in (1, 2))
    assert set(pairs) == {(x, y) for x, y in itertools.permutations([f"arm-{k}" for k in range(3)], 2)}
    assert len(set(pairs.values())) == 1


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8])
def test_williams_squares_are_latin(n):
    for square in williams_squares(n):
        assert all(sorted(row) == list(range(n)) for row in square)
        assert all(sorted(col) == list(range(n)) for col in zip(*square, strict=True))


def test_case_order_is_shuffled_per_reader_and_session():
    plan = make_plan(spec(readers=2, arms=3, share=0), CASES)
    orders = {(a.reader, a.session) for a in plan}
    sequences = {k: tuple(a.case_id for a in plan if (a.reader, a.session) == k) for k in orders}
    assert len(set(sequences.values())) == len(sequences) == 6
    assert all(seq != tuple(CASES) for seq in sequences.values())


@pytest.mark.parametrize("seed", range(10))
def test_repeats_are_present_and_spaced(seed):
    s = spec(readers=3, arms=3, seed=seed, share=0.25)
    plan = make_plan(s, CASES)
    for reader, session in {(a.reader, a.session) for a in plan}:
        rows = [a for a in plan if (a.reader, a.session) == (reader, session)]
        repeats = [a for a in rows if a.repeat]
        assert len(repeats) == round(0.25 * len(CASES)) == 6
        assert len({a.case_id for a in repeats}) == 6
        for r in repeats:
            first = next(a for a in rows if a.case_id == r.case_id and not a.repeat)
            assert r.position - first.position >= MIN_REPEAT_GAP


def test_no_repeats_when_the_share_is_zero():
    assert not any(a.repeat for a in make_plan(spec(share=0), CASES))


@pytest.mark.parametrize(("n_cases", "share"), [(2, 0.5), (3, 0.2), (3, 0.5), (4, 0.5)])
@pytest.mark.parametrize("seed", range(20))
def test_a_repeat_never_follows_its_first_reading_in_a_short_session(n_cases, share, seed):
    """Too few cases for the full gap: the repeat still has another case between it and the first."""
    plan = make_plan(spec(readers=2, arms=2, seed=seed, share=share), CASES[:n_cases])
    for reader, session in {(a.reader, a.session) for a in plan}:
        rows = [a for a in plan if (a.reader, a.session) == (reader, session)]
        repeats = [a for a in rows if a.repeat]
        assert len(repeats) == round(share * n_cases) >= 1
        for r in repeats:
            first = next(a for a in rows if a.case_id == r.case_id and not a.repeat)
            assert r.position - first.position >= 2, [(a.case_id, a.repeat) for a in rows]
