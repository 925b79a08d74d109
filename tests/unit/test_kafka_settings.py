"""librdkafka takes the relay's producer config: it rejects unknown or bad keys."""

from __future__ import annotations

import confluent_kafka
import pytest

from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.settings import KafkaClientSettings

NOWHERE = "127.0.0.1:9"  # nothing is sent: librdkafka checks its config at start


def test_sasl_settings_are_librdkafka_keys() -> None:
    settings = KafkaClientSettings(
        bootstrap=NOWHERE,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="lethe",
        sasl_password="secret",
    )
    RdKafkaProducer(settings.rdkafka_producer_config()).close(timeout=0)


def test_the_ca_file_reaches_librdkafka() -> None:
    settings = KafkaClientSettings(
        bootstrap=NOWHERE, security_protocol="SSL", ssl_cafile="/nonexistent/ca.pem"
    )
    with pytest.raises(confluent_kafka.KafkaException, match="ssl.ca.location"):
        RdKafkaProducer(settings.rdkafka_producer_config())


def test_the_producer_choices_match_kafka_pythons() -> None:
    settings = KafkaClientSettings(bootstrap=NOWHERE, linger_ms=7, batch_size=4096)
    config = settings.rdkafka_producer_config()
    assert config["acks"] == "all" and config["enable.idempotence"] is True
    assert (config["linger.ms"], config["batch.size"]) == (7, 4096)
    assert config["partitioner"] == "murmur2_random"


def test_no_client_of_lethe_asks_the_broker_to_create_a_topic() -> None:
    settings = KafkaClientSettings(bootstrap="kafka-1:9092")
    assert settings.consumer_config("lethe")["allow_auto_create_topics"] is False
    assert settings.producer_config()["allow_auto_create_topics"] is False
    assert settings.rdkafka_producer_config()["allow.auto.create.topics"] is False
