"""`lethe request extend`: GDPR art. 12(3)'s two further months for a request."""

from __future__ import annotations

from datetime import UTC, date, datetime

import click

from lethe.ops.cli.answers import deadline_text
from lethe.ops.cli.requests import AT, BY, CONTROLLER
from lethe.ops.cli.store import open_runtime


@click.group(short_help="Subject requests: extend the answer period.")
def request() -> None:
    """Data-subject requests (GDPR art. 12(3) deadlines)."""


@request.command("extend")
@click.argument("request_id")
@click.option(
    "--subject",
    "subject_id",
    required=True,
    help="Whose request: a request is known by its subject and its id.",
)
@CONTROLLER
@click.option("--reason", required=True, help="Why more time is needed.")
@click.option(
    "--told-on",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="The day the subject was told of the extension (YYYY-MM-DD).",
)
@BY
@AT
def extend(
    request_id: str,
    subject_id: str,
    controller: str,
    reason: str,
    told_on: datetime,
    by: str,
    at: datetime | None,
) -> None:
    """Extend REQUEST_ID by two months: only if the subject was told of it, and
    why, within the first month."""
    runtime = open_runtime()
    told: date = told_on.date()
    extension = runtime.desk.extend_request(
        controller, subject_id, request_id, reason, by, told, at or datetime.now(UTC)
    )
    zone = runtime.app.policy(controller).zone
    if extension.new:
        click.echo(f"request   {request_id} extended (GDPR art. 12(3))")
    else:
        click.echo(f"request   {request_id} was already extended; nothing new recorded")
    click.echo(f"first     {deadline_text(extension.answer_due_at, zone)}")
    click.echo(f"answer by {deadline_text(extension.extended_due_at, zone)}")
    click.echo(f"told on   {extension.told_on}")
