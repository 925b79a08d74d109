"""`lethe audit`: timelines of an item or a subject, invariant verification, reports."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast
from urllib.parse import quote

import click

from lethe.domain import identity
from lethe.domain.errors import ItemNotFoundError
from lethe.domain.item import Item
from lethe.ops.cli.remote import Api, api
from lethe.ops.cli.requests import CONTROLLER
from lethe.ops.cli.store import open_runtime, opened_settings
from lethe.ops.cli.support import (
    INSTANT,
    echo_table,
    format_instant,
    new_table,
)
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.runtime.verify_parallel import default_workers, verify_store
from lethe.ops.settings import Settings
from lethe.projections.audit_subject import subject_history
from lethe.projections.audit_timeline import (
    Row,
    backdated,
    item_document,
    opened_rows,
    rows_of,
    subject_document,
)
from lethe.projections.audit_verify import DEFAULT_SLACK, VerifyLimits, VerifyResult

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="One JSON document.")


@click.group(short_help="Replay history: timelines, verification, disposal reports.")
def audit() -> None:
    """Replay Lethe's history: what was kept, by which rule, when and why it went."""


@audit.command("item")
@click.argument("item_id")
@JSON_OPTION
def audit_item(item_id: str, as_json: bool) -> None:
    """The whole history of ITEM_ID: ingest, schedule, holds, erasure, confirmation."""
    if (client := api()) is not None:
        return _remote_audit_item(client, item_id, as_json)
    app = open_runtime().app
    events = list(app.events.get(identity.item_id(item_id)))
    if not events:
        raise ItemNotFoundError(item_id)
    # An item's stream opens with its Ingested (version 1 is upcast to it).
    first = cast(Item.Ingested, events[0])
    if as_json:
        _echo_json(app.open_text(first.subject_ref, item_document(events)))
        return
    click.echo(f"item      {first.item_ref} ({first.category}, {first.controller})")
    rows = opened_rows(rows_of(events), partial(app.open_text, first.subject_ref))
    _echo_rows(rows, with_item=False)


def _remote_audit_item(client: Api, item_id: str, as_json: bool) -> None:
    """The server's document; in text, the same table as from the store."""
    _, doc = client.call("GET", f"/api/audit/items/{quote(item_id, safe='')}")
    if as_json:
        click.echo(json.dumps(doc, indent=2))  # instants as the server wrote them
        return
    click.echo(f"item      {doc['item']} ({doc['category']}, {doc['controller']})")
    _echo_rows(_rows_of_document(doc["timeline"]), with_item=False)


def _rows_of_document(timeline: list[dict[str, Any]], item: str = "") -> list[Row]:
    """The rows of a timeline as the server sent it (instants in ISO 8601)."""

    def instant(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    return [
        Row(
            datetime.fromisoformat(r["at"]),
            item,
            r["event"],
            r["details"],
            instant(r.get("recorded")),
        )
        for r in timeline
    ]


def _remote_audit_subject(
    client: Api, subject_id: str, controller: str, as_json: bool
) -> None:
    """The server's document; in text, the same table as from the store."""
    body = {"subject_id": subject_id, "controller": controller}
    _, doc = client.call("POST", "/api/audit/subjects", body)
    if as_json:
        click.echo(json.dumps(doc, indent=2))  # instants as the server wrote them
        return
    click.echo(f"subject   {doc['subject']}")
    click.echo(
        f"pseudonym {doc['pseudonym']} ({controller}); {len(doc['items'])} items"
    )
    rows = _rows_of_document(doc["timeline"])
    for item in doc["items"]:
        rows += _rows_of_document(item["timeline"], item=item["item"])
    _echo_rows(sorted(rows, key=lambda r: r.at), with_item=True)


@audit.command("subject")
@click.argument("subject_id")
@CONTROLLER
@JSON_OPTION
def audit_subject(subject_id: str, controller: str, as_json: bool) -> None:
    """The history of SUBJECT_ID and of every item Lethe held of them."""
    if (client := api()) is not None:
        return _remote_audit_subject(client, subject_id, controller, as_json)
    runtime = open_runtime()
    runtime.catch_up()  # the subject's items are found through the schedule's index
    history = subject_history(runtime.app, runtime.views, controller, subject_id)
    if as_json:
        docs = [item_document(events) for events in history.item_events if events]
        document = subject_document(history.subject_events, history.shown_as, docs)
        _echo_json(runtime.app.open_text(history.subject_ref, document))
        return
    click.echo(f"subject   {history.shown_as}")
    click.echo(
        f"pseudonym {history.subject_ref} ({controller});"
        f" {len(history.item_refs)} items"
    )
    rows = rows_of(history.subject_events)
    for ref, events in zip(history.item_refs, history.item_events, strict=True):
        rows += rows_of(events, item=ref)
    rows = opened_rows(rows, partial(runtime.app.open_text, history.subject_ref))
    _echo_rows(sorted(rows, key=lambda r: r.at), with_item=True)


def _echo_rows(rows: list[Row], with_item: bool) -> None:
    table = new_table(
        "instant", "recorded", *(["item"] if with_item else []), "event", "details"
    )
    for row in rows:
        item = [row.item or "(subject)"] if with_item else []
        table.add_row(
            format_instant(row.at), _recorded(row), *item, row.event, row.details
        )
    echo_table(table)


def _recorded(row: Row) -> str:
    """When the event was really recorded, if not at its instant (back-dated
    with --at, or a process that took it in later); "" when the same."""
    if row.recorded is None or not backdated(row.recorded, row.at):
        return ""
    return format_instant(row.recorded)


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, default=json_default, indent=2))


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, bytes):
        return None  # never a seal or other bytes in an audit document
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# -- verify ------------------------------------------------------------------------


