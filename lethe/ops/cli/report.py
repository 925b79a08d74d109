"""`lethe audit report`: the monthly disposal report, sealed with its SHA-256."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from lethe.domain.errors import BadCommandError
from lethe.ops.cli.audit import json_default
from lethe.ops.cli.store import open_runtime
from lethe.ops.cli.support import INSTANT, ZONE
from lethe.ops.runtime.report import disposal_report
from lethe.projections.audit_report_html import render_html
from lethe.projections.audit_report_seal import NotSealedError, check, seal

# -- report ------------------------------------------------------------------------


def _month(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    if value is None:
        return None
    try:
        datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a month; write e.g. 2026-03"
        ) from None
    return value


@click.command("report")
@click.option("--month", default=None, callback=_month, help="YYYY-MM.")
@click.option(
    "--check",
    "check_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Check that a report written before is unchanged (exit 1 if not).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "html"]),
    default="json",
    show_default=True,
)
@click.option(
    "--zone",
    type=ZONE,
    default="Europe/Oslo",
    show_default=True,
    help="The time zone whose calendar month is reported.",
)
@click.option(
    "--lang",
    type=click.Choice(["en", "no"]),
    default="en",
    show_default=True,
    help="The HTML's labels: English or Norwegian.",
)
@click.option("--now", type=INSTANT, default=None, help="Judge as of [default: now].")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write to this file [default: stdout].",
)
def audit_report(
    month: str | None,
    check_file: str | None,
    fmt: str,
    zone: str,
    lang: str,
    now: datetime | None,
    output: str | None,
) -> None:
    """The disposal report of a month: erasures, delays, holds, requests, overdue."""
    if (month is None) == (check_file is None):
        raise click.UsageError("give --month M to make a report, or --check FILE")
    if check_file is not None:
        _check_report(check_file)
        return
    assert month is not None
    report = disposal_report(open_runtime(), month, zone, now or datetime.now(UTC))
    doc = report.document()
    text = (
        render_html(doc, lang)
        if fmt == "html"
        else json.dumps(doc, default=json_default, indent=2)
    )
    sealed, digest = seal(text + "\n")
    if output is None:
        click.echo(sealed, nl=False)
    else:
        # newline="": the bytes written are the bytes sealed, on any platform.
        with open(output, "w", encoding="utf-8", newline="") as file:
            file.write(sealed)
        click.echo(f"{output}: sha256 {digest}", err=True)


def _check_report(path: str) -> None:
    with open(path, "rb") as file:
        raw = file.read()
    try:
        intact, digest = check(raw.decode("utf-8"))
    except (UnicodeDecodeError, NotSealedError):
        raise BadCommandError(
            f"{path} is not a Lethe disposal report (it carries no digest)"
        ) from None
    if not intact:
        click.echo(f"{path}: CHANGED since it was made (it claims sha256 {digest})")
        sys.exit(1)
    click.echo(f"{path}: unchanged (sha256 {digest})")
