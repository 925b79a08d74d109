"""Support staff's commands: erase a subject, place or release holds, restrict, lift."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from lethe.domain.errors import BadCommandError
from lethe.ops.cli.support import INSTANT, format_instant
from lethe.ops.runtime.bootstrap import Runtime, build_runtime

CONTROLLER = click.option(
    "--controller",
    default=lambda: os.environ.get("LETHE_DEFAULT_CONTROLLER", "sector-alarm"),
    show_default="sector-alarm (LETHE_DEFAULT_CONTROLLER)",
    help="The policy the subject belongs to.",
)
BY = click.option(
    "--by", "--requested-by", "by", required=True, help="Who asks (staff id)."
)
AT = click.option(
    "--at", type=INSTANT, default=None, help="When it happened [default: now]."
)


def _target(item: str | None, subject: str | None) -> tuple[str | None, str | None]:
    if bool(item) == bool(subject):
        raise BadCommandError(
            "name exactly one of --item ITEM_ID or --subject SUBJECT_ID"
        )
    return item, subject


def _now(at: datetime | None) -> datetime:
    return at or datetime.now(UTC)


def _change_target(
    item: str | None,
    subject: str | None,
    controller: str,
    on_item: Callable[[Any, str], Any],
    on_subject: Callable[[Any, str, str], Any],
) -> None:
    """Apply a change to the one item or the whole subject the options name."""
    item, subject = _target(item, subject)

    def change(rt: Runtime) -> None:
        if item:
            on_item(rt.app, item)
        else:
            on_subject(rt.app, controller, subject or "")

    _apply(change)


def _apply(change: Callable[[Runtime], Any]) -> Runtime:
    """Run one change, then let the subject process carry it to every item."""
    runtime = build_runtime()
    change(runtime)
    runtime.catch_up()
    return runtime


@click.group(short_help="Erase on request (GDPR article 17).")
def erase() -> None:
    """Erase on request (GDPR art. 17)."""


@erase.command("subject")
@click.argument("subject_id")
@CONTROLLER
@click.option("--reason", required=True, help="Why, as the customer put it.")
@BY
@click.option("--ticket", default=None, help="Your ticket or case number.")
@AT
def erase_subject(
    subject_id: str,
    controller: str,
    reason: str,
    by: str,
    ticket: str | None,
    at: datetime | None,
) -> None:
    """Erase everything of SUBJECT_ID that no law requires Lethe to keep."""
    command_id = ticket or str(uuid.uuid4())
    holder: dict[str, str] = {}

    def change(rt: Runtime) -> None:
        holder["request"] = rt.app.request_subject_erasure(
            controller, subject_id, command_id, reason, by, ticket, _now(at)
        )

    runtime = _apply(change)
    subject = runtime.app.get_subject(controller, subject_id)
    request = subject.requests[holder["request"]]
    click.echo(f"request   {holder['request']}")
    click.echo(
        f"answer by {format_instant(request['answer_due_at'])}"
        "  (one month, GDPR art. 12(3))"
    )
    if request["carried_out_at"] is None:
        click.echo("status    recorded; `lethe run` carries it out")
        return
    counts = runtime.views.query(
        "SELECT state, COUNT(*) FROM lethe_schedule"
        " WHERE subject_ref = ? GROUP BY state",
        (subject.subject_ref,),
    )
    click.echo("status    carried out; subject key destroyed")
    for state, count in counts:
        click.echo(f"  {state:<16} {count}")


@click.group()
def hold() -> None:
    """Legal holds (police case, dispute): nothing held is erased until released."""


@hold.command("place")
@click.option("--item", default=None)
@click.option("--subject", default=None)
@CONTROLLER
@click.option(
    "--case", "case_ref", required=True, help="Police case or dispute reference."
)
@click.option("--reason", required=True)
@BY
@AT
def hold_place(
    item: str | None,
    subject: str | None,
    controller: str,
    case_ref: str,
    reason: str,
    by: str,
    at: datetime | None,
) -> None:
    """Place a hold on one item or on everything a subject has (and will have)."""
    _change_target(
        item,
        subject,
        controller,
        lambda app, ref: app.place_hold(ref, case_ref, reason, by, _now(at)),
        lambda app, ctrl, sid: app.place_subject_hold(
            ctrl, sid, case_ref, reason, by, _now(at)
        ),
    )
    click.echo(f"hold {case_ref} placed on {'item ' + item if item else 'the subject'}")


@hold.command("release")
@click.option("--item", default=None)
@click.option("--subject", default=None)
@CONTROLLER
@click.option("--case", "case_ref", required=True)
@BY
@AT
def hold_release(
    item: str | None,
    subject: str | None,
    controller: str,
    case_ref: str,
    by: str,
    at: datetime | None,
) -> None:
    """Release a hold; an overdue item becomes due at the release."""
    _change_target(
        item,
        subject,
        controller,
        lambda app, ref: app.release_hold(ref, case_ref, by, _now(at)),
        lambda app, ctrl, sid: app.release_subject_hold(
            ctrl, sid, case_ref, by, _now(at)
        ),
    )
    click.echo(f"hold {case_ref} released")


@hold.command("police-extend")
@click.option("--item", required=True)
@click.option("--case", "case_ref", required=True)
@BY
@AT
def hold_police_extend(item: str, case_ref: str, by: str, at: datetime | None) -> None:
    """Keep a verification image for the police period (30 days from capture)."""
    runtime = _apply(
        lambda rt: rt.app.flag_police_relevant(item, case_ref, by, _now(at))
    )
    found = runtime.app.get_item(item)
    due = format_instant(found.due_at) if found.due_at else "not yet known"
    click.echo(f"item {item} now due {due} ({found.rule})")


@click.command(short_help="Restrict processing (GDPR article 18).")
@click.option("--item", default=None)
@click.option("--subject", default=None)
@CONTROLLER
@click.option("--ticket", required=True)
@click.option("--reason", required=True)
@BY
@AT
def restrict(
    item: str | None,
    subject: str | None,
    controller: str,
    ticket: str,
    reason: str,
    by: str,
    at: datetime | None,
) -> None:
    """Restrict processing (GDPR art. 18): stored, not processed, not erased
    until lifted.
    """
    _change_target(
        item,
        subject,
        controller,
        lambda app, ref: app.restrict(ref, ticket, reason, by, _now(at)),
        lambda app, ctrl, sid: app.restrict_subject(
            ctrl, sid, ticket, reason, by, _now(at)
        ),
    )
    click.echo(f"restriction {ticket} recorded")


@click.command()
@click.option("--item", default=None)
@click.option("--subject", default=None)
@CONTROLLER
@click.option("--ticket", required=True)
@BY
@AT
def lift(
    item: str | None,
    subject: str | None,
    controller: str,
    ticket: str,
    by: str,
    at: datetime | None,
) -> None:
    """Lift a restriction; an overdue item becomes due at the lift."""
    _change_target(
        item,
        subject,
        controller,
        lambda app, ref: app.lift_restriction(ref, ticket, by, _now(at)),
        lambda app, ctrl, sid: app.lift_subject_restriction(
            ctrl, sid, ticket, by, _now(at)
        ),
    )
    click.echo(f"restriction {ticket} lifted")
