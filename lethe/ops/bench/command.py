"""`lethe bench`: every figure on PostgreSQL and the broker, as JSON and a table."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from lethe.ops import logging as lethe_logging
from lethe.ops.bench.report import as_json, section, splice, table
from lethe.ops.bench.runner import GROUPS, Results, Runner, context
from lethe.ops.bench.sizes import FULL, QUICK
from lethe.ops.cli.support import UserError

QUICK_GROUPS = tuple(g for g in GROUPS if g != "scaleout")  # scale-out takes minutes


@click.command("bench")
@click.option(
    "--quick", is_flag=True, help="Smaller sizes (labelled so); a few minutes."
)
@click.option(
    "--runs",
    default=3,
    show_default=True,
    type=click.IntRange(1),
    help="Runs per figure; the table shows their median and spread.",
)
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(GROUPS),
    help="Measure only these (repeatable) [default: all; --quick skips scaleout].",
)
@click.option(
    "--size",
    "sizes",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override one size, e.g. --size verify_events=2000000.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    help="Write the figures, their runs and the machine as JSON here.",
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(path_type=Path),
    help="Replace the generated table in this file (e.g. docs/performance.md).",
)
@click.option(
    "--bootstrap", default="", help="A Kafka cluster [default: embedded broker]."
)
def bench_command(
    quick: bool,
    runs: int,
    only: tuple[str, ...],
    sizes: tuple[str, ...],
    json_path: Path | None,
    markdown_path: Path | None,
    bootstrap: str,
) -> None:
    """Measure ingest, sweep, subject erasure, audit verify and memory on PostgreSQL.

    Each run uses a fresh database on LETHE_POSTGRES_HOST (default
    127.0.0.1:5432, user postgres), created and dropped by the bench.
    """
    try:
        chosen = (QUICK if quick else FULL).override(list(sizes))
    except ValueError as error:
        raise UserError(str(error)) from None
    lethe_logging.configure(
        "ERROR"
    )  # per-batch lines and the odd dead letter: noise here
    groups = only or (QUICK_GROUPS if quick else GROUPS)
    command = "lethe " + shlex.join(sys.argv[1:])

    def save(results: Results) -> None:
        if json_path:
            json_path.write_text(
                as_json(results.figures, results.details, results.context)
            )

    with context(bootstrap) as bench:
        results = Runner(bench, chosen, runs).run(groups, command, after_each=save)
    save(results)
    click.echo(table(results.figures))
    if markdown_path and results.figures:
        splice(markdown_path, section(results.figures, results.context))
    for group, reason in results.failed.items():
        click.echo(f"{group} failed: {reason}", err=True)
    if results.failed:
        sys.exit(1)
