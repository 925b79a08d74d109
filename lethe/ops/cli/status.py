"""`lethe status` and `lethe item`: is the service well, and when one item goes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from eventsourcing.persistence import DatabaseError

from lethe.ops.cli.keys import kek_status_line
from lethe.ops.cli.status_view import (
    as_json_report,
    needs_attention,
    read_everything,
    render,
)
from lethe.ops.cli.store import open_runtime, opened_settings
from lethe.ops.cli.support import INSTANT, format_instant
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.runtime.preflight import describe_store
from lethe.projections.audit_timeline import backdated, recorded_marks

ALL_WELL, NEEDS_ATTENTION, CANNOT_TELL = 0, 1, 2


@click.command()
@click.option(
    "--now", type=INSTANT, default=None, help="Judge as of this instant [default: now]."
)
@click.option("--json", "as_json", is_flag=True, help="Stable keys, for scripts.")
def status(now: datetime | None, as_json: bool) -> None:
    """Is `lethe run` running and keeping up, and what needs a person.

    Names the store it read. Exit 0: all well; 1: something needs attention
    (listed); 2: cannot tell (the store cannot be read).
    """
    settings = opened_settings()  # a missing or unreachable store: exit 2 already
    now = now or datetime.now(UTC)
    try:
        # Opening can race a `lethe run` creating the tables at its first start.
        runtime = build_runtime(settings)
        found = read_everything(runtime, now)
    except (DatabaseError, OSError) as error:
        where = describe_store(settings)
        click.echo(f"lethe: cannot tell: {where} did not answer ({error})", err=True)
        raise SystemExit(CANNOT_TELL) from None
    attention = needs_attention(found)
    if as_json:
        click.echo(json.dumps(as_json_report(found, attention), indent=2))
    else:
        render(found, attention)
        click.echo(kek_status_line(runtime))  # the keys lane's one line
    raise SystemExit(NEEDS_ATTENTION if attention else ALL_WELL)


@click.command()
@click.argument("item_id")
def item(item_id: str) -> None:
    """When will ITEM_ID be erased, by which rule, and what stands in the way."""
    runtime = open_runtime()
    runtime.catch_up()
    found = runtime.app.get_item(item_id)
    click.echo(f"item      {found.item_ref} ({found.category}, {found.controller})")
    click.echo(f"state     {found.state.value}")
    due = (
        format_instant(found.due_at) if found.due_at else "not yet (clock not started)"
    )
    click.echo(f"due       {due}")
    click.echo(f"rule      {found.rule}  [{found.policy}]")

    def opened(text: str) -> str:
        return str(runtime.app.open_text(found.subject_ref, text))

    recorded = recorded_marks(runtime.app.events.get(found.id))
    for case_ref, hold in found.holds.items():
        click.echo(
            f"hold      {case_ref}: {opened(hold['reason'])}"
            f" (by {hold['by']}, {format_instant(hold['at'])}"
            f"{_recorded(recorded.get('hold:' + case_ref), hold['at'])})"
        )
    for ticket, r in found.restrictions.items():
        click.echo(
            f"restricted {ticket}: {opened(r['reason'])} (by {r['by']}"
            f"{_recorded(recorded.get('restriction:' + ticket), r['at'])})"
        )
    if found.kept_for_legal_obligation:
        click.echo("kept      by a legal obligation after a subject erasure request")
    if found.order:
        click.echo(
            f"order     {found.order['order_id']} {found.order['cause']} at "
            f"{format_instant(found.order['at'])}, attempt {found.attempts}"
        )
    if found.recall:
        click.echo(
            f"recall    order {found.recall['order_id']} recalled at"
            f" {format_instant(found.recall['at'])}; awaiting the store's answer"
        )
    for order_id, outcome in found.recall_answers.items():
        click.echo(f"recalled  order {order_id}: the store answered {outcome}")


def _recorded(when: datetime | None, at: datetime) -> str:
    """ "; recorded <when>" for a mark back-dated (--at) by more than a minute."""
    if when is None or not backdated(when, at):
        return ""
    return f"; recorded {format_instant(when)}"
