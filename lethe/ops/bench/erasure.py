"""Subject erasure: from the command to the last order acknowledged by Kafka."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lethe.consumers.codec import Catalogue
from lethe.domain.application import IngestRecord, Lethe
from lethe.ops.bench.infra import (
    BenchContext,
    Stopwatch,
    relay_position,
    relay_producer,
)
from lethe.ops.bench.process import RunProcess
from lethe.ops.bench.stats import Figure, Say, Target, percentile
from lethe.ops.kafka.relay import ORDERED, Relay
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.runtime.projector import Projector
from lethe.ops.settings import Settings

CONTROLLER = "sector-alarm"
SAVE_BATCH = 1000
WARM_UP = 10  # items of the subject erased first, untimed, beside `lethe relay`


@dataclass(frozen=True)
class ErasureSample:
    """One subject's erasure, by phase, as a `lethe run` tick does it."""

    items: int
    command_s: float
    schedule_s: float  # to the relay's start: the schedule orders every item
    relay_s: float  # to the last order acknowledged
    rest_s: float  # not counted: the view reads the orders back, the sweep

    @property
    def seconds(self) -> float:
        return self.command_s + self.schedule_s + self.relay_s


class WatchedRelay:
    """The relay, noting when it starts sending and when all `items` are out."""

    def __init__(self, relay: Relay, watch: Stopwatch, items: int) -> None:
        self.relay, self.watch, self.items = relay, watch, items
        self.sent = 0
        self.started_s: float | None = None
        self.done_s: float | None = None

    def relay_pending(self, limit: int | None = None) -> int:
        before_s, _ = self.watch.split()
        sent = self.relay.relay_pending(limit)
        self.sent += sent
        if sent and self.started_s is None:
            self.started_s = before_s
        if self.sent >= self.items and self.done_s is None:
            self.done_s, _ = self.watch.split()
        return sent


def erase_subjects(
    bench: BenchContext, settings: Settings, subjects: int, items: int
) -> list[ErasureSample]:
    """`subjects` subjects of `items` images each; erase them one after another."""
    runtime = build_runtime(settings)
    now = datetime.now(UTC)
    for s in range(subjects):
        _ingest(runtime.app, _records(s, items, now - timedelta(hours=1)), now)
    runtime.catch_up()  # the subject index must know every item first
    bench.contract_topics()
    producer = relay_producer(bench.kafka)
    relay = Relay(runtime.app, producer, Catalogue.shipped())
    samples = [_erase(runtime, relay, s, items) for s in range(subjects)]
    producer.close()
    runtime.app.close()
    return samples


def _erase(runtime: Runtime, relay: Relay, subject: int, items: int) -> ErasureSample:
    watch, now = Stopwatch(), datetime.now(UTC)
    _request(runtime, subject, now)
    command_s, _ = watch.split()
    watched = WatchedRelay(relay, watch, items)
    _tick(runtime, watched, now)
    tick_s, _ = watch.split()
    if watched.sent != items or watched.started_s is None or watched.done_s is None:
        raise RuntimeError(f"relayed {watched.sent} orders of a subject of {items}")
    return ErasureSample(
        items,
        command_s,
        watched.started_s - command_s,
        watched.done_s - watched.started_s,
        tick_s - watched.done_s,
    )


def erase_subjects_beside_relay(
    bench: BenchContext, settings: Settings, subjects: int, items: int
) -> list[ErasureSample]:
    """The same erasures with a `lethe relay` process beside: it may send the
    subject page's first chunks of orders while the later ones are written.
    Each is timed from the command to the relay's position at the subject's
    last order (every order acknowledged)."""
    runtime = build_runtime(settings)
    now = datetime.now(UTC)
    for s in range(subjects):
        _ingest(runtime.app, _records(s, items, now - timedelta(hours=1)), now)
    # Not timed: a running `lethe relay` has connected to the brokers long since.
    _ingest(runtime.app, _records(subjects, WARM_UP, now - timedelta(hours=1)), now)
    runtime.catch_up()
    topics = bench.contract_topics()
    relay = RunProcess(bench.env(settings, topics), command="relay")
    try:
        relay.wait_until("relay lease", lambda: bool(relay.lines("lease taken")))
        _erase_beside(runtime, relay, subjects, WARM_UP)
        return [_erase_beside(runtime, relay, s, items) for s in range(subjects)]
    finally:
        relay.stop()
        runtime.app.close()


def _erase_beside(
    runtime: Runtime, relay: RunProcess, subject: int, items: int
) -> ErasureSample:
    start = runtime.app.process_recorder.max_notification_id() or 0
    watch, now = Stopwatch(), datetime.now(UTC)
    # The relay may be done before the tick ends (the view still reading the
    # orders back): its position is sampled beside the tick, every 10 ms.
    positions = PositionWatch(runtime.app, watch)
    positions.start()
    try:
        _request(runtime, subject, now)
        command_s, _ = watch.split()
        # As `lethe run`'s projector while `lethe relay` holds the lease: no relay.
        _tick(runtime, None, now)
        tick_s, _ = watch.split()
        last = _last_order_after(runtime.app, start, items)
        relay.wait_until("relayed subject", lambda: positions.reached(last) is not None)
    finally:
        positions.stop()
    done_s = positions.reached(last)
    assert done_s is not None
    return ErasureSample(
        items,
        command_s,
        min(tick_s, done_s) - command_s,
        max(0.0, done_s - tick_s),
        max(0.0, tick_s - done_s),
    )


