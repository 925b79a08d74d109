"""`lethe sweep`: one pass of what `lethe run` does on its timer, and its counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from lethe.domain.errors import BadCommandError
from lethe.ops.cli.relaying import NO_BOOTSTRAP, relay_now
from lethe.ops.cli.store import name_store, open_runtime
from lethe.ops.cli.support import INSTANT, UserError, format_instant
from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.settings import Settings


@click.command("sweep")
@click.option(
    "--now",
    type=INSTANT,
    default=None,
    help="Sweep as of this instant [default: now]; never later than the clock.",
)
def sweep(now: datetime | None) -> None:
    """Order the erasure of everything due, re-send unanswered orders, relay them.

    Brings the schedule up to date first and again after, so `lethe status`
    shows the orders at once. Orders, recalls and the tombstones of confirmed
    erasures go to Kafka when LETHE_KAFKA_BOOTSTRAP is set; otherwise `lethe run`
    relays them later.
    """
    settings = _settings()
    clock = datetime.now(UTC)
    now = now or clock
    if now > clock + timedelta(seconds=settings.max_clock_skew_s):
        # Sweeping "in the future" would erase items before the law lets them go.
        raise BadCommandError(
            f"--now {format_instant(now)} is later than the clock: "
            "nothing is swept before it is due"
        )
    runtime = open_runtime(settings)
    scheduled = runtime.catch_up()
    report = runtime.sweeper.sweep(now)
    scheduled += runtime.catch_up()
    click.echo(f"swept as of {format_instant(now)}")
    click.echo(f"scheduled {scheduled} events")
    click.echo(f"ordered   {report.ordered}")
    click.echo(f"re-sent   {report.reissued}")
    click.echo(f"refused   {report.refused} (held, restricted or changed meanwhile)")
    click.echo(_relay(runtime))
    name_store(settings)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as error:
        raise UserError(str(error)) from None


def _relay(runtime: Runtime) -> str:
    # The relay's records: orders, recalls, and the tombstones of erasures
    # a store has confirmed (tombstones follow the stores' answers).
    relayed = relay_now(runtime)
    if relayed is None:
        return f"relayed   0 ({NO_BOOTSTRAP})"
    return (
        f"relayed   {relayed.records} (orders, recalls, tombstones); "
        f"{relayed.shreds} erasures to the shred ledger"
    )
