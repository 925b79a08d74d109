"""Retention policies as data: rules that turn an item's facts into a due instant."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lethe.domain.calendar import (
    Period,
    add_period,
    full_accounting_years_after,
    parse_period,
)


class PolicyError(ValueError):
    """A policy that cannot be read or a question it cannot answer."""


class PolicyFileError(PolicyError):
    """A policy file that is malformed; the message names the file and the key."""


class UnknownCategoryError(PolicyError):
    def __init__(
        self, policy_id: str, category: str, known: Iterable[str] = ()
    ) -> None:
        self.policy_id, self.category, self.known = policy_id, category, sorted(known)
        super().__init__(
            f"policy {policy_id!r} has no rule for category {category!r} "
            f"(known: {', '.join(self.known) or 'none'})"
        )


class UnknownPolicyError(PolicyError):
    """No policy with that id; the message lists the ones there are."""


class Anchor(StrEnum):
    CAPTURED = "captured"
    RELATIONSHIP_END = "relationship-end"
    LAST_CONTACT = "last-contact"
    CONTRACT_END = "contract-end"
    ONBOARDED = "onboarded"

    @property
    def always_known(self) -> bool:
        """Known from the item alone; the others wait for a lifecycle record."""
        return self in (Anchor.CAPTURED, Anchor.LAST_CONTACT)


@dataclass(frozen=True)
class ItemFacts:
    """What the rules may look at; every instant is aware."""

    captured_at: datetime
    police_relevant: bool = False
    relationship_ended_at: datetime | None = None
    last_contact_at: datetime | None = None
    contract_ended_at: datetime | None = None
    onboarded_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in (
            "captured_at",
            "relationship_ended_at",
            "last_contact_at",
            "contract_ended_at",
            "onboarded_at",
        ):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} must be aware, got {value.isoformat()}")

    def anchor_at(self, anchor: Anchor) -> datetime | None:
        if anchor is Anchor.CAPTURED:
            return self.captured_at
        if anchor is Anchor.RELATIONSHIP_END:
            return self.relationship_ended_at
        if anchor is Anchor.CONTRACT_END:
            return self.contract_ended_at
        if anchor is Anchor.ONBOARDED:
            return self.onboarded_at
        # The item's own capture is a contact, so last contact is always known.
        return max(self.captured_at, self.last_contact_at or self.captured_at)


@dataclass(frozen=True)
class Term:
    """One "anchor + period" or "anchor + N full accounting years"."""

    anchor: Anchor
    period: Period | None = None
    full_accounting_years: int | None = None

    def __post_init__(self) -> None:
        if (self.period is None) == (self.full_accounting_years is None):
            raise ValueError("a term has either a period or full accounting years")
        if self.full_accounting_years is not None and self.full_accounting_years < 0:
            raise ValueError("full accounting years cannot be negative")

    def apply(self, facts: ItemFacts, zone: ZoneInfo) -> datetime | None:
        start = facts.anchor_at(self.anchor)
        if start is None:
            return None
        if self.period is not None:
            return add_period(start, self.period, zone)
        return full_accounting_years_after(start, self.full_accounting_years or 0, zone)

    def __str__(self) -> str:
        if self.period is not None:
            return f"{self.anchor} + {self.period}"
        years = self.full_accounting_years
        plural = "" if years == 1 else "s"
        return f"{self.anchor} + {years} full accounting year{plural}"


@dataclass(frozen=True)
class Rule:
    """How long one category of item is kept, and the notice sentence saying so."""

    category: str
    terms: tuple[Term, ...]
    police_terms: tuple[Term, ...] | None = None
    legal_obligation: bool = False
    source_text: str = ""

    def __post_init__(self) -> None:
        if not self.terms or self.police_terms == ():
            raise ValueError(f"rule {self.category!r} needs at least one term")

    def due_at(self, facts: ItemFacts, zone: ZoneInfo) -> datetime | None:
        terms = self._terms_for(facts.police_relevant)
        known = [at for at in (t.apply(facts, zone) for t in terms) if at is not None]
        if not known:
            return None
        # A period anchored before the capture (a relationship that ended before
        # the item arrived) must not date the erasure before the item existed.
        return max(min(known), facts.captured_at.astimezone(UTC))

    def describe(self, police_relevant: bool = False) -> str:
        return self._descriptions[police_relevant]

    def anchors(self, police_relevant: bool = False) -> tuple[Anchor, ...]:
        """The facts the rule counts from, in the order its terms name them."""
        terms = self._terms_for(police_relevant)
        return tuple(dict.fromkeys(term.anchor for term in terms))

    def waits(self, facts: ItemFacts) -> tuple[Anchor, ...]:
        """Anchors not yet known whose arrival could still move the due instant."""
        return tuple(
            a
            for a in self.anchors(facts.police_relevant)
            if not a.always_known and facts.anchor_at(a) is None
        )

    def expression(self, police_relevant: bool = False) -> str:
        """What an item's schedule names as its rule: `category: description`."""
        return self._expressions[police_relevant]

    @cached_property
    def _descriptions(self) -> dict[bool, str]:
        # Written once per rule, not once per item scheduled.
        return {p: _describe(self._terms_for(p)) for p in (False, True)}

    @cached_property
    def _expressions(self) -> dict[bool, str]:
        return {p: f"{self.category}: {self._descriptions[p]}" for p in (False, True)}

    def _terms_for(self, police_relevant: bool) -> tuple[Term, ...]:
        if police_relevant and self.police_terms is not None:
            return self.police_terms
        return self.terms


