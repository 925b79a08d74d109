"""The consume loop: poll, take each partition's batch exactly once, repeat.

The event store's tracking table is the truth about what was taken: on every
assignment each partition is sought to its recorded offset + 1. Offsets are
also committed to Kafka after the database commit, for lag monitoring only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


class ResumeFromTracking(ConsumerRebalanceListener):
    """On assignment, seek each partition past the last offset the store holds."""

    def __init__(self, consumer: Consumer, recorder: ProcessRecorder) -> None:
        self.consumer = consumer
        self.recorder = recorder

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        log.info("partitions revoked", partitions=_names(revoked))

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        resume_at: dict[str, int] = {}
        for tp in sorted(assigned):
            last = self.recorder.max_tracking_id(tracking_name(tp.topic, tp.partition))
            if last is None:
                self.consumer.seek_to_beginning(tp)  # nothing taken yet
                resume_at[_name(tp)] = 0
            else:
                self.consumer.seek(tp, last + 1)
                resume_at[_name(tp)] = last + 1
        log.info(
            "partitions assigned", partitions=sorted(resume_at), resume_at=resume_at
        )

    def on_partitions_lost(self, lost: Iterable[TopicPartition]) -> None:
        log.warning("partitions lost", partitions=_names(lost))


class ConsumeLoop:
    """Polls the inbound topics and hands each partition's records to the taker."""

    def __init__(
        self,
        consumer: Consumer,
        recorder: ProcessRecorder,
        taker: BatchTaker,
        kinds: Mapping[str, Kind],
        max_records: int = 500,
    ) -> None:
        self.consumer = consumer
        self.recorder = recorder
        self.taker = taker
        self.kinds = dict(kinds)  # topic name as deployed -> the kind it carries
        self.max_records = max_records

    def subscribe(self) -> None:
        listener = ResumeFromTracking(self.consumer, self.recorder)
        self.consumer.subscribe(topics=sorted(self.kinds), listener=listener)

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
            if not records:
                continue
            taken = self.taker.take(self.kinds[tp.topic], records)
            _log_taken(tp, records, taken)
            offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
            count += len(records)
        if offsets:
            # After the database commit, and only so lag shows in Kafka's tools:
            # a lost commit costs nothing, the tracking table decides.
            self.consumer.commit_async(offsets=offsets, callback=_on_commit)
        return count


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


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}:{tp.partition}"


def _names(partitions: Iterable[TopicPartition]) -> list[str]:
    return sorted(_name(tp) for tp in partitions)
