"""ErasureOrder v1 -> v2: the optional `replay` field (issue 15, part 6).

Old erasers know version 1 only. The relay writes every plain order in version
1's bytes, so they keep working; a replay is written in version 2, which an
old eraser skips by its fingerprint instead of answering it from its journal.
Lethe reads both; a reader of version 1 given version 2 reads a replay as the
order it repeats (Avro resolution drops the field it does not know).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from lethe.consumers.codec import Catalogue, PoisonRecord
from lethe.domain.item import Item, Outcome
from lethe.ops.kafka.relay_records import REPLAY_HEADER, Source, records_for
from tests.unit.test_item_lifecycle import IMAGE_DUE, new_item, ordered

SCHEMA_DIR = Path(str(resources.files("lethe.schemas")))
VERSION_1 = SCHEMA_DIR / "previous" / "lethe.v1.ErasureOrder.1.avsc"
CURRENT = SCHEMA_DIR / "lethe.v1.ErasureOrder.avsc"
SINCE = datetime(2026, 3, 30, tzinfo=UTC)
TOPIC = "lethe.erasures.v1"


def old_eraser_catalogue(tmp_path: Path) -> Catalogue:
    """What an eraser built before replays has: version 1 as its only ErasureOrder."""
    for path in SCHEMA_DIR.glob("*.avsc"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "lethe.v1.ErasureOrder.avsc").write_text(VERSION_1.read_text())
    return Catalogue.from_dir(tmp_path)


def order_and_replay() -> tuple[Any, Any]:
    item = ordered(new_item())
    assert item.order is not None
    order_id = item.order["order_id"]
    item.confirm_erasure(order_id, "media", Outcome.DELETED, None, IMAGE_DUE)
    item.replay_erasure(order_id, "media", SINCE, IMAGE_DUE, [])
    events = item.collect_events()
    [ordered_event] = [e for e in events if isinstance(e, Item.ErasureOrdered)]
    [replayed] = [e for e in events if isinstance(e, Item.ErasureReplayed)]
    return ordered_event, replayed


def sent(event: Any, ordered_event: Any) -> Any:
    [record] = records_for(
        event, ordered_event, Source("img-1", 0), Catalogue.shipped(), TOPIC
    )
    return record


def test_a_plain_order_goes_out_in_version_1s_bytes(tmp_path: Path) -> None:
    ordered_event, _ = order_and_replay()
    record = sent(ordered_event, ordered_event)
    shipped = Catalogue.shipped()
    v1 = shipped.writer_fingerprint(json.loads(VERSION_1.read_text()))
    assert record.value[2:10] == v1 != shipped.fingerprint("ErasureOrder")
    old = old_eraser_catalogue(tmp_path).decode_as(record.value, "ErasureOrder")
    assert (old["order_id"], old["item_id"], "replay" in old) == (
        ordered_event.order_id,
        "img-1",
        False,
    )
    # Lethe's own catalogue reads it with no replay.
    assert shipped.decode_as(record.value, "ErasureOrder")["replay"] is None


def test_a_replay_goes_out_in_version_2_with_its_mark() -> None:
    ordered_event, replayed = order_and_replay()
    record = sent(replayed, ordered_event)
    value = Catalogue.shipped().decode_as(record.value, "ErasureOrder")
    assert value["order_id"] == ordered_event.order_id  # the same id
    assert value["replay"] == {"number": 1, "store": "media", "since": SINCE}
    assert (REPLAY_HEADER, b"1") in record.headers


def test_an_old_eraser_skips_a_replay_by_its_fingerprint(tmp_path: Path) -> None:
    ordered_event, replayed = order_and_replay()
    record = sent(replayed, ordered_event)
    with pytest.raises(PoisonRecord, match="unknown schema fingerprint"):
        old_eraser_catalogue(tmp_path).decode_as(record.value, "ErasureOrder")


def test_a_version_1_reader_told_of_version_2_reads_a_replay_as_its_order(
    tmp_path: Path,
) -> None:
    ordered_event, replayed = order_and_replay()
    record = sent(replayed, ordered_event)
    old = old_eraser_catalogue(tmp_path)
    old.add_writer_schema(json.loads(CURRENT.read_text()))
    value = old.decode_as(record.value, "ErasureOrder")
    assert value["order_id"] == ordered_event.order_id and "replay" not in value


def test_encoding_with_a_version_the_catalogue_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="no writer schema"):
        Catalogue.shipped().encode_as("ErasureOrder", {}, b"\x00" * 8)
