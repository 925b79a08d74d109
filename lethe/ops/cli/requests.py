"""Support staff's commands: erase a subject, place or release holds, restrict, lift."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from lethe.consumers import limits
from lethe.domain.answers import Outcome
from lethe.domain.application import Lethe
from lethe.domain.errors import BadCommandError
from lethe.ops.cli import remote_requests as remote
from lethe.ops.cli import wording
from lethe.ops.cli.answers import (
    awaits_stores,
    deadline_text,
    erasure_summary,
    items_found,
    outcome_lines,
)
from lethe.ops.cli.remote import api
from lethe.ops.cli.store import name_store, open_runtime
from lethe.ops.cli.support import INSTANT, format_instant
from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.settings import Settings


def _text(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The same limits a command on lethe.commands.v1 meets (lethe/schemas)."""
    if value is None:
        return None
    field = {"by": "requested_by", "case_ref": "case_ref", "ticket": "case_ref"}.get(
        param.name or "", param.name or ""
    )
    problem = limits.problem(field, value)
    if problem is not None:
        name = f"--{(param.name or '').replace('_ref', '')}"
        raise click.BadParameter(
            problem.replace(field, "the value", 1), param_hint=name
        )
    return value


CONTROLLER = click.option(
    "--controller",
    default=lambda: os.environ.get("LETHE_DEFAULT_CONTROLLER", "sector-alarm"),
    show_default="sector-alarm (LETHE_DEFAULT_CONTROLLER)",
    help="The controller (policy) the subject or item belongs to.",
)
BY = click.option(
    "--by",
    "--requested-by",
    "by",
    default=None,
    callback=_text,
    help="Who asks (staff id); required on the store, where no login says who. "
    "Through the API (LETHE_URL) the server records the token's principal.",
)


def _by(by: str | None) -> str:
    if not by:
        raise click.UsageError("Missing option '--by' (who asks: a staff id)")
    return by


AT = click.option(
    "--at",
    type=INSTANT,
    default=None,
    help="When it happened [default: now]; the real time is recorded beside it.",
)


def _target(item: str | None, subject: str | None) -> tuple[str | None, str | None]:
    if bool(item) == bool(subject):
        raise BadCommandError(
            "name exactly one of --item ITEM_ID or --subject SUBJECT_ID"
        )
    return item, subject


def _now(at: datetime | None) -> datetime:
    """`--at`, or now; never later than now plus the clock skew Lethe allows.

    An instant in the future would date a hold or request that has not happened,
    and Kafka refuses timestamps past 2100 anyway. Every event also carries the
    real time it was recorded (its `timestamp`), beside the `at` given here.
    """
    now = datetime.now(UTC)
    if at is None:
        return now
    skew = timedelta(seconds=Settings.from_env().max_clock_skew_s)
    if at > now + skew:
        raise BadCommandError(
            f"--at {format_instant(at)} is in the future (now: {format_instant(now)}; "
            f"allowed clock skew {skew.total_seconds():.0f} s)"
        )
    return at


def _apply(change: Callable[[Runtime], Any]) -> Runtime:
    """Run one change, then let the subject process carry it to every item."""
    runtime = open_runtime()
    change(runtime)
    runtime.catch_up()
    name_store(runtime.settings)
    return runtime


def _change_target(
    item: str | None,
    subject: str | None,
    controller: str,
    on_item: Callable[[Lethe, str], Any],
    on_subject: Callable[[Lethe, str, str], Any],
    **required: str | None,
) -> tuple[str, Outcome]:
    """Apply a change to the one item or the whole subject the options name;
    returns how to name the target and what the change found and did."""
    item, subject = _target(item, subject)
    desk = open_runtime().desk
    if item:
        ref = item
        return wording.target(item, controller), desk.on_item(
            controller, item, lambda app: on_item(app, ref), **required
        )
    sid = subject or ""
    outcome = desk.on_subject(
        controller, sid, lambda app: on_subject(app, controller, sid), **required
    )
    return wording.target(None, controller), outcome


