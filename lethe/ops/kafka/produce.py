"""Publishing contract records: a producer API for pipelines and tests, and JSON lines.

Every record is checked against its schema, framed in Avro single-object
encoding and keyed as the contract says, so no pipeline hand-rolls the framing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer

from lethe.consumers.codec import Catalogue
from lethe.consumers.records import KIND_BY_TOPIC
from lethe.consumers.signatures import ROLE_FOR_TOPIC
from lethe.ops.kafka.produce_json import JsonLineError, from_json, schema_of
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.signing import Keyring, RecordSigners
from lethe.ops.kafka.topics import TopicSettings

__all__ = ["JsonLineError", "LetheProducer", "Metadata", "encode_lines", "line_encoder"]


@dataclass(frozen=True)
class Metadata:
    """RetentionMetadata: the facts the retention rules are applied to."""

    controller: str
    category: str
    subject_id: str
    captured_at: datetime
    site_id: str | None = None
    police_relevant: bool = False
    legal_basis: str | None = None


def record_key(contract_topic: str, value: Mapping[str, Any]) -> str:
    """The contract's key: the item id, or the subject id the record is about."""
    if contract_topic == "customer.lifecycle.v1":
        return str(value.get("subject_id") or "")
    if contract_topic == "lethe.commands.v1":
        return str(value.get("subject_id") or value.get("item_id") or "")
    return str(value.get("item_id") or "")


def encode(
    catalogue: Catalogue, contract_topic: str, value: Mapping[str, Any]
) -> tuple[bytes, bytes]:
    """(key, value) bytes of a record for `contract_topic`, or ValueError."""
    kind = KIND_BY_TOPIC.get(contract_topic)
    if kind is None:
        raise ValueError(
            f"{contract_topic!r} is not an inbound topic "
            f"(use one of {', '.join(KIND_BY_TOPIC)})"
        )
    data = catalogue.encode(kind.record, value)
    return record_key(contract_topic, value).encode("utf-8"), data


