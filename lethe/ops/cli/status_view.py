"""What `lethe status` reads, what it counts as needing attention, and how it shows it.

The JSON keys are a contract for scripts (docs/operations.md lists them): new
keys may be added, none renamed or removed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import click
from rich.table import Table

from lethe.ops.cli.support import echo_table, format_instant
from lethe.ops.kafka.relay import Backlog, backlog
from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.runtime.preflight import describe_store
from lethe.projections import aside
from lethe.projections.health import Health, read_health, service_problems
from lethe.projections.status import Status, read_status


@dataclass(frozen=True)
class Found:
    store: str
    now: datetime
    # Counts once this command brought the schedule up to date; the log head and
    # the projector's position as lethe run had left them.
    health: Health
    report: Status
    halts: list[aside.Halt]
    set_aside: list[aside.SetAside]
    service: list[str]  # what is wrong with `lethe run`, one line each
    relay: Backlog  # as lethe run or lethe relay had left it


def read_everything(runtime: Runtime, now: datetime) -> Found:
    settings, views = runtime.settings, runtime.views

    def health() -> Health:
        return read_health(
            views,
            runtime.app.process_recorder.max_notification_id() or 0,
            now,
            settings.sweep_interval_s,
            settings.confirm_timeout_s,
            settings.answer_warning_days,
        )

    # Before catching up: the projector's lag is lethe run's, not this command's.
    before = health()
    relay = backlog(runtime.app)
    runtime.catch_up()
    after = replace(
        health(), log_head=before.log_head, projector_position=before.projector_position
    )
    report = read_status(
        views,
        now,
        settings.sweep_interval_s,
        settings.confirm_timeout_s,
        settings.answer_warning_days,
        {controller: p.zone for controller, p in runtime.app.policies.items()},
    )
    return Found(
        store=describe_store(settings),
        now=now,
        health=after,
        report=report,
        halts=aside.halts(views),
        set_aside=aside.set_aside(views),
        service=service_problems(after.runner, now),
        relay=relay,
    )


def needs_attention(found: Found) -> list[str]:
    """One line per thing a person must look at; empty when all is well."""
    h = found.health
    counted = [
        (h.overdue, "overdue: due, not ordered by a sweep"),
        (h.unconfirmed, "erasure orders not confirmed in time"),
        (h.failed, "erasure orders a store answered FAILED"),
        (h.requests_past_deadline, "subject requests past their deadline"),
        (h.requests_near_deadline, "subject requests near their deadline"),
        (len(found.halts), "partitions halted (offsets went back)"),
        (len(found.set_aside), "records set aside"),
    ]
    lines = list(found.service)
    return lines + [f"{what}: {n}" for n, what in counted if n]


def as_json_report(found: Found, attention: list[str]) -> dict[str, Any]:
    h, runner = found.health, found.health.runner
    return _instants(
        {
            "store": found.store,
            "now": found.now,
            "ok": not attention,
            "attention": attention,
            "service": {
                "lease_holder": runner.holder if runner else None,
                "lease_held": bool(runner and runner.holds(found.now)),
                "heartbeat_at": runner.heartbeat_at if runner else None,
                "released_at": runner.released_at if runner else None,
                "last_sweep_at": runner.swept_at if runner else None,
                "last_sweep_finished_at": runner.sweep_finished_at if runner else None,
                "last_sweep_duration_s": runner.sweep_duration_s if runner else None,
                "sweep_interval_s": (
                    runner.sweep_interval.total_seconds() if runner else None
                ),
                "sweeps_missed": runner.sweeps_missed(found.now) if runner else None,
                "problems": found.service,
            },
            "projector": {
                "log_head": h.log_head,
                "position": h.projector_position,
                "lag": h.projector_lag,
            },
            "relay": {
                "position": found.relay.position,
                "events_waiting": found.relay.waiting,
                "counted_up_to": found.relay.most,
            },
            "counts": {
                "overdue": h.overdue,
                "unconfirmed": h.unconfirmed,
                "failed": h.failed,
                "requests_near_deadline": h.requests_near_deadline,
                "requests_past_deadline": h.requests_past_deadline,
                "set_aside": h.set_aside,
                "halted_partitions": h.halted_partitions,
            },
            **asdict(found.report),
            "halted_partitions": [asdict(x) for x in found.halts],
            "set_aside": [asdict(x) for x in found.set_aside],
        }
    )


def _instants(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, dict):
        return {k: _instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_instants(v) for v in value]
    return value


def render(found: Found, attention: list[str]) -> None:
    click.echo(f"store: {found.store}")
    _echo_service(found)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(found.report.states.items()))
    click.echo(f"items: {counts or 'none'}")
    _echo_items(found.report)
    _echo_requests(found.report)
    _echo_stopped(found.halts, found.set_aside)
    if attention:
        click.echo("needs attention:")
        for line in attention:
            click.echo(f"  - {line}")
    else:
        click.echo("all well: nothing needs attention")


def _echo_service(found: Found) -> None:
    runner, h = found.health.runner, found.health
    if runner is not None and runner.holds(found.now):
        click.echo(
            f"lethe run: {runner.holder} holds the lease since"
            f" {format_instant(runner.since)}"
        )
    if runner is not None and runner.sweep_finished_at is not None:
        took = runner.sweep_duration_s or 0.0
        click.echo(
            f"last sweep: finished {format_instant(runner.sweep_finished_at)}"
            f" ({took:.3f} s; every {runner.sweep_interval.total_seconds():g} s)"
        )
    click.echo(
        f"log: {h.log_head}, schedule read to {h.projector_position}"
        f" (lag {h.projector_lag})"
    )
    click.echo(_relay_line(found.relay))


def _relay_line(relay: Backlog) -> str:
    # Events, not records: an order goes as one record, a recall as one more.
    if not relay.waiting:
        return f"relay: sent to log position {relay.position}; nothing waits"
    count = f"{relay.most}+" if relay.more else f"{relay.waiting}"
    return (
        f"relay: sent to log position {relay.position}; {count} orders, recalls"
        " or tombstones wait to be sent"
    )


def _echo_items(report: Status) -> None:
    rows = report.overdue + report.unconfirmed + report.failed
    if rows:
        table = Table("item", "category", "what", "since", title="items")
        for a in rows:
            table.add_row(a.item_ref, a.category, a.what, format_instant(a.since))
        echo_table(table)


def _echo_requests(report: Status) -> None:
    if not report.requests:
        return
    table = Table(
        "request",
        "received",
        "answer by",
        "orders made",
        "awaiting",
        "days left",
        title="subject requests",
    )
    for r in report.requests:
        # Orders made are not an answer: the subject is answered once no store's
        # confirmation is awaited (the disposal report says exactly when).
        made = format_instant(r.carried_out_at) if r.carried_out_at else "not yet"
        extended = " (extended)" if r.extended_due_at else ""
        table.add_row(
            r.request_id,
            format_instant(r.requested_at),
            format_instant(r.due_at) + extended,
            made + (" LATE" if r.late else ""),
            f"{r.awaiting} unconfirmed" if r.awaiting else "-",
            _days_left(r.days_left),
        )
    echo_table(table)


def _days_left(days: int | None) -> str:
    if days is None:
        return "-"
    if days < 0:
        return f"OVERDUE {-days} {'day' if days == -1 else 'days'}"
    return "due today" if days == 0 else f"{days}"


def _echo_stopped(halts: list[aside.Halt], set_aside: list[aside.SetAside]) -> None:
    if halts:
        table = Table("partition", "since", "why", title="HALTED: not consumed")
        for x in halts:
            table.add_row(f"{x.topic}:{x.partition}", format_instant(x.since), x.note)
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
