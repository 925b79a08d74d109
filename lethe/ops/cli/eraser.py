"""`lethe eraser`: the reference eraser as a process beside a file store."""

from __future__ import annotations

import os
from pathlib import Path

import click
from kafka import KafkaConsumer, KafkaProducer

from lethe.consumers.codec import Catalogue
from lethe.ops import logging as lethe_logging
from lethe.ops.cli.support import UserError
from lethe.ops.eraser.files import (
    CONFIRMATIONS_TOPIC,
    STATE_DIR,
    EraserLoop,
    FileEraser,
)
from lethe.ops.kafka.relay import ORDERS_TOPIC
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.signing import SigningProducer, lethe_signatory, load_signer
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.run import stop_on_signals


@click.command("eraser")
@click.option(
    "--root",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Only files under this folder are ever deleted.",
)
@click.option(
    "--store",
    default="files",
    show_default=True,
    help="This store's name in its confirmations (and its consumer group).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Where the journal of answers lives [ROOT/{STATE_DIR}].",
)
@click.option(
    "--lethe-public-key",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Lethe's public key (LETHE_SIGNING_KEY_FILE.pub): only orders it "
    "signed are worked.",
)
@click.option(
    "--key",
    "store_key",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="This store's private key; its public key is registered with "
    "`lethe signer add --role store --name STORE`.",
)
@click.option(
    "--exit-when-idle",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Stop once no order arrived for this long (for scripts).",
)
def eraser_command(
    root: Path,
    store: str,
    state_dir: Path | None,
    lethe_public_key: Path,
    store_key: Path,
    exit_when_idle: float | None,
) -> None:
    """The reference eraser: delete file:// blobs that Lethe orders erased.

    Kafka settings come from LETHE_KAFKA_* (and LETHE_TOPIC_PREFIX). Each order
    is checked first: the blob must lie inside --root and match the order's
    sha256, or nothing is deleted and the answer is FAILED with the reason. An
    order not signed with Lethe's key is neither worked nor answered.
    """
    try:
        kafka = KafkaClientSettings.from_mapping(os.environ)
        topics = TopicSettings.from_env(os.environ)
        lethe_key = lethe_signatory(lethe_public_key)
        signer = load_signer(store, store_key)
    except ValueError as error:
        raise UserError(str(error)) from None
    lethe_logging.configure()
    stop = stop_on_signals()
    consumer = KafkaConsumer(**kafka.consumer_config(f"lethe-eraser.{store}"))
    confirmations = topics.name(CONFIRMATIONS_TOPIC)
    producer = SigningProducer(
        KafkaProducer(**kafka.producer_config()),
        signer,
        {confirmations: CONFIRMATIONS_TOPIC},
    )
    eraser = FileEraser(root, store, state_dir)
    loop = EraserLoop(
        consumer,
        producer,
        Catalogue.shipped(),
        eraser,
        confirmations,
        lethe_key=lethe_key,
    )
    try:
        consumer.subscribe([topics.name(ORDERS_TOPIC)])
        loop.run(stop, exit_when_idle)
    finally:
        consumer.close(autocommit=False)
        producer.close()
