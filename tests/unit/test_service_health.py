"""When the projector counts as stuck, a lease holder as gone, sweeps as missed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from kafka import TopicPartition

from lethe.ops.runtime.metrics import Metrics
from lethe.ops.runtime.probes import ProgressWatch
from lethe.projections.health import Health, service_problems
from lethe.projections.runner import Runner

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEALTH = Health(
    log_head=10,
    projector_position=10,
    overdue=0,
    unconfirmed=0,
    failed=0,
    requests_near_deadline=0,
    requests_past_deadline=0,
    set_aside=0,
    halted_partitions=0,
    runner=None,
)
RUNNER = Runner(
    holder="host:42",
    since=T0,
    heartbeat_at=T0,
    released_at=None,
    sweep_interval=timedelta(seconds=60),
    swept_at=T0,
    sweep_finished_at=T0,
    sweep_duration_s=0.5,
)


def test_a_projector_behind_and_not_moving_is_stuck_only_after_the_bound() -> None:
    watch = ProgressWatch(stuck_after=timedelta(seconds=90))
    behind = replace(HEALTH, log_head=20)
    assert watch.stuck(behind, now=0.0) is False
    assert watch.stuck(behind, now=90.0) is False
    assert watch.stuck(behind, now=90.5) is True


def test_a_projector_that_moves_or_has_read_everything_is_never_stuck() -> None:
    watch = ProgressWatch(stuck_after=timedelta(seconds=90))
    assert watch.stuck(replace(HEALTH, log_head=20), now=0.0) is False
    moved = replace(HEALTH, log_head=30, projector_position=15)
    assert watch.stuck(moved, now=1000.0) is False  # it moved: the clock restarts
    assert watch.stuck(moved, now=1091.0) is True
    assert watch.stuck(HEALTH, now=5000.0) is False  # caught up: idle, not stuck


@given(st.integers(min_value=0, max_value=10_000))
def test_sweeps_missed_count_whole_intervals_since_the_last_sweep(seconds: int) -> None:
    now = T0 + timedelta(seconds=seconds)
    assert RUNNER.sweeps_missed(now) == seconds // 60
    named = any("no sweep for" in p for p in service_problems(RUNNER, now))
    assert named == (seconds >= 180)


def test_a_heartbeat_goes_stale_after_three_intervals_and_half_a_minute() -> None:
    assert RUNNER.holds(T0 + timedelta(seconds=210)) is True
    assert RUNNER.holds(T0 + timedelta(seconds=211)) is False
    late = T0 + timedelta(seconds=211)
    assert (
        "host:42 was last heard of at 2026-12-01T12:00:00Z"
        in (service_problems(RUNNER, late)[0])
    )


def test_a_holder_that_let_go_holds_nothing_at_once() -> None:
    released = replace(RUNNER, released_at=T0 + timedelta(seconds=5))
    assert released.holds(T0 + timedelta(seconds=6)) is False
    [problem] = service_problems(released, T0 + timedelta(seconds=6))
    assert problem == (
        "no lethe run holds the lease: host:42 let go of it at 2026-12-01T12:00:05Z"
    )


def test_a_store_no_lethe_run_ever_ran_on_needs_attention() -> None:
    assert service_problems(None, T0) == [
        "no lethe run has ever held the lease on this store"
    ]
    assert service_problems(RUNNER, T0 + timedelta(seconds=30)) == []


def test_consumer_lag_is_reported_for_the_partitions_assigned_now() -> None:
    metrics = Metrics()
    mine, gone = TopicPartition("t", 0), TopicPartition("t", 1)
    highwater = {mine: 10, gone: 7}.get
    metrics.observe_lag({mine: 4, gone: 7}, highwater, {mine, gone})
    lag = metrics.registry.get_sample_value
    assert lag("lethe_consumer_lag", {"topic": "t", "partition": "0"}) == 6
    assert lag("lethe_consumer_lag", {"topic": "t", "partition": "1"}) == 0
    metrics.observe_lag({mine: 10, gone: 7}, highwater, {mine})  # a rebalance
    assert lag("lethe_consumer_lag", {"topic": "t", "partition": "0"}) == 0
    assert lag("lethe_consumer_lag", {"topic": "t", "partition": "1"}) is None
