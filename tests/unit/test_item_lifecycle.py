"""The Item aggregate by hand: what may be ordered, when, once; what answers do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.domain import identity
from lethe.domain.application import Lethe
from lethe.domain.errors import (
    DueBeforeCapturedError,
    ErasureAlreadyOrderedError,
    ItemAlreadyErasedError,
    ItemHeldError,
    ItemRestrictedError,
    NotDueError,
    UnknownOrderError,
)
from lethe.domain.item import ErasureCause, Item, ItemState, Outcome
from lethe.domain.reconcile import apply_subject, first_due, reschedule
from lethe.domain.subject import Subject
from lethe.policies import load_shipped, shipped_ids
from lethe.projections.schedule import ScheduleProcess
from lethe.projections.store import SqlViews
from tests.support import T0, ingest_record
from tests.support.fakes import FakeSubjectVault

POLICY = load_shipped("sector-alarm")
# 12:00 CET on 25 March + 7 calendar days = 12:00 CEST on 1 April (DST on 29 March).
IMAGE_DUE = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def new_item(
    category: str = "verification-image",
    captured_at: datetime = T0,
    ingested_at: datetime = T0,
    item_ref: str = "img-1",
) -> Item:
    due = first_due(POLICY, category, captured_at, police_relevant=False)
    return Item(
        item_ref=item_ref,
        kind="verification-image",
        source_topic="alarm.images.v1",
        source_partition=0,
        source_offset=7,
        controller="sector-alarm",
        category=category,
        subject_ref="subject-ref-1",
        captured_at=captured_at,
        police_relevant=False,
        blob_uri=f"s3://arc-media/{item_ref}",
        sha256="ab" * 32,
        legal_basis=None,
        content_digest="d1",
        ingested_at=ingested_at,
        due_at=due.at,
        rule=due.rule,
        policy=due.policy,
    )


def new_subject(relationship_ended_at: datetime | None = None) -> Subject:
    subject = Subject(
        subject_ref="subject-ref-1",
        controller="sector-alarm",
        subject_seal=b"\x01",
        at=T0,
    )
    if relationship_ended_at is not None:
        subject.end_relationship(
            ended_at=relationship_ended_at, at=relationship_ended_at
        )
    return subject


def event_names(item: Item) -> list[str]:
    return [type(e).__name__ for e in item.collect_events()]


def ordered(item: Item, at: datetime = IMAGE_DUE) -> Item:
    item.order_due_erasure(at)
    return item


# -- the schedule --------------------------------------------------------------------


def test_an_image_is_due_seven_local_days_after_capture() -> None:
    item = new_item()
    assert item.due_at == IMAGE_DUE
    assert item.state == ItemState.SCHEDULED
    assert item.policy == POLICY.ref


def test_an_item_is_never_due_before_it_was_captured() -> None:
    item = new_item()
    with pytest.raises(DueBeforeCapturedError):
        item.schedule(T0 - timedelta(seconds=1), "bad rule", POLICY.ref, "test", T0)
    assert item.due_at == IMAGE_DUE
    assert event_names(item) == ["Ingested"]


def test_an_item_arrives_scheduled_in_one_event() -> None:
    item = new_item()
    assert event_names(item) == ["Ingested"]
    assert (item.state, item.due_at) == (ItemState.SCHEDULED, IMAGE_DUE)
    # The first schedule is what rescheduling with no subject would give.
    assert not reschedule(item, None, POLICY, "ingested", T0)


def test_an_item_waiting_for_its_clock_arrives_waiting() -> None:
    item = new_item(category="onboarding")
    assert (item.state, item.due_at) == (ItemState.WAITING, None)
    assert item.rule.startswith("onboarding: relationship-end")


def test_an_item_cannot_arrive_due_before_it_was_captured() -> None:
    with pytest.raises(DueBeforeCapturedError):
        Item(
            item_ref="img-early",
            kind="verification-image",
            source_topic="alarm.images.v1",
            source_partition=0,
            source_offset=1,
            controller="sector-alarm",
            category="verification-image",
            subject_ref="subject-ref-1",
            captured_at=T0,
            police_relevant=False,
            blob_uri=None,
            sha256=None,
            legal_basis=None,
            content_digest="d1",
            ingested_at=T0,
            due_at=T0 - timedelta(seconds=1),
            rule="bad rule",
            policy=POLICY.ref,
        )


def test_due_at_the_capture_instant_itself_is_allowed() -> None:
    item = new_item()
    assert item.schedule(T0, "on arrival", POLICY.ref, "test", T0)
    assert item.due_at == T0


# -- what may not be ordered -----------------------------------------------------------


@pytest.mark.parametrize("cause", list(ErasureCause))
def test_a_held_item_is_never_ordered(cause: ErasureCause) -> None:
    item = new_item()
    item.place_hold("POL-2026-1", "police case", "support:ola", T0)
    item.collect_events()
    with pytest.raises(ItemHeldError, match="POL-2026-1"):
        item.order_erasure(cause, IMAGE_DUE + DAY)
    assert item.order is None
    assert event_names(item) == []


@pytest.mark.parametrize("cause", list(ErasureCause))
def test_a_restricted_item_is_never_ordered(cause: ErasureCause) -> None:
    item = new_item()
    item.restrict("ART18-9", "accuracy contested", "support:kari", T0)
    item.collect_events()
    with pytest.raises(ItemRestrictedError, match="ART18-9"):
        item.order_erasure(cause, IMAGE_DUE + DAY)
    assert item.order is None
    assert event_names(item) == []


def test_retention_expiry_is_refused_before_the_due_instant() -> None:
    item = new_item()
    with pytest.raises(NotDueError):
        item.order_erasure(
            ErasureCause.RETENTION_EXPIRED, IMAGE_DUE - timedelta(seconds=1)
        )
    assert item.order is None


def test_retention_expiry_is_allowed_at_the_due_instant_exactly() -> None:
    item = new_item()
    item.order_erasure(ErasureCause.RETENTION_EXPIRED, IMAGE_DUE)
    assert item.state == ItemState.ERASURE_ORDERED


def test_an_item_whose_clock_has_not_started_is_never_due() -> None:
    item = new_item(category="customer-identity")
    assert item.due_at is None and item.state == ItemState.WAITING
    with pytest.raises(NotDueError):
        item.order_due_erasure(T0 + timedelta(days=365 * 20))


def test_a_subject_erasure_may_order_before_the_due_instant() -> None:
    item = new_item()
    order_id = item.order_erasure(ErasureCause.SUBJECT_ERASURE, T0 + timedelta(hours=1))
    assert item.order == {
        "order_id": order_id,
        "cause": "SUBJECT_ERASURE",
        "at": T0 + timedelta(hours=1),
    }


# -- one order per item ----------------------------------------------------------------


@pytest.mark.parametrize("second", list(ErasureCause))
def test_an_item_gets_one_erasure_order_whatever_the_second_cause(
    second: ErasureCause,
) -> None:
    item = new_item()
    first = item.order_erasure(ErasureCause.RETENTION_EXPIRED, IMAGE_DUE)
    item.collect_events()
    with pytest.raises(ErasureAlreadyOrderedError, match=first):
        item.order_erasure(second, IMAGE_DUE + DAY)
    assert item.order is not None and item.order["order_id"] == first
    assert event_names(item) == []


def test_the_order_id_is_derived_from_item_and_cause() -> None:
    first, second = new_item(), new_item()
    a = first.order_erasure(ErasureCause.RETENTION_EXPIRED, IMAGE_DUE)
    b = second.order_erasure(ErasureCause.RETENTION_EXPIRED, IMAGE_DUE + DAY)
    assert a == b == identity.order_id("img-1", "RETENTION_EXPIRED", "d1")
    other = new_item().order_erasure(ErasureCause.SUBJECT_ERASURE, T0)
    assert other == identity.order_id("img-1", "SUBJECT_ERASURE", "d1") != a
    assert new_item(item_ref="img-2").order_due_erasure(IMAGE_DUE) != a


def test_an_order_id_cannot_be_worked_out_without_the_items_secret() -> None:
    """The id is keyed: item id and cause alone (all a forger knows) give
    another id, and so does another content digest."""
    ordered = new_item().order_erasure(ErasureCause.RETENTION_EXPIRED, IMAGE_DUE)
    assert ordered != identity.order_id("img-1", "RETENTION_EXPIRED", "d2")
    unkeyed = uuid5(identity.ORDERS_NAMESPACE, "img-1/RETENTION_EXPIRED")
    assert ordered != str(unkeyed)
    with pytest.raises(ValueError, match="secret"):
        identity.order_id("img-1", "RETENTION_EXPIRED", "")


def test_the_ordered_event_carries_what_a_store_needs() -> None:
    item = new_item()
    item.collect_events()
    order_id = item.order_due_erasure(IMAGE_DUE)
    (event,) = item.collect_events()
    assert isinstance(event, Item.ErasureOrdered)
    assert (event.order_id, event.cause, event.due_at) == (
        order_id,
        "RETENTION_EXPIRED",
        IMAGE_DUE,
    )
    assert (event.category, event.source_topic) == (
        "verification-image",
        "alarm.images.v1",
    )
    assert event.blob_uri == "s3://arc-media/img-1"


def test_an_item_that_arrived_past_due_is_ordered_as_arrived_expired() -> None:
    item = new_item(captured_at=T0 - timedelta(days=30), ingested_at=T0)
    assert item.due_at is not None and item.due_at < item.ingested_at
    item.order_due_erasure(T0)
    assert item.order is not None and item.order["cause"] == "ARRIVED_EXPIRED"


def test_an_item_that_arrived_in_time_is_ordered_as_retention_expired() -> None:
    item = new_item(captured_at=T0, ingested_at=T0 + timedelta(hours=1))
    item.order_due_erasure(IMAGE_DUE)
    assert item.order is not None and item.order["cause"] == "RETENTION_EXPIRED"


# -- the stores' answers ---------------------------------------------------------------


@pytest.mark.parametrize("outcome", [Outcome.DELETED, Outcome.NOT_FOUND])
def test_a_deleted_or_not_found_answer_closes_the_item(outcome: Outcome) -> None:
    item = ordered(new_item())
    assert item.order is not None
    assert item.confirm_erasure(
        item.order["order_id"], "blob", outcome, None, IMAGE_DUE
    )
    assert item.state == ItemState.ERASED


def test_a_failed_answer_marks_the_item_failed_and_a_reissue_sends_the_same_order() -> (
    None
):
    item = ordered(new_item())
    assert item.order is not None
    order_id = item.order["order_id"]
    item.confirm_erasure(order_id, "blob", Outcome.FAILED, "disk full", IMAGE_DUE)
    assert item.state == ItemState.ERASURE_FAILED
    item.collect_events()
    assert item.reissue_erasure(IMAGE_DUE + DAY) == 2
    (event,) = item.collect_events()
    assert isinstance(event, Item.ErasureReissued)
    assert (event.order_id, event.attempt) == (order_id, 2)
    assert item.state == ItemState.ERASURE_ORDERED
    item.confirm_erasure(order_id, "blob", Outcome.DELETED, None, IMAGE_DUE + 2 * DAY)
    assert item.state == ItemState.ERASED


@pytest.mark.parametrize(
    "outcome", [Outcome.DELETED, Outcome.NOT_FOUND, Outcome.FAILED]
)
def test_a_duplicate_answer_after_erasure_changes_nothing(outcome: Outcome) -> None:
    item = ordered(new_item())
    assert item.order is not None
    item.confirm_erasure(
        item.order["order_id"], "blob", Outcome.DELETED, None, IMAGE_DUE
    )
    item.collect_events()
    changed = item.confirm_erasure(
        item.order["order_id"], "blob", outcome, "again", IMAGE_DUE + DAY
    )
    assert changed is False
    assert item.state == ItemState.ERASED
    assert event_names(item) == []


def test_an_answer_to_an_order_the_item_never_had_is_refused() -> None:
    item = ordered(new_item())
    with pytest.raises(UnknownOrderError):
        item.confirm_erasure("not-our-order", "blob", Outcome.DELETED, None, IMAGE_DUE)
    assert item.state == ItemState.ERASURE_ORDERED


def test_an_erased_item_is_not_reissued() -> None:
    item = ordered(new_item())
    assert item.order is not None
    item.confirm_erasure(
        item.order["order_id"], "blob", Outcome.DELETED, None, IMAGE_DUE
    )
    with pytest.raises(ItemAlreadyErasedError):
        item.reissue_erasure(IMAGE_DUE + DAY)


# -- holds released --------------------------------------------------------------------


def test_a_hold_released_after_the_due_instant_moves_it_to_the_release() -> None:
    item = new_item()
    item.place_hold("POL-1", "police case", "support:ola", T0)
    release = IMAGE_DUE + 10 * DAY
    item.release_hold("POL-1", "support:ola", release)
    assert reschedule(item, None, POLICY, "hold-released", release)
    assert item.due_at == release
    with pytest.raises(NotDueError):
        item.order_due_erasure(release - timedelta(seconds=1))
    item.order_due_erasure(release)
    assert item.order is not None


def test_a_hold_released_before_the_due_instant_keeps_the_due_instant() -> None:
    item = new_item()
    item.place_hold("POL-1", "police case", "support:ola", T0)
    item.release_hold("POL-1", "support:ola", T0 + DAY)
    assert not reschedule(item, None, POLICY, "hold-released", T0 + DAY)
    assert item.due_at == IMAGE_DUE


def test_releasing_one_of_two_holds_leaves_the_item_held() -> None:
    item = new_item()
    item.place_hold("POL-1", "police case", "support:ola", T0)
    item.place_hold("DISPUTE-4", "insurance dispute", "support:kari", T0)
    item.release_hold("POL-1", "support:ola", IMAGE_DUE + DAY)
    reschedule(item, None, POLICY, "hold-released", IMAGE_DUE + DAY)
    assert item.released_at is None
    with pytest.raises(ItemHeldError, match="DISPUTE-4"):
        item.order_due_erasure(IMAGE_DUE + 2 * DAY)


def test_a_lifted_restriction_also_restarts_the_clock_no_earlier_than_the_lift() -> (
    None
):
    item = new_item()
    item.restrict("ART18-9", "accuracy contested", "support:kari", T0)
    lifted = IMAGE_DUE + 3 * DAY
    item.lift_restriction("ART18-9", "support:kari", lifted)
    reschedule(item, None, POLICY, "restriction-lifted", lifted)
    assert item.due_at == lifted


# -- subject erasure and the legal obligation ------------------------------------------


@pytest.mark.parametrize("category", ["invoice", "contract", "alarm-call-recording"])
def test_an_item_kept_by_law_survives_a_subject_erasure_request(category: str) -> None:
    subject = new_subject(relationship_ended_at=T0)
    item = new_item(category=category)
    subject.request_erasure(
        "req-1", "customer asked", "support:kari", None, T0, T0 + 30 * DAY
    )
    assert apply_subject(item, subject, POLICY, "subject-erasurerequested", T0)
    assert item.kept_for_legal_obligation
    assert item.order is None
    with pytest.raises(NotDueError):
        item.order_due_erasure(T0 + DAY)


def test_an_item_kept_by_law_cannot_be_ordered_early_as_a_subject_erasure() -> None:
    subject = new_subject(relationship_ended_at=T0)
    item = new_item(category="invoice")
    subject.request_erasure(
        "req-1", "customer asked", "support:kari", None, T0, T0 + 30 * DAY
    )
    apply_subject(item, subject, POLICY, "subject-erasurerequested", T0)
    with pytest.raises(NotDueError):
        item.order_erasure(ErasureCause.SUBJECT_ERASURE, T0 + DAY)
    assert item.order is None


def test_an_item_kept_by_law_still_goes_at_its_normal_due_time() -> None:
    subject = new_subject(relationship_ended_at=T0)
    item = new_item(category="invoice")
    reschedule(item, subject, POLICY, "relationship-ended", T0)
    # 5 full accounting years after 2026: 1 January 2032, 00:00 in Oslo.
    due = datetime(2031, 12, 31, 23, 0, tzinfo=UTC)
    assert item.due_at == due
    subject.request_erasure(
        "req-1", "customer asked", "support:kari", None, T0, T0 + 30 * DAY
    )
    apply_subject(item, subject, POLICY, "subject-erasurerequested", T0)
    assert item.kept_for_legal_obligation and item.due_at == due
    item.order_due_erasure(due)
    assert item.order is not None and item.order["cause"] == "RETENTION_EXPIRED"


def test_an_item_not_kept_by_law_is_ordered_at_once_on_a_subject_erasure_request() -> (
    None
):
    subject = new_subject()
    item = new_item(category="alarm-event")
    subject.request_erasure(
        "req-1", "customer asked", "support:kari", None, T0, T0 + 30 * DAY
    )
    apply_subject(item, subject, POLICY, "subject-erasurerequested", T0 + DAY)
    assert not item.kept_for_legal_obligation
    assert item.order is not None and item.order["cause"] == "SUBJECT_ERASURE"


def test_a_subject_asking_twice_gets_one_order_per_item() -> None:
    subject = new_subject()
    item = new_item(category="alarm-event")
    for request in ("req-1", "req-2"):
        subject.request_erasure(
            request, "asked", "support:kari", None, T0, T0 + 30 * DAY
        )
    item.collect_events()
    assert apply_subject(item, subject, POLICY, "subject-erasurerequested", T0)
    assert event_names(item) == ["ErasureOrdered"]
    assert item.order is not None and item.order["cause"] == "SUBJECT_ERASURE"


def test_a_held_item_waits_for_its_release_before_a_subject_erasure_takes_it() -> None:
    subject = new_subject()
    item = new_item(category="alarm-event")
    item.place_hold("POL-1", "police case", "support:ola", T0)
    subject.request_erasure(
        "req-1", "customer asked", "support:kari", None, T0, T0 + 30 * DAY
    )
    apply_subject(item, subject, POLICY, "subject-erasurerequested", T0)
    assert item.order is None
    item.release_hold("POL-1", "support:ola", T0 + DAY)
    apply_subject(item, subject, POLICY, "released", T0 + DAY)
    assert item.order is not None and item.order["cause"] == "SUBJECT_ERASURE"


# -- no personal data in the event store -----------------------------------------------

SUBJECT_ID = "12057812345"  # shaped like a Norwegian national identity number


def test_no_event_holds_the_subject_id_in_clear(tmp_path: Path) -> None:
    vault = FakeSubjectVault()
    env = {
        "PERSISTENCE_MODULE": "lethe.projections.store:LetheSQLiteFactory",
        "SQLITE_DBNAME": str(tmp_path / "lethe.db"),
    }
    app = Lethe(env=env, policies={"sector-alarm": POLICY}, vault=vault)
    _live_a_whole_life(app)
    notifications = app.process_recorder.select_notifications(1, 10_000)
    everything = b"".join(n.topic.encode() + n.state for n in notifications)
    # The bytes are readable JSON: a clear subject id would be seen.
    assert b"inv-1" in everything and b"KeptForLegalObligation" in everything
    assert b"ErasureCarriedOut" in everything and b"HoldPlaced" in everything
    assert SUBJECT_ID.encode() not in everything
    subject = app.get_subject("sector-alarm", SUBJECT_ID)
    assert subject.subject_seal and SUBJECT_ID.encode() not in subject.subject_seal
    assert vault.unseal(subject.subject_ref, subject.subject_seal) == SUBJECT_ID
    app.close()


def _live_a_whole_life(app: Lethe) -> None:
    records = [
        ingest_record("evt-1", "alarm-event", SUBJECT_ID),
        ingest_record("img-1", "verification-image", SUBJECT_ID, police_relevant=True),
        ingest_record("inv-1", "invoice", SUBJECT_ID),
    ]
    app.ingest(records, T0)
    app.end_relationship("sector-alarm", SUBJECT_ID, T0, T0 + DAY)
    app.record_contact("sector-alarm", SUBJECT_ID, T0, T0 + DAY)
    app.place_subject_hold(
        "sector-alarm", SUBJECT_ID, "POL-1", "police", "support:ola", T0
    )
    app.restrict("evt-1", "ART18-1", "contested", "support:kari", T0 + DAY)
    app.lift_restriction("evt-1", "ART18-1", "support:kari", T0 + 2 * DAY)
    app.release_subject_hold(
        "sector-alarm", SUBJECT_ID, "POL-1", "support:ola", T0 + 2 * DAY
    )
    app.request_subject_erasure(
        "sector-alarm",
        SUBJECT_ID,
        "cmd-1",
        "customer asked",
        "support:kari",
        "T-1",
        T0 + 3 * DAY,
    )
    process = ScheduleProcess(app, SqlViews(app.process_recorder))
    while process.process_page():  # not run_until_idle: the fake vault has no key table
        pass
    order = app.get_item("evt-1").order
    assert order is not None
    app.confirm_erasure(
        "evt-1", order["order_id"], "blob", Outcome.DELETED, None, T0 + 4 * DAY
    )


# -- the first schedule, for every shipped rule ---------------------------------------

SHIPPED = {policy_id: load_shipped(policy_id) for policy_id in shipped_ids()}
RULES = sorted((p, c) for p, policy in SHIPPED.items() for c in policy.rules)


@given(
    rule=st.sampled_from(RULES),
    captured_at=st.datetimes(
        datetime(2000, 1, 1), datetime(2090, 12, 31), timezones=st.just(UTC)
    ),
    police_relevant=st.booleans(),
)
def test_the_first_schedule_is_what_rescheduling_without_a_subject_gives(
    rule: tuple[str, str], captured_at: datetime, police_relevant: bool
) -> None:
    policy_id, category = rule
    policy = SHIPPED[policy_id]
    due = first_due(policy, category, captured_at, police_relevant)
    item = Item(
        item_ref="prop-1",
        kind="alarm-event",
        source_topic="alarm.events.v1",
        source_partition=0,
        source_offset=0,
        controller=policy_id,
        category=category,
        subject_ref="subject-ref-1",
        captured_at=captured_at,
        police_relevant=police_relevant,
        blob_uri=None,
        sha256=None,
        legal_basis=None,
        content_digest="d1",
        ingested_at=captured_at,
        due_at=due.at,
        rule=due.rule,
        policy=due.policy,
    )
    # Arrived scheduled: rescheduling on the same facts changes nothing.
    assert not reschedule(item, None, policy, "ingested", captured_at)
    assert item.state == (ItemState.WAITING if due.at is None else ItemState.SCHEDULED)
    assert due.at is None or due.at >= captured_at