class LetheProducer:
    """Sends contract-valid records to Lethe's inbound topics."""

    def __init__(
        self,
        kafka: KafkaClientSettings,
        topics: TopicSettings | None = None,
        *,
        producer: Any = None,
        catalogue: Catalogue | None = None,
        keyring: RecordSigners | None = None,
    ) -> None:
        self.topics = topics or TopicSettings()
        # Commands and confirmations are signed with these keys; without one
        # they go unsigned, and Lethe dead-letters them.
        self.keyring: RecordSigners = keyring or Keyring()
        self.catalogue = catalogue or Catalogue.shipped()
        self.producer = producer or KafkaProducer(**kafka.producer_config())

    def encode(
        self, contract_topic: str, value: Mapping[str, Any]
    ) -> tuple[bytes, bytes]:
        """(key, value) bytes; ValueError naming the field that does not fit."""
        return encode(self.catalogue, contract_topic, value)

    def send(self, contract_topic: str, value: Mapping[str, Any]) -> Any:
        key, data = self.encode(contract_topic, value)
        return self.send_encoded(contract_topic, key, data)

    def send_encoded(self, contract_topic: str, key: bytes, data: bytes) -> Any:
        headers = self._signature(contract_topic, key, data)
        return self.producer.send(
            self.topics.name(contract_topic), value=data, key=key, headers=headers
        )

    def _signature(
        self, contract_topic: str, key: bytes, data: bytes
    ) -> list[tuple[str, bytes]] | None:
        if contract_topic not in ROLE_FOR_TOPIC:
            return None
        value = self.catalogue.decode_as(data, KIND_BY_TOPIC[contract_topic].record)
        signer = self.keyring.for_record(contract_topic, value)
        if signer is None:
            return None
        return signer.headers(contract_topic, key, data, datetime.now(UTC))

    def send_event(
        self, item_id: str, event_code: str, metadata: Metadata, zone: str | None = None
    ) -> Any:
        value = {"item_id": item_id, "event_code": event_code, "zone": zone}
        return self.send("alarm.events.v1", {**value, "metadata": asdict(metadata)})

    def send_image(
        self,
        item_id: str,
        metadata: Metadata,
        *,
        blob_uri: str,
        sha256: str,
        content_type: str,
        size_bytes: int,
        alarm_item_id: str | None = None,
    ) -> Any:
        value = {
            "item_id": item_id,
            "alarm_item_id": alarm_item_id,
            "blob_uri": blob_uri,
            "sha256": sha256,
            "content_type": content_type,
            "size_bytes": size_bytes,
        }
        return self.send("alarm.images.v1", {**value, "metadata": asdict(metadata)})

    def send_recording(
        self,
        item_id: str,
        metadata: Metadata,
        *,
        line: str,
        blob_uri: str,
        sha256: str,
        duration_ms: int,
    ) -> Any:
        value = {
            "item_id": item_id,
            "line": line,
            "blob_uri": blob_uri,
            "sha256": sha256,
            "duration_ms": duration_ms,
        }
        return self.send("alarm.recordings.v1", {**value, "metadata": asdict(metadata)})

    def send_lifecycle(
        self, subject_id: str, controller: str, kind: str, occurred_at: datetime
    ) -> Any:
        value = {
            "subject_id": subject_id,
            "controller": controller,
            "kind": kind,
            "occurred_at": occurred_at,
        }
        return self.send("customer.lifecycle.v1", value)

    def send_command(
        self,
        command_id: str,
        kind: str,
        controller: str,
        *,
        reason: str,
        requested_by: str,
        requested_at: datetime,
        subject_id: str | None = None,
        item_id: str | None = None,
        case_ref: str | None = None,
    ) -> Any:
        value = {
            "command_id": command_id,
            "kind": kind,
            "controller": controller,
            "subject_id": subject_id,
            "item_id": item_id,
            "reason": reason,
            "case_ref": case_ref,
            "requested_by": requested_by,
            "requested_at": requested_at,
        }
        return self.send("lethe.commands.v1", value)

    def send_confirmation(
        self,
        order_id: str,
        item_id: str,
        store: str,
        outcome: str,
        confirmed_at: datetime,
        detail: str | None = None,
    ) -> Any:
        value = {
            "order_id": order_id,
            "item_id": item_id,
            "store": store,
            "outcome": outcome,
            "confirmed_at": confirmed_at,
            "detail": detail,
        }
        return self.send("lethe.erasure-confirmations.v1", value)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until Kafka has acknowledged every record sent so far."""
        self.producer.flush(timeout=timeout)

    def close(self) -> None:
        self.producer.close()

    def __enter__(self) -> LetheProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
        self.close()


def line_encoder(
    catalogue: Catalogue, contract_topic: str
) -> Callable[[str, int], tuple[bytes, bytes]]:
    """A function from (JSON line, its number) to (key, value) bytes.

    It raises JsonLineError naming the line and the field that does not fit;
    ValueError at once if `contract_topic` is not an inbound topic.
    """
    kind = KIND_BY_TOPIC.get(contract_topic)
    if kind is None:
        encode(catalogue, contract_topic, {})  # raises, naming the inbound topics
    assert kind is not None
    schema = schema_of(kind.record)

    def encode_line(line: str, number: int) -> tuple[bytes, bytes]:
        value = from_json(schema, line, number)
        try:
            return encode(catalogue, contract_topic, value)
        except ValueError as error:
            # The codec says "lethe.v1.X: lethe.v1.Y.field is ...": the field is enough.
            _, _, problem = str(error).partition(": ")
            named = problem.startswith("lethe.v1.")
            raise JsonLineError(number, problem if named else str(error)) from None

    return encode_line


def encode_lines(
    catalogue: Catalogue, contract_topic: str, lines: Iterable[str]
) -> list[tuple[bytes, bytes]]:
    """Every JSON line as (key, value) bytes, or JsonLineError for the first misfit."""
    encode_line = line_encoder(catalogue, contract_topic)
    return [
        encode_line(line, number)
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]
