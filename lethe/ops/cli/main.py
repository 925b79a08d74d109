"""The `lethe` command: the root group and the map of every command it has.

Commands load lazily, so `lethe --help` and a quick answer (`lethe retention
due`) start without importing eventsourcing, Kafka or FastAPI. To add a
command, add ONE line to COMMANDS:

    "name": Lazy("lethe.ops.cli.module:click_object", "First sentence of its help."),

The short help must be the first sentence of the command's docstring
(tests/unit/test_cli_lazy.py checks it, and that every entry imports). A name
with a space (`"audit report"`) adds a subcommand to a group from another
module. Keep the command's module free of heavy imports at its top when it
answers quickly; defer them into the functions that need them.
LetheGroup turns user errors into one-line `lethe: ...` messages (exit 2);
see cli/support.py.
"""

from __future__ import annotations

from typing import Any

import click

from lethe.ops.cli.lazy import Lazy, LazyGroup
from lethe.ops.cli.support import CREATE_FLAG

# fmt: off
COMMANDS = {
    "retention": Lazy("lethe.ops.cli.retention:retention", "Ask when items are due for erasure."),
    "policy": Lazy("lethe.ops.cli.retention:policy_group", "Read the retention policies Lethe ships."),
    "erase": Lazy("lethe.ops.cli.requests:erase", "Erase on request (GDPR article 17)."),
    "hold": Lazy("lethe.ops.cli.requests:hold", "Legal holds (police case, dispute): nothing held is erased until released."),
    "restrict": Lazy("lethe.ops.cli.requests:restrict", "Restrict processing (GDPR article 18)."),
    "lift": Lazy("lethe.ops.cli.requests:lift", "Lift a restriction; an overdue item becomes due at the lift."),
    "request": Lazy("lethe.ops.cli.extend:request", "Subject requests: extend the answer period."),
    "status": Lazy("lethe.ops.cli.status:status", "Is `lethe run` running and keeping up, and what needs a person."),
    "item": Lazy("lethe.ops.cli.status:item", "When will ITEM_ID be erased, by which rule, and what stands in the way."),
    "audit": Lazy("lethe.ops.cli.audit:audit", "Replay history: timelines, verification, disposal reports."),
    "policy what-if": Lazy("lethe.ops.cli.policy:what_if", "How a new version of a policy would move the live items; changes nothing."),
    "policy apply": Lazy("lethe.ops.cli.policy:apply", "Put a new version in force and reschedule every live item under it."),
    "audit report": Lazy("lethe.ops.cli.report:audit_report", "The disposal report of a month: erasures, delays, holds, requests, overdue."),
    "run": Lazy("lethe.ops.cli.kafka:run_command", "Take the inbound topics into the event store, exactly once."),
    "relay": Lazy("lethe.ops.cli.kafka:relay_command", "Send erasure orders and tombstones to Kafka in a process of its own."),
    "produce": Lazy("lethe.ops.cli.produce:produce_command", "Publish JSON lines to an inbound TOPIC as contract records, checked as the consumer checks them."),
    "topics": Lazy("lethe.ops.cli.kafka:topics", "Lethe's Kafka topics."),
    "broker": Lazy("lethe.ops.cli.broker:broker_command", "Run the embedded Kafka-protocol broker (Tansu) for a trial, until Ctrl-C."),
    "sweep": Lazy("lethe.ops.cli.sweep:sweep", "Order the erasure of everything due, re-send unanswered orders, relay them."),
    "erasures": Lazy("lethe.ops.cli.erasures:erasures", "Erasures stores confirmed, and their replay after a restore."),
    "eraser": Lazy("lethe.ops.cli.eraser:eraser_command", "The reference eraser: delete file:// blobs that Lethe orders erased."),
    "demo": Lazy("lethe.ops.demo.main:demo", "Run a synthetic alarm-centre day through Lethe on SQLite and the embedded broker."),
    "bench": Lazy("lethe.ops.bench.command:bench_command", "Measure ingest, sweep, subject erasure, audit verify and memory on PostgreSQL."),
    "serve": Lazy("lethe.ops.cli.serve:serve", "Serve the HTTP API (OpenAPI at /openapi.json)."),
    "token": Lazy("lethe.ops.cli.tokens:token", "API tokens for `lethe serve`: shown once, stored hashed, revocable."),
    "keys": Lazy("lethe.ops.cli.keys:keys", "The key-encryption key and the pseudonym key (docs/keys.md)."),
    "login": Lazy("lethe.ops.cli.remote:login", "Check a token against the server and keep it for the support commands."),
    "signer": Lazy("lethe.ops.cli.signers:signer", "Keys that sign commands (pipelines) and confirmations (stores)."),
}
# fmt: on


def _version() -> str:
    # importlib.metadata costs ~20 ms: only for --version.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lethe")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "0+unknown"


def _show_version(ctx: click.Context, _param: Any, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"lethe, version {_version()}")
        ctx.exit()


@click.group(name="lethe", cls=LazyGroup, lazy=COMMANDS)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
@click.option(
    "--create",
    is_flag=True,
    help="Let this command start a new, empty store where none is "
    "(run, demo and serve may without it).",
)
@click.pass_context
def main(ctx: click.Context, create: bool) -> None:
    """Lethe keeps the lifecycle of every item an alarm receiving centre holds,
    and erases each one when its retention policy says it must go.
    """
    ctx.meta[CREATE_FLAG] = create


if __name__ == "__main__":
    main()
