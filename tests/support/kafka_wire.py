"""Raw Kafka requests that the client API hides, for facts about the broker."""

from __future__ import annotations

import time

from kafka.net.compat import KafkaNetClient
from kafka.protocol.producer import InitProducerIdRequest, ProduceRequest
from kafka.record.memory_records import MemoryRecordsBuilder


class RawClient:
    """One connection to a single-node broker, sending hand-built requests."""

    def __init__(self, bootstrap: str) -> None:
        self._client = KafkaNetClient(bootstrap_servers=bootstrap)
        self._client.check_version()
        self._node = self._client.least_loaded_node()

    def init_producer_id(self) -> tuple[int, int]:
        """A fresh (producer_id, epoch), as an idempotent producer gets one."""
        request = InitProducerIdRequest(
            transactional_id=None, transaction_timeout_ms=60_000, max_version=4
        )
        response = self._client.send_and_receive(self._node, request)
        assert response.error_code == 0, response
        return response.producer_id, response.producer_epoch

    def produce_sequenced(
        self, topic: str, producer: tuple[int, int], sequence: int, value: bytes
    ) -> int:
        """Send a one-record batch to partition 0 with a sequence; the error code."""
        builder = MemoryRecordsBuilder(
            magic=2,
            compression_type=0,
            batch_size=16_384,
            producer_id=producer[0],
            producer_epoch=producer[1],
            base_sequence=sequence,
        )
        builder.append(int(time.time() * 1000), None, value)
        builder.close()
        data = ProduceRequest.TopicProduceData
        partition = data.PartitionProduceData(index=0, records=builder.buffer())
        request = ProduceRequest(
            transactional_id=None,
            acks=-1,
            timeout_ms=5_000,
            topic_data=[data(name=topic, partition_data=[partition])],
            min_version=3,
            max_version=9,
        )
        response = self._client.send_and_receive(self._node, request)
        return int(response.responses[0].partition_responses[0].error_code)

    def close(self) -> None:
        self._client.close()
