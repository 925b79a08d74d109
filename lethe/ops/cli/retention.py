"""`lethe retention due` and `lethe policy show`: when an item goes, and why.

`policy show` gives the version in force in the store (what `lethe policy
apply` adopted), beside the shipped file's when they differ."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from lethe.domain.policy import Anchor, Due, ItemFacts, Policy, Rule
from lethe.ops.cli.support import (
    INSTANT,
    echo_table,
    exact_timespec,
    format_instant,
    new_table,
)
from lethe.policies import load_shipped, shipped_ids

if TYPE_CHECKING:
    from rich.table import Table  # imported by support.new_table when needed

# What each waiting anchor is, in words, and the option that gives it.
WAITING_FOR = {
    Anchor.RELATIONSHIP_END: ("the customer relationship ends", "--relationship-ended"),
    Anchor.CONTRACT_END: ("the contract ends", "--contract-ended"),
    Anchor.ONBOARDED: ("the customer is onboarded", "--onboarded"),
}
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
@click.option(
    "--contract-ended", type=INSTANT, help="When the customer's contract ended."
)
@click.option(
    "--onboarded", type=INSTANT, help="When the customer's onboarding was done."
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
    contract_ended: datetime | None,
    onboarded: datetime | None,
    last_contact: datetime | None,
    police_relevant: bool,
    as_json: bool,
) -> None:
    """When an item is due for erasure, and the rule and policy that say so.

    The version in force in the store here (what `lethe policy apply` adopted),
    or the shipped file's when there is no store; stderr says which.
    """
    in_force, whose = _in_force({policy_id: load_shipped(policy_id)})
    policy = in_force[policy_id]
    facts = ItemFacts(
        captured_at,
        police_relevant,
        relationship_ended_at=relationship_ended,
        last_contact_at=last_contact,
        contract_ended_at=contract_ended,
        onboarded_at=onboarded,
    )
    answer = policy.due(category, facts)
    rule = policy.rule_for(category)
    if as_json:
        answer_json = _due_json(answer, rule, policy, facts)
        click.echo(json.dumps(answer_json, ensure_ascii=False))
    else:
        for label, value in _due_lines(answer, rule, policy, facts):
            click.echo(f"{label:<7} {value}".rstrip())
    click.echo(whose, err=True)  # after the answer: a mistake stays one line


def _due_json(
    answer: Due, rule: Rule, policy: Policy, facts: ItemFacts
) -> dict[str, Any]:
    return {
        "due_at": format_instant(answer.at) if answer.at else None,
        "due_local": _local_iso(answer.at, policy) if answer.at else None,
        "rule": answer.rule,
        "policy": answer.policy,
        "legal_obligation": rule.legal_obligation,
        "waiting_for": [str(anchor) for anchor in rule.waits(facts)],
    }


def _local_iso(instant: datetime, policy: Policy) -> str:
    return instant.astimezone(policy.zone).isoformat()


def _due_lines(
    answer: Due, rule: Rule, policy: Policy, facts: ItemFacts
) -> list[tuple[str, str]]:
    waiting = rule.waits(facts)
    lines = [("due", _due_text(answer, policy, waiting))]
    if answer.at is not None and waiting:
        lines.append(("", f"may come earlier once {_once(waiting)}"))
    lines += [("rule", answer.rule), ("policy", answer.policy)]
    if rule.legal_obligation:
        lines.append(("note", KEPT))
    if facts.police_relevant and rule.police_terms is None:
        lines.append(("note", f"--police-relevant changes nothing for {rule.category}"))
    return lines


def _due_text(answer: Due, policy: Policy, waiting: tuple[Anchor, ...]) -> str:
    if answer.at is None:
        # Only lifecycle anchors can be unknown: captured_at is required and
        # last contact falls back to the capture itself.
        return f"not yet due: the clock starts once {_once(waiting)}"
    return f"{format_instant(answer.at)}  ({_local(answer.at, policy)})"


def _local(instant: datetime, policy: Policy) -> str:
    # The abbreviation (CET/CEST) tells the two 02:30s of an autumn night apart.
    local = instant.astimezone(policy.zone)
    day, zone = local.strftime("%Y-%m-%d"), policy.zone.key
    return f"{day} {_clock(local)} {local.tzname()}, {zone}"


def _clock(local: datetime) -> str:
    # Minutes suffice for the usual whole-minute due time; never hide a part.
    return local.time().isoformat(timespec=exact_timespec(local, "minutes"))


def _once(waiting: tuple[Anchor, ...]) -> str:
    # "the contract ends (pass --contract-ended) or the customer relationship ..."
    return " or ".join(
        f"{WAITING_FOR[anchor][0]} (pass {WAITING_FOR[anchor][1]})"
        for anchor in waiting
    )


# --- lethe policy show ---------------------------------------------------------------


@click.group(name="policy")
def policy_group() -> None:
    """Read the retention policies Lethe ships."""


@policy_group.command()
@click.argument("policy_id", metavar="[POLICY]", required=False)
@click.option("--json", "as_json", is_flag=True, help="JSON, for scripts.")
def show(policy_id: str | None, as_json: bool) -> None:
    """Show POLICY's rules in force here, or list the policies without one."""
    shipped = {
        p: load_shipped(p) for p in ([policy_id] if policy_id else shipped_ids())
    }
    in_force, whose = _in_force(shipped)
    click.echo(whose, err=True)
    if policy_id is None:
        _show_all([(in_force[p], shipped[p]) for p in shipped], as_json)
    else:
        _show_one(in_force[policy_id], shipped[policy_id], as_json)


