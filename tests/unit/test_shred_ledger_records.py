"""The shred ledger's records and topic: nothing that names a person, kept for ever."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.domain import identity
from lethe.ops.kafka.shred_ledger import (
    SHRED_LEDGER_TOPIC,
    LedgerError,
    record_for,
    subject_of,
)
from lethe.ops.kafka.topic_audit import LEDGER_TOPIC, audit, kept_for
from lethe.ops.kafka.topics import ALL_TOPICS, Ensured, TopicSettings
from lethe.ops.runtime.ledger import Reapplied
from lethe.ops.runtime.pseudonyms import hmac_ref

instants = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.just(UTC),
)
subject_ids = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s != "")


def ledger_key(pseudonym_key: bytes, controller: str, subject_id: str) -> UUID:
    # What the relay names an erased subject by: its aggregate's id.
    return identity.subject_id(hmac_ref(pseudonym_key, controller, subject_id))


@given(st.uuids(), instants)
def test_a_record_names_the_subject_it_was_made_for(
    subject: UUID, at: datetime
) -> None:
    record = record_for(subject, at)
    assert record.key == str(subject).encode()
    assert subject_of(record.key, record.value) == subject
    assert json.loads(record.value) == {
        "subject": str(subject),
        "erased_at": at.isoformat().replace("+00:00", "Z"),
    }


@given(subject_ids, instants)
def test_a_record_cannot_be_computed_from_a_subject_id_without_the_key(
    subject_id: str, at: datetime
) -> None:
    one, other = os.urandom(32), os.urandom(32)
    first = record_for(ledger_key(one, "sector-alarm", subject_id), at)
    # The same person under another pseudonym key: nothing in common.
    second = record_for(ledger_key(other, "sector-alarm", subject_id), at)
    assert first.key != second.key
    # Under one key, one subject: the same record key every time (compaction).
    assert record_for(ledger_key(one, "sector-alarm", subject_id), at) == first
    for record in (first, second):
        assert b"sector-alarm" not in record.key + record.value


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (b"not-a-uuid", b"{}"),
        (None, b'{"subject": "8a7f8c0e-0000-4000-8000-000000000000"}'),
        (b"8a7f8c0e-0000-4000-8000-000000000000", b"not json"),
        (
            b"8a7f8c0e-0000-4000-8000-000000000000",
            b'{"subject": "8a7f8c0e-0000-4000-8000-000000000001"}',
        ),
    ],
)
def test_a_record_that_is_not_a_shred_record_is_refused(
    key: bytes | None, value: bytes
) -> None:
    with pytest.raises(LedgerError, match="not a shred record"):
        subject_of(key, value)


def test_the_ledger_topic_is_one_of_lethes_and_made_to_keep_every_shred() -> None:
    assert LEDGER_TOPIC == SHRED_LEDGER_TOPIC and SHRED_LEDGER_TOPIC in ALL_TOPICS
    configs = TopicSettings().configs(SHRED_LEDGER_TOPIC)
    assert configs == {"cleanup.policy": "compact", "retention.ms": "-1"}
    assert audit(SHRED_LEDGER_TOPIC, configs, None).ok
    assert kept_for(SHRED_LEDGER_TOPIC, configs) == (
        "keeps erased subjects' aggregate ids and when, no subject id: "
        "for ever, one record a subject (compacted)"
    )


@pytest.mark.parametrize(
    ("configs", "problem"),
    [
        ({"cleanup.policy": "delete", "retention.ms": "-1"}, "no 'compact'"),
        (
            {"cleanup.policy": "compact,delete", "retention.ms": "604800000"},
            "records are deleted after 14 days",  # + segment.ms's default 7 days
        ),
        ({}, None),  # nothing described: unverified, not ok
    ],
)
def test_a_ledger_topic_that_would_forget_a_shred_is_reported(
    configs: dict[str, str], problem: str | None
) -> None:
    found: Any = audit(SHRED_LEDGER_TOPIC, configs, None)
    assert not found.ok
    if problem is None:
        assert not found.verified
        return
    assert any(problem in p for p in found.problems), found.problems
    assert found.problems[-1] == "the ledger must keep every shred for ever"
    ensured = Ensured("x." + SHRED_LEDGER_TOPIC, created=False, verdict=found)
    line = ensured.line(TopicSettings(), SHRED_LEDGER_TOPIC)
    assert line.startswith(f"TOO SHORT   x.{SHRED_LEDGER_TOPIC}: ")


def test_what_a_start_says_it_did_with_the_ledger() -> None:
    assert Reapplied(1200, 1).line() == (
        "shred ledger read: 1200 subjects shredded; "
        "1 key found in the store destroyed again"
    )
    assert Reapplied(0, 0).line().endswith("0 keys found in the store destroyed again")
    skipped = Reapplied(None, 0, skipped="LETHE_KAFKA_BOOTSTRAP is not set")
    assert skipped.line() == (
        "shred ledger NOT read (LETHE_KAFKA_BOOTSTRAP is not set): a key restored "
        "from a copy of this store is not destroyed again"
    )
