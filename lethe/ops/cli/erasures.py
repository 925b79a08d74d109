"""`lethe erasures`: what a store confirmed erased, and replaying it after a restore.

A store restored from a backup has back every file it deleted after the backup
was taken. `lethe erasures since TS` lists those erasures, without personal
data; `lethe erasures replay --since TS --store S` records a replay of each
(ErasureReplayed, one transaction), and the relay sends them as it sends orders:
the same order ids, signed, marked as replays for S. Nothing is produced from
here: with LETHE_KAFKA_BOOTSTRAP set the relay runs once now, as `lethe sweep`
does; otherwise `lethe run` sends them. Holds win: an item held or restricted
(or whose subject is) is not replayed, and says so.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import click

from lethe.ops.cli.relaying import NO_BOOTSTRAP, relay_now
from lethe.ops.cli.store import name_store, open_runtime
from lethe.ops.cli.support import (
    INSTANT,
    NotKnownUserError,
    UserError,
    echo_table,
    format_instant,
    new_table,
)
from lethe.ops.runtime.bootstrap import Runtime
from lethe.projections.bulk import load_items
from lethe.projections.erasures import ConfirmedErasure, confirmed_since, stores

NOTHING_DONE_EXIT = 1  # the command was right, but there was nothing to do
EXAMPLES = 3


@click.group(short_help="Erasures stores confirmed, and their replay after a restore.")
def erasures() -> None:
    """Erasures stores confirmed, and their replay after a restore.

    For a store restored from a backup: list what it had erased since the
    backup (`since`), and send those orders again (`replay`)."""


SINCE_HELP = (
    "Erasures confirmed after this instant: when the backup restored was taken."
)


@erasures.command("since")
@click.argument("since", type=INSTANT, metavar="TS")
@click.option("--store", default=None, help="Only this store's confirmations.")
def since_command(since: datetime, store: str | None) -> None:
    """Every erasure confirmed after TS: item, category, store, order, outcome.

    No personal data: ids, categories and the stores' outcomes only. REPLAYS
    names the replays already recorded and the store's answer to each.
    """
    runtime = open_runtime()
    _check(runtime, since, store)
    rows = confirmed_since(runtime.app, runtime.views, since, store)
    if not rows:
        click.echo(_none_since(since, store))
        return
    table = new_table(
        "item", "category", "store", "order", "confirmed", "outcome", "replays"
    )
    for row in rows:
        table.add_row(
            row.item_ref,
            row.category,
            row.store,
            row.order_id,
            format_instant(row.confirmed_at),
            row.outcome,
            _replays(row),
        )
    echo_table(table)
    click.echo(f"{len(rows)} erasures confirmed after {format_instant(since)}")


@erasures.command("replay")
@click.option("--since", "since", type=INSTANT, required=True, help=SINCE_HELP)
@click.option("--store", required=True, help="The store restored from the backup.")
def replay_command(since: datetime, store: str) -> None:
    """Send again every erasure STORE confirmed after --since, marked as replays.

    For a store restored from a backup: the same order ids, so the store's
    answers join the same history; `lethe audit item` shows each replay, and
    `lethe erasures since` the store's answer. An item held or restricted (or
    whose subject is) is not replayed. Exit 1 when nothing was replayed.
    """
    runtime = open_runtime()
    _check(runtime, since, store)
    rows = confirmed_since(runtime.app, runtime.views, since, store)
    click.echo(
        f"replay    store {store}: erasures confirmed after {format_instant(since)}"
    )
    if not rows:
        click.echo(f"nothing   {_none_since(since, store)}; nothing replayed")
        sys.exit(NOTHING_DONE_EXIT)
    replayed, held = _record(runtime, rows, store, since)
    click.echo(f"found     {len(rows)} erasures")
    click.echo(_line("replayed", [r.item_ref for r in replayed]))
    if held:
        names = [f"{r.item_ref} ({', '.join(on)})" for r, on in held]
        click.echo(_line("held", names) + "  (holds win: not replayed)")
    if not replayed:
        click.echo("status    nothing replayed: every item is held or restricted")
        sys.exit(NOTHING_DONE_EXIT)
    click.echo(_relayed(runtime, since, store, len(replayed)))
    name_store(runtime.settings)


def _check(runtime: Runtime, since: datetime, store: str | None) -> None:
    skew = timedelta(seconds=runtime.settings.max_clock_skew_s)
    if since > datetime.now(UTC) + skew:
        raise UserError(
            f"{format_instant(since)} is later than the clock: "
            "no erasure is confirmed in the future"
        )
    if store is None:
        return
    known = stores(runtime.app)
    if store not in known:
        listed = ", ".join(sorted(known)) or "none yet"
        raise NotKnownUserError(
            f"no store {store!r} ever confirmed an erasure (stores that did:"
            f" {listed}); check the store name"
        )


def _record(
    runtime: Runtime, rows: list[ConfirmedErasure], store: str, since: datetime
) -> tuple[list[ConfirmedErasure], list[tuple[ConfirmedErasure, list[str]]]]:
    """Record every replay, in one transaction: a crash records all or none."""
    orders = [(row.item_ref, row.order_id) for row in rows]
    items = load_items(runtime.app, runtime.views, {ref for ref, _ in orders})
    at = datetime.now(UTC)
    held = runtime.app.replay_erasures(orders, store, since, at, items)
    replayed = [row for row, on in zip(rows, held, strict=True) if not on]
    kept = [(row, on) for row, on in zip(rows, held, strict=True) if on]
    return replayed, kept


def _relayed(runtime: Runtime, since: datetime, store: str, replayed: int) -> str:
    if relay_now(runtime) is None:
        return f"status    recorded, not sent yet ({NO_BOOTSTRAP})"
    # The relay's gate may have kept some back: a hold recorded since we looked.
    rows = confirmed_since(runtime.app, runtime.views, since, store)
    withheld = sum(
        1 for row in rows if row.replays and row.replays[-1].answer == "withheld"
    )
    sent = f"{replayed - withheld} sent" + (
        f", {withheld} withheld by a hold recorded meanwhile" if withheld else ""
    )
    return (
        f"status    recorded and relayed ({sent});"
        " the store's answers show in `lethe erasures since`"
    )


def _line(label: str, refs: Iterable[str]) -> str:
    shown = list(refs)
    head = ", ".join(shown[:EXAMPLES])
    more = f" and {len(shown) - EXAMPLES} more" if len(shown) > EXAMPLES else ""
    return f"{label:<9} {len(shown)}  {head}{more}".rstrip()


def _replays(row: ConfirmedErasure) -> str:
    if not row.replays:
        return "-"
    return "; ".join(
        f"#{r.number} {format_instant(r.at)} {r.answer or 'awaiting answer'}"
        for r in row.replays
    )


def _none_since(since: datetime, store: str | None) -> str:
    by = f" by store {store}" if store else ""
    return f"no erasure confirmed{by} after {format_instant(since)}"
