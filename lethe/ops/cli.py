"""The `lethe` command: the root group, to which each cli_* module adds its own."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import click

from lethe.ops import (
    cli_audit,
    cli_eraser,
    cli_kafka,
    cli_requests,
    cli_retention,
    cli_status,
    cli_sweep,
    demo,
)
from lethe.ops.bench.command import bench_command
from lethe.ops.cli_support import LetheGroup


def _version() -> str:
    try:
        return version("lethe")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "0+unknown"


@click.group(name="lethe", cls=LetheGroup)
@click.version_option(_version(), "--version", prog_name="lethe")
def main() -> None:
    """Lethe keeps the lifecycle of every item an alarm receiving centre holds,
    and erases each one when its retention policy says it must go.
    """


# Each cli_* module defines its click groups and commands and knows nothing of
# this file: import it above and add its commands here. LetheGroup turns their
# user errors into one-line `lethe: ...` messages (exit 2); see cli_support.
main.add_command(cli_retention.retention)
main.add_command(cli_retention.policy_group)
main.add_command(cli_requests.erase)
main.add_command(cli_requests.hold)
main.add_command(cli_requests.restrict)
main.add_command(cli_requests.lift)
main.add_command(cli_status.status)
main.add_command(cli_status.item)
main.add_command(cli_audit.audit)
main.add_command(cli_kafka.run_command)
main.add_command(cli_kafka.produce_command)
main.add_command(cli_kafka.topics)
main.add_command(cli_sweep.sweep)
main.add_command(cli_eraser.eraser_command)
main.add_command(demo.demo)
main.add_command(bench_command)