def _describe(terms: tuple[Term, ...]) -> str:
    if len(terms) == 1:
        return str(terms[0])
    return f"min({', '.join(str(t) for t in terms)})"


@dataclass(frozen=True)
class Due:
    at: datetime | None
    rule: str
    policy: str


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    zone: ZoneInfo
    source: str
    rules: Mapping[str, Rule] = field(hash=False)

    @cached_property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def rule_for(self, category: str) -> Rule:
        try:
            return self.rules[category]
        except KeyError:
            raise UnknownCategoryError(self.id, category, self.rules) from None

    def due(self, category: str, facts: ItemFacts) -> Due:
        rule = self.rule_for(category)
        # `rule` names the expression that set the time (the police variant
        # when it applied), so the audit trail shows why, not only when.
        expression = rule.expression(facts.police_relevant)
        return Due(at=rule.due_at(facts, self.zone), rule=expression, policy=self.ref)


# --- Reading policy files -------------------------------------------------------

_KEBAB = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_VERSION = re.compile(r"(\d{4}-\d{2}-\d{2})\.(\d+)")
_TERM = re.compile(r"(?P<anchor>[a-z-]+)\s*\+\s*(?P<length>.+)")
_ACCOUNTING = re.compile(r"(\d+)\s+full\s+accounting\s+years?")
_MIN = re.compile(r"min\s*\((?P<inner>.*)\)", re.DOTALL)
_TOP_KEYS = {"policy", "version", "zone", "source", "rules"}
_RULE_KEYS = {"due", "police_due", "legal_obligation", "text"}


