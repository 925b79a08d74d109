"""One partition's batch, taken once: dead letters first, then events and the offset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import DataError, Tracking

from lethe.consumers.batch import BatchTaker, slices, tracking_name
from lethe.consumers.checks import Contract
from lethe.consumers.codec import Catalogue
from lethe.consumers.deadletter import REASON, DeadLetters
from lethe.consumers.records import KIND_BY_TOPIC
from lethe.consumers.shown import digest
from lethe.domain.application import Lethe
from lethe.domain.item import ErasureCause
from lethe.policies import load_shipped, shipped_ids
from lethe.projections import aside
from lethe.projections.store import SqlViews
from tests.support.fakes import FakeSubjectVault
from tests.support.signing import TEST_SIGNATORIES, signed_headers

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
CATALOGUE = Catalogue.shipped()
POLICIES = {policy_id: load_shipped(policy_id) for policy_id in shipped_ids()}
IMAGES, COMMANDS = "alarm.images.v1", "lethe.commands.v1"


@dataclass(frozen=True)
class Delivered:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class Sent:
    def get(self, timeout: float | None = None) -> None:
        return None


class FakeProducer:
    """Records what was sent, and what the store held when it was flushed."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, list[tuple[str, bytes]]]] = []
        self.flushed_before_tracking: list[int | None] = []
        self.app: Lethe | None = None

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Sent:
        self.sent.append((topic, key, headers or []))
        return Sent()

    def flush(self, timeout: float | None = None) -> None:
        assert self.app is not None
        name = tracking_name(IMAGES, 0)
        self.flushed_before_tracking.append(
            self.app.process_recorder.max_tracking_id(name)
        )

    def reasons(self) -> list[str]:
        return [dict(headers)[REASON].decode() for _, _, headers in self.sent]


@pytest.fixture
def app(tmp_path: Path) -> Lethe:
    env = {
        "PERSISTENCE_MODULE": "lethe.projections.store:LetheSQLiteFactory",
        "SQLITE_DBNAME": str(tmp_path / "events.sqlite"),
    }
    return Lethe(env=env, policies=POLICIES, vault=FakeSubjectVault())


@pytest.fixture
def producer(app: Lethe) -> FakeProducer:
    fake = FakeProducer()
    fake.app = app
    return fake


@pytest.fixture
def taker(app: Lethe, producer: FakeProducer) -> BatchTaker:
    contract = Contract(
        POLICIES, timedelta(minutes=5), CATALOGUE, signatories=TEST_SIGNATORIES
    )
    return BatchTaker(app, DeadLetters(producer), contract, lambda: NOW)


def image(
    offset: int, item_id: str, size: int = 1, category: str = "verification-image"
) -> Delivered:
    meta = {
        "controller": "sector-alarm",
        "category": category,
        "subject_id": "c-1",
        "site_id": None,
        "captured_at": NOW - timedelta(minutes=1),
        "police_relevant": False,
        "legal_basis": None,
    }
    value = {
        "item_id": item_id,
        "alarm_item_id": None,
        "blob_uri": f"s3://m/{item_id}",
        "sha256": "ab" * 32,
        "content_type": "image/jpeg",
        "size_bytes": size,
        "metadata": meta,
    }
    data = CATALOGUE.encode("VerificationImage", value)
    return Delivered(IMAGES, 0, offset, item_id.encode(), data)


def command(
    offset: int, kind: str, item_id: str, case_ref: str, at: datetime = NOW
) -> Delivered:
    value = {
        "command_id": f"cmd-{offset}",
        "kind": kind,
        "controller": "sector-alarm",
        "subject_id": None,
        "item_id": item_id,
        "reason": "police case",
        "case_ref": case_ref,
        "requested_by": "support-1",
        "requested_at": at,
    }
    data = CATALOGUE.encode("LetheCommand", value)
    key = item_id.encode()
    headers = tuple(signed_headers(COMMANDS, key, data, value, NOW))
    return Delivered(COMMANDS, 0, offset, key, data, headers)


def take(taker: BatchTaker, *records: Delivered) -> Any:
    return taker.take(KIND_BY_TOPIC[records[0].topic], list(records))


