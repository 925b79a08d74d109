"""ErasureConfirmation v1 -> v2 (RECALLED, TOO_LATE, default UNKNOWN), and the new
ErasureRecall beside the orders.

Old stores' answers keep being read; an outcome newer than Lethe's schema
reads as UNKNOWN, which the consumer dead-letters rather than guessing; an
eraser that knows only ErasureOrder refuses a recall by its fingerprint (it
skips it) instead of taking it for an order.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from lethe.consumers.checks import Contract
from lethe.consumers.codec import Catalogue, PoisonRecord
from lethe.consumers.records import KIND_BY_TOPIC, read_unsigned
from lethe.policies import load_shipped, shipped_ids
from tests.unit.test_lifecycle_evolution import Delivered

SCHEMA_DIR = Path(str(resources.files("lethe.schemas")))
CURRENT = SCHEMA_DIR / "lethe.v1.ErasureConfirmation.avsc"
VERSION_1 = SCHEMA_DIR / "previous" / "lethe.v1.ErasureConfirmation.1.avsc"
AT = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
TOPIC = "lethe.erasure-confirmations.v1"

V1_DELETED_BYTES = bytes.fromhex(
    "c301"
    "9f0079f31d3f7aee"  # fingerprint of lethe.v1.ErasureConfirmation, version 1
    "066f2d31"  # order_id "o-1"
    "0a696d672d31"  # item_id "img-1"
    "0a6d65646961"  # store "media"
    "00"  # outcome: symbol 0, DELETED
    "80a8afdaec67"  # confirmed_at 2026-07-15T12:00Z
    "00"  # detail: null
)
V2_RECALLED_BYTES = bytes.fromhex(
    "c301"
    "a71cff47438e594c"  # fingerprint of lethe.v1.ErasureConfirmation, version 2
    "066f2d31" "0a696d672d31" "0a6d65646961"
    "06"  # outcome: symbol 3, RECALLED (zigzag 3 = 06)
    "80a8afdaec67" "00"
)  # fmt: skip


def confirmation(outcome: str) -> dict[str, Any]:
    return {
        "order_id": "o-1",
        "item_id": "img-1",
        "store": "media",
        "outcome": outcome,
        "confirmed_at": AT,
        "detail": None,
    }


def schema(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return loaded


def catalogue_with(tmp_path: Path, name: str, current: dict[str, Any]) -> Catalogue:
    for path in SCHEMA_DIR.glob("*.avsc"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / f"lethe.v1.{name}.avsc").write_text(json.dumps(current))
    return Catalogue.from_dir(tmp_path)


def contract(catalogue: Catalogue) -> Contract:
    return Contract(
        policies={p: load_shipped(p) for p in shipped_ids()},
        max_clock_skew=timedelta(seconds=300),
        catalogue=catalogue,
    )


def test_this_version_writes_the_fixed_bytes() -> None:
    encoded = Catalogue.shipped().encode(
        "ErasureConfirmation", confirmation("RECALLED")
    )
    assert encoded == V2_RECALLED_BYTES


def test_an_old_store_writes_the_bytes_it_always_did(tmp_path: Path) -> None:
    old = catalogue_with(tmp_path, "ErasureConfirmation", schema(VERSION_1))
    assert old.encode("ErasureConfirmation", confirmation("DELETED")) == (
        V1_DELETED_BYTES
    )


def test_lethe_reads_an_old_stores_answer() -> None:
    assert Catalogue.shipped().decode(V1_DELETED_BYTES) == (
        "ErasureConfirmation",
        confirmation("DELETED"),
    )


@pytest.mark.parametrize("outcome", ["RECALLED", "TOO_LATE"])
def test_the_recall_answers_pass_the_contract(outcome: str) -> None:
    catalogue = Catalogue.shipped()
    data = catalogue.encode("ErasureConfirmation", confirmation(outcome))
    # The schema's evolution, apart from who signed (tests/unit/test_signatures.py).
    taken = read_unsigned(
        KIND_BY_TOPIC[TOPIC], Delivered(TOPIC, b"img-1", data), contract(catalogue), AT
    )
    assert (taken.outcome, taken.order_id) == (outcome, "o-1")


def newer_schema() -> dict[str, Any]:
    """A test-only version 3 with one more outcome, as a later store might write."""
    newer = schema(CURRENT)
    symbols = newer["fields"][3]["type"]["symbols"]
    symbols.insert(len(symbols) - 1, "QUARANTINED")
    return newer


def test_an_outcome_newer_than_lethe_is_dead_lettered_with_what_to_do(
    tmp_path: Path,
) -> None:
    writer = catalogue_with(tmp_path, "ErasureConfirmation", newer_schema())
    reader = Catalogue.shipped()
    reader.add_writer_schema(newer_schema())
    data = writer.encode("ErasureConfirmation", confirmation("QUARANTINED"))
    assert reader.decode(data)[1]["outcome"] == "UNKNOWN"
    with pytest.raises(PoisonRecord) as caught:
        read_unsigned(
            KIND_BY_TOPIC[TOPIC], Delivered(TOPIC, b"img-1", data), contract(reader), AT
        )
    assert caught.value.reason.startswith("outcome UNKNOWN: an erasure outcome newer")


def test_an_eraser_that_knows_only_orders_refuses_a_recall_by_fingerprint(
    tmp_path: Path,
) -> None:
    shipped = Catalogue.shipped()
    recall = shipped.encode(
        "ErasureRecall",
        {
            "order_id": "o-1",
            "item_id": "img-1",
            "source_topic": "alarm.images.v1",
            "blob_uri": None,
            "held_by": ["hold:POL-1"],
            "recalled_at": AT,
        },
    )
    (tmp_path / "older").mkdir()
    for path in SCHEMA_DIR.glob("*.avsc"):
        if "ErasureRecall" not in path.name:
            (tmp_path / "older" / path.name).write_text(path.read_text())
    older = Catalogue.from_dir(tmp_path / "older")
    with pytest.raises(PoisonRecord, match="unknown schema fingerprint"):
        older.decode_as(recall, "ErasureOrder")
    assert shipped.decode(recall)[1]["held_by"] == ["hold:POL-1"]
