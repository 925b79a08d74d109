"""`lethe retention due` and `lethe policy show`: when an item goes, and why."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from rich.table import Table

from lethe.domain.policy import Anchor, Due, ItemFacts, Policy, Rule
from lethe.ops.cli.support import (
    INSTANT,
    echo_table,
    exact_timespec,
    format_instant,
    new_table,
)
from lethe.policies import load_shipped, shipped_ids

NOT_STARTED = (
    "not yet due: the clock starts when the customer relationship ends "
    "(pass --relationship-ended)"
)
MAY_COME_EARLIER = (
    "may come earlier once the customer relationship ends (pass --relationship-ended)"
)
KEPT = "kept until due even if the customer asks for erasure (legal obligation)"


# --- lethe retention due -----------------------------------------------------------


@click.group()
def retention() -> None:
    """Ask when items are due for erasure."""


@retention.command()
@click.option(
    "--policy",
    "policy_id",
    required=True,
    metavar="POLICY",
    help="Controller's policy id, e.g. sector-alarm.",
)
@click.option("--category", required=True, help="Item category, e.g. arming-log.")
@click.option(
    "--captured-at",
    required=True,
    type=INSTANT,
    help="When the item was captured (ISO-8601 with offset).",
)
@click.option(
    "--relationship-ended",
    type=INSTANT,
    help="When the customer relationship ended (last invoice paid).",
)
@click.option("--last-contact", type=INSTANT, help="The customer's last contact.")
@click.option(
    "--police-relevant",
    is_flag=True,
    help="The item is likely relevant to a police investigation.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def due(
    policy_id: str,
    category: str,
    captured_at: datetime,
    relationship_ended: datetime | None,
    last_contact: datetime | None,
    police_relevant: bool,
    as_json: bool,
) -> None:
    """When an item is due for erasure, and the rule and policy that say so."""
    policy = load_shipped(policy_id)
    facts = ItemFacts(captured_at, police_relevant, relationship_ended, last_contact)
    answer = policy.due(category, facts)
    rule = policy.rule_for(category)
    if as_json:
        click.echo(json.dumps(_due_json(answer, rule, policy), ensure_ascii=False))
        return
    for label, value in _due_lines(answer, rule, policy, facts):
        click.echo(f"{label:<7} {value}".rstrip())


def _due_json(answer: Due, rule: Rule, policy: Policy) -> dict[str, Any]:
    return {
        "due_at": format_instant(answer.at) if answer.at else None,
        "due_local": _local_iso(answer.at, policy) if answer.at else None,
        "rule": answer.rule,
        "policy": answer.policy,
        "legal_obligation": rule.legal_obligation,
    }


def _local_iso(instant: datetime, policy: Policy) -> str:
    return instant.astimezone(policy.zone).isoformat()


def _due_lines(
    answer: Due, rule: Rule, policy: Policy, facts: ItemFacts
) -> list[tuple[str, str]]:
    lines = [("due", _due_text(answer, policy))]
    if answer.at is not None and _waits_for_relationship_end(rule, facts):
        lines.append(("", MAY_COME_EARLIER))
    lines += [("rule", answer.rule), ("policy", answer.policy)]
    if rule.legal_obligation:
        lines.append(("note", KEPT))
    if facts.police_relevant and rule.police_terms is None:
        lines.append(("note", f"--police-relevant changes nothing for {rule.category}"))
    return lines


def _due_text(answer: Due, policy: Policy) -> str:
    if answer.at is None:
        # Only the relationship's end can be unknown: captured_at is required
        # and last contact falls back to the capture itself.
        return NOT_STARTED
    return f"{format_instant(answer.at)}  ({_local(answer.at, policy)})"


def _local(instant: datetime, policy: Policy) -> str:
    # The abbreviation (CET/CEST) tells the two 02:30s of an autumn night apart.
    local = instant.astimezone(policy.zone)
    day, zone = local.strftime("%Y-%m-%d"), policy.zone.key
    return f"{day} {_clock(local)} {local.tzname()}, {zone}"


def _clock(local: datetime) -> str:
    # Minutes suffice for the usual whole-minute due time; never hide a part.
    return local.time().isoformat(timespec=exact_timespec(local, "minutes"))


def _waits_for_relationship_end(rule: Rule, facts: ItemFacts) -> bool:
    police = facts.police_relevant and rule.police_terms is not None
    terms = (rule.police_terms if police else None) or rule.terms
    anchors = {term.anchor for term in terms}
    return facts.relationship_ended_at is None and Anchor.RELATIONSHIP_END in anchors


# --- lethe policy show ---------------------------------------------------------------


@click.group(name="policy")
def policy_group() -> None:
    """Read the retention policies Lethe ships."""


@policy_group.command()
@click.argument("policy_id", metavar="[POLICY]", required=False)
@click.option("--json", "as_json", is_flag=True, help="JSON, for scripts.")
def show(policy_id: str | None, as_json: bool) -> None:
    """Show POLICY's rules, or list the shipped policies without one."""
    if policy_id is None:
        _show_all(as_json)
    else:
        _show_one(load_shipped(policy_id), as_json)


def _show_all(as_json: bool) -> None:
    policies = [load_shipped(policy_id) for policy_id in shipped_ids()]
    if as_json:
        click.echo(_json({"policies": [_summary_json(p) for p in policies]}))
        return
    table = new_table("policy", "version", "rules", "zone", "source")
    table.columns[2].justify = "right"
    for p in policies:
        table.add_row(p.id, p.version, str(len(p.rules)), p.zone.key, p.source)
    echo_table(table)


def _show_one(policy: Policy, as_json: bool) -> None:
    if as_json:
        rules = [_rule_json(rule) for rule in policy.rules.values()]
        click.echo(_json({**_summary_json(policy), "rules": rules}))
        return
    click.echo(f"policy {policy.ref}  zone {policy.zone.key}  source {policy.source}\n")
    echo_table(_rules_table(policy))


def _rules_table(policy: Policy) -> Table:
    table = new_table(
        "category", "keeps until", "if police-relevant", "on erasure request", "source"
    )
    # Too narrow a terminal wraps the rules rather than cut them; the notice's
    # sentence, last, is cut to fit (`--json` and a pipe print it whole).
    for column, min_width in zip(table.columns[1:4], (28, 18, 14), strict=True):
        column.no_wrap, column.min_width = False, min_width
    for rule in policy.rules.values():
        table.add_row(
            rule.category,
            rule.describe(),
            _police_rule(rule),
            "kept until due" if rule.legal_obligation else "erased now",
            rule.source_text,
        )
    return table


def _police_rule(rule: Rule) -> str:
    return rule.describe(police_relevant=True) if rule.police_terms else "-"


def _summary_json(policy: Policy) -> dict[str, Any]:
    return {
        "policy": policy.id,
        "version": policy.version,
        "ref": policy.ref,
        "zone": policy.zone.key,
        "source": policy.source,
        "rule_count": len(policy.rules),
    }


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "category": rule.category,
        "due": rule.describe(),
        "police_due": _police_rule(rule) if rule.police_terms else None,
        "legal_obligation": rule.legal_obligation,
        "text": rule.source_text,
    }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
