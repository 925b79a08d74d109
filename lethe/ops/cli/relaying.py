"""Relay what the log holds for Kafka now, from a command (`sweep`, `erasures
replay`), as `lethe run` would: only the relay sends, from the event store."""

from __future__ import annotations

import os
from dataclasses import dataclass

from lethe.consumers.codec import Catalogue
from lethe.ops.cli.support import UserError
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import ORDERS_TOPIC, Relay
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.shred_ledger import SHRED_LEDGER_TOPIC, LedgerRelay
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.runtime.lethe_key import lethe_signer, signing_orders

NO_BOOTSTRAP = "LETHE_KAFKA_BOOTSTRAP is not set: `lethe run` relays them"


@dataclass(frozen=True)
class Relayed:
    records: int  # orders, recalls, replays and tombstones
    shreds: int  # subjects' erasures sent to the shred ledger


def relay_now(runtime: Runtime) -> Relayed | None:
    """What the relay sent, or None without a broker set.

    The shred ledger goes with the orders, as in `lethe run`'s projector: a
    shred only this command's run knows of must reach the ledger before the
    database it lives in can be lost.
    """
    env = runtime.settings.env or os.environ
    if not env.get("LETHE_KAFKA_BOOTSTRAP", "").strip():
        return None
    try:
        kafka = KafkaClientSettings.from_mapping(env)
        topics = TopicSettings.from_env(env)
        signer = lethe_signer(runtime.settings, create=True)
    except ValueError as error:
        raise UserError(str(error)) from None
    producer = signing_orders(
        RdKafkaProducer(kafka.rdkafka_producer_config()), signer, topics
    )
    try:
        relay = Relay(
            runtime.app,
            producer,
            Catalogue.shipped(),
            orders_topic=topics.name(ORDERS_TOPIC),
            page_size=runtime.settings.batch_size,
        )
        records = relay.relay_pending()
        ledger = LedgerRelay(
            runtime.app,
            producer,
            topics.name(SHRED_LEDGER_TOPIC),
            page_size=runtime.settings.batch_size,
        )
        return Relayed(records, ledger.relay_pending())
    finally:
        producer.close()
