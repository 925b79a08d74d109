"""SIGKILL `lethe run` in the middle of the stream: after a restart every item is there
exactly once, none missing, none doubled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.settings import Settings
from lethe.projections.store import SqlViews
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

ITEMS = 20_000
SUBJECTS = 2_000


def test_a_killed_process_loses_and_doubles_nothing(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    env = lethe_env(
        pg_schema_env, broker.bootstrap, topic_name("crash") + ".", topic_name("group")
    )
    env |= {"LETHE_TOPIC_PARTITIONS": "2", "LETHE_SWEEP_INTERVAL_S": "2"}
    create_topics(env)
    publish(env, ITEMS)
    app = build_app(Settings.from_env(env))

    first = LetheProcess(env, tmp_path / "first.log")
    # Kill it once some, but far from all, items are in the store.
    first.wait_for("a fifth of the items", lambda: ingested(app)[0] >= ITEMS // 5, 300)
    first.kill()
    at_kill = ingested(app)[0]
    assert 0 < at_kill < ITEMS

    second = LetheProcess(env, tmp_path / "second.log")
    second.wait_for("every item", lambda: ingested(app)[0] >= ITEMS, 600)
    second.wait_for("the schedule", lambda: scheduled(app) >= (ITEMS, ITEMS), 300)
    assert second.stop() == 0
    assert second.events("stopped")

    assert ingested(app) == (ITEMS, ITEMS)
    assert scheduled(app) == (ITEMS, ITEMS)
    for log in (first.log_path, second.log_path):  # never a subject id in a log
        assert "cust-" not in log.read_text()
    # The restart resumed where the store said, not at the beginning.
    topics = second.events("partitions assigned")[0]["topics"]
    assert any(t.get("resume_at", "0..0") != "0..0" for t in topics.values())


def publish(env: dict[str, str], count: int) -> None:
    with producer_for(env) as producer:
        for i in range(count):
            ref = f"crash-img-{i:06d}"
            producer.send_image(
                ref,
                metadata(f"cust-{i % SUBJECTS:05d}", "verification-image"),
                blob_uri=f"s3://media/{ref}.jpg",
                sha256=SHA,
                content_type="image/jpeg",
                size_bytes=1,
            )


def scheduled(app: object) -> tuple[int, int]:
    """(rows, distinct items) in the schedule read model."""
    views = SqlViews(app.process_recorder)  # type: ignore[attr-defined]
    rows = views.query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT item_ref) AS items FROM lethe_schedule"
    )
    return int(rows[0][0]), int(rows[0][1])
