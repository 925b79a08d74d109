"""What every event-store backend must do for Lethe; subclassed once per backend.

Tests name their items and subjects with a per-test tag and assert only on their
own rows, so a backend may share one database across a session.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from lethe.domain import identity
from lethe.domain.application import IngestRecord
from lethe.domain.item import Item, ItemState, Outcome
from lethe.domain.subject import Subject
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from lethe.projections.schedule import ScheduleProcess
from lethe.projections.schedule_rows import ms
from lethe.projections.status import read_status
from tests.support import T0, ingest_record

DAY = timedelta(days=1)
CONTROLLER = "sector-alarm"
# The relationship ends at 12:00 CEST; periods are counted on Oslo's wall clock.
ENDED = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
FAR = T0 + timedelta(days=365 * 30)
# What every created event carries beside the facts Item.__init__ takes.
BASE_ATTRIBUTES = {
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
}


class StoreContract:
    """Lethe on one backend: ingest, schedule, subject process, sweeper, vault."""

    def make_settings(self) -> Settings:
        raise NotImplementedError

    @pytest.fixture
    def rt(self) -> Iterator[Runtime]:
        runtime = build_runtime(self.make_settings())
        yield runtime
        runtime.app.close()

    @pytest.fixture(autouse=True)
    def _tag(self) -> None:
        self.tag = uuid4().hex[:12]

    # -- helpers -----------------------------------------------------------------------

    def ref(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def customer(self, name: str = "A") -> str:
        return f"cust-{self.tag}-{name}"

    def record(
        self, name: str, category: str, who: str = "A", **kw: Any
    ) -> IngestRecord:
        return ingest_record(self.ref(name), category, self.customer(who), **kw)

    def row(self, rt: Runtime, name: str) -> dict[str, Any]:
        columns = "state, due_at, holds, restrictions, cause"
        found = rt.views.query(
            f"SELECT {columns} FROM lethe_schedule WHERE item_ref = ?",
            (self.ref(name),),
        )
        assert len(found) == 1, f"{name}: {found}"
        return dict(zip(columns.split(", "), found[0], strict=True))

    def item(self, rt: Runtime, name: str) -> Item:
        return rt.app.get_item(self.ref(name))

    def versions(self, rt: Runtime, *names: str) -> list[int]:
        return [self.item(rt, n).version for n in names]

    def ordered_names(self, rt: Runtime, *names: str) -> set[str]:
        return {n for n in names if self.item(rt, n).order is not None}

    # -- ingest, exactly once ----------------------------------------------------------

    def test_a_batch_is_taken_once_per_tracking_position(self, rt: Runtime) -> None:
        records = [self.record(f"img{i}", "verification-image") for i in range(3)]
        partition = f"kafka:alarm.images.v1:{self.tag}"
        first = rt.app.ingest(records, T0, Tracking(partition, 41))
        assert len(first.new) == 3 and first.duplicates == []
        again = rt.app.ingest(records, T0, Tracking(partition, 41))
        assert again.new == [] and again.duplicates == records
        assert rt.app.process_recorder.max_tracking_id(partition) == 41
        assert self.versions(rt, "img0", "img1", "img2") == [1, 1, 1]

    def test_an_ingested_item_is_stored_as_the_generic_constructor_stores_it(
        self, rt: Runtime
    ) -> None:
        # Ingest builds items with Item.arrive; an auditor's old code path reads
        # what Item(...) would have written. The stored row must be that, byte for
        # byte (tests/unit/test_item_arrive.py checks generated facts in memory).
        records = [
            self.record("img", "verification-image", police_relevant=True),
            self.record("evt", "alarm-event", offset=7),
        ]
        new = rt.app.ingest(records, T0).new
        for item in new:
            [stored] = rt.app.recorder.select_events(item.id)
            event = rt.app.mapper.to_domain_event(stored)
            facts = {
                name: value
                for name, value in vars(event).items()
                if name not in BASE_ATTRIBUTES
            }
            with pytest.MonkeyPatch.context() as patch:
                stamp = staticmethod(lambda at=event.timestamp: at)
                patch.setattr(Item.Ingested, "create_timestamp", stamp)
                generic = Item(**facts)
            wanted = rt.app.mapper.to_stored_event(generic.pending_events[0])
            assert (stored.topic, bytes(stored.state)) == (wanted.topic, wanted.state)
            assert stored.originator_version == wanted.originator_version == 1

    def test_an_earlier_tracking_position_is_a_duplicate_too(self, rt: Runtime) -> None:
        partition = f"kafka:alarm.images.v1:{self.tag}"
        rt.app.ingest(
            [self.record("img0", "verification-image")], T0, Tracking(partition, 9)
        )
        late = [self.record("img1", "verification-image")]
        assert rt.app.ingest(late, T0, Tracking(partition, 8)).new == []
        assert rt.app.find_item(self.ref("img1")) is None

    def test_a_redelivered_identical_record_is_a_duplicate(self, rt: Runtime) -> None:
        record = self.record("img", "verification-image")
        assert len(rt.app.ingest([record], T0).new) == 1
        again = rt.app.ingest([record], T0 + DAY)
        assert (
            again.new == [] and again.duplicates == [record] and again.conflicts == []
        )
        assert self.versions(rt, "img") == [1]
        assert self.item(rt, "img").ingested_at == T0

    def test_a_conflicting_record_is_refused_and_the_first_stands(
        self, rt: Runtime
    ) -> None:
        first = self.record("evt", "alarm-event", content=b"first")
        rt.app.ingest([first], T0)
        other = self.record("evt", "invoice", content=b"second")
        result = rt.app.ingest([other], T0 + DAY)
        assert (
            result.conflicts == [other] and result.new == [] and result.duplicates == []
        )
        item = self.item(rt, "evt")
        assert item.category == "alarm-event" and item.version == 1

    def test_a_mixed_batch_sorts_new_duplicate_and_conflict(self, rt: Runtime) -> None:
        partition = f"kafka:alarm.events.v1:{self.tag}"
        old = self.record("old", "alarm-event", content=b"old")
        rt.app.ingest([old], T0, Tracking(partition, 1))
        clash = self.record("old", "alarm-event", content=b"changed")
        fresh = self.record("new", "alarm-event")
        result = rt.app.ingest([old, clash, fresh, fresh], T0, Tracking(partition, 5))
        assert [i.item_ref for i in result.new] == [self.ref("new")]
        assert result.duplicates == [old, fresh] and result.conflicts == [clash]
        assert rt.app.process_recorder.max_tracking_id(partition) == 5
        assert self.versions(rt, "old", "new") == [1, 1]

    def test_a_batch_is_saved_whole(self, rt: Runtime) -> None:
        records = [self.record(f"evt{i}", "alarm-event", offset=i) for i in range(60)]
        before = rt.app.process_recorder.max_notification_id() or 0
        result = rt.app.ingest(
            records, T0, Tracking(f"kafka:alarm.events.v1:{self.tag}", 59)
        )
        assert len(result.new) == 60
        mine = [
            n
            for n in rt.app.process_recorder.select_notifications(before + 1, 1000)
            if n.originator_id in {identity.item_id(r.item_ref) for r in records}
        ]
        assert len(mine) == 60  # one Ingested each, carrying its first schedule
        assert self.item(rt, "evt59").source.offset == 59

    # -- the schedule process ----------------------------------------------------------

    def test_the_schedule_catch_up_builds_rows(self, rt: Runtime) -> None:
        rt.app.ingest(
            [
                self.record("img", "verification-image"),
                self.record("id", "customer-identity"),
            ],
            T0,
        )
        assert rt.catch_up() > 0
        image = self.row(rt, "img")
        assert image["state"] == "scheduled"
        assert image["due_at"] == ms(datetime(2026, 4, 1, 10, 0, tzinfo=UTC))
        assert (
            self.row(rt, "id")["state"] == "waiting"
            and self.row(rt, "id")["due_at"] is None
        )
        assert rt.schedule.position == rt.app.process_recorder.max_notification_id()
        assert rt.catch_up() == 0

    def test_a_relationship_end_reschedules_the_subjects_items(
        self, rt: Runtime
    ) -> None:
        old = datetime(2021, 3, 25, 11, 0, tzinfo=UTC)
        rt.app.ingest(
            [
                self.record("evt", "alarm-event"),
                self.record("old", "alarm-event", captured_at=old),
                self.record("id", "customer-identity"),
            ],
            T0,
        )
        rt.catch_up()
        assert self.item(rt, "evt").due_at == datetime(2031, 3, 25, 11, 0, tzinfo=UTC)
        rt.app.end_relationship(CONTROLLER, self.customer(), ENDED, ENDED)
        rt.catch_up()
        # min(captured + 5 years, end + 3 years): the end decides for a new event ...
        assert self.item(rt, "evt").due_at == datetime(2029, 6, 15, 10, 0, tzinfo=UTC)
        # ... and the capture for an old one.
        assert self.item(rt, "old").due_at == datetime(2026, 3, 25, 11, 0, tzinfo=UTC)
        identity_item = self.item(rt, "id")
        assert identity_item.due_at == datetime(2027, 6, 15, 10, 0, tzinfo=UTC)
        assert identity_item.state == ItemState.SCHEDULED
        assert self.row(rt, "id")["due_at"] == ms(identity_item.due_at)

    def test_a_resumed_relationship_stops_the_clock_again(self, rt: Runtime) -> None:
        rt.app.ingest([self.record("id", "customer-identity")], T0)
        rt.app.end_relationship(CONTROLLER, self.customer(), ENDED, ENDED)
        rt.catch_up()
        rt.app.resume_relationship(
            CONTROLLER, self.customer(), ENDED + DAY, ENDED + DAY
        )
        rt.catch_up()
        assert self.item(rt, "id").due_at is None
        assert self.row(rt, "id")["state"] == "waiting"

    def test_a_subject_hold_applies_to_items_before_and_after_it(
        self, rt: Runtime
    ) -> None:
        rt.app.ingest([self.record("before", "verification-image")], T0)
        rt.catch_up()
        rt.app.place_subject_hold(
            CONTROLLER, self.customer(), "POL-7", "police", "ola", T0
        )
        rt.app.ingest([self.record("same-page", "verification-image")], T0)
        rt.catch_up()
        rt.app.ingest([self.record("after", "verification-image")], T0 + DAY)
        rt.catch_up()
        names = ("before", "same-page", "after")
        for name in names:
            assert self.item(rt, name).holds.keys() == {"subject:POL-7"}, name
            assert self.row(rt, name)["holds"] == 1
        rt.sweeper.sweep(FAR)
        assert self.ordered_names(rt, *names) == set()
        rt.app.release_subject_hold(
            CONTROLLER, self.customer(), "POL-7", "ola", T0 + 9 * DAY
        )
        rt.catch_up()
        assert [self.row(rt, n)["holds"] for n in names] == [0, 0, 0]
        rt.sweeper.sweep(T0 + 9 * DAY)
        assert self.ordered_names(rt, *names) == set(names)

    # -- subject erasure and crypto-shredding ------------------------------------------

    def test_a_subject_erasure_orders_all_but_what_the_law_keeps(
        self, rt: Runtime
    ) -> None:
        names = ("evt", "img", "id", "inv", "call")
        categories = (
            "alarm-event",
            "verification-image",
            "customer-identity",
            "invoice",
            "alarm-call-recording",
        )
        rt.app.ingest(
            [self.record(n, c) for n, c in zip(names, categories, strict=True)], T0
        )
        rt.catch_up()
        request = rt.app.request_subject_erasure(
            CONTROLLER,
            self.customer(),
            self.ref("cmd"),
            "asked",
            "kari",
            None,
            T0 + DAY,
        )
        subject = rt.app.get_subject(CONTROLLER, self.customer())
        assert (
            rt.app.vault.unseal(subject.subject_ref, subject.subject_seal)
            == self.customer()
        )
        rt.catch_up()
        assert self.ordered_names(rt, *names) == {"evt", "img", "id"}
        for name in ("evt", "img", "id"):
            order = self.item(rt, name).order
            assert order is not None and order["cause"] == "SUBJECT_ERASURE"
            assert self.row(rt, name)["state"] == "erasure-ordered"
        for name in ("inv", "call"):
            assert self.item(rt, name).kept_for_legal_obligation
        subject = rt.app.get_subject(CONTROLLER, self.customer())
        assert subject.requests[request]["carried_out_at"] == T0 + DAY
        assert rt.app.vault.unseal(subject.subject_ref, subject.subject_seal) is None
        self.assert_history_replays(rt, subject)

    def assert_history_replays(self, rt: Runtime, subject: Subject) -> None:
        events = list(rt.app.repository.event_store.get(subject.id))
        kinds = [type(e).__name__ for e in events]
        assert kinds[0] == "Registered" and kinds[-1] == "ErasureCarriedOut"
        replayed = rt.app.repository.get(subject.id)
        assert isinstance(replayed, Subject) and replayed.is_erased
        assert replayed.subject_seal == subject.subject_seal != b""

    def test_items_arriving_after_the_erasure_go_on_arrival(self, rt: Runtime) -> None:
        rt.app.request_subject_erasure(
            CONTROLLER, self.customer(), self.ref("cmd"), "asked", "kari", None, T0
        )
        rt.catch_up()
        rt.app.ingest(
            [self.record("late", "alarm-event"), self.record("inv", "invoice")],
            T0 + DAY,
        )
        rt.catch_up()
        late = self.item(rt, "late").order
        assert (
            late is not None
            and late["cause"] == "SUBJECT_ERASURE"
            and late["at"] == T0 + DAY
        )
        assert self.item(rt, "inv").kept_for_legal_obligation
        assert self.item(rt, "inv").order is None

    def test_an_item_held_at_the_erasure_goes_when_its_hold_is_released(
        self, rt: Runtime
    ) -> None:
        rt.app.ingest([self.record("evt", "alarm-event")], T0)
        rt.app.end_relationship(CONTROLLER, self.customer(), T0, T0)
        rt.catch_up()
        rt.app.place_hold(self.ref("evt"), "POL-1", "police", "ola", T0 + DAY)
        rt.app.request_subject_erasure(
            CONTROLLER,
            self.customer(),
            self.ref("cmd"),
            "asked",
            "kari",
            None,
            T0 + DAY,
        )
        rt.catch_up()
        assert self.item(rt, "evt").order is None
        rt.app.release_hold(self.ref("evt"), "POL-1", "ola", T0 + 2 * DAY)
        rt.catch_up()
        order = self.item(rt, "evt").order
        assert order is not None and order["cause"] == "SUBJECT_ERASURE"

    def test_a_second_erasure_request_is_answered_as_well(self, rt: Runtime) -> None:
        rt.app.ingest([self.record("evt", "alarm-event")], T0)
        rt.catch_up()
        first, second = (
            rt.app.request_subject_erasure(
                CONTROLLER,
                self.customer(),
                self.ref(cmd),
                "asked",
                "kari",
                None,
                T0 + DAY,
            )
            for cmd in ("cmd-1", "cmd-2")
        )
        rt.catch_up()
        requests = rt.app.get_subject(CONTROLLER, self.customer()).requests
        assert requests[first]["carried_out_at"] == requests[second]["carried_out_at"]
        assert requests[second]["carried_out_at"] == T0 + DAY
        assert self.versions(rt, "evt") == [2]  # Ingested, ErasureOrdered

    def test_a_crash_before_shredding_is_recovered_on_the_next_catch_up(
        self, rt: Runtime
    ) -> None:
        rt.app.ingest([self.record("evt", "alarm-event")], T0)
        rt.app.request_subject_erasure(
            CONTROLLER, self.customer(), self.ref("cmd"), "asked", "kari", None, T0
        )
        while rt.schedule.process_page():  # the answer commits; then the process dies
            pass
        subject = rt.app.get_subject(CONTROLLER, self.customer())
        assert subject.is_erased
        assert (
            rt.app.vault.unseal(subject.subject_ref, subject.subject_seal) is not None
        )
        restarted = build_runtime(self.make_settings())
        try:
            assert restarted.catch_up() == 0
            fresh = build_runtime(self.make_settings())
            try:
                assert (
                    fresh.app.vault.unseal(subject.subject_ref, subject.subject_seal)
                    is None
                )
            finally:
                fresh.app.close()
        finally:
            restarted.app.close()

    def test_a_new_process_on_the_same_store_does_not_redo_answered_work(
        self, rt: Runtime
    ) -> None:
        rt.app.ingest([self.record("img", "verification-image")], T0)
        rt.catch_up()
        position = rt.schedule.position
        again = ScheduleProcess(rt.app, rt.views)
        assert again.position == position and again.run_until_idle() == 0

    # -- the sweeper -------------------------------------------------------------------

    def test_due_items_come_earliest_first(self, rt: Runtime) -> None:
        rt.app.ingest(
            [
                self.record("mid", "verification-image", captured_at=T0 - 2 * DAY),
                self.record("late", "verification-image", captured_at=T0),
                self.record("early", "verification-image", captured_at=T0 - 5 * DAY),
                self.record("later", "verification-image", captured_at=T0 + 3 * DAY),
            ],
            T0,
        )
        rt.catch_up()
        now = T0 + 8 * DAY
        mine = {self.ref(n) for n in ("mid", "late", "early", "later")}
        due = [r for r in rt.sweeper.due_items(now, limit=100_000) if r in mine]
        assert due == [self.ref("early"), self.ref("mid"), self.ref("late")]

    def test_the_sweeper_orders_each_due_item_once(self, rt: Runtime) -> None:
        rt.app.ingest(
            [
                self.record("due", "verification-image"),
                self.record("held", "verification-image"),
                self.record("young", "verification-image", captured_at=T0 + 5 * DAY),
            ],
            T0,
        )
        rt.app.place_hold(self.ref("held"), "POL-1", "police", "ola", T0)
        rt.catch_up()
        now = T0 + 8 * DAY
        rt.sweeper.sweep(now)
        assert self.ordered_names(rt, "due", "held", "young") == {"due"}
        order = self.item(rt, "due").order
        assert (
            order is not None
            and order["cause"] == "RETENTION_EXPIRED"
            and order["at"] == now
        )
        versions = self.versions(rt, "due")
        rt.sweeper.sweep(now)  # the view has not caught up yet
        rt.catch_up()
        rt.sweeper.sweep(now + timedelta(minutes=1))
        assert self.versions(rt, "due") == versions
        assert self.row(rt, "due")["cause"] == "RETENTION_EXPIRED"

    def test_an_unconfirmed_order_is_reissued_after_the_timeout(
        self, rt: Runtime
    ) -> None:
        rt.app.ingest([self.record("img", "verification-image")], T0)
        rt.catch_up()
        now = T0 + 8 * DAY
        rt.sweeper.sweep(now)
        rt.catch_up()
        rt.sweeper.sweep(now + timedelta(minutes=59))
        assert self.item(rt, "img").attempts == 1
        rt.sweeper.sweep(now + timedelta(hours=1))
        assert self.item(rt, "img").attempts == 2

    def test_a_recalled_order_is_never_reissued_and_waits_in_status(
        self, rt: Runtime
    ) -> None:
        rt.app.ingest([self.record("img", "verification-image")], T0)
        rt.catch_up()
        now = T0 + 8 * DAY
        rt.sweeper.sweep(now)
        rt.catch_up()
        img = self.ref("img")
        rt.app.place_hold(img, "POL-1", "evidence", "officer", now)  # late
        rt.catch_up()
        assert self.row(rt, "img")["state"] == "recall-sent"
        later = now + timedelta(hours=5)
        rt.sweeper.sweep(later)  # the store is shared: count only this test's item
        assert self.item(rt, "img").attempts == 1
        status = read_status(rt.views, later, 60, 3600, 7, {})
        assert [
            (a.item_ref, a.what) for a in status.unconfirmed if a.item_ref == img
        ] == [(img, "ordered, then recalled: no answer yet")]
        order = self.item(rt, "img").order
        assert order is not None
        rt.app.confirm_erasure(
            img, order["order_id"], "media", Outcome.RECALLED, None, later
        )
        rt.catch_up()
        assert self.row(rt, "img")["state"] == "scheduled"  # held: not due to go
        assert rt.sweeper.sweep(later + DAY).ordered == 0
        assert read_status(rt.views, later, 60, 3600, 7, {}).unconfirmed == []

    def test_unconfirmed_orders_are_reissued_page_by_page(self, rt: Runtime) -> None:
        names = [f"img{i}" for i in range(5)]
        rt.app.ingest([self.record(n, "verification-image") for n in names], T0)
        rt.catch_up()
        now = T0 + 8 * DAY
        rt.sweeper.sweep(now)
        rt.catch_up()
        rt.sweeper.batch_size = 2  # five orders: three pages, the last one short
        rt.sweeper.sweep(now + timedelta(hours=1))
        assert [self.item(rt, n).attempts for n in names] == [2] * 5
        rt.catch_up()
        # Backoff doubles: one hour after the reissue is too soon for all of them.
        rt.sweeper.sweep(now + timedelta(hours=2))
        assert [self.item(rt, n).attempts for n in names] == [2] * 5
        for n in names:  # leave no unconfirmed order to the tests sharing the store
            order = self.item(rt, n).order
            assert order is not None
            rt.app.confirm_erasure(
                self.ref(n), order["order_id"], "blob", Outcome.DELETED, None, now
            )

    def test_a_confirmation_the_schedule_has_not_seen_does_not_stop_the_sweep(
        self, rt: Runtime
    ) -> None:
        rt.app.ingest([self.record("gone", "verification-image")], T0)
        rt.app.ingest(
            [self.record("next", "verification-image", captured_at=T0 + DAY)], T0
        )
        rt.catch_up()
        rt.sweeper.sweep(T0 + 8 * DAY)
        rt.catch_up()
        order = self.item(rt, "gone").order
        assert order is not None
        rt.app.confirm_erasure(
            self.ref("gone"),
            order["order_id"],
            "blob",
            Outcome.DELETED,
            None,
            T0 + 8 * DAY,
        )
        rt.sweeper.sweep(T0 + 10 * DAY)  # reissue time for "gone", which is erased
        assert self.item(rt, "gone").state == ItemState.ERASED
        assert self.ordered_names(rt, "next") == {"next"}

    # -- configuration -----------------------------------------------------------------

    def test_a_stray_environment_variable_does_not_move_the_store(
        self, rt: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
    ) -> None:
        stray = tmp_path / "stray.db"
        monkeypatch.setenv("LETHE_SQLITE_DBNAME", str(stray))
        monkeypatch.setenv("LETHE_POSTGRES_DBNAME", f"stray_{self.tag}")
        monkeypatch.setenv("LETHE_PERSISTENCE_MODULE", "eventsourcing.popo")
        rt.app.ingest([self.record("img", "verification-image")], T0)
        other = build_runtime(self.make_settings())
        try:
            assert other.app.find_item(self.ref("img")) is not None
        finally:
            other.app.close()
        assert not stray.exists()
