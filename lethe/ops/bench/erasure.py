"""Subject erasure: from the command to the last tombstone acknowledged by Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lethe.consumers.codec import Catalogue
from lethe.domain.application import IngestRecord, Lethe
from lethe.ops.bench.infra import BenchContext, Stopwatch
from lethe.ops.bench.stats import Figure, Say, Target, percentile
from lethe.ops.bootstrap import Runtime, build_runtime
from lethe.ops.rdkafka import RdKafkaProducer
from lethe.ops.relay import Relay
from lethe.ops.settings import Settings

CONTROLLER = "sector-alarm"
SAVE_BATCH = 1000


@dataclass(frozen=True)
class ErasureSample:
    """One subject's erasure, by phase, as a `lethe run` tick does it."""

    items: int
    command_s: float
    schedule_s: float  # the subject process orders every item, in one transaction
    sweep_s: float
    relay_s: float  # tombstones and orders sent and acknowledged

    @property
    def seconds(self) -> float:
        return self.command_s + self.schedule_s + self.sweep_s + self.relay_s


def erase_subjects(
    bench: BenchContext, settings: Settings, subjects: int, items: int
) -> list[ErasureSample]:
    """`subjects` subjects of `items` images each; erase them one after another."""
    runtime = build_runtime(settings)
    now = datetime.now(UTC)
    for s in range(subjects):
        _ingest(runtime.app, _records(s, items, now - timedelta(hours=1)), now)
    runtime.catch_up()  # the subject index must know every item first
    producer = RdKafkaProducer(bench.kafka.rdkafka_producer_config())
    relay = Relay(runtime.app, producer, Catalogue.shipped())
    samples = [_erase(runtime, relay, s, items) for s in range(subjects)]
    producer.close()
    runtime.app.close()
    return samples


def _erase(runtime: Runtime, relay: Relay, subject: int, items: int) -> ErasureSample:
    watch, now = Stopwatch(), datetime.now(UTC)
    runtime.app.request_subject_erasure(
        CONTROLLER,
        _subject_id(subject),
        f"bench-{uuid.uuid4().hex}",
        "GDPR art. 17 request",
        "bench",
        None,
        now,
    )
    command_s, _ = watch.split()
    runtime.catch_up()
    schedule_s, _ = watch.split()
    runtime.sweeper.sweep(now)  # what the tick does next: nothing else is due
    sweep_s, _ = watch.split()
    sent = relay.relay_pending()
    relay_s, _ = watch.split()
    if sent != items:
        raise RuntimeError(f"relayed {sent} orders for a subject of {items} items")
    return ErasureSample(
        items,
        command_s,
        schedule_s - command_s,
        sweep_s - schedule_s,
        relay_s - sweep_s,
    )


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
    for r in range(runs):
        with bench.database() as settings:
            per_run.append(erase_subjects(bench, settings, subjects, items))
        seconds = [s.seconds for s in per_run[-1]]
        say(
            f"erasure run {r + 1}: p50 {percentile(seconds, 50):.2f} s, "
            f"p99 {percentile(seconds, 99):.2f} s over {subjects} subjects"
        )
    size = f"{items:,} items per subject, {subjects} subjects per run"
    figures = [
        Figure(
            f"subject_erasure_p{p}_s",
            f"subject erasure p{p}: command → last tombstone acknowledged",
            "s",
            size,
            [percentile([s.seconds for s in run], p) for run in per_run],
            Target("<", 5.0) if p == 99 else None,
            quick,
        )
        for p in (50, 99)
    ]
    everything = [asdict(s) | {"seconds": s.seconds} for run in per_run for s in run]
    return figures, {"samples": everything}
