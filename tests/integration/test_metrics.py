"""`lethe run`'s /metrics move as records and orders do; /readyz says when it cannot
work (the store or the broker gone)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer

from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.produce import LetheProducer
from tests.support.http import free_port
from tests.support.ingest import SHA, metadata, one_partition_env, producer_for
from tests.support.lethe_process import LetheProcess
from tests.support.scrape import Scrape, get

pytestmark = pytest.mark.integration

IMAGES = "alarm.images.v1"
ITEMS = 5
# One instant for every send: a redelivery must be the same record, byte for byte.
DUE = metadata("cust-m", "verification-image", ago=timedelta(days=10))


def test_counters_and_lag_move_as_records_and_orders_do(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    prefix = topic_name("metrics") + "."
    env = one_partition_env(pg_schema_env, broker.bootstrap, prefix, topic_name("g"))
    port = free_port()
    env["LETHE_METRICS_PORT"] = str(port)
    base = f"http://127.0.0.1:{port}"
    images = prefix + IMAGES
    process = LetheProcess(env, tmp_path / "run.log")
    try:
        process.wait_for("/metrics", lambda: get(f"{base}/healthz")[0] == 200)
        process.wait_for("the lease", lambda: _value(base, "lethe_lease_held") == 1)
        before = Scrape.of(base)
        assert before.labelled("lethe_records_total") == {}
        head_before = before.value("lethe_log_head") or 0

        _publish(env, images)

        def taken(outcome: str) -> float | None:
            return _value(base, "lethe_records_total", topic=images, outcome=outcome)

        process.wait_for("the records", lambda: taken("taken") == ITEMS)
        process.wait_for("the duplicate", lambda: taken("duplicate") == 1)
        process.wait_for("the dead letter", lambda: taken("dead_lettered") == 1)
        ordered = ("lethe_erasure_orders_total", {"kind": "ordered"})
        process.wait_for(
            "the orders", lambda: _value(base, ordered[0], **ordered[1]) == ITEMS
        )

        # The store's gauges are read at scrape, through a cache of seconds. The
        # schedule must have read past every Ingested and ErasureOrdered event;
        # it trails the head by the sweep records of the last second or so.
        def followed() -> bool:
            position = _value(base, "lethe_projector_position") or 0
            return position >= head_before + 2 * ITEMS

        process.wait_for("the projector to follow the log", followed)
        after = Scrape.of(base)
        head, position = (
            after.value("lethe_log_head") or 0,
            after.value("lethe_projector_position") or 0,
        )
        assert after.value("lethe_projector_lag") == head - position
        assert 0 <= head - position <= 20  # a few sweep records at most
        assert after.value("lethe_consumer_lag", topic=images, partition="0") == 0
        assert after.value("lethe_items_overdue") == 0  # ordered, so not overdue
        assert after.value("lethe_lease_holder_up") == 1
        [holder] = after.labelled("lethe_lease_holder")
        assert dict(holder)["holder"].endswith(f":{process.process.pid}")
        assert (after.value("lethe_sweeps_total") or 0) >= 1
        assert after.value("lethe_last_sweep_timestamp_seconds") > time.time() - 60
        assert after.value("lethe_last_sweep_duration_seconds") is not None
        assert get(f"{base}/readyz") == (200, "ready\n")
        assert "cust-" not in after.text  # no subject id in the metrics
    finally:
        assert process.stop() == 0


def _publish(env: dict[str, str], images: str) -> None:
    with producer_for(env) as producer:
        for i in range(ITEMS):
            _send(producer, f"m-img-{i}")
        _send(producer, "m-img-0")  # a redelivery: a duplicate, nothing changes
        producer.flush()
    raw = KafkaProducer(bootstrap_servers=env["LETHE_KAFKA_BOOTSTRAP"])
    raw.send(images, key=b"m-bad", value=b"not avro at all")  # dead-lettered
    raw.flush()
    raw.close()


def _send(producer: LetheProducer, ref: str) -> None:
    producer.send_image(
        ref,
        DUE,
        blob_uri=f"s3://media/{ref}.jpg",
        sha256=SHA,
        content_type="image/jpeg",
        size_bytes=1,
    )


def _value(base: str, name: str, **labels: str) -> float | None:
    return Scrape.of(base).value(name, **labels)
