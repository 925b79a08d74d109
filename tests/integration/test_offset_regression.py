"""Offsets that go back below what Lethe took halt the partition until resumed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from eventsourcing.persistence import Tracking

from lethe.consumers.batch import tracking_name
from lethe.ops.cli.main import main
from lethe.projections.aside import halts
from lethe.projections.store import SqlViews
from tests.support.consuming import one_partition_fixtures
from tests.support.ingest import (
    SHA,
    Consuming,
    ingested,
    metadata,
    producer_for,
)

pytestmark = pytest.mark.integration

IMAGES = "alarm.images.v1"


env, consuming = one_partition_fixtures("regress")


def publish_images(env: dict[str, str], *item_ids: str) -> None:
    with producer_for(env) as producer:
        for item_id in item_ids:
            meta = metadata("cust-9", "verification-image")
            producer.send_image(
                item_id,
                meta,
                blob_uri=f"s3://arc-media/{item_id}.jpg",
                sha256=SHA,
                content_type="image/jpeg",
                size_bytes=1000,
            )


def halted_partitions(consuming: Consuming) -> list[tuple[str, int, int | None]]:
    found = halts(SqlViews(consuming.app.process_recorder))
    return [(h.topic, h.partition, h.tracked) for h in found]


def test_a_recreated_topic_halts_its_partition_and_a_resume_takes_it_again(
    env: dict[str, str], consuming: Consuming, caplog: pytest.LogCaptureFixture
) -> None:
    topic = consuming.name(IMAGES)
    # As if offsets 0..50 had been taken before the topic was lost and recreated:
    # the new topic's records start again at offset 0.
    consuming.app.record(tracking=Tracking(tracking_name(topic, 0), 50))
    publish_images(env, "img-a", "img-b", "img-c")

    consuming.run_until(lambda: bool(halted_partitions(consuming)))

    assert halted_partitions(consuming) == [(topic, 0, 50)]
    assert ingested(consuming.app) == (0, 0)  # nothing taken, nothing skipped
    [halt] = halts(SqlViews(consuming.app.process_recorder))
    assert halt.seen == 2 and "offsets went back" in halt.note  # its last offset
    consuming.close()

    # A restart does not resume on its own.
    again = Consuming({**env, "LETHE_GROUP_ID": env["LETHE_GROUP_ID"] + "-2"})
    again.run_until(lambda: bool(again.loop.epochs))  # assigned, and paused
    for _ in range(5):
        again.loop.run_once(timeout_ms=300)
    assert ingested(again.app) == (0, 0)
    again.close()

    status = CliRunner().invoke(main, ["status"], env=env)
    assert status.exit_code == 1, status.output  # needs attention
    assert f"{topic}:0" in status.output and "offsets went back" in status.output
    resume = CliRunner().invoke(
        main, ["topics", "resume", topic, "0", "--by", "o-1"], env=env
    )
    assert resume.exit_code == 0, resume.output
    assert resume.output.startswith(f"{topic}:0 resumed (epoch 1)")
    again_resume = CliRunner().invoke(
        main, ["topics", "resume", topic, "0", "--by", "o-1"], env=env
    )
    assert again_resume.exit_code == 2 and "is not halted" in again_resume.output
    resumed = Consuming({**env, "LETHE_GROUP_ID": env["LETHE_GROUP_ID"] + "-3"})
    try:
        resumed.run_until(lambda: ingested(resumed.app) == (3, 3))
        assert halted_partitions(resumed) == []
        after = CliRunner().invoke(main, ["status", "--json"], env=env)
        # Still exit 1: no `lethe run` holds the lease in this test; but no halt.
        assert after.exit_code == 1
        assert json.loads(after.output)["halted_partitions"] == []
        name = tracking_name(topic, 0, epoch=1)
        assert resumed.app.process_recorder.max_tracking_id(name) == 2
    finally:
        resumed.close()
