"""librdkafka takes the relay's producer config: it rejects unknown or bad keys."""

from __future__ import annotations

from pathlib import Path

import confluent_kafka
import pytest
from kafka import KafkaConsumer, KafkaProducer

from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.settings import KafkaClientSettings, KafkaSettingsError

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


# -- SASL and TLS reach kafka-python under its own names -----------------------------

SASL = {
    "LETHE_KAFKA_BOOTSTRAP": NOWHERE,
    "LETHE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "LETHE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
    "LETHE_KAFKA_SASL_USERNAME": "lethe",
    "LETHE_KAFKA_SASL_PASSWORD": "s3cret",
    "LETHE_KAFKA_SSL_CAFILE": "/etc/lethe/ca.pem",
    "LETHE_KAFKA_SSL_CERTFILE": "/etc/lethe/client.pem",
    "LETHE_KAFKA_SSL_KEYFILE": "/etc/lethe/client.key",
}


def test_sasl_and_tls_settings_are_kafka_python_keys() -> None:
    config = KafkaClientSettings.from_mapping(SASL).admin_config()
    security = {k: v for k, v in config.items() if k.startswith(("sasl", "ssl", "sec"))}
    assert security == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "lethe",
        "sasl_plain_password": "s3cret",
        "ssl_cafile": "/etc/lethe/ca.pem",
        "ssl_certfile": "/etc/lethe/client.pem",
        "ssl_keyfile": "/etc/lethe/client.key",
        "ssl_check_hostname": True,
    }


def test_sasl_and_tls_settings_are_librdkafka_keys() -> None:
    env = {**SASL, "LETHE_KAFKA_SSL_CHECK_HOSTNAME": "false"}
    config = KafkaClientSettings.from_mapping(env).rdkafka_producer_config()
    security = {k: v for k, v in config.items() if k.startswith(("sasl", "ssl", "sec"))}
    assert security == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "lethe",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/etc/lethe/ca.pem",
        "ssl.certificate.location": "/etc/lethe/client.pem",
        "ssl.key.location": "/etc/lethe/client.key",
        "ssl.endpoint.identification.algorithm": "none",
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_python_clients_take_the_sasl_config(mechanism: str) -> None:
    """kafka-python checks its keys when a client is made (it raised
    `Unrecognized configs` on the old `sasl.mechanism`); with api_version given
    it does not connect, so nothing needs a broker."""
    settings = KafkaClientSettings(
        bootstrap=NOWHERE,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_username="lethe",
        sasl_password="s3cret",
    )
    producer = KafkaProducer(**settings.producer_config(), api_version=(2, 5))
    producer.close(timeout=0)
    consumer = KafkaConsumer(**settings.consumer_config("g"), api_version=(2, 5))
    consumer.close()


def test_an_ssl_client_with_a_ca_file_is_made_by_kafka_python(tmp_path: Path) -> None:
    settings = KafkaClientSettings(
        bootstrap=NOWHERE, security_protocol="SSL", ssl_cafile=str(tmp_path / "ca")
    )
    producer = KafkaProducer(**settings.producer_config(), api_version=(2, 5))
    producer.close(timeout=0)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"sasl_mechanism": "GSSAPI"}, "is not one of"),
        ({"security_protocol": "SSL"}, "needs security_protocol SASL_SSL"),
        ({"sasl_password": None}, "needs sasl_username/password"),
        ({"ssl_certfile": "/c.pem"}, "go together"),
    ],
)
def test_inconsistent_security_settings_are_refused(
    changes: dict[str, object], problem: str
) -> None:
    values: dict[str, object] = {
        "bootstrap": NOWHERE,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "PLAIN",
        "sasl_username": "lethe",
        "sasl_password": "s3cret",
        **changes,
    }
    with pytest.raises(KafkaSettingsError, match=problem):
        KafkaClientSettings(**values)  # type: ignore[arg-type]