def parse_policy(text: str, source: str) -> Policy:
    """Read one policy file's TOML; `source` (the file name) prefixes every error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyFileError(f"{source}: {error}") from None
    try:
        return _policy(data)
    except ValueError as error:
        raise PolicyFileError(f"{source}: {error}") from None


def parse_expression(text: str) -> tuple[Term, ...]:
    """Read `ANCHOR + N UNIT`, `ANCHOR + N full accounting years`, `min(...)`."""
    match = _MIN.fullmatch(text.strip())
    if match is None:
        return (_term(text),)
    parts = match.group("inner").split(",")
    if len(parts) < 2:
        raise ValueError(f"{text!r}: min() needs two or more terms")
    return tuple(_term(part) for part in parts)


def _term(text: str) -> Term:
    text = text.strip()
    if text == "on arrival":
        # "Not stored": due the moment it is captured, so it is erased on arrival.
        return Term(Anchor.CAPTURED, period=Period(0, "days"))
    match = _TERM.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a term (write ANCHOR + N days|months|years, "
            "ANCHOR + N full accounting years, or on arrival)"
        )
    anchor, length = _anchor(match.group("anchor")), match.group("length").strip()
    accounting = _ACCOUNTING.fullmatch(length)
    if accounting is not None:
        return Term(anchor, full_accounting_years=int(accounting.group(1)))
    return Term(anchor, period=parse_period(length))


def _anchor(text: str) -> Anchor:
    try:
        return Anchor(text)
    except ValueError:
        known = ", ".join(a.value for a in Anchor)
        raise ValueError(f"{text!r} is not an anchor (use {known})") from None


def _policy(data: dict[str, Any]) -> Policy:
    _refuse_unknown_keys(data, _TOP_KEYS, "")
    policy_id = _kebab(_string(data, "policy", ""), "policy")
    rules = data.get("rules")
    if not isinstance(rules, dict) or not rules:
        raise ValueError("rules: a policy needs at least one [rules.<category>] table")
    return Policy(
        id=policy_id,
        version=_version(_string(data, "version", "")),
        zone=_zone(_string(data, "zone", "")),
        source=_string(data, "source", ""),
        rules=MappingProxyType({name: _rule(name, b) for name, b in rules.items()}),
    )


def _rule(category: str, body: Any) -> Rule:
    where = f"rules.{category}"
    _kebab(category, where)
    if not isinstance(body, dict):
        raise ValueError(f'{where}: expected a table with due = "..."')
    _refuse_unknown_keys(body, _RULE_KEYS, f"{where}.")
    legal_obligation = body.get("legal_obligation", False)
    if not isinstance(legal_obligation, bool):
        raise ValueError(f"{where}.legal_obligation: must be true or false")
    text = body.get("text", "")
    if not isinstance(text, str):
        raise ValueError(f"{where}.text: must be a string")
    return Rule(
        category=category,
        terms=_expression(body, "due", where),
        police_terms=_expression(body, "police_due", where)
        if "police_due" in body
        else None,
        legal_obligation=legal_obligation,
        source_text=text.strip(),
    )


def _expression(body: Mapping[str, Any], key: str, where: str) -> tuple[Term, ...]:
    text = _string(body, key, f"{where}.")
    try:
        return parse_expression(text)
    except ValueError as error:
        raise ValueError(f"{where}.{key}: {error}") from None


def _string(table: Mapping[str, Any], key: str, prefix: str) -> str:
    value = table.get(key)
    if value is None:
        raise ValueError(f"{prefix}{key}: missing")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"{prefix}{key}: must be a quoted, non-empty string, not {value!r}"
        )
    return value.strip()


def _refuse_unknown_keys(
    table: Mapping[str, Any], allowed: set[str], prefix: str
) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(
            f"{prefix}{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})"
        )


def _kebab(name: str, where: str) -> str:
    if not _KEBAB.fullmatch(name):
        raise ValueError(f"{where}: {name!r} is not lowercase-kebab (e.g. alarm-event)")
    return name


def _version(text: str) -> str:
    # The privacy notice's date and our revision of its encoding: 2024-10-25.1.
    match = _VERSION.fullmatch(text)
    if match is None:
        raise ValueError(
            f"version: {text!r} is not NOTICE-DATE.REVISION (e.g. 2024-10-25.1)"
        )
    try:
        date.fromisoformat(match.group(1))
    except ValueError:
        raise ValueError(f"version: {text!r} does not start with a real date") from None
    return text


def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a key naming a directory of the database, such as "Europe".
        raise ValueError(
            f"zone: {key!r} is not a time zone (e.g. Europe/Oslo)"
        ) from None
