"""Scale-out: `lethe run` processes in one consumer group on one PostgreSQL.

The group forms on empty topics first; then the workload is sent (the producer
is several times faster than the group) and the clock runs from the first send
to the last record committed, so joins and rebalances are not in the rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from lethe.consumers.batch import tracking_name
from lethe.consumers.records import KIND_BY_TOPIC
from lethe.ops.bench.infra import BenchContext
from lethe.ops.bench.process import RunProcess
from lethe.ops.bench.publish import Encoded, send
from lethe.ops.bench.stats import Figure, Say, Target
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.settings import Settings

POLL_S = 0.2
TIMEOUT_S = 900.0


@dataclass(frozen=True)
class GroupRun:
    processes: int
    items: int
    records: int
    seconds: float  # first send to last record committed
    publish_s: float

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds


def run_group(
    bench: BenchContext,
    settings: Settings,
    encoded: list[Encoded],
    partitions: int,
    processes: int,
) -> GroupRun:
    """Form a group of `processes` on fresh topics, then send and time the workload."""
    topics = bench.topics(partitions)
    # A long sweep interval: the projector ticks once at start, then stays out of
    # the way, so the rate is the consumers' as in the ingest figure.
    env = bench.env(settings, topics) | {"LETHE_SWEEP_INTERVAL_S": "3600"}
    app = build_app(settings)  # creates the tables before the processes race to
    group: list[RunProcess] = []
    try:
        for _ in range(processes):
            group.append(RunProcess(env))
            _wait(group, lambda: bool(group[-1].assigned()))
        everything = len(topics.inbound_kinds()) * partitions
        _wait(group, lambda: _stable(group, everything))
        start = time.perf_counter()
        published = send(bench.kafka, topics, encoded)
        _wait(group, lambda: _taken(app, topics) >= published.records)
        seconds = time.perf_counter() - start
    finally:
        for process in group:
            process.stop()
        app.close()
    items = sum(1 for topic, _, _ in encoded if KIND_BY_TOPIC[topic].is_item)
    return GroupRun(processes, items, len(encoded), seconds, published.seconds)


def _stable(group: list[RunProcess], partitions: int) -> bool:
    """Every member holds partitions, none twice, and all are held."""
    held = [process.assigned() for process in group]
    union = set().union(*held)
    return all(held) and sum(map(len, held)) == len(union) == partitions


def _wait(group: list[RunProcess], done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not done():
        for process in group:
            if not process.alive():
                raise RuntimeError(f"lethe run exited early:\n{process.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError("the group did not get there in time")
        time.sleep(POLL_S)


def _taken(app: Any, topics: TopicSettings) -> int:
    """Records committed: the sum of the tracked offsets + 1 of every partition."""
    recorder, taken = app.process_recorder, 0
    for name in topics.inbound_kinds():
        for p in range(topics.partitions):
            last = recorder.max_tracking_id(tracking_name(name, p))
            taken += 0 if last is None else last + 1
    return taken


def measure(
    bench: BenchContext,
    encoded: list[Encoded],
    partitions: int,
    most: int,
    runs: int,
    say: Say,
) -> tuple[list[Figure], dict[str, Any]]:
    """1 to `most` processes, `runs` times each, each time on a fresh database.

    The sizes alternate within a round (1, 2, 1, 2, ...), so the n-th runs of
    each size share a stretch of the host's drifting speed and their ratio is fair."""
    results: dict[int, list[GroupRun]] = {n: [] for n in range(1, most + 1)}
    for r in range(runs):
        for n in results:
            with bench.database() as settings:
                results[n].append(run_group(bench, settings, encoded, partitions, n))
            say(
                f"scale-out {n} process(es) run {r + 1}: "
                f"{results[n][-1].items_per_s:,.0f} items/s"
            )
    figures = [
        Figure(
            f"scaleout_{n}_items_per_s",
            f"scale-out: {n} `lethe run` process(es), one group, one PostgreSQL",
            "items/s",
            f"{done[0].items:,} items, {partitions} partitions/topic",
            [run.items_per_s for run in done],
        )
        for n, done in results.items()
    ]
    if most >= 2:
        figures.append(speed_up(figures[0], figures[1]))
    details = [asdict(run) for done in results.values() for run in done]
    return figures, {"runs": details}


def speed_up(one: Figure, two: Figure) -> Figure:
    """Two processes ÷ one, round by round."""
    return Figure(
        "scaleout_2_vs_1",
        "scale-out: 2 processes ÷ 1 (items/s ÷ items/s)",
        "ratio",
        one.size,
        [b / a for a, b in zip(one.runs, two.runs, strict=True)],
        Target(">=", 1.6),  # issue 16
    )
