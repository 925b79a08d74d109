"""The `lethe` command: the root group, to which each module of `cli/` adds its own."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import click

from lethe.ops.bench.command import bench_command
from lethe.ops.cli import audit as cli_audit
from lethe.ops.cli import eraser as cli_eraser
from lethe.ops.cli import extend as cli_extend
from lethe.ops.cli import kafka as cli_kafka
from lethe.ops.cli import report as cli_report
from lethe.ops.cli import requests as cli_requests
from lethe.ops.cli import retention as cli_retention
from lethe.ops.cli import serve as cli_serve
from lethe.ops.cli import status as cli_status
from lethe.ops.cli import sweep as cli_sweep
from lethe.ops.cli import tokens as cli_tokens
from lethe.ops.cli.store import CREATE_FLAG
from lethe.ops.cli.support import LetheGroup
from lethe.ops.demo import main as demo


def _version() -> str:
    try:
        return version("lethe")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "0+unknown"


@click.group(name="lethe", cls=LetheGroup)
@click.version_option(_version(), "--version", prog_name="lethe")
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


# Each module of cli/ defines its click groups and commands and knows nothing of
# this file: import it above and add its commands here. LetheGroup turns their
# user errors into one-line `lethe: ...` messages (exit 2); see cli/support.py.
main.add_command(cli_retention.retention)
main.add_command(cli_retention.policy_group)
main.add_command(cli_requests.erase)
main.add_command(cli_requests.hold)
main.add_command(cli_requests.restrict)
main.add_command(cli_requests.lift)
main.add_command(cli_extend.request)
main.add_command(cli_status.status)
main.add_command(cli_status.item)
main.add_command(cli_audit.audit)
cli_audit.audit.add_command(cli_report.audit_report)
main.add_command(cli_kafka.run_command)
main.add_command(cli_kafka.produce_command)
main.add_command(cli_kafka.topics)
main.add_command(cli_sweep.sweep)
main.add_command(cli_eraser.eraser_command)
main.add_command(demo.demo)
main.add_command(bench_command)
main.add_command(cli_serve.serve)
main.add_command(cli_tokens.token)


if __name__ == "__main__":
    main()