def tracked(app: Lethe, topic: str) -> int | None:
    return app.process_recorder.max_tracking_id(tracking_name(topic, 0))


def test_good_records_are_saved_with_the_batch_s_last_offset(taker, app) -> None:  # type: ignore[no-untyped-def]
    taken = take(taker, image(0, "img-1"), image(1, "img-2"))
    assert (taken.new, taken.dead) == (2, 0)
    assert tracked(app, IMAGES) == 1


def test_a_long_batch_is_saved_in_slices_each_with_its_own_offset(
    app, producer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    contract = Contract(
        POLICIES, timedelta(minutes=5), CATALOGUE, signatories=TEST_SIGNATORIES
    )
    taker = BatchTaker(
        app, DeadLetters(producer), contract, lambda: NOW, max_per_save=2
    )
    saves: list[int | None] = []
    record = app.record

    def counting(*objs: Any, tracking: Tracking | None = None, **kwargs: Any) -> None:
        saves.append(tracking.notification_id if tracking else None)
        record(*objs, tracking=tracking, **kwargs)

    monkeypatch.setattr(app, "record", counting)
    taken = take(taker, *(image(i, f"img-{i}") for i in range(5)))
    assert taken.new == 5 and saves == [1, 3, 4]


def test_dead_letters_are_flushed_before_the_offset_is_recorded(
    taker, app, producer
) -> None:  # type: ignore[no-untyped-def]
    take(taker, image(0, "img-1", category="arming-log"), image(1, "img-2"))
    assert producer.flushed_before_tracking == [None]
    assert tracked(app, IMAGES) == 1


def test_a_batch_of_only_poison_still_records_its_offset(taker, app, producer) -> None:  # type: ignore[no-untyped-def]
    poison = Delivered(IMAGES, 0, 0, b"x", b"not avro")
    assert take(taker, poison).dead == 1
    assert tracked(app, IMAGES) == 0


def test_a_tombstone_lethe_sent_itself_is_passed_over(taker, app, producer) -> None:  # type: ignore[no-untyped-def]
    take(taker, image(0, "img-1"))
    item = app.get_item("img-1")
    item.order_erasure(ErasureCause.RETENTION_EXPIRED, NOW + timedelta(days=30))
    app.save(item)
    assert take(taker, Delivered(IMAGES, 0, 1, b"img-1", None)).dead == 0
    assert tracked(app, IMAGES) == 1 and producer.sent == []


@dataclass(frozen=True)
class WithHeaders(Delivered):
    headers: list[tuple[str, bytes]] | None = None


def test_a_tombstone_with_the_relays_header_is_passed_over(taker, producer) -> None:  # type: ignore[no-untyped-def]
    # Apache Kafka keeps a tombstone's headers (Tansu does not): no lookup needed.
    tombstone = WithHeaders(IMAGES, 0, 0, b"img-9", None, [("lethe.order-id", b"o")])
    assert take(taker, tombstone).dead == 0
    assert producer.sent == []


def test_anyone_elses_tombstone_is_a_dead_letter_and_the_next_record_is_taken(
    taker, app, producer
) -> None:  # type: ignore[no-untyped-def]
    take(taker, image(0, "img-1"))
    taken = take(taker, Delivered(IMAGES, 0, 1, b"img-1", None), image(2, "img-2"))
    assert (taken.dead, taken.new) == (1, 1)
    assert producer.reasons() == [
        "a tombstone (null value) on an inbound topic: only Lethe erases items; "
        "ask for an erasure with a lethe.commands.v1 command"
    ]
    assert app.get_item("img-1").order is None and tracked(app, IMAGES) == 2


def test_a_different_copy_is_refused_before_the_offset_is_recorded(
    taker, app, producer
) -> None:  # type: ignore[no-untyped-def]
    take(taker, image(0, "img-1"))
    taken = take(taker, image(1, "img-1", size=2), image(2, "img-1"), image(3, "img-3"))
    assert (taken.new, taken.duplicates, taken.dead) == (1, 1, 1)
    assert producer.reasons() == [
        "item id img-1 was already ingested with different content; "
        "the first record stands"
    ]
    assert producer.flushed_before_tracking[-1] == 0


def test_a_batch_already_taken_by_another_member_is_skipped(taker, app) -> None:  # type: ignore[no-untyped-def]
    app.record(tracking=Tracking(tracking_name(IMAGES, 0), 5))
    assert take(taker, image(4, "img-4"), image(5, "img-5")).new == 0
    assert app.find_item("img-5") is None


def test_two_changes_to_one_item_in_one_batch_both_hold(taker, app) -> None:  # type: ignore[no-untyped-def]
    take(taker, image(0, "img-1"))
    taken = take(
        taker,
        command(0, "PLACE_HOLD", "img-1", "POL-1"),
        command(1, "PLACE_HOLD", "img-1", "POL-2"),
        command(2, "RELEASE_HOLD", "img-1", "POL-1"),
    )
    assert (taken.changes, taken.dead) == (3, 0)
    assert set(app.get_item("img-1").holds) == {"POL-2"}
    assert tracked(app, COMMANDS) == 2


def test_a_command_the_domain_refuses_is_a_dead_letter_and_the_batch_goes_on(
    taker, app, producer
) -> None:  # type: ignore[no-untyped-def]
    take(taker, image(0, "img-1"))
    taken = take(
        taker,
        command(0, "RELEASE_HOLD", "img-1", "POL-404"),
        command(1, "PLACE_HOLD", "img-9", "POL-1"),
        command(2, "PLACE_HOLD", "img-1", "POL-1"),
    )
    assert (taken.changes, taken.dead) == (1, 2)
    assert producer.reasons() == [
        "item img-1 has no hold with case reference 'POL-404'",
        # Not tracked, so perhaps a customer id put where an item id goes.
        f"no item '{digest('img-9')}' is known to Lethe",
    ]
    assert set(app.get_item("img-1").holds) == {"POL-1"}
    assert tracked(app, COMMANDS) == 2


def test_a_batch_is_sliced_by_bytes_as_well_as_by_count() -> None:
    records = [
        Delivered(IMAGES, 0, n, b"k", b"x" * size)
        for n, size in enumerate([10, 10, 10, 50, 10, 10, 10])
    ]
    by_count = [[r.offset for r in s] for s in slices(records, 3, 10_000)]
    assert by_count == [[0, 1, 2], [3, 4, 5], [6]]
    by_bytes = [[r.offset for r in s] for s in slices(records, 100, 40)]
    assert by_bytes == [[0, 1, 2], [3], [4, 5, 6]]  # the large one alone
    assert slices([], 3, 40) == []


def test_a_release_dated_before_its_hold_is_a_dead_letter_and_the_next_is_taken(
    taker, app, producer
) -> None:  # type: ignore[no-untyped-def]
    take(taker, image(0, "img-1"))
    early = NOW - timedelta(hours=1)
    taken = take(
        taker,
        command(0, "PLACE_HOLD", "img-1", "POL-1"),
        command(1, "RELEASE_HOLD", "img-1", "POL-1", at=early),
        command(2, "RELEASE_HOLD", "img-1", "POL-1"),
    )
    assert taken.dead == 1
    [reason] = producer.reasons()
    assert reason.startswith("hold POL-1 was placed at 2026-03-25 12:00:00+00:00;")
    assert app.get_item("img-1").holds == {}


# -- records the store refuses on save ------------------------------------------------

MARK = "refused-by-store"


def refuse_marked_events(app: Lethe) -> None:
    """A store-side rule no contract check foresees: SQLite refuses every event
    that names MARK with its own DataError (a value too big to hold)."""
    table = app.process_recorder.events_table_name  # type: ignore[attr-defined]
    SqlViews(app.process_recorder).run_ddl(
        [
            f"CREATE TRIGGER refuse_marked BEFORE INSERT ON {table}"
            f" WHEN instr(CAST(NEW.state AS TEXT), '{MARK}') > 0"
            " BEGIN SELECT zeroblob(2000000000); END"
        ]
    )


@pytest.fixture
def setting_aside(app: Lethe, producer: FakeProducer) -> BatchTaker:
    SqlViews(app.process_recorder).run_ddl(aside.DDL)
    contract = Contract(
        POLICIES, timedelta(minutes=5), CATALOGUE, signatories=TEST_SIGNATORIES
    )
    row = partial(aside.set_aside_statement, "consumer")
    return BatchTaker(
        app, DeadLetters(producer), contract, lambda: NOW, set_aside_row=row
    )


def test_an_image_the_store_refuses_is_set_aside_and_the_others_are_taken(
    setting_aside, app, producer
) -> None:  # type: ignore[no-untyped-def]
    refuse_marked_events(app)
    refs = ["img-0", "img-1", f"img-{MARK}", "img-3", "img-4"]
    records = [image(n, ref) for n, ref in enumerate(refs)]

    taken = take(setting_aside, *records)

    assert (taken.new, taken.dead) == (4, 1)
    assert [app.find_item(ref) is not None for ref in refs] == [1, 1, 0, 1, 1]
    assert tracked(app, IMAGES) == 4
    [reason] = producer.reasons()
    assert reason == (
        "the event store refused this record (DataError): string or blob too big"
    )
    # The letter went out before the offset that passes over the record.
    assert producer.flushed_before_tracking[-1] == 1
    [row] = aside.set_aside(SqlViews(app.process_recorder))
    assert (row.source, row.place, row.reason) == ("consumer", f"{IMAGES}:0@2", reason)


def test_a_batch_the_store_refuses_only_in_part_is_saved_around_each_refusal(
    setting_aside, app, producer
) -> None:  # type: ignore[no-untyped-def]
    refuse_marked_events(app)
    refs = [
        f"img-{MARK}-0",
        "img-1",
        "img-2",
        f"img-{MARK}-3",
        "img-4",
        f"img-{MARK}-5",
    ]
    taken = take(setting_aside, *[image(n, ref) for n, ref in enumerate(refs)])
    assert (taken.new, taken.dead) == (3, 3)
    assert [app.find_item(ref) is not None for ref in refs] == [0, 1, 1, 0, 1, 0]
    places = sorted(a.place for a in aside.set_aside(SqlViews(app.process_recorder)))
    assert places == [f"{IMAGES}:0@{n}" for n in (0, 3, 5)]
    assert tracked(app, IMAGES) == 5


def test_a_command_the_store_refuses_is_set_aside_and_the_others_are_saved(
    setting_aside, app, producer
) -> None:  # type: ignore[no-untyped-def]
    take(setting_aside, image(0, "img-1"), image(1, "img-2"), image(2, "img-3"))
    refuse_marked_events(app)
    taken = take(
        setting_aside,
        command(0, "PLACE_HOLD", "img-1", "POL-1"),
        command(1, "PLACE_HOLD", "img-2", MARK),  # saved with the others at first
        command(2, "PLACE_HOLD", "img-3", "POL-3"),
    )
    assert (taken.changes, taken.dead) == (2, 1)
    holds = [set(app.get_item(ref).holds) for ref in ("img-1", "img-2", "img-3")]
    assert holds == [{"POL-1"}, set(), {"POL-3"}]
    assert tracked(app, COMMANDS) == 2
    [row] = aside.set_aside(SqlViews(app.process_recorder))
    assert row.place == f"{COMMANDS}:0@1"
    assert producer.reasons() == [row.reason]


def test_a_store_refusal_of_a_tracking_position_alone_is_not_put_on_a_record(
    setting_aside, app
) -> None:  # type: ignore[no-untyped-def]
    # Only poison in the batch: nothing but the offset is saved. If the store
    # refuses that, no record is to blame and the taker must fail loudly.
    SqlViews(app.process_recorder).run_ddl(
        [
            "CREATE TRIGGER refuse_tracking BEFORE INSERT ON tracking"
            " BEGIN SELECT zeroblob(2000000000); END"
        ]
    )
    with pytest.raises(DataError):
        take(setting_aside, Delivered(IMAGES, 0, 0, b"img-1", b"not avro"))
