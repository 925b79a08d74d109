"""CustomerLifecycle v1 -> v2 (CONTRACT_ENDED, ONBOARDED, default UNKNOWN).

Old writers keep being read, an old reader reads what it knows of new bytes
and refuses the rest, and a kind newer than ours reads as UNKNOWN, which the
consumer dead-letters rather than guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from lethe.consumers.checks import Contract
from lethe.consumers.codec import Catalogue, PoisonRecord
from lethe.consumers.records import KIND_BY_TOPIC, read
from lethe.policies import load_shipped, shipped_ids

SCHEMA_DIR = Path(str(resources.files("lethe.schemas")))
CURRENT = SCHEMA_DIR / "lethe.v1.CustomerLifecycle.avsc"
VERSION_1 = SCHEMA_DIR / "previous" / "lethe.v1.CustomerLifecycle.1.avsc"
ENDED = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
CONTRACT_END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# Written by a version-1 producer: fingerprint of the v1 schema's canonical form.
V1_RELATIONSHIP_ENDED_BYTES = bytes.fromhex(
    "c301"  # single-object marker
    "eaea1b9709c83189"  # fingerprint of lethe.v1.CustomerLifecycle, version 1
    "0e637573742d3432"  # subject_id "cust-42"
    "18736563746f722d616c61726d"  # controller "sector-alarm"
    "00"  # kind: symbol 0, RELATIONSHIP_ENDED
    "80a8afdaec67"  # occurred_at 2026-07-15T12:00Z in ms, zigzag varint
)
# Written by this version.
V2_CONTRACT_ENDED_BYTES = bytes.fromhex(
    "c301"
    "01f914387babe1a3"  # fingerprint of lethe.v1.CustomerLifecycle, version 2
    "0e637573742d3432"
    "18736563746f722d616c61726d"
    "06"  # kind: symbol 3, CONTRACT_ENDED (zigzag 3 = 06)
    "80e8f0b0d067"  # occurred_at 2026-06-01T12:00Z
)


def lifecycle(kind: str, at: datetime) -> dict[str, Any]:
    return {
        "subject_id": "cust-42",
        "controller": "sector-alarm",
        "kind": kind,
        "occurred_at": at,
    }


def schema(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return loaded


def catalogue_with(tmp_path: Path, lifecycle_schema: dict[str, Any]) -> Catalogue:
    """A catalogue whose current CustomerLifecycle is `lifecycle_schema`."""
    for path in SCHEMA_DIR.glob("*.avsc"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / CURRENT.name).write_text(json.dumps(lifecycle_schema))
    return Catalogue.from_dir(tmp_path)


@pytest.fixture
def old_reader(tmp_path: Path) -> Catalogue:
    return catalogue_with(tmp_path, schema(VERSION_1))


def test_this_version_writes_the_fixed_bytes() -> None:
    encoded = Catalogue.shipped().encode(
        "CustomerLifecycle", lifecycle("CONTRACT_ENDED", CONTRACT_END)
    )
    assert encoded == V2_CONTRACT_ENDED_BYTES


def test_a_new_reader_reads_the_bytes_of_an_old_writer() -> None:
    # No setting needed: the shipped catalogue knows the v1 writer schema.
    assert Catalogue.shipped().decode(V1_RELATIONSHIP_ENDED_BYTES) == (
        "CustomerLifecycle",
        lifecycle("RELATIONSHIP_ENDED", ENDED),
    )


def test_an_old_reader_writes_the_bytes_an_old_writer_did(
    old_reader: Catalogue,
) -> None:
    encoded = old_reader.encode(
        "CustomerLifecycle", lifecycle("RELATIONSHIP_ENDED", ENDED)
    )
    assert encoded == V1_RELATIONSHIP_ENDED_BYTES


def test_an_old_reader_given_the_new_writer_reads_the_kinds_it_knows(
    old_reader: Catalogue,
) -> None:
    old_reader.add_writer_schema(CURRENT)
    new_bytes = Catalogue.shipped().encode(
        "CustomerLifecycle", lifecycle("RELATIONSHIP_ENDED", ENDED)
    )
    assert new_bytes[2:10] != V1_RELATIONSHIP_ENDED_BYTES[2:10]
    assert old_reader.decode(new_bytes) == (
        "CustomerLifecycle",
        lifecycle("RELATIONSHIP_ENDED", ENDED),
    )


def test_an_old_reader_refuses_a_kind_it_does_not_know_rather_than_guess(
    old_reader: Catalogue,
) -> None:
    old_reader.add_writer_schema(CURRENT)
    with pytest.raises(PoisonRecord, match="CustomerLifecycle"):
        old_reader.decode(V2_CONTRACT_ENDED_BYTES)


def test_an_old_reader_without_the_new_writer_refuses_by_fingerprint(
    old_reader: Catalogue,
) -> None:
    with pytest.raises(PoisonRecord, match="unknown schema fingerprint"):
        old_reader.decode(V2_CONTRACT_ENDED_BYTES)


def newer_schema() -> dict[str, Any]:
    """A test-only version 3 with one more kind, as a later Lethe might ship."""
    newer = schema(CURRENT)
    symbols = newer["fields"][2]["type"]["symbols"]
    symbols.insert(len(symbols) - 1, "CONTRACT_RENEWED")
    return newer


def test_a_kind_newer_than_this_reader_reads_as_unknown(tmp_path: Path) -> None:
    writer = catalogue_with(tmp_path, newer_schema())
    reader = Catalogue.shipped()
    reader.add_writer_schema(newer_schema())
    data = writer.encode("CustomerLifecycle", lifecycle("CONTRACT_RENEWED", ENDED))
    assert reader.decode(data) == (
        "CustomerLifecycle",
        lifecycle("UNKNOWN", ENDED),
    )


@dataclass(frozen=True)
class Delivered:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int = 0
    offset: int = 7


def test_the_consumer_dead_letters_an_unknown_kind_with_what_to_do(
    tmp_path: Path,
) -> None:
    writer = catalogue_with(tmp_path, newer_schema())
    reader = Catalogue.shipped()
    reader.add_writer_schema(newer_schema())
    contract = Contract(
        policies={p: load_shipped(p) for p in shipped_ids()},
        max_clock_skew=timedelta(seconds=300),
        catalogue=reader,
    )
    data = writer.encode("CustomerLifecycle", lifecycle("CONTRACT_RENEWED", ENDED))
    record = Delivered("customer.lifecycle.v1", b"cust-42", data)
    kind = KIND_BY_TOPIC["customer.lifecycle.v1"]
    with pytest.raises(PoisonRecord) as caught:
        read(kind, record, contract, ENDED + timedelta(days=1))
    assert caught.value.reason == (
        "kind UNKNOWN: a lifecycle kind newer than this Lethe's schema; "
        "upgrade Lethe, then replay this record from the dead-letter topic"
    )
    assert "cust-42" not in caught.value.reason


@pytest.mark.parametrize("kind", ["CONTRACT_ENDED", "ONBOARDED"])
def test_the_new_kinds_pass_the_contract(kind: str) -> None:
    contract = Contract(
        policies={p: load_shipped(p) for p in shipped_ids()},
        max_clock_skew=timedelta(seconds=300),
        catalogue=Catalogue.shipped(),
    )
    data = Catalogue.shipped().encode(
        "CustomerLifecycle", lifecycle(kind, CONTRACT_END)
    )
    record = Delivered("customer.lifecycle.v1", b"cust-42", data)
    taken = read(KIND_BY_TOPIC["customer.lifecycle.v1"], record, contract, ENDED)
    assert (taken.kind, taken.occurred_at) == (kind, CONTRACT_END)
