"""The consume loop: poll, take each partition's batch exactly once, repeat.

The event store's tracking table is the truth about what was taken: on every
assignment each partition is sought to its recorded offset + 1. Offsets are
also committed to Kafka after the database commit, for lag monitoring only.

A partition whose broker delivers an offset at or below the one Lethe took last
(topic recreated, cluster restored from backup) is halted: paused, logged in
one line and recorded, so `lethe status` shows it, and left until an operator
resumes it with `lethe topics resume` (docs/operations.md). Taking those
records as they come would skip every one whose offset was tracked before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from eventsourcing.persistence import ProcessRecorder
from kafka import OffsetAndMetadata, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from lethe.consumers.batch import BatchTaker, Taken, tracking_name
from lethe.consumers.records import Kind

log = structlog.get_logger("lethe.consumers")


class Consumer(Protocol):
    """What the loop needs of kafka-python's KafkaConsumer."""

    def subscribe(
        self, topics: Sequence[str] = (), pattern: Any = None, listener: Any = None
    ) -> None: ...
    def poll(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[TopicPartition, list[Any]]: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    def seek_to_beginning(self, *partitions: TopicPartition) -> None: ...
    def commit_async(self, offsets: Any = None, callback: Any = None) -> Any: ...
    def pause(self, *partitions: TopicPartition) -> None: ...


class PartitionLedger(Protocol):
    """Where halted partitions and their epochs are kept (a table, in service)."""

    def state(self, topic: str, partition: int) -> tuple[int, bool]: ...
    def halt(
        self, topic: str, partition: int, tracked: int, seen: int, at: datetime
    ) -> None: ...


# Partition -> last offset taken, in; those the broker holds less of -> its last.
OffsetsBelow = Callable[[Mapping[TopicPartition, int]], Mapping[TopicPartition, int]]


class InMemoryLedger:
    """A ledger that forgets at exit: for tests and tools without a store."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], tuple[int, bool]] = {}

    def state(self, topic: str, partition: int) -> tuple[int, bool]:
        return self.rows.get((topic, partition), (0, False))

    def halt(
        self, topic: str, partition: int, tracked: int, seen: int, at: datetime
    ) -> None:
        epoch, _halted = self.state(topic, partition)
        self.rows[(topic, partition)] = (epoch, True)


class ResumeFromTracking(ConsumerRebalanceListener):
    """On assignment, seek each partition past the last offset the store holds."""

    def __init__(self, loop: ConsumeLoop) -> None:
        self.loop = loop

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        log.info("partitions revoked", **_by_topic(revoked))

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        resume_at = self.loop.assign(sorted(assigned))
        # By topic, not one entry per partition: 6 topics of 12 partitions made
        # a 2,097-character line.
        log.info("partitions assigned", **_by_topic(assigned, resume_at))

    def on_partitions_lost(self, lost: Iterable[TopicPartition]) -> None:
        log.warning("partitions lost", **_by_topic(lost))


class ConsumeLoop:
    """Polls the inbound topics and hands each partition's records to the taker."""

    def __init__(
        self,
        consumer: Consumer,
        recorder: ProcessRecorder,
        taker: BatchTaker,
        kinds: Mapping[str, Kind],
        max_records: int = 500,
        ledger: PartitionLedger | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        broker_offsets: OffsetsBelow | None = None,
        on_taken: Callable[[str, Taken], None] | None = None,
    ) -> None:
        self.consumer = consumer
        self.recorder = recorder
        self.taker = taker
        self.kinds = dict(kinds)  # topic name as deployed -> the kind it carries
        self.max_records = max_records
        self.ledger = ledger or InMemoryLedger()
        self.clock = clock
        self.broker_offsets: OffsetsBelow = broker_offsets or (lambda tracked: {})
        # Told each partition batch's counts (the metrics of `lethe run`).
        self.on_taken = on_taken or (lambda topic, taken: None)
        self.epochs: dict[TopicPartition, int] = {}
        self.next_offsets: dict[TopicPartition, int] = {}  # what the store expects
        self.halted: set[TopicPartition] = set()  # never taken from, even if polled

    def subscribe(self) -> None:
        listener = ResumeFromTracking(self)
        self.consumer.subscribe(topics=sorted(self.kinds), listener=listener)

    def assign(self, assigned: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """Seek each partition past what its epoch has taken; halted ones are
        paused (and left out of the answer: partition -> next offset)."""
        tracked: dict[TopicPartition, int] = {}
        resume_at: dict[TopicPartition, int] = {}
        for tp in assigned:
            epoch, halted = self.ledger.state(tp.topic, tp.partition)
            self.epochs[tp] = epoch
            if halted:
                self.halted.add(tp)
                self.consumer.pause(tp)
                continue
            self.halted.discard(tp)
            name = tracking_name(tp.topic, tp.partition, epoch)
            last = self.recorder.max_tracking_id(name)
            if last is None:
                self.consumer.seek_to_beginning(tp)  # nothing taken yet
                self.next_offsets[tp] = resume_at[tp] = 0
            else:
                tracked[tp] = last
        # A broker that holds less than was taken would answer the seek with
        # nothing (Tansu) until its new records pass the old offsets unseen.
        went_back = self.broker_offsets(tracked) if tracked else {}
        for tp, last in tracked.items():
            if tp in went_back:
                self._halt(tp, last, went_back[tp])
                continue
            self.consumer.seek(tp, last + 1)
            self.next_offsets[tp] = resume_at[tp] = last + 1
        return resume_at

    def run_once(self, timeout_ms: int = 1000) -> int:
        """One poll, every partition taken and committed; how many records."""
        polled = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        count = 0
        # Items before the changes: a hold or a confirmation polled together
        # with the item it names must find that item already taken.
        ordered = sorted(
            polled.items(), key=lambda p: not self.kinds[p[0].topic].is_item
        )
        for tp, records in ordered:
            if not records or tp in self.halted:
                continue
            if self._went_back(tp, records[0].offset):
                continue
            epoch = self.epochs.get(tp, 0)
            taken = self.taker.take(self.kinds[tp.topic], records, epoch)
            _log_taken(tp, records, taken)
            self.on_taken(tp.topic, taken)
            self.next_offsets[tp] = records[-1].offset + 1
            offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
            count += len(records)
        if offsets:
            # After the database commit, and only so lag shows in Kafka's tools:
            # a lost commit costs nothing, the tracking table decides.
            self.consumer.commit_async(offsets=offsets, callback=_on_commit)
        return count

    def _went_back(self, tp: TopicPartition, first: int) -> bool:
        """Halt `tp` if the broker delivers below the offset the store expects
        (Apache Kafka answers a seek past the end by resetting to the start)."""
        expected = self.next_offsets.get(tp, 0)
        if first >= expected:
            return False
        self._halt(tp, expected - 1, first)
        return True

    def _halt(self, tp: TopicPartition, tracked: int, seen: int) -> None:
        self.halted.add(tp)
        self.consumer.pause(tp)
        self.ledger.halt(tp.topic, tp.partition, tracked, seen, self.clock())
        log.error(
            "partition halted: its offsets went back below what Lethe took "
            "(topic recreated or cluster restored?); see `lethe status` and "
            "docs/operations.md, resume with `lethe topics resume`",
            topic=tp.topic,
            partition=tp.partition,
            tracked=tracked,
            delivered=seen,
        )


def _log_taken(tp: TopicPartition, records: Sequence[Any], taken: Taken) -> None:
    log.info(
        "batch taken",
        topic=tp.topic,
        partition=tp.partition,
        first_offset=records[0].offset,
        last_offset=records[-1].offset,
        records=len(records),
        new=taken.new,
        duplicates=taken.duplicates,
        changes=taken.changes,
        dead_letters=taken.dead,
    )


def _on_commit(offsets: Any, response: Any) -> None:
    if isinstance(response, Exception):
        log.info("kafka offset commit failed (lag only)", error=type(response).__name__)


def _by_topic(
    partitions: Iterable[TopicPartition],
    resume_at: Mapping[TopicPartition, int] | None = None,
) -> dict[str, Any]:
    """How many partitions of each topic, and the range of offsets resumed at
    (a halted partition has none): one short line however many there are."""
    resume_at = resume_at or {}
    topics: dict[str, list[int]] = {}
    for tp in partitions:
        topics.setdefault(tp.topic, []).append(tp.partition)
    shown: dict[str, Any] = {}
    for topic, numbers in sorted(topics.items()):
        offsets = [resume_at[tp] for tp in resume_at if tp.topic == topic]
        shown[topic] = {"partitions": len(numbers), "numbers": _ranges(numbers)}
        if offsets:
            shown[topic]["resume_at"] = f"{min(offsets)}..{max(offsets)}"
    return {"partitions": sum(map(len, topics.values())), "topics": shown}


def _ranges(numbers: Iterable[int]) -> str:
    """0,1,2,3,7 as "0..3,7": twelve partitions take five characters."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ",".join(f"{a}..{b}" if a != b else f"{a}" for a, b in runs)


def assigned_partitions(line: Mapping[str, Any]) -> set[str]:
    """The "topic:partition"s a "partitions assigned" log line names (scale-out
    tests and benches read which process holds what from the log)."""
    held = set()
    for topic, shown in line.get("topics", {}).items():
        for part in filter(None, str(shown.get("numbers", "")).split(",")):
            first, _, last = part.partition("..")
            for n in range(int(first), int(last or first) + 1):
                held.add(f"{topic}:{n}")
    return held
