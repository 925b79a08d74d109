"""The last offset each partition really holds, for telling when offsets went back.

Apache Kafka's end offset is exact; Tansu's trails by up to one batch (it is
the base offset of the last batch + 1). So an end offset at or below what
Lethe took is only a suspicion: the records from end - 1 on are read to find
the true last offset. A topic recreated empty has none.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition

PROBE_TIMEOUT_S = 5.0


class BrokerOffsets:
    """Asks the broker, with a consumer of its own outside any group."""

    def __init__(self, consumer_config: Mapping[str, Any]) -> None:
        config = {**consumer_config, "group_id": None}
        self.consumer = KafkaConsumer(**config)

    def below(self, tracked: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Of `tracked` (partition -> last offset taken), those whose broker holds
        less: partition -> its true last offset (-1 when it holds none)."""
        if not tracked:
            return {}
        ends = self.consumer.end_offsets(list(tracked))
        suspects = {tp: ends[tp] for tp, last in tracked.items() if ends[tp] <= last}
        if not suspects:
            return {}
        found = self._last_offsets(suspects)
        return {tp: found[tp] for tp in suspects if found[tp] < tracked[tp]}

    def _last_offsets(
        self, ends: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, int]:
        last = {tp: end - 1 for tp, end in ends.items()}
        readable = [tp for tp, end in ends.items() if end > 0]
        if not readable:
            return last
        self.consumer.assign(readable)
        for tp in readable:
            self.consumer.seek(tp, ends[tp] - 1)
        waiting = set(readable)
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while waiting and time.monotonic() < deadline:
            for tp, records in self.consumer.poll(timeout_ms=200).items():
                last[tp] = max(last[tp], records[-1].offset)
                waiting.discard(tp)
        self.consumer.assign([])
        return last

    def close(self) -> None:
        self.consumer.close(autocommit=False)