def _echo_outcome(outcome: Outcome, controller: str, of_subject: bool) -> None:
    if of_subject:
        click.echo(f"found     {items_found(outcome, controller)}")
    for line in outcome_lines(outcome):
        click.echo(line)


@click.group(short_help="Erase on request (GDPR article 17).")
def erase() -> None:
    """Erase on request (GDPR art. 17)."""


@erase.command("subject")
@click.argument("subject_id")
@CONTROLLER
@click.option(
    "--reason", required=True, callback=_text, help="Why, as the customer put it."
)
@BY
@click.option(
    "--ticket", default=None, callback=_text, help="Your ticket or case number."
)
@AT
def erase_subject(
    subject_id: str,
    controller: str,
    reason: str,
    by: str | None,
    ticket: str | None,
    at: datetime | None,
) -> None:
    """Erase everything of SUBJECT_ID that no law requires Lethe to keep."""
    if (client := api()) is not None:
        return remote.erase_subject(client, subject_id, controller, reason, ticket, at)
    by = _by(by)
    command_id = ticket or str(uuid.uuid4())
    runtime = open_runtime()
    answer = runtime.desk.erase_subject(
        controller, subject_id, command_id, reason, by, ticket, _now(at)
    )
    zone = runtime.app.policy(controller).zone
    click.echo(wording.request_recorded(answer.request_id))
    if not answer.new:
        click.echo("          the same request was recorded before; nothing new")
    click.echo(f"received  {format_instant(answer.requested_at)}")
    click.echo(
        f"answer by {deadline_text(answer.answer_due_at, zone)}  {wording.ANSWER_LAW}"
    )
    if answer.extended_due_at is not None:
        click.echo(
            f"extended  to {deadline_text(answer.extended_due_at, zone)}"
            f" (subject told on {answer.told_on})"
        )
    click.echo(f"found     {items_found(answer.outcome, controller)}")
    for line in outcome_lines(answer.outcome):
        click.echo(line)
    if answer.carried_out_at is None:
        click.echo(wording.CARRIED_OUT_BY_RUN)
        return
    shredded = "; subject key destroyed" if answer.key_destroyed else ""
    summary = erasure_summary(answer.outcome) + shredded
    if awaits_stores(answer.outcome):
        # An order is not an erasure: say "answered" only when nothing awaits a
        # store (`lethe status` shows what still does).
        click.echo(f"status    orders made: {summary}; {wording.ANSWERED_ON_CONFIRM}")
    else:
        click.echo(f"status    answered: {summary}")


@click.group()
def hold() -> None:
    """Legal holds (police case, dispute): nothing held is erased until released."""


@hold.command("place")
@click.option("--item", default=None)
@click.option("--subject", default=None)
@CONTROLLER
@click.option(
    "--case",
    "case_ref",
    required=True,
    callback=_text,
    help="Police case or dispute reference.",
)
@click.option("--reason", required=True, callback=_text)
@BY
@AT
def hold_place(
    item: str | None,
    subject: str | None,
    controller: str,
    case_ref: str,
    reason: str,
    by: str | None,
    at: datetime | None,
) -> None:
    """Place a hold on one item or on everything a subject has (and will have)."""
    if (client := api()) is not None:
        return remote.hold_place(
            client, item, subject, controller, case_ref, reason, at
        )
    by = _by(by)
    target, outcome = _change_target(
        item,
        subject,
        controller,
        lambda app, ref: app.place_hold(ref, case_ref, reason, by, _now(at)),
        lambda app, ctrl, sid: app.place_subject_hold(
            ctrl, sid, case_ref, reason, by, _now(at)
        ),
        case_ref=case_ref,
        reason=reason,
        requested_by=by,
    )
    click.echo(wording.hold_placed(case_ref, target, outcome.recorded))
    _echo_outcome(outcome, controller, of_subject=subject is not None)


