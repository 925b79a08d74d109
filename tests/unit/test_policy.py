"""Rules, terms and the policy-file reader, on small policies written here."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from lethe.domain.calendar import Period
from lethe.domain.policy import (
    Anchor,
    ItemFacts,
    PolicyError,
    PolicyFileError,
    Rule,
    Term,
    UnknownCategoryError,
    parse_expression,
    parse_policy,
)

OSLO = ZoneInfo("Europe/Oslo")

POLICY = """
policy = "test-arc"
version = "2024-10-25.1"
zone = "Europe/Oslo"
source = "Test ARC AS, personvernerklæring 25.10.24"

[rules.image]
due = "captured + 7 days"
police_due = "captured + 30 days"
text = "Slettes etter 7 dager."

[rules.event]
due = "min(captured + 5 years, relationship-end + 3 years)"

[rules.identity]
due = "relationship-end + 12 months"

[rules.contract]
due = "relationship-end + 5 full accounting years"
legal_obligation = true

[rules.interest]
due = "last-contact + 3 years"

[rules.call]
due = "on arrival"
"""


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


def facts(captured: datetime, **more: object) -> ItemFacts:
    return ItemFacts(captured_at=captured, **more)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def policy():
    return parse_policy(POLICY, "test-arc.toml")


# --- What a policy answers -----------------------------------------------------------


def test_a_policy_is_referred_to_by_id_and_version(policy) -> None:
    assert policy.ref == "test-arc@2024-10-25.1"
    assert policy.zone == OSLO


def test_due_names_the_rule_and_the_policy_version(policy) -> None:
    due = policy.due("image", facts(utc(2026, 5, 1, 10)))
    # 2026-05-01 12:00 CEST + 7 days = 2026-05-08 12:00 CEST = 10:00Z.
    assert due.at == utc(2026, 5, 8, 10)
    assert due.rule == "image: captured + 7 days"
    assert due.policy == "test-arc@2024-10-25.1"


def test_the_police_term_replaces_the_normal_one(policy) -> None:
    due = policy.due("image", facts(utc(2026, 5, 1, 10), police_relevant=True))
    # 1 May + 30 days = 31 May, same wall-clock time.
    assert due.at == utc(2026, 5, 31, 10)
    assert due.rule == "image: captured + 30 days"


def test_the_police_flag_changes_nothing_for_a_rule_without_a_police_term(
    policy,
) -> None:
    flagged = facts(utc(2026, 5, 1, 10), police_relevant=True)
    assert policy.due("identity", flagged).at is None
    assert policy.rule_for("event").describe(police_relevant=True) == (
        "min(captured + 5 years, relationship-end + 3 years)"
    )


def test_min_takes_the_earliest_known_term(policy) -> None:
    rule = policy.rule_for("event")
    captured = utc(2026, 5, 1, 10)
    # Relationship not ended: only captured + 5 years is known.
    assert rule.due_at(facts(captured), OSLO) == utc(2031, 5, 1, 10)
    # Ended 2027-01-10 11:00Z: + 3 years = 2030-01-10 11:00Z, before 2031.
    ended = facts(captured, relationship_ended_at=utc(2027, 1, 10, 11))
    assert rule.due_at(ended, OSLO) == utc(2030, 1, 10, 11)


def test_a_relationship_end_rule_waits_until_the_relationship_ends(policy) -> None:
    assert policy.due("identity", facts(utc(2026, 5, 1, 10))).at is None
    assert policy.due("contract", facts(utc(2026, 5, 1, 10))).at is None


def test_due_is_never_before_the_item_was_captured(policy) -> None:
    # Ended 2020-01-01 + 12 months = 2021-01-01, long before this 2026 capture.
    late = facts(utc(2026, 5, 1, 10), relationship_ended_at=utc(2020, 1, 1))
    assert policy.due("identity", late).at == utc(2026, 5, 1, 10)


def test_last_contact_is_the_later_of_capture_and_the_last_contact(policy) -> None:
    rule = policy.rule_for("interest")
    captured = utc(2024, 5, 2, 8)
    # No contact heard of: the capture is the contact. 2024-05-02 + 3 years.
    assert rule.due_at(facts(captured), OSLO) == utc(2027, 5, 2, 8)
    # An older contact does not pull the date earlier.
    older = facts(captured, last_contact_at=utc(2023, 1, 1))
    assert rule.due_at(older, OSLO) == utc(2027, 5, 2, 8)
    # 2025-03-10 10:00 CET (09:00Z) + 3 years = 2028-03-10 10:00 CET = 09:00Z.
    newer = facts(captured, last_contact_at=utc(2025, 3, 10, 9))
    assert rule.due_at(newer, OSLO) == utc(2028, 3, 10, 9)


def test_on_arrival_is_due_the_moment_it_is_captured(policy) -> None:
    captured = utc(2026, 5, 1, 10, 17, 3)
    assert policy.due("call", facts(captured)).at == captured
    assert policy.rule_for("call").describe() == "captured + 0 days"


def test_an_unknown_category_is_refused_with_the_known_ones(policy) -> None:
    with pytest.raises(UnknownCategoryError) as refused:
        policy.rule_for("marketing-reservation")
    message = str(refused.value)
    assert "test-arc" in message and "marketing-reservation" in message
    assert "contract, event, identity, image, interest" in message
    assert isinstance(refused.value, PolicyError)


def test_legal_obligation_is_read_and_defaults_to_false(policy) -> None:
    assert policy.rule_for("contract").legal_obligation is True
    assert policy.rule_for("image").legal_obligation is False


def test_naive_facts_are_refused() -> None:
    with pytest.raises(ValueError, match="captured_at"):
        ItemFacts(captured_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="relationship_ended_at"):
        ItemFacts(utc(2026, 1, 1), relationship_ended_at=datetime(2026, 2, 1))


# --- Expressions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("captured + 7 days", "captured + 7 days"),
        ("captured+3 months", "captured + 3 months"),
        ("relationship-end + 1 full accounting year", None),
        ("relationship-end + 5 full accounting years", None),
        ("last-contact + 3 years", None),
        ("on arrival", "captured + 0 days"),
        ("min(captured + 5 years, relationship-end + 3 years)", None),
        ("min(captured + 1 day, captured + 2 days, last-contact + 1 month)", None),
    ],
)
def test_an_expression_prints_back_as_written(text: str, printed: str | None) -> None:
    terms = parse_expression(text)
    rule = Rule(
        category="x",
        terms=terms,
        police_terms=None,
        legal_obligation=False,
        source_text="",
    )
    assert rule.describe() == (printed or text)


def test_a_term_is_a_period_or_accounting_years_never_both() -> None:
    with pytest.raises(ValueError):
        Term(Anchor.CAPTURED)
    with pytest.raises(ValueError):
        Term(Anchor.CAPTURED, period=Period(1, "days"), full_accounting_years=1)


# --- Refusing a bad file -------------------------------------------------------------


def _with(old: str, new: str) -> str:
    assert old in POLICY
    return POLICY.replace(old, new, 1)


BAD_FILES = {
    "unknown top-level key": (
        _with('zone = "Europe/Oslo"', 'zone = "Europe/Oslo"\nowner = "ops"'),
        "owner",
    ),
    "unknown rule key": (
        _with('due = "on arrival"', 'due = "on arrival"\nretention = "7 days"'),
        "rules.call.retention",
    ),
    "unknown anchor": (
        _with('due = "on arrival"', 'due = "created + 7 days"'),
        "rules.call.due: 'created' is not an anchor",
    ),
    "period in weeks": (
        _with('due = "on arrival"', 'due = "captured + 3 weeks"'),
        "rules.call.due: '3 weeks' is not a period (use days, months or years)",
    ),
    "bad police period": (
        _with(
            'police_due = "captured + 30 days"', 'police_due = "captured + 1 fortnight"'
        ),
        "rules.image.police_due",
    ),
    "bad zone": (_with('"Europe/Oslo"', '"Europe/Olso"'), "zone: 'Europe/Olso'"),
    "zone that is a directory": (_with('"Europe/Oslo"', '"Europe"'), "zone: 'Europe'"),
    "missing version": (_with('version = "2024-10-25.1"', ""), "version: missing"),
    "version not quoted": (_with('"2024-10-25.1"', "2024-10-25"), "version"),
    "version without a revision": (_with('"2024-10-25.1"', '"2024-10-25"'), "version"),
    "missing due": (_with('due = "on arrival"', ""), "rules.call.due: missing"),
    "duplicate rule": (POLICY + '\n[rules.call]\ndue = "captured + 1 day"\n', "call"),
    "category not kebab": (
        _with("[rules.call]", "[rules.Call_Recording]"),
        "Call_Recording",
    ),
    "min of one term": (
        _with('"on arrival"', '"min(captured + 1 day)"'),
        "rules.call.due",
    ),
    "legal obligation not a boolean": (
        _with("legal_obligation = true", 'legal_obligation = "yes"'),
        "rules.contract.legal_obligation",
    ),
    "not TOML at all": (POLICY + "\nthis is not toml\n", "line"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_file_is_refused_naming_the_file_and_the_key(case: str) -> None:
    text, key = BAD_FILES[case]
    with pytest.raises(PolicyFileError) as refused:
        parse_policy(text, "test-arc.toml")
    message = str(refused.value)
    assert message.startswith("test-arc.toml: "), message
    assert key in message, message


def test_a_policy_without_rules_is_refused() -> None:
    header = POLICY.split("[rules.image]")[0]
    for text in (header, header + "[rules]\n"):
        with pytest.raises(PolicyFileError, match=r"^empty\.toml: rules: "):
            parse_policy(text, "empty.toml")


def test_the_weeks_refusal_reads_as_one_sentence_for_support() -> None:
    text = _with('due = "on arrival"', 'due = "captured + 3 weeks"')
    with pytest.raises(PolicyFileError) as refused:
        parse_policy(text, "sector-alarm.toml")
    assert str(refused.value) == (
        "sector-alarm.toml: rules.call.due: "
        "'3 weeks' is not a period (use days, months or years)"
    )
