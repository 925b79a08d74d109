"""What the relay sends for each event it reads: an order, a recall, a tombstone.

- ErasureOrdered / ErasureReissued: an ErasureOrder on `lethe.erasures.v1`.
- ErasureReplayed: the same ErasureOrder again (same order id, attempt 1),
  with `replay` set (number, store, since): for the store restored, which works
  it once more instead of answering from its journal.
- ErasureRecalled: an ErasureRecall on the same topic, with the same key, so a
  store reads it after the order it takes back.
- Erased: the tombstone (key = item id, value null) on the item's source topic,
  in the partition its record was read from. Only after a store's DELETED (or
  NOT_FOUND): until then a recall may still keep the item, and its record with
  it. Never for an order a store answered RECALLED.

Every record carries the order id in the `lethe.order-id` header.

A plain order is written with version 1 of the ErasureOrder schema (its bytes
are what they always were), a replay with version 2, which adds `replay`: an
eraser that knows only version 1 keeps working every order, and skips a
replay by its fingerprint (unknown to it) rather than answering it from its
journal as if the restored file were gone. Plain orders are written by a
writer compiled from version 1's schema (relay_encoding.py: the same bytes,
~10x less CPU); any value it does not take goes to `Catalogue.encode_as`,
which refuses a misfit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from lethe.consumers.batch import ORDER_ID_HEADER
from lethe.consumers.codec import Catalogue
from lethe.domain.item import Item
from lethe.ops.kafka.relay_encoding import Misfit, RecordWriter, compile_writer

ATTEMPT_HEADER = "lethe.attempt"
REPLAY_HEADER = "lethe.replay"  # the replay's number, on a replayed order only
PLAIN_ORDER_SCHEMA = "previous/lethe.v1.ErasureOrder.1.avsc"


@dataclass(frozen=True)
class Outgoing:
    """One Kafka record to send."""

    topic: str
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]
    partition: int | None = None  # None: by key, as the producer partitions


class Source(NamedTuple):
    """Where an ordered item came from: its ref, and its source topic's partition."""

    item_ref: str
    partition: int


def records_for(
    event: Any,
    ordered: Any,
    source: Source,
    catalogue: Catalogue,
    orders_topic: str,
) -> list[Outgoing]:
    """The records for one event (`ordered`: the ErasureOrdered it is about)."""
    item_ref, partition = source
    key = item_ref.encode()
    headers = [(ORDER_ID_HEADER, ordered.order_id.encode())]
    if isinstance(event, Item.Erased):
        # Into the partition the item was read from: compaction works within a
        # partition, and the pipeline's partitioner may not be ours (librdkafka
        # hashes keys with CRC32, Java with murmur2) or partitions were added.
        return [Outgoing(ordered.source_topic, key, None, headers, partition)]
    if isinstance(event, Item.ErasureRecalled):
        value = catalogue.encode("ErasureRecall", _recall(item_ref, ordered, event))
        return [Outgoing(orders_topic, key, value, headers)]
    attempt = getattr(event, "attempt", 1)
    headers.append((ATTEMPT_HEADER, str(attempt).encode()))
    order = _order(item_ref, ordered, event, attempt)
    if isinstance(event, Item.ErasureReplayed):
        headers.append((REPLAY_HEADER, str(event.number).encode()))
        order["replay"] = {
            "number": event.number,
            "store": event.store,
            "since": event.since,
        }
        value = catalogue.encode("ErasureOrder", order)
    else:
        value = _encode_plain(catalogue, order)
    return [Outgoing(orders_topic, key, value, headers)]


def _encode_plain(catalogue: Catalogue, order: dict[str, Any]) -> bytes:
    """`order` as ErasureOrder version 1: by the compiled writer, or (for a
    value it does not take) by the catalogue, which refuses a misfit."""
    fingerprint, write = _plain_order(catalogue)
    if write is not None:
        try:
            return write(order)
        except Misfit:
            pass
    return catalogue.encode_as("ErasureOrder", order, fingerprint)


@cache
def _plain_order(catalogue: Catalogue) -> tuple[bytes, RecordWriter | None]:
    """The fingerprint of ErasureOrder version 1, known to `catalogue` from now,
    and its compiled writer (relay_encoding.py)."""
    text = (resources.files("lethe.schemas") / PLAIN_ORDER_SCHEMA).read_text("utf-8")
    schema = json.loads(text)
    catalogue.add_writer_schema(schema)  # the shipped catalogue has it already
    fingerprint = catalogue.writer_fingerprint(schema)
    return fingerprint, compile_writer(schema, fingerprint)


def _order(item_ref: str, ordered: Any, event: Any, attempt: int) -> dict[str, Any]:
    return {
        "order_id": ordered.order_id,
        "item_id": item_ref,
        "source_topic": ordered.source_topic,
        "category": ordered.category,
        "blob_uri": ordered.blob_uri,
        "sha256": ordered.sha256,
        "reason": ordered.cause,
        "rule": ordered.rule,
        "due_at": ordered.due_at,
        "ordered_at": event.at,
        "attempt": attempt,
    }


def _recall(item_ref: str, ordered: Any, event: Any) -> dict[str, Any]:
    return {
        "order_id": ordered.order_id,
        "item_id": item_ref,
        "source_topic": ordered.source_topic,
        "blob_uri": ordered.blob_uri,
        "held_by": list(event.held_by),
        "recalled_at": event.at,
    }
