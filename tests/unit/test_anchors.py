"""The contract-end and onboarded anchors: the same calendar as every other.

Counting, waiting, the shipped rules that use them (customer-identity and
paper-original), and the subject facts that feed them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.domain.calendar import Period, add_period, full_accounting_years_after
from lethe.domain.item import Item
from lethe.domain.policy import Anchor, ItemFacts, Term, parse_policy
from lethe.domain.reconcile import apply_subject, first_due
from lethe.domain.subject import Subject
from lethe.policies import load_shipped

OSLO = ZoneInfo("Europe/Oslo")
SECTOR = load_shipped("sector-alarm")
CAPTURED = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)  # before every anchor below

TEST_POLICY = parse_policy(
    """
policy = "test-anchors"
version = "2024-10-25.1"
zone = "Europe/Oslo"
source = "test"

[rules.identity]
due = "contract-end + 12 months"

[rules.paper]
due = "onboarded + 30 days"

[rules.ledger]
due = "contract-end + 5 full accounting years"

[rules.month]
due = "contract-end + 1 month"
""",
    "test-anchors.toml",
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def due(category: str, **facts: datetime) -> datetime | None:
    return TEST_POLICY.due(category, ItemFacts(CAPTURED, **facts)).at  # type: ignore[arg-type]


# -- counting: DST, month ends, leap days ----------------------------------------------


def test_onboarded_plus_thirty_days_keeps_the_wall_clock_across_spring_forward() -> (
    None
):
    # 25 March 12:00 CET + 30 days = 24 April 12:00 CEST (DST began 29 March).
    assert due("paper", onboarded_at=at("2026-03-25T12:00:00+01:00")) == at(
        "2026-04-24T10:00:00+00:00"
    )


def test_contract_end_plus_twelve_months_keeps_the_wall_clock_across_fall_back() -> (
    None
):
    # 1 August 00:00 CEST ends; 1 August next year 00:00 CEST, not 23:00 or 01:00.
    assert due("identity", contract_ended_at=at("2026-08-01T00:00:00+02:00")) == at(
        "2027-07-31T22:00:00+00:00"
    )
    # Ended in winter time, due in winter time: 15 Nov 10:00 CET both years.
    assert due("identity", contract_ended_at=at("2026-11-15T10:00:00+01:00")) == at(
        "2027-11-15T09:00:00+00:00"
    )


def test_a_contract_ended_on_a_month_end_is_due_on_the_shorter_months_end() -> None:
    assert due("month", contract_ended_at=at("2027-01-31T12:00:00+01:00")) == at(
        "2027-02-28T11:00:00+00:00"
    )
    assert due("month", contract_ended_at=at("2028-01-31T12:00:00+01:00")) == at(
        "2028-02-29T11:00:00+00:00"
    )


def test_a_contract_ended_on_a_leap_day_is_due_on_28_february() -> None:
    assert due("identity", contract_ended_at=at("2028-02-29T12:00:00+01:00")) == at(
        "2029-02-28T11:00:00+00:00"
    )


def test_an_onboarding_in_the_repeated_autumn_hour_counts_from_itself() -> None:
    # 02:30 happens twice on 25 October 2026; the second (CET, 01:30Z) + 30 days
    # is 24 November 02:30 CET = 01:30Z.
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert due("paper", onboarded_at=second) == at("2026-11-24T01:30:00+00:00")


def test_full_accounting_years_count_from_the_contract_ends_local_year() -> None:
    # 31 Dec 23:30 CET is still 2026 in Oslo though 2027 is not far off in UTC
    # terms: full years 2027..2031, due 1 Jan 2032 00:00 CET.
    ended = at("2026-12-31T23:30:00+01:00")
    assert due("ledger", contract_ended_at=ended) == at("2031-12-31T23:00:00+00:00")


aware = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2060, 12, 31),
    timezones=st.just(UTC),
)
periods = st.builds(
    Period,
    st.integers(min_value=0, max_value=400),
    st.sampled_from(["days", "months", "years"]),
)
LIFECYCLE_ANCHORS = [Anchor.RELATIONSHIP_END, Anchor.CONTRACT_END, Anchor.ONBOARDED]
FIELD_OF = {
    Anchor.RELATIONSHIP_END: "relationship_ended_at",
    Anchor.CONTRACT_END: "contract_ended_at",
    Anchor.ONBOARDED: "onboarded_at",
}


@given(anchor=st.sampled_from(LIFECYCLE_ANCHORS), start=aware, period=periods)
def test_every_lifecycle_anchor_counts_on_the_one_calendar(
    anchor: Anchor, start: datetime, period: Period
) -> None:
    facts = ItemFacts(CAPTURED, **{FIELD_OF[anchor]: start})  # type: ignore[arg-type]
    term = Term(anchor, period=period)
    assert term.apply(facts, OSLO) == add_period(start, period, OSLO)
    # The same instant as relationship's end counts identically.
    same = ItemFacts(CAPTURED, relationship_ended_at=start)
    assert term.apply(facts, OSLO) == Term(
        Anchor.RELATIONSHIP_END, period=period
    ).apply(same, OSLO)


@given(
    anchor=st.sampled_from(LIFECYCLE_ANCHORS),
    start=aware,
    years=st.integers(min_value=0, max_value=10),
)
def test_accounting_years_count_the_same_from_every_anchor(
    anchor: Anchor, start: datetime, years: int
) -> None:
    facts = ItemFacts(CAPTURED, **{FIELD_OF[anchor]: start})  # type: ignore[arg-type]
    term = Term(anchor, full_accounting_years=years)
    assert term.apply(facts, OSLO) == full_accounting_years_after(start, years, OSLO)


@given(anchor=st.sampled_from(LIFECYCLE_ANCHORS), start=aware, period=periods)
def test_a_lifecycle_term_is_never_due_before_its_anchor(
    anchor: Anchor, start: datetime, period: Period
) -> None:
    facts = ItemFacts(CAPTURED, **{FIELD_OF[anchor]: start})  # type: ignore[arg-type]
    result = Term(anchor, period=period).apply(facts, OSLO)
    assert result is not None and result >= start


# -- waiting ---------------------------------------------------------------------------


def test_a_contract_end_rule_waits_until_the_contract_ends() -> None:
    assert due("identity") is None
    assert (
        due("identity", relationship_ended_at=at("2026-07-15T12:00:00+02:00")) is None
    )
    assert TEST_POLICY.rule_for("identity").waits(ItemFacts(CAPTURED)) == (
        Anchor.CONTRACT_END,
    )


def test_an_onboarded_rule_waits_until_onboarding_is_known() -> None:
    assert due("paper") is None
    assert TEST_POLICY.rule_for("paper").anchors() == (Anchor.ONBOARDED,)


# -- the shipped rules -----------------------------------------------------------------

JUNE_1 = at("2026-06-01T00:00:00+02:00")
JULY_15 = at("2026-07-15T12:00:00+02:00")


def identity_due(**facts: datetime) -> datetime | None:
    return SECTOR.due("customer-identity", ItemFacts(CAPTURED, **facts)).at  # type: ignore[arg-type]


def test_identity_is_due_twelve_months_after_the_contract_not_the_last_invoice() -> (
    None
):
    # The case: ended 1 June, paid up 15 July -> due 1 June next year.
    assert identity_due(contract_ended_at=JUNE_1, relationship_ended_at=JULY_15) == at(
        "2027-06-01T00:00:00+02:00"
    )


def test_identity_counts_from_the_relationship_when_no_contract_end_came() -> None:
    # The latest the contract can have ended: never early, late by at most the
    # time between contract end and last payment.
    assert identity_due(relationship_ended_at=JULY_15) == at(
        "2027-07-15T12:00:00+02:00"
    )


def test_identity_waits_while_neither_end_is_known() -> None:
    assert identity_due() is None


def test_paper_original_is_due_thirty_days_after_onboarding() -> None:
    captured = at("2026-03-10T09:00:00+01:00")
    onboarded = at("2026-03-02T09:00:00+01:00")
    facts = ItemFacts(captured, onboarded_at=onboarded)
    assert SECTOR.due("paper-original", facts).at == at("2026-04-01T09:00:00+02:00")
    # Without onboarding the scan's capture stands in.
    alone = SECTOR.due("paper-original", ItemFacts(captured)).at
    assert alone == at("2026-04-09T09:00:00+02:00")


def test_a_paper_original_scanned_after_its_deadline_is_due_on_arrival() -> None:
    captured = at("2026-05-01T09:00:00+02:00")
    facts = ItemFacts(captured, onboarded_at=at("2026-03-02T09:00:00+01:00"))
    assert SECTOR.due("paper-original", facts).at == captured


@given(
    contract=aware,
    gap=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_identity_never_outlives_either_promise_and_prefers_the_contracts(
    contract: datetime, gap: timedelta
) -> None:
    relationship = contract + gap  # the last invoice is paid at or after the end
    year = Period(12, "months")
    both = identity_due(contract_ended_at=contract, relationship_ended_at=relationship)
    only_relationship = identity_due(relationship_ended_at=relationship)
    only_contract = identity_due(contract_ended_at=contract)
    expected = max(add_period(contract, year, OSLO), CAPTURED)
    assert both == only_contract == expected
    assert only_relationship == max(add_period(relationship, year, OSLO), CAPTURED)
    # The fallback is never earlier than the promise: no erasure on a guess.
    assert only_relationship is not None and only_relationship >= expected


# -- the subject's facts ---------------------------------------------------------------


def identity_item() -> Item:
    first = first_due(SECTOR, "customer-identity", CAPTURED, police_relevant=False)
    return Item(
        item_ref="id-1",
        kind="alarm-event",
        source_topic="customer.identity",
        source_partition=0,
        source_offset=1,
        controller="sector-alarm",
        category="customer-identity",
        subject_ref="ref-1",
        captured_at=CAPTURED,
        police_relevant=False,
        blob_uri=None,
        sha256=None,
        legal_basis=None,
        content_digest="d",
        ingested_at=CAPTURED,
        due_at=first.at,
        rule=first.rule,
        policy=first.policy,
    )


def subject() -> Subject:
    return Subject(
        subject_ref="ref-1",
        controller="sector-alarm",
        subject_seal=b"\x01",
        at=CAPTURED,
    )


def test_a_subjects_contract_end_schedules_its_identity_items() -> None:
    item, customer = identity_item(), subject()
    assert item.due_at is None
    customer.end_contract(ended_at=JUNE_1, at=JUNE_1)
    assert apply_subject(item, customer, SECTOR, "contract-ended", JUNE_1)
    assert item.due_at == at("2027-06-01T00:00:00+02:00")
    # The last invoice, paid later, moves nothing.
    customer.end_relationship(ended_at=JULY_15, at=JULY_15)
    assert not apply_subject(item, customer, SECTOR, "relationship-ended", JULY_15)
    assert item.due_at == at("2027-06-01T00:00:00+02:00")


def test_the_relationship_first_then_the_contract_moves_identity_earlier() -> None:
    item, customer = identity_item(), subject()
    customer.end_relationship(ended_at=JULY_15, at=JULY_15)
    apply_subject(item, customer, SECTOR, "relationship-ended", JULY_15)
    assert item.due_at == at("2027-07-15T12:00:00+02:00")
    late = JULY_15 + timedelta(days=3)
    customer.end_contract(ended_at=JUNE_1, at=late)
    assert apply_subject(item, customer, SECTOR, "contract-ended", late)
    assert item.due_at == at("2027-06-01T00:00:00+02:00")


def test_a_resumed_relationship_undoes_the_contracts_end() -> None:
    item, customer = identity_item(), subject()
    customer.end_contract(ended_at=JUNE_1, at=JUNE_1)
    apply_subject(item, customer, SECTOR, "contract-ended", JUNE_1)
    customer.resume_relationship(resumed_at=JULY_15, at=JULY_15)
    assert customer.contract_ended_at is None
    assert apply_subject(item, customer, SECTOR, "relationship-resumed", JULY_15)
    assert item.due_at is None


@pytest.mark.parametrize("kind", ["ContractEnded", "Onboarded"])
def test_the_new_subject_events_replay(kind: str) -> None:
    customer = subject()
    if kind == "ContractEnded":
        customer.end_contract(ended_at=JUNE_1, at=JUNE_1)
    else:
        customer.onboard(onboarded_at=JUNE_1, at=JUNE_1)
    events = customer.collect_events()
    assert type(events[-1]).__name__ == kind
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert (replayed.contract_ended_at, replayed.onboarded_at) == (
        (JUNE_1, None) if kind == "ContractEnded" else (None, JUNE_1)
    )
