"""Two `lethe run` processes in one consumer group share the partitions and together
take every record once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.settings import Settings
from tests.support.ingest import (
    SHA,
    create_topics,
    ingested,
    lethe_env,
    metadata,
    producer_for,
)
from tests.support.lethe_process import LetheProcess

pytestmark = pytest.mark.integration

ITEMS = 4_000
PARTITIONS = 4
IMAGES = "alarm.images.v1"


def test_two_processes_share_the_partitions_and_take_each_record_once(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    env = lethe_env(
        pg_schema_env, broker.bootstrap, topic_name("scale") + ".", topic_name("group")
    )
    env |= {"LETHE_TOPIC_PARTITIONS": str(PARTITIONS), "LETHE_SWEEP_INTERVAL_S": "5"}
    images = create_topics(env).name(IMAGES)

    # Started together on an empty schema, as a deployment starts them.
    first = LetheProcess(env, tmp_path / "first.log")
    second = LetheProcess(env, tmp_path / "second.log")
    try:
        first.wait_for("a shared assignment", lambda: shared(first, second))
        mine, theirs = set(first.assigned()), set(second.assigned())
        assert any(p.startswith(images) for p in mine)
        assert any(p.startswith(images) for p in theirs)

        app = build_app(Settings.from_env(env))
        publish(env, ITEMS)
        first.wait_for("every item", lambda: ingested(app)[0] >= ITEMS, 300)
        assert ingested(app) == (ITEMS, ITEMS)
        taken = [new_items(process, images) for process in (first, second)]
        assert all(taken) and sum(taken) == ITEMS
        for process in (first, second):  # logs name items, never a subject
            assert "cust-" not in process.log_path.read_text()
    finally:
        codes = [process.stop() for process in (first, second)]
    assert codes == [0, 0]


def shared(first: LetheProcess, second: LetheProcess) -> bool:
    """Both hold partitions, none twice, and together every inbound one."""
    assert second.process.poll() is None, second.tail()
    mine, theirs = set(first.assigned()), set(second.assigned())
    every = len(mine | theirs) == 6 * PARTITIONS  # each inbound topic's partitions
    return bool(mine and theirs and not mine & theirs) and every


def publish(env: dict[str, str], count: int) -> None:
    with producer_for(env) as producer:
        for i in range(count):
            ref = f"scale-img-{i:06d}"
            producer.send_image(
                ref,
                metadata(f"cust-{i % 500:04d}", "verification-image"),
                blob_uri=f"s3://media/{ref}.jpg",
                sha256=SHA,
                content_type="image/jpeg",
                size_bytes=1,
            )


def new_items(process: LetheProcess, topic: str) -> int:
    """Items this process logged as newly taken from `topic`."""
    return sum(
        line["new"] for line in process.events("batch taken") if line["topic"] == topic
    )