@hold.command("release")
@click.option("--item", default=None)
@click.option("--subject", default=None)
@CONTROLLER
@click.option("--case", "case_ref", required=True, callback=_text)
@BY
@AT
def hold_release(
    item: str | None,
    subject: str | None,
    controller: str,
    case_ref: str,
    by: str | None,
    at: datetime | None,
) -> None:
    """Release a hold; an overdue item becomes due at the release."""
    if (client := api()) is not None:
        return remote.hold_release(client, item, subject, controller, case_ref, at)
    by = _by(by)
    target, outcome = _change_target(
        item,
        subject,
        controller,
        lambda app, ref: app.release_hold(ref, case_ref, by, _now(at)),
        lambda app, ctrl, sid: app.release_subject_hold(
            ctrl, sid, case_ref, by, _now(at)
        ),
        case_ref=case_ref,
        requested_by=by,
    )
    click.echo(wording.hold_released(case_ref, target))
    _echo_outcome(outcome, controller, of_subject=subject is not None)


@hold.command("police-extend")
@click.option("--item", required=True)
@click.option("--case", "case_ref", required=True, callback=_text)
@BY
@AT
def hold_police_extend(item: str, case_ref: str, by: str, at: datetime | None) -> None:
    """Keep a verification image for the police period (30 days from capture)."""
    if (client := api()) is not None:
        return remote.police_extend(client, item, case_ref, at)
    by = _by(by)
    runtime = _apply(
        lambda rt: rt.app.flag_police_relevant(item, case_ref, by, _now(at))
    )
    found = runtime.app.get_item(item)
    click.echo(wording.police_extended(item, found.due_at, found.rule))


@click.command(short_help="Restrict processing (GDPR article 18).")
@click.option("--item", default=None)
@click.option("--subject", default=None)
@CONTROLLER
@click.option("--ticket", required=True, callback=_text)
@click.option("--reason", required=True, callback=_text)
@BY
@AT
def restrict(
    item: str | None,
    subject: str | None,
    controller: str,
    ticket: str,
    reason: str,
    by: str | None,
    at: datetime | None,
) -> None:
    """Restrict processing (GDPR art. 18): stored, not processed, not erased
    until lifted.
    """
    if (client := api()) is not None:
        return remote.restrict(client, item, subject, controller, ticket, reason, at)
    by = _by(by)
    target, outcome = _change_target(
        item,
        subject,
        controller,
        lambda app, ref: app.restrict(ref, ticket, reason, by, _now(at)),
        lambda app, ctrl, sid: app.restrict_subject(
            ctrl, sid, ticket, reason, by, _now(at)
        ),
        ticket=ticket,
        reason=reason,
        requested_by=by,
    )
    click.echo(wording.restriction_recorded(ticket, target, outcome.recorded))
    _echo_outcome(outcome, controller, of_subject=subject is not None)


@click.command()
@click.option("--item", default=None)
@click.option("--subject", default=None)
@CONTROLLER
@click.option("--ticket", required=True, callback=_text)
@BY
@AT
def lift(
    item: str | None,
    subject: str | None,
    controller: str,
    ticket: str,
    by: str | None,
    at: datetime | None,
) -> None:
    """Lift a restriction; an overdue item becomes due at the lift."""
    if (client := api()) is not None:
        return remote.lift(client, item, subject, controller, ticket, at)
    by = _by(by)
    target, outcome = _change_target(
        item,
        subject,
        controller,
        lambda app, ref: app.lift_restriction(ref, ticket, by, _now(at)),
        lambda app, ctrl, sid: app.lift_subject_restriction(
            ctrl, sid, ticket, by, _now(at)
        ),
        ticket=ticket,
        requested_by=by,
    )
    click.echo(wording.restriction_lifted(ticket, target))
    _echo_outcome(outcome, controller, of_subject=subject is not None)