class PositionWatch(threading.Thread):
    """The relay's position, sampled with the stopwatch's time."""

    def __init__(self, app: Lethe, watch: Stopwatch, every_s: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.app, self.watch, self.every_s = app, watch, every_s
        self.samples: list[tuple[float, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            position = relay_position(self.app)
            self.samples.append((self.watch.split()[0], position))
            self._halt.wait(self.every_s)

    def reached(self, position: int) -> float | None:
        """When the relay was first seen at or past `position`."""
        return next((t for t, p in list(self.samples) if p >= position), None)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _last_order_after(app: Lethe, start: int, items: int) -> int:
    """The position of the subject's last order: its `items` orders follow `start`."""
    orders = app.process_recorder.select_notifications(
        start + 1, items + 1000, topics=[ORDERED]
    )
    if len(orders) != items:
        raise RuntimeError(f"{len(orders)} orders for a subject of {items}")
    return int(orders[-1].id)


def _request(runtime: Runtime, subject: int, now: datetime) -> None:
    """The support person's command: erase this subject (GDPR art. 17)."""
    runtime.app.request_subject_erasure(
        CONTROLLER,
        _subject_id(subject),
        f"bench-{uuid.uuid4().hex}",
        "GDPR art. 17 request",
        "bench",
        None,
        now,
    )


def _tick(runtime: Runtime, relay: WatchedRelay | None, now: datetime) -> None:
    """One tick of `lethe run`'s projector, in this thread."""
    projector = Projector(
        lambda: runtime.app,
        lambda _app: relay,
        interval_s=3600.0,
        stop=threading.Event(),
        clock=lambda: now,
    )
    projector.tick(runtime.schedule, runtime.sweeper, relay)


def _ingest(app: Lethe, records: Iterator[IngestRecord], at: datetime) -> None:
    batch: list[IngestRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) == SAVE_BATCH:
            app.ingest(batch, at)
            batch = []
    if batch:
        app.ingest(batch, at)


def _subject_id(subject: int) -> str:
    return f"bench-subject-{subject:04d}"


def _records(subject: int, items: int, captured: datetime) -> Iterator[IngestRecord]:
    for k in range(items):
        ref = f"bench-s{subject:04d}-img-{k:06d}"
        yield IngestRecord(
            item_ref=ref,
            kind="VerificationImage",
            source_topic="alarm.images.v1",
            source_partition=0,
            source_offset=subject * items + k,
            controller=CONTROLLER,
            category="verification-image",
            subject_id=_subject_id(subject),
            captured_at=captured + timedelta(milliseconds=k),
            blob_uri=f"s3://arc-media/{ref}.jpg",
            sha256="0" * 64,
            content=ref.encode(),
        )


def measure(
    bench: BenchContext, subjects: int, items: int, runs: int, quick: bool, say: Say
) -> tuple[list[Figure], dict[str, Any]]:
    """p50 and p99 over `subjects` subjects per run, `runs` runs on fresh databases."""
    per_run: list[list[ErasureSample]] = []
    beside: list[list[ErasureSample]] = []
    for r in range(runs):
        with bench.database() as settings:
            per_run.append(erase_subjects(bench, settings, subjects, items))
        with bench.database() as settings:
            beside.append(erase_subjects_beside_relay(bench, settings, subjects, items))
        seconds = [s.seconds for s in per_run[-1]]
        other = [s.seconds for s in beside[-1]]
        say(
            f"erasure run {r + 1}: p50 {percentile(seconds, 50):.2f} s, "
            f"p99 {percentile(seconds, 99):.2f} s over {subjects} subjects; "
            f"beside `lethe relay` p50 {percentile(other, 50):.2f} s, "
            f"p99 {percentile(other, 99):.2f} s"
        )
    size = f"{items:,} items per subject, {subjects} subjects per run"
    figures = [
        Figure(
            f"subject_erasure_p{p}_s",
            f"subject erasure p{p}: command → last order acknowledged",
            "s",
            size,
            [percentile([s.seconds for s in run], p) for run in per_run],
            Target("<=", 2.0) if p == 99 else None,  # issue 16
            quick,
        )
        for p in (50, 99)
    ]
    figures.append(
        Figure(
            "subject_erasure_beside_relay_p99_s",
            "subject erasure p99, `lethe relay` beside: "
            "command → last order acknowledged",
            "s",
            size,
            [percentile([s.seconds for s in run], 99) for run in beside],
            Target("<=", 2.0),
            quick,
        )
    )
    everything = [asdict(s) | {"seconds": s.seconds} for run in per_run for s in run]
    alongside = [asdict(s) | {"seconds": s.seconds} for run in beside for s in run]
    return figures, {"samples": everything, "beside_relay": alongside}