def _in_force(shipped: dict[str, Policy]) -> tuple[dict[str, Policy], str]:
    """The versions in force in the store here (`lethe policy apply` adopts
    them), or the shipped ones when there is no store, and a line saying which."""
    from lethe.ops.settings import Settings

    settings = Settings.from_env()
    if settings.store == "sqlite":
        path = settings.sqlite_path.expanduser().resolve()  # as preflight's
        if not path.is_file():
            # Answered without eventsourcing or psycopg, which the store would
            # need: a quick question with no store (tests/unit/test_cli_lazy.py).
            return shipped, f"no store at sqlite {path}: the shipped versions"
    from lethe.ops.runtime.policies_in_force import policies_in_force
    from lethe.ops.runtime.preflight import describe_store

    found = policies_in_force(settings)
    if found is None:
        return shipped, f"no store at {describe_store(settings)}: the shipped versions"
    in_force = {policy_id: found.get(policy_id, p) for policy_id, p in shipped.items()}
    return in_force, f"in force in the store: {describe_store(settings)}"


def _show_all(policies: list[tuple[Policy, Policy]], as_json: bool) -> None:
    if as_json:
        listed = [_summary_json(p, file) for p, file in policies]
        click.echo(_json({"policies": listed}))
        return
    table = new_table("policy", "version", "rules", "zone", "source", "shipped")
    table.columns[2].justify = "right"
    for p, file in policies:
        table.add_row(
            p.id, p.version, str(len(p.rules)), p.zone.key, p.source, _file(p, file)
        )
    echo_table(table)


def _file(policy: Policy, shipped: Policy) -> str:
    """The shipped file's version where it is not the one in force, else "-"."""
    return "-" if shipped.version == policy.version else shipped.version


def _show_one(policy: Policy, shipped: Policy, as_json: bool) -> None:
    if as_json:
        rules = [_rule_json(rule) for rule in policy.rules.values()]
        click.echo(_json({**_summary_json(policy, shipped), "rules": rules}))
        return
    head = f"policy {policy.ref}  zone {policy.zone.key}  source {policy.source}"
    if shipped.version != policy.version:
        head += f"  (in force; the shipped file holds {shipped.version})"
    click.echo(f"{head}\n")
    echo_table(_rules_table(policy))


def _rules_table(policy: Policy) -> Table:
    table = new_table(
        "category",
        "keeps until",
        "lifecycle anchors",
        "if police-relevant",
        "on erasure request",
        "source",
    )
    # Too narrow a terminal wraps the rules rather than cut them; the notice's
    # sentence, last, is cut to fit (`--json` and a pipe print it whole).
    widths = (28, 12, 18, 14)
    for column, min_width in zip(table.columns[1:5], widths, strict=True):
        column.no_wrap, column.min_width = False, min_width
    for rule in policy.rules.values():
        table.add_row(
            rule.category,
            rule.describe(),
            _needs(rule),
            _police_rule(rule),
            "kept until due" if rule.legal_obligation else "erased now",
            rule.source_text,
        )
    return table


def _needs(rule: Rule) -> str:
    """The lifecycle records a rule waits for; "-" when the item alone will do."""
    waits = [str(a) for a in _all_anchors(rule) if not a.always_known]
    return " or ".join(waits) or "-"


def _all_anchors(rule: Rule) -> tuple[Anchor, ...]:
    both = (*rule.anchors(), *rule.anchors(police_relevant=True))
    return tuple(dict.fromkeys(both))


def _police_rule(rule: Rule) -> str:
    return rule.describe(police_relevant=True) if rule.police_terms else "-"


def _summary_json(policy: Policy, shipped: Policy) -> dict[str, Any]:
    return {
        "policy": policy.id,
        "version": policy.version,  # in force (adopted in the store, or shipped)
        "shipped_version": shipped.version,
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
        "anchors": [str(anchor) for anchor in _all_anchors(rule)],
        "legal_obligation": rule.legal_obligation,
        "text": rule.source_text,
    }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
