"""`lethe status` and `lethe item`: what needs attention, and when one item goes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import click
from rich.table import Table

from lethe.ops.cli.keys import kek_status_line
from lethe.ops.cli.remote import api
from lethe.ops.cli.store import open_runtime
from lethe.ops.cli.support import INSTANT, echo_table, format_instant
from lethe.ops.cli.wording import item_lines
from lethe.projections import aside
from lethe.projections.audit_timeline import recorded_marks
from lethe.projections.item_view import item_view
from lethe.projections.status import read_status

# Something Lethe stopped doing needs a person: a halted partition, a record
# set aside. A monitoring probe can alert on this exit code.
STOPPED_EXIT = 3


@click.command()
@click.option(
    "--now", type=INSTANT, default=None, help="Judge as of this instant [default: now]."
)
@click.option("--json", "as_json", is_flag=True)
def status(now: datetime | None, as_json: bool) -> None:
    """Items by state; overdue, unconfirmed and failed erasures; request deadlines."""
    runtime = open_runtime()
    runtime.catch_up()
    settings = runtime.settings
    now = now or datetime.now(UTC)
    report = read_status(
        runtime.views,
        now,
        settings.sweep_interval_s,
        settings.confirm_timeout_s,
        settings.answer_warning_days,
        {controller: p.zone for controller, p in runtime.app.policies.items()},
    )
    halts, set_aside = aside.halts(runtime.views), aside.set_aside(runtime.views)
    if as_json:
        found = {
            **_as_dict(report),
            "halted_partitions": [_as_dict(h) for h in halts],
            "set_aside": [_as_dict(a) for a in set_aside],
        }
        click.echo(json.dumps(found, default=format_instant, indent=2))
        _exit_if_stopped(halts, set_aside)
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.states.items()))
    click.echo(f"items: {counts or 'none'}")
    click.echo(kek_status_line(runtime))  # the keys lane's one line
    attention = report.overdue + report.unconfirmed + report.failed
    if attention:
        table = Table("item", "category", "what", "since", title="needs attention")
        for a in attention:
            table.add_row(a.item_ref, a.category, a.what, format_instant(a.since))
        echo_table(table)
    if report.requests:
        table = Table(
            "request",
            "received",
            "answer by",
            "answered",
            "days left",
            title="subject requests",
        )
        for r in report.requests:
            answered = format_instant(r.carried_out_at) if r.carried_out_at else "OPEN"
            extended = " (extended)" if r.extended_due_at else ""
            table.add_row(
                r.request_id,
                format_instant(r.requested_at),
                format_instant(r.due_at) + extended,
                answered + (" LATE" if r.late else ""),
                _days_left(r.days_left),
            )
        echo_table(table)
    _echo_stopped(halts, set_aside)
    if not attention and not report.requests and not halts and not set_aside:
        click.echo("nothing needs attention")
    _exit_if_stopped(halts, set_aside)


def _days_left(days: int | None) -> str:
    if days is None:
        return "-"
    if days < 0:
        return f"OVERDUE {-days} {'day' if days == -1 else 'days'}"
    return "due today" if days == 0 else f"{days}"


def _echo_stopped(halts: list[aside.Halt], set_aside: list[aside.SetAside]) -> None:
    if halts:
        table = Table("partition", "since", "why", title="HALTED: not consumed")
        for h in halts:
            table.add_row(f"{h.topic}:{h.partition}", format_instant(h.since), h.note)
        echo_table(table)
        click.echo(
            "resume a halted partition deliberately: lethe topics resume "
            "TOPIC PARTITION --by STAFF_ID (see docs/operations.md)"
        )
    if set_aside:
        table = Table("where", "by", "since", "why", title="set aside")
        for a in set_aside:
            table.add_row(a.place, a.source, format_instant(a.since), a.reason)
        echo_table(table)


def _exit_if_stopped(halts: list[aside.Halt], set_aside: list[aside.SetAside]) -> None:
    if halts or set_aside:
        raise SystemExit(STOPPED_EXIT)


def _as_dict(report: Any) -> dict[str, Any]:  # a dataclass instance
    from dataclasses import asdict

    return asdict(report)


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
        view = item_view(found)
        recorded = recorded_marks(runtime.app.events.get(found.id))
    for line in item_lines(view, recorded):
        click.echo(line)
