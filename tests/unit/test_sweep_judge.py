"""The audit's sweep judge on its own: gaps as a property, and a bounded heap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from lethe.projections.audit_sweeps import COMPACT_FLOOR, Gap, SweepJudge

T = datetime(2026, 6, 1, tzinfo=UTC)
INTERVAL, SLACK = timedelta(seconds=60), timedelta(seconds=5)


@dataclass
class Waiting:
    free: datetime | None
    free_pos: int = 0
    epoch: int = 0
    ordered: datetime | None = None
    missed: datetime | None = None
    holds: int = 0
    restrictions: int = 0


def seconds(n: int) -> datetime:
    return T + timedelta(seconds=n)


# Sweeps as (start, length) in seconds after T, run one after the other.
sweep_plans = st.lists(
    st.tuples(st.integers(0, 400), st.integers(0, 120)), min_size=0, max_size=8
)
arrivals = st.lists(st.integers(0, 1500), min_size=1, max_size=12)


def run(plan: list[tuple[int, int]]) -> list[tuple[datetime, datetime]]:
    sweeps, at = [], 0
    for pause, length in plan:
        start = at + pause
        sweeps.append((seconds(start), seconds(start + length)))
        at = start + length
    return sweeps


def expected_gaps(
    frees: list[datetime], sweeps: list[tuple[datetime, datetime]], now: datetime
) -> set[Gap]:
    """By brute force: each item waits for the first sweep starting at or after
    it is free; a gap if that start is later than the bound."""
    gaps = set()
    for free in frees:
        before: datetime | None = None
        came: datetime | None = None
        for started, finished in sweeps:
            if started >= free:
                came = started
                break
            before = finished
        since = max(free, before) if before is not None else free
        if (came or now) > since + INTERVAL + SLACK:
            gaps.add(Gap(before, came))
    return gaps


@settings(max_examples=300, deadline=None)
@given(sweep_plans, arrivals)
def test_a_sweeper_that_orders_everything_free_misses_nothing_and_gaps_are_exact(
    plan: list[tuple[int, int]], arriving: list[int]
) -> None:
    # Arrivals are logged before any sweep here, between sweeps in time only.
    sweeps = run(plan)
    now = seconds(2000)
    judge = SweepJudge(INTERVAL, SLACK)
    items = [Waiting(seconds(n)) for n in sorted(arriving)]
    for t in items:
        judge.freed(t)
    for started, finished in sweeps:
        for t in items:  # the sweep orders what is free by its clock...
            if t.ordered is None and t.free is not None and t.free <= started:
                judge.check_gap(t, started)  # ...as Verifier._late does
                t.ordered = started
        record = SimpleNamespace(
            started_at=started, finished_at=finished, seen_up_to=10**9
        )
        assert judge.swept(record) == []  # ...so it misses none
    for t in items:
        if t.ordered is None and t.free is not None and judge.bound(t) < now:
            judge.check_gap(t, None)
    frees = [t.free for t in items if t.free is not None]
    assert set(judge.gaps) == expected_gaps(frees, sweeps, now)


def test_a_sweep_that_passes_over_a_free_item_reports_it_once() -> None:
    judge = SweepJudge(INTERVAL, SLACK)
    skipped, taken = Waiting(seconds(0)), Waiting(seconds(1))
    judge.freed(skipped)
    judge.freed(taken)
    taken.ordered = seconds(10)
    first = SimpleNamespace(
        started_at=seconds(10), finished_at=seconds(12), seen_up_to=5
    )
    assert judge.swept(first) == [skipped]
    skipped.missed = seconds(12)
    again = SimpleNamespace(
        started_at=seconds(70), finished_at=seconds(70), seen_up_to=5
    )
    assert judge.swept(again) == []


def test_an_item_the_view_had_not_read_waits_for_the_next_sweep() -> None:
    judge = SweepJudge(INTERVAL, SLACK)
    unseen = Waiting(seconds(0), free_pos=9)
    judge.freed(unseen)
    blind = SimpleNamespace(started_at=seconds(5), finished_at=seconds(5), seen_up_to=8)
    assert judge.swept(blind) == []
    seeing = SimpleNamespace(
        started_at=seconds(9), finished_at=seconds(9), seen_up_to=9
    )
    assert judge.swept(seeing) == [unseen]


def test_the_heap_keeps_no_more_than_about_twice_the_waiting_items() -> None:
    judge = SweepJudge(INTERVAL, SLACK)
    waiting = [Waiting(seconds(10**6)) for _ in range(100)]
    for t in waiting:
        judge.freed(t)
    for n in range(5 * COMPACT_FLOOR):  # erased early: their entries are void
        gone = Waiting(seconds(10**6 + n))
        judge.freed(gone)
        gone.epoch += 1
    assert len(judge._heap) <= COMPACT_FLOOR + 1
    record = SimpleNamespace(
        started_at=seconds(10**7), finished_at=seconds(10**7), seen_up_to=0
    )
    assert judge.swept(record) == waiting  # the living survived every rebuild


# A script of steps, each on one of 6 items or a sweep: (kind, item, seconds).
steps = st.lists(
    st.tuples(
        st.sampled_from(["free", "erase", "order", "hold", "release", "sweep"]),
        st.integers(0, 5),
        st.integers(0, 1500),
    ),
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(steps, st.integers(0, 1500))
def test_items_free_after_the_horizon_are_judged_as_if_they_were_in_the_heap(
    script: list[tuple[str, int, int]], horizon: int
) -> None:
    # Two judges on twin items, one with a horizon (its far items in the plain
    # list), one without: every sweep misses the same items, and the same gaps
    # are found, including for sweeps that start after the horizon.
    judges = [
        SweepJudge(INTERVAL, SLACK),
        SweepJudge(INTERVAL, SLACK, seconds(horizon)),
    ]
    twins = [[Waiting(None) for _ in range(6)] for _ in judges]
    at = 0
    for kind, n, s in script:
        found = []
        for judge, items in zip(judges, twins, strict=True):
            t = items[n]
            if kind == "free":  # as Verifier._free: a new epoch, pushed if free
                t.free, t.epoch = seconds(s), t.epoch + 1
                if not (t.holds or t.restrictions):
                    judge.freed(t)
            elif kind == "erase":  # as Verifier._erased: only the epoch moves
                t.epoch += 1
            elif kind == "order":
                t.ordered = seconds(s)
            elif kind == "hold":
                t.holds += 1
            elif kind == "release" and t.holds:
                t.holds -= 1
                if t.free is not None and not t.holds:
                    t.free, t.epoch = max(t.free, seconds(s)), t.epoch + 1
                    judge.freed(t)
            elif kind == "sweep":
                record = SimpleNamespace(
                    started_at=seconds(at + s),
                    finished_at=seconds(at + s + 1),
                    seen_up_to=10**9,
                )
                missed = judge.swept(record)
                for t in missed:
                    t.missed = record.finished_at
                found.append(sorted(items.index(t) for t in missed))
        if kind == "sweep":
            at += s + 1
            assert found[0] == found[1]
    assert judges[0].gaps == judges[1].gaps


def test_erased_items_free_after_the_horizon_are_not_kept_alive() -> None:
    judge = SweepJudge(INTERVAL, SLACK, seconds(0))
    waiting = [Waiting(seconds(10**6)) for _ in range(100)]
    for t in waiting:
        judge.freed(t)
    for n in range(5 * COMPACT_FLOOR):  # erased: their tracks must be let go
        gone = Waiting(seconds(10**6 + n))
        judge.freed(gone)
        gone.epoch += 1
    assert judge._heap == []  # none of them took a heap entry
    assert len(judge._later) <= COMPACT_FLOOR + 1
    record = SimpleNamespace(
        started_at=seconds(10**7), finished_at=seconds(10**7), seen_up_to=0
    )
    assert judge.swept(record) == waiting  # a sweep after the horizon finds them
