"""`lethe status` and `lethe item`: is the service well, and when one item goes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

import click
from eventsourcing.persistence import DatabaseError

from lethe.ops.cli.keys import kek_status_line
from lethe.ops.cli.remote import api
from lethe.ops.cli.status_view import (
    as_json_report,
    needs_attention,
    read_everything,
    render,
)
from lethe.ops.cli.store import open_runtime, opened_settings
from lethe.ops.cli.support import INSTANT
from lethe.ops.cli.wording import item_lines
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.runtime.preflight import describe_store
from lethe.projections.audit_timeline import recorded_marks
from lethe.projections.item_view import opened_view

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
    if (client := api()) is not None:
        # The API has no record of when marks were written: --at stays unsaid.
        _, view = client.call("GET", f"/api/items/{quote(item_id, safe='')}")
        recorded: dict[str, datetime] = {}
    else:
        runtime = open_runtime()
        runtime.catch_up()
        found = runtime.app.get_item(item_id)
        view = opened_view(runtime.app, found)  # reasons opened while the key lives
        recorded = recorded_marks(runtime.app.events.get(found.id))
    for line in item_lines(view, recorded):
        click.echo(line)
