"""The shipped policies: what they say, computed by hand from the notices."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.domain.policy import ItemFacts, UnknownPolicyError
from lethe.policies import load_previous, load_shipped, shipped_ids

SECTOR = load_shipped("sector-alarm")

# DESIGN.md, "Retention rules (shipped policy sector-alarm, from seed 003)".
DESIGN_CATEGORIES = [
    "arming-log",
    "alarm-event",
    "verification-image",
    "alarm-call-recording",
    "service-call-recording",
    "contact-form",
    "customer-identity",
    "onboarding",
    "customer-activity",
    "portal-activity",
    "contract",
    "invoice",
]

# Every shipped rule as a support person reads it; a change here is a legal change.
EXPECTED = {
    "sector-alarm@2024-10-25.1": {
        "arming-log": ("captured + 3 months", None, False),
        "alarm-event": (
            "min(captured + 5 years, relationship-end + 3 years)",
            None,
            False,
        ),
        "verification-image": ("captured + 7 days", "captured + 30 days", False),
        "alarm-call-recording": ("captured + 12 months", None, True),
        "service-call-recording": ("captured + 45 days", None, False),
        "contact-form": ("captured + 12 months", None, False),
        "customer-identity": ("relationship-end + 12 months", None, False),
        "onboarding": ("relationship-end + 12 months", None, False),
        "customer-activity": ("relationship-end + 12 months", None, False),
        "portal-activity": ("relationship-end + 12 months", None, False),
        "contract": ("relationship-end + 5 full accounting years", None, True),
        "invoice": ("relationship-end + 5 full accounting years", None, True),
        "accounting-archive-identity": ("relationship-end + 5 years", None, True),
        "paper-original": ("captured + 30 days", None, False),
        "backup": ("captured + 2 years", None, False),
        "do-not-knock-address": ("captured + 7 years", None, False),
    },
    "sector-alarm@2024-10-25.2": {
        "arming-log": ("captured + 3 months", None, False),
        "alarm-event": (
            "min(captured + 5 years, relationship-end + 3 years)",
            None,
            False,
        ),
        "verification-image": ("captured + 7 days", "captured + 30 days", False),
        "alarm-call-recording": ("captured + 12 months", None, True),
        "service-call-recording": ("captured + 45 days", None, False),
        "contact-form": ("captured + 12 months", None, False),
        "customer-identity": (
            "min(contract-end + 12 months, relationship-end + 12 months)",
            None,
            False,
        ),
        "onboarding": ("relationship-end + 12 months", None, False),
        "customer-activity": ("relationship-end + 12 months", None, False),
        "portal-activity": ("relationship-end + 12 months", None, False),
        "contract": ("relationship-end + 5 full accounting years", None, True),
        "invoice": ("relationship-end + 5 full accounting years", None, True),
        "accounting-archive-identity": ("relationship-end + 5 years", None, True),
        "paper-original": (
            "min(onboarded + 30 days, captured + 30 days)",
            None,
            False,
        ),
        "backup": ("captured + 2 years", None, False),
        "do-not-knock-address": ("captured + 7 years", None, False),
    },
    "hedengren@2023-10-13.1": {
        "legitimate-interest": ("last-contact + 3 years", None, False),
        "purchase-record": ("captured + 5 full accounting years", None, True),
    },
    "sensornordic@2026-01-01.1": {
        "support-email": ("captured + 3 years", None, False),
        "service-call-recording": ("captured + 0 days", None, False),
    },
}


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_three_policies_are_shipped() -> None:
    assert shipped_ids() == ["hedengren", "sector-alarm", "sensornordic"]


@pytest.mark.parametrize("policy_id", ["hedengren", "sector-alarm", "sensornordic"])
def test_each_shipped_rule_reads_as_the_notice_says(policy_id: str) -> None:
    policy = load_shipped(policy_id)
    read = {
        category: (
            rule.describe(),
            rule.describe(police_relevant=True) if rule.police_terms else None,
            rule.legal_obligation,
        )
        for category, rule in policy.rules.items()
    }
    assert read == EXPECTED[policy.ref]
    assert str(policy.zone) == "Europe/Oslo"


def test_each_previous_version_ships_unchanged_beside_the_current() -> None:
    # Items it scheduled keep it: its rules must read as they did, for good.
    previous = {policy.ref: policy for policy in load_previous()}
    assert set(previous) == {"sector-alarm@2024-10-25.1"}
    for ref, policy in previous.items():
        read = {
            category: (
                rule.describe(),
                rule.describe(police_relevant=True) if rule.police_terms else None,
                rule.legal_obligation,
            )
            for category, rule in policy.rules.items()
        }
        assert read == EXPECTED[ref]
        assert load_shipped(policy.id).ref != ref


@pytest.mark.parametrize("category", DESIGN_CATEGORIES)
def test_every_category_in_the_design_table_is_in_sector_alarm(category: str) -> None:
    assert category in SECTOR.rules


def test_every_shipped_rule_quotes_its_norwegian_sentence() -> None:
    for policy_id in shipped_ids():
        policy = load_shipped(policy_id)
        assert policy.source
        for rule in policy.rules.values():
            assert len(rule.source_text) > 20, (policy_id, rule.category)


def test_marketing_reservations_have_no_rule() -> None:
    # "blir som en generell regel ikke slettet": no period to encode.
    assert not any("marketing" in category for category in SECTOR.rules)


def test_an_unknown_policy_is_refused_with_the_shipped_ones() -> None:
    with pytest.raises(
        UnknownPolicyError, match="hedengren, sector-alarm, sensornordic"
    ):
        load_shipped("proff-security")


# --- Sector Alarm, by hand -----------------------------------------------------------


def test_a_verification_image_is_kept_seven_days_across_the_dst_change() -> None:
    # 2026-03-25 12:00 CET + 7 days = 2026-04-01 12:00, now CEST (DST began
    # 29 March): 12:00 CEST = 10:00Z.
    due = SECTOR.due("verification-image", ItemFacts(at("2026-03-25T12:00:00+01:00")))
    assert due.at == at("2026-04-01T10:00:00+00:00")
    assert due.policy == "sector-alarm@2024-10-25.2"


def test_an_image_flagged_for_police_is_kept_thirty_days_from_capture() -> None:
    # "kan lagres i 30 dager": 25 March + 30 days = 24 April 12:00 CEST = 10:00Z
    # (not 7 + 30 days).
    flagged = ItemFacts(at("2026-03-25T12:00:00+01:00"), police_relevant=True)
    due = SECTOR.due("verification-image", flagged)
    assert due.at == at("2026-04-24T10:00:00+00:00")
    assert due.rule == "verification-image: captured + 30 days"


def test_a_contract_goes_after_five_full_accounting_years() -> None:
    # Ended 2026-06-15; full years 2027..2031; 2032-01-01 00:00 CET = 23:00Z.
    facts = ItemFacts(utc(2024, 3, 1), relationship_ended_at=utc(2026, 6, 15, 10))
    assert SECTOR.due("contract", facts).at == utc(2031, 12, 31, 23)


def test_an_end_just_after_midnight_on_new_year_counts_in_oslo_time() -> None:
    # 2026-12-31 23:30Z is 2027-01-01 00:30 in Oslo: the end falls in 2027; full
    # years 2028..2032; due 2033-01-01 00:00 CET = 2032-12-31 23:00Z.
    facts = ItemFacts(utc(2024, 3, 1), relationship_ended_at=utc(2026, 12, 31, 23, 30))
    assert SECTOR.due("invoice", facts).at == utc(2032, 12, 31, 23)


def test_alarm_history_of_an_active_customer_goes_after_five_years() -> None:
    # 2026-03-25 12:00 CET + 5 years = 2031-03-25 12:00 CET (DST starts 30 March
    # 2031) = 11:00Z; the relationship has not ended.
    facts = ItemFacts(at("2026-03-25T12:00:00+01:00"))
    assert SECTOR.due("alarm-event", facts).at == utc(2031, 3, 25, 11)


def test_alarm_history_goes_three_years_after_the_end_when_that_is_sooner() -> None:
    # Ended 2027-06-01 12:00 CEST + 3 years = 2030-06-01 12:00 CEST = 10:00Z,
    # sooner than 2031-03-25.
    facts = ItemFacts(
        at("2026-03-25T12:00:00+01:00"), relationship_ended_at=utc(2027, 6, 1, 10)
    )
    assert SECTOR.due("alarm-event", facts).at == utc(2030, 6, 1, 10)


def test_alarm_history_keeps_its_five_years_when_the_end_is_late() -> None:
    # Ended 2029-06-01 + 3 years = 2032-06-01: later than 2031-03-25 11:00Z.
    facts = ItemFacts(
        at("2026-03-25T12:00:00+01:00"), relationship_ended_at=utc(2029, 6, 1, 10)
    )
    assert SECTOR.due("alarm-event", facts).at == utc(2031, 3, 25, 11)


def test_customer_identity_waits_for_the_end_of_the_relationship() -> None:
    captured = utc(2025, 2, 1, 9)
    assert SECTOR.due("customer-identity", ItemFacts(captured)).at is None
    # Ended 2026-06-15 12:00 CEST + 12 months = 2027-06-15 12:00 CEST = 10:00Z.
    ended = ItemFacts(captured, relationship_ended_at=utc(2026, 6, 15, 10))
    assert SECTOR.due("customer-identity", ended).at == utc(2027, 6, 15, 10)


def test_an_item_captured_long_after_the_end_is_not_due_before_its_capture() -> None:
    # Ended 2026-06-15 + 12 months = 2027-06-15, but captured 2028-01-10.
    facts = ItemFacts(utc(2028, 1, 10, 12), relationship_ended_at=utc(2026, 6, 15))
    assert SECTOR.due("portal-activity", facts).at == utc(2028, 1, 10, 12)


# --- Hedengren and SensorNordic, by hand ---------------------------------------------


def test_hedengren_keeps_legitimate_interest_data_three_years_from_last_contact() -> (
    None
):
    hedengren = load_shipped("hedengren")
    # Last contact 2025-03-10 10:00 CET (09:00Z) + 3 years = 2028-03-10 09:00Z.
    facts = ItemFacts(utc(2024, 5, 2, 8), last_contact_at=utc(2025, 3, 10, 9))
    assert hedengren.due("legitimate-interest", facts).at == utc(2028, 3, 10, 9)
    # Purchase 2024-05-02: full years 2025..2029 -> 2030-01-01 00:00 CET.
    assert hedengren.due("purchase-record", facts).at == utc(2029, 12, 31, 23)


def test_sensornordic_erases_customer_service_calls_on_arrival() -> None:
    sensornordic = load_shipped("sensornordic")
    captured = utc(2026, 2, 3, 14, 5, 9)
    assert (
        sensornordic.due("service-call-recording", ItemFacts(captured)).at == captured
    )
    # Support e-mail 2026-02-03 15:05 CET + 3 years = 2029-02-03 14:05Z.
    due = sensornordic.due("support-email", ItemFacts(captured))
    assert due.at == utc(2029, 2, 3, 14, 5, 9)


# --- Properties over every shipped rule ----------------------------------------------

SHIPPED_RULES = [(p, c) for p in shipped_ids() for c in load_shipped(p).rules]
INSTANTS = st.datetimes(
    datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)
)
FACTS = st.builds(
    ItemFacts,
    captured_at=INSTANTS,
    police_relevant=st.booleans(),
    relationship_ended_at=st.none() | INSTANTS,
    last_contact_at=st.none() | INSTANTS,
)


@given(st.sampled_from(SHIPPED_RULES), FACTS)
def test_no_shipped_rule_is_due_before_the_item_was_captured(
    rule_id: tuple[str, str], facts: ItemFacts
) -> None:
    due = load_shipped(rule_id[0]).due(rule_id[1], facts)
    assert due.at is None or (due.at >= facts.captured_at and due.at.tzinfo is UTC)


@given(FACTS)
def test_the_alarm_event_rule_is_the_earlier_of_its_two_terms(facts: ItemFacts) -> None:
    rule = SECTOR.rule_for("alarm-event")
    known = [t.apply(facts, SECTOR.zone) for t in rule.terms]
    expected = min(d for d in known if d is not None)
    assert rule.due_at(facts, SECTOR.zone) == max(expected, facts.captured_at)