@audit.command("verify")
@click.option(
    "--since", type=INSTANT, default=None, help="Report violations from this instant."
)
@click.option(
    "--until", type=INSTANT, default=None, help="Report violations up to this instant."
)
@click.option(
    "--now",
    type=INSTANT,
    default=None,
    help="Judge open items as of this instant [default: --until, else now].",
)
@click.option("--page-size", type=click.IntRange(1), default=5000, show_default=True)
@click.option(
    "--slack-s",
    type=click.FloatRange(0),
    default=DEFAULT_SLACK.total_seconds(),
    show_default=True,
    help="Seconds allowed beyond the sweep interval before a sweep counts as"
    " missed (or, in a history without sweep records, an order as late).",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Processes, each replaying a part of the streams"
    " [default: the CPUs on PostgreSQL; 1 on SQLite].",
)
@JSON_OPTION
def audit_verify(
    since: datetime | None,
    until: datetime | None,
    now: datetime | None,
    page_size: int,
    slack_s: float,
    workers: int | None,
    as_json: bool,
) -> None:
    """Replay the whole event store; check every retention invariant (exit 1 if not)."""
    settings = opened_settings()
    if workers is None:
        workers = default_workers(settings)
    elif workers > 1 and settings.store != "postgres":
        raise click.BadParameter(
            "SQLite is verified in one process", param_hint="--workers"
        )
    limits = VerifyLimits(
        now=now or until or datetime.now(UTC),
        sweep_interval=timedelta(seconds=settings.sweep_interval_s),
        confirm_timeout=timedelta(seconds=settings.confirm_timeout_s),
        since=since,
        until=until,
        slack=timedelta(seconds=slack_s),
    )
    started = time.perf_counter()
    with _progress(settings) as advance:
        result = verify_store(settings, limits, workers, page_size, advance)
    elapsed = time.perf_counter() - started
    if as_json:
        _echo_json(_verify_document(result, limits, elapsed, workers))
    else:
        _echo_verify(result, limits, elapsed, workers)
    if not result.ok:
        sys.exit(1)


@contextmanager
def _progress(settings: Settings) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal; nothing when piped or captured."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    app = build_app(settings)
    total = app.process_recorder.max_notification_id() or 0
    app.close()
    with Progress(transient=True) as bar:
        task = bar.add_task("replaying", total=total)
        yield lambda n: bar.advance(task, n)


def _echo_verify(
    result: VerifyResult, limits: VerifyLimits, elapsed: float, workers: int
) -> None:
    click.echo(
        f"replayed {result.events} events of {result.items} items in {elapsed:.1f}s"
        f" ({workers} {'worker' if workers == 1 else 'workers'})"
    )
    click.echo(_lateness_basis(result, limits))
    if result.ok:
        click.echo("all invariants hold")
        return
    table = new_table("violation", "item", "rule", "instant", "instants")
    for v in result.violations:
        instants = ", ".join(
            f"{k} {format_instant(t) if t else '-'}" for k, t in v.instants.items()
        )
        table.add_row(v.name, v.item, v.rule, format_instant(v.instant), instants)
    echo_table(table)
    counts = ", ".join(f"{name} {n}" for name, n in sorted(result.counts.items()))
    click.echo(f"{sum(result.counts.values())} violations: {counts}")


def _lateness_basis(result: VerifyResult, limits: VerifyLimits) -> str:
    """How lateness was judged, in words: the auditor must know the slack."""
    interval, slack = _seconds(limits.sweep_interval), _seconds(limits.slack)
    if result.sweeps:
        return (
            f"late judged against {result.sweeps} recorded sweeps:"
            f" a sweep is missed after {interval} interval + {slack} slack"
        )
    return (
        "no sweep records in this history: late means not ordered within"
        f" {interval} interval + {slack} slack of falling due"
    )


def _seconds(span: timedelta) -> str:
    return f"{span.total_seconds():g} s"


def _verify_document(
    result: VerifyResult, limits: VerifyLimits, elapsed: float, workers: int
) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "events": result.events,
        "items": result.items,
        "sweeps": result.sweeps,
        "lateness": {
            "basis": "recorded-sweeps" if result.sweeps else "no-sweep-records",
            "sweep_interval_s": limits.sweep_interval.total_seconds(),
            "slack_s": limits.slack.total_seconds(),
        },
        "seconds": round(elapsed, 3),
        "workers": workers,
        "counts": dict(result.counts),
        "violations": [
            {
                "name": v.name,
                "item": v.item,
                "rule": v.rule,
                "instant": v.instant,
                "instants": v.instants,
            }
            for v in result.violations
        ],
    }
