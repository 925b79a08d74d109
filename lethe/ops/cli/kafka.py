"""`lethe run`, `lethe relay`, `lethe topics ensure|resume`: Lethe's side of Kafka."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from kafka import KafkaAdminClient

from lethe.ops import logging as lethe_logging
from lethe.ops.cli.store import opened_settings
from lethe.ops.cli.support import UserError
from lethe.ops.kafka.settings import KafkaClientSettings, KafkaSettingsError
from lethe.ops.kafka.topics import (
    ItemTopicError,
    TopicSettings,
    TopicSettingsError,
    ensure,
)
from lethe.ops.runtime.bootstrap import build_app, shipped_policies
from lethe.ops.runtime.lethe_key import check_signing_key
from lethe.ops.runtime.run import (
    RelayOnEmbeddedStoreError,
    RunConfig,
    check_relay_store,
    run,
    run_relay,
    stop_on_signals,
)
from lethe.ops.settings import Settings, SettingsError
from lethe.projections.aside import PartitionStates
from lethe.projections.store import SqlViews

AUDIT_FINDINGS_EXIT = 3
UNVERIFIED_EXIT = 4  # nothing found wrong, but not everything could be checked
SETTINGS_ERRORS = (SettingsError, KafkaSettingsError, TopicSettingsError)


def run_config() -> RunConfig:
    """What `lethe run` and `lethe produce` read from the environment, or UserError."""
    try:
        return RunConfig.from_env(Settings.from_env())
    except SETTINGS_ERRORS as error:
        raise UserError(str(error)) from None


@click.command("run")
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING"], case_sensitive=False),
)
def run_command(log_level: str) -> None:
    """Take the inbound topics into the event store, exactly once.

    Every LETHE_SWEEP_INTERVAL_S seconds it also brings the schedule up to
    date, orders the erasure of what is due and relays the orders to Kafka
    (unless a `lethe relay` beside it is sending them).
    Logs are JSON lines on stderr. SIGTERM or Ctrl-C finishes the current
    batch and stops.
    """
    config = run_config()
    try:
        check_signing_key(config.settings)
    except SettingsError as error:
        raise UserError(str(error)) from None
    # run may start a store; its 'started' log line names the one it uses.
    opened_settings(config.settings, create=True)
    lethe_logging.configure(log_level)
    try:
        run(config, stop_on_signals())
    except ItemTopicError as error:
        raise UserError(str(error)) from None


@click.command("relay")
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING"], case_sensitive=False),
)
def relay_command(log_level: str) -> None:
    """Send erasure orders and tombstones to Kafka in a process of its own.

    Beside `lethe run` on PostgreSQL: it follows the event store and sends each
    page of orders as soon as it is recorded, on another core, while `lethe
    run` takes records, schedules and sweeps. One relay sends at a time (a
    lock in PostgreSQL); while this one runs, `lethe run` leaves the sending to
    it, and takes it back at its next tick when this one stops. Reads the same
    LETHE_* settings as `lethe run`. SIGTERM or Ctrl-C finishes the page and stops.
    """
    try:
        check_relay_store(Settings.from_env())  # before Kafka: it may not be meant
    except (RelayOnEmbeddedStoreError, SettingsError) as error:
        raise UserError(str(error)) from None
    config = run_config()
    try:
        check_signing_key(config.settings)
    except SettingsError as error:
        raise UserError(str(error)) from None
    # The store must be there: `lethe run` makes it, the relay only reads it.
    opened_settings(config.settings, create=False)
    lethe_logging.configure(log_level)
    try:
        run_relay(config, stop_on_signals())
    except SettingsError as error:
        raise UserError(str(error)) from None


@click.group("topics")
def topics() -> None:
    """Lethe's Kafka topics."""


@topics.command("ensure")
def ensure_command() -> None:
    """Create Lethe's topics that are missing, with configs that make Kafka forget
    on time; audit the ones that exist. Exits 3 when an existing topic's config
    keeps records longer than a policy allows (or lets the shred ledger forget
    one), 4 when a config could not be verified (the broker did not describe it).
    """
    env = Settings.from_env().env or {}
    try:
        kafka, settings = (
            KafkaClientSettings.from_mapping(env),
            TopicSettings.from_env(env),
        )
    except SETTINGS_ERRORS as error:
        raise UserError(str(error)) from None
    admin = KafkaAdminClient(**kafka.admin_config())
    try:
        results = ensure(admin, settings, shipped_policies().values())
    finally:
        admin.close()
    for contract_topic, ensured in results.items():
        click.echo(ensured.line(settings, contract_topic))
        click.echo(ensured.keeps(settings, contract_topic))
    verdicts = [r.verdict for r in results.values() if r.verdict is not None]
    if any(v.too_long for v in verdicts):
        raise SystemExit(AUDIT_FINDINGS_EXIT)
    if any(not v.verified for v in verdicts):
        raise SystemExit(UNVERIFIED_EXIT)


@topics.command("resume")
@click.argument("topic")
@click.argument("partition", type=click.IntRange(min=0))
@click.option("--by", required=True, help="Who decided to resume (staff id).")
def resume_command(topic: str, partition: int, by: str) -> None:
    """Consume a halted PARTITION of TOPIC (its deployed name) again, from the
    first offset the broker holds.

    Lethe halts a partition whose offsets went back below what it took (the
    topic was recreated, the cluster restored). Resuming reads the partition
    again from its start: records Lethe already holds are recognised as
    duplicates, the others are taken. A running `lethe run` picks the resume up
    on its next restart or rebalance.
    """
    settings = Settings.from_env()
    # Keep the application referenced: collecting it closes its connection pool.
    app = build_app(settings)
    states = PartitionStates(SqlViews(app.process_recorder))
    try:
        epoch = states.resume(topic, partition, by, datetime.now(UTC))
    except ValueError as error:
        raise UserError(str(error)) from None
    click.echo(
        f"{topic}:{partition} resumed (epoch {epoch}); restart `lethe run` "
        "to consume it from its first offset"
    )
