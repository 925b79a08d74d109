"""Support commands carried out by `lethe serve` (LETHE_URL): the same options,
the same messages (cli/wording.py), no database settings needed.

The server records its caller's principal, never `--by`; and it dates each
change itself, so `--at` is refused rather than silently dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from lethe.domain.errors import BadCommandError
from lethe.ops.cli import wording
from lethe.ops.cli.answers import deadline_text
from lethe.ops.cli.remote import Api
from lethe.ops.runtime.bootstrap import shipped_policies


def _refuse_at(at: datetime | None) -> None:
    if at is not None:
        raise BadCommandError(
            "--at is not available through the API (LETHE_URL): the server dates "
            "each change; unset LETHE_URL to run it where the store is"
        )


def _target(item: str | None, subject: str | None, controller: str) -> dict[str, Any]:
    if bool(item) == bool(subject):
        raise BadCommandError(
            "name exactly one of --item ITEM_ID or --subject SUBJECT_ID"
        )
    if item:
        return {"item_id": item, "controller": controller}
    return {"subject_id": subject, "controller": controller}


def _change(
    client: Api, path: str, body: dict[str, Any], at: datetime | None
) -> tuple[int, Any]:
    _refuse_at(at)
    return client.call("POST", path, body)


def hold_place(
    client: Api, item: str | None, subject: str | None, controller: str,
    case_ref: str, reason: str, at: datetime | None,
) -> None:  # fmt: skip
    body = {**_target(item, subject, controller), "case_ref": case_ref,
            "reason": reason}  # fmt: skip
    _change(client, "/api/holds", body, at)
    click.echo(wording.hold_placed(case_ref, wording.target(item, controller)))


def hold_release(
    client: Api, item: str | None, subject: str | None, controller: str,
    case_ref: str, at: datetime | None,
) -> None:  # fmt: skip
    body = {**_target(item, subject, controller), "case_ref": case_ref}
    status, answer = _change(client, "/api/holds/release", body, at)
    if status == 202:
        click.echo(wording.awaiting_approval(answer["approval_id"]))
        return
    click.echo(wording.hold_released(case_ref, wording.target(item, controller)))


def restrict(
    client: Api, item: str | None, subject: str | None, controller: str,
    ticket: str, reason: str, at: datetime | None,
) -> None:  # fmt: skip
    body = {**_target(item, subject, controller), "ticket": ticket, "reason": reason}
    _change(client, "/api/restrictions", body, at)
    click.echo(wording.restriction_recorded(ticket, wording.target(item, controller)))


def lift(
    client: Api, item: str | None, subject: str | None, controller: str,
    ticket: str, at: datetime | None,
) -> None:  # fmt: skip
    body = {**_target(item, subject, controller), "ticket": ticket}
    _change(client, "/api/restrictions/lift", body, at)
    click.echo(wording.restriction_lifted(ticket, wording.target(item, controller)))


def police_extend(client: Api, item: str, case_ref: str, at: datetime | None) -> None:
    path = f"/api/items/{item}/police-extension"
    _, found = _change(client, path, {"case_ref": case_ref}, at)
    due = found.get("due_at")
    due_at = datetime.fromisoformat(due) if due else None
    click.echo(wording.police_extended(item, due_at, found.get("rule", "")))


def erase_subject(
    client: Api, subject_id: str, controller: str, reason: str,
    ticket: str | None, at: datetime | None,
) -> None:  # fmt: skip
    body = {"subject_id": subject_id, "controller": controller, "reason": reason,
            "ticket": ticket}  # fmt: skip
    status, answer = _change(client, "/api/subjects/erasure", body, at)
    if status == 202:
        click.echo(wording.awaiting_approval(answer["approval_id"]))
        return
    zone = shipped_policies()[controller].zone
    due = datetime.fromisoformat(answer["answer_due_at"])
    click.echo(wording.request_recorded(answer["request_id"]))
    click.echo(f"answer by {deadline_text(due, zone)}  {wording.ANSWER_LAW}")
    if answer.get("carried_out_at") is None:
        click.echo(wording.CARRIED_OUT_BY_RUN)
