"""Relay what the log holds for Kafka now, from a command (`sweep`, `erasures
replay`), as `lethe run` would: only the relay sends, from the event store."""

from __future__ import annotations

import os

from lethe.consumers.codec import Catalogue
from lethe.ops.cli.support import UserError
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import ORDERS_TOPIC, Relay
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.runtime.lethe_key import lethe_signer, signing_orders

NO_BOOTSTRAP = "LETHE_KAFKA_BOOTSTRAP is not set: `lethe run` relays them"


def relay_now(runtime: Runtime) -> int | None:
    """How many events the relay sent records for; None without a broker set."""
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
        return relay.relay_pending()
    finally:
        producer.close()
