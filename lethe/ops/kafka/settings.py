"""Kafka client settings: one frozen object that builds the clients' config dicts.

kafka-python's for every client but the relay's producer, librdkafka's for that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SECURITY_PROTOCOLS = frozenset({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})
# What both kafka-python and librdkafka speak (GSSAPI and OAUTHBEARER need more
# than a username and password).
SASL_MECHANISMS = frozenset({"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# How long librdkafka keeps retrying a record before reporting it failed: the
# delivery_timeout_ms kafka-python's producer had by default.
DELIVERY_TIMEOUT_MS = 120_000


class KafkaSettingsError(ValueError):
    """A Kafka setting is missing, malformed or inconsistent with another."""


@dataclass(frozen=True)
class KafkaClientSettings:
    """How Lethe's Kafka clients connect and behave.

    The group timings default to what the embedded Tansu broker needs: a
    kafka-python 3 group join there takes about session_timeout_ms / 2, and with
    Kafka's defaults (45 s session) a second member can be left without
    partitions. Against Apache Kafka in production raise max_poll_interval_ms
    (the longest a poll batch may take to process before the member is evicted).
    """

    bootstrap: str
    client_id: str = "lethe"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    # Mutual TLS: the client's certificate and key (PEM files).
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    # Off only for a broker whose certificate names no host the clients use.
    ssl_check_hostname: bool = True
    request_timeout_ms: int = 30_000
    # How long a client waits for the first broker to answer before it gives up.
    bootstrap_timeout_ms: int = 30_000
    session_timeout_ms: int = 6_000
    heartbeat_interval_ms: int = 1_000
    max_poll_interval_ms: int = 8_000
    max_poll_records: int = 500
    fetch_max_bytes: int = 52_428_800
    max_partition_fetch_bytes: int = 4_194_304
    auto_offset_reset: str = "earliest"
    enable_idempotence: bool = True
    linger_ms: int = 5
    batch_size: int = 65_536

    def __post_init__(self) -> None:
        if not self.bootstrap.strip():
            raise KafkaSettingsError("bootstrap must name at least one host:port")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise KafkaSettingsError(
                f"security_protocol {self.security_protocol!r} is not one of "
                f"{sorted(SECURITY_PROTOCOLS)}"
            )
        self._check_security()
        # The broker expires a member that misses heartbeats for a whole session.
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise KafkaSettingsError(
                "heartbeat_interval_ms must be < session_timeout_ms"
            )

    def _check_security(self) -> None:
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not self.sasl_mechanism:
            raise KafkaSettingsError(f"{self.security_protocol} needs sasl_mechanism")
        if self.sasl_mechanism and not sasl:
            # Else the clients would silently connect without authenticating.
            raise KafkaSettingsError(
                f"sasl_mechanism needs security_protocol SASL_SSL or SASL_PLAINTEXT, "
                f"not {self.security_protocol}"
            )
        if self.sasl_mechanism and self.sasl_mechanism not in SASL_MECHANISMS:
            raise KafkaSettingsError(
                f"sasl_mechanism {self.sasl_mechanism!r} is not one of "
                f"{sorted(SASL_MECHANISMS)}"
            )
        if self.sasl_mechanism and not (self.sasl_username and self.sasl_password):
            raise KafkaSettingsError("sasl_mechanism needs sasl_username/password")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise KafkaSettingsError("ssl_certfile and ssl_keyfile go together")

    @classmethod
    def from_mapping(
        cls, env: Mapping[str, str], prefix: str = "LETHE_KAFKA_"
    ) -> KafkaClientSettings:
        """Build from e.g. LETHE_KAFKA_BOOTSTRAP, LETHE_KAFKA_SESSION_TIMEOUT_MS."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            key = prefix + f.name.upper()
            if key in env:
                values[f.name] = _parse(key, env[key], f.default)
        if "bootstrap" not in values:
            raise KafkaSettingsError(
                f"{prefix}BOOTSTRAP is not set: name the brokers as "
                "host:port[,host:port]"
            )
        return cls(**values)

    def consumer_config(self, group_id: str | None = None) -> dict[str, Any]:
        """KafkaConsumer kwargs. Offsets live in the event store, so no auto-commit."""
        return {
            **self._common(),
            "group_id": group_id,
            "enable_auto_commit": False,
            # A missing topic is an operator's to create (`lethe topics ensure`),
            # with the configs that make Kafka forget: never the broker defaults.
            "allow_auto_create_topics": False,
            "auto_offset_reset": self.auto_offset_reset,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_poll_interval_ms": self.max_poll_interval_ms,
            "max_poll_records": self.max_poll_records,
            "fetch_max_bytes": self.fetch_max_bytes,
            "max_partition_fetch_bytes": self.max_partition_fetch_bytes,
        }

    def producer_config(self) -> dict[str, Any]:
        """KafkaProducer kwargs: acks from all replicas, broker-side dedup of retries.

        Tansu honours the idempotent producer (it rejects a resent sequence), so
        a retried batch cannot duplicate a tombstone or an erasure order.
        """
        return {
            **self._common(),
            "acks": "all",
            "enable_idempotence": self.enable_idempotence,
            "linger_ms": self.linger_ms,
            "batch_size": self.batch_size,
            "allow_auto_create_topics": False,
        }

    def rdkafka_producer_config(self) -> dict[str, Any]:
        """confluent_kafka.Producer config: the same choices as producer_config.

        The partitioner is murmur2, as kafka-python's and Java's, not librdkafka's
        CRC32 default: an item's orders must keep landing in one partition of the
        orders topic, whichever client sent the earlier ones.
        """
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "client.id": self.client_id,
            "security.protocol": self.security_protocol,
            "request.timeout.ms": self.request_timeout_ms,
            "message.timeout.ms": DELIVERY_TIMEOUT_MS,
            "acks": "all",
            "enable.idempotence": self.enable_idempotence,
            "linger.ms": self.linger_ms,
            "batch.size": self.batch_size,  # bytes per partition batch, as Java's
            "partitioner": "murmur2_random",
            "allow.auto.create.topics": False,  # true by default for producers
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username
            config["sasl.password"] = self.sasl_password
        if self.ssl_cafile:
            config["ssl.ca.location"] = self.ssl_cafile
        if self.ssl_certfile:
            config["ssl.certificate.location"] = self.ssl_certfile
            config["ssl.key.location"] = self.ssl_keyfile
        if "SSL" in self.security_protocol:
            check = "https" if self.ssl_check_hostname else "none"
            config["ssl.endpoint.identification.algorithm"] = check
        return config

    def admin_config(self) -> dict[str, Any]:
        """KafkaAdminClient kwargs."""
        return self._common()

    def _common(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
            "bootstrap_timeout_ms": self.bootstrap_timeout_ms,
        }
        # kafka-python's names: sasl_plain_* serve PLAIN and SCRAM alike.
        if self.sasl_mechanism:
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            config["sasl_plain_password"] = self.sasl_password
        if self.ssl_cafile:
            config["ssl_cafile"] = self.ssl_cafile
        if self.ssl_certfile:
            config["ssl_certfile"] = self.ssl_certfile
            config["ssl_keyfile"] = self.ssl_keyfile
        if "SSL" in self.security_protocol:
            config["ssl_check_hostname"] = self.ssl_check_hostname
        return config


def _parse(key: str, raw: str, default: object) -> object:
    """Convert one variable to the type of its field's default (str when none)."""
    text = raw.strip()
    if isinstance(default, bool):
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise KafkaSettingsError(f"{key}={raw!r} is not a boolean")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise KafkaSettingsError(f"{key}={raw!r} is not an integer") from None
    # Optional strings: an empty variable means "not set".
    return (text or None) if default is None else text
