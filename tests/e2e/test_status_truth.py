"""`lethe status` tells the truth about the service: with `lethe run` stopped and
an item overdue, it exits 1 and names both."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lethe.ops.cli.main import main
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.produce import Metadata
from tests.support.ingest import SHA, one_partition_env, producer_for
from tests.support.lethe_process import LetheProcess

pytestmark = pytest.mark.integration

ITEM = "st-img-1"
MARGIN = timedelta(seconds=20)  # from ingest to due: lethe run must not order it


def test_status_names_a_stopped_run_and_the_item_it_left_overdue(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    prefix, group = topic_name("status") + ".", topic_name("g")
    env = one_partition_env(pg_schema_env, broker.bootstrap, prefix, group)
    process = LetheProcess(env, tmp_path / "run.log")
    try:
        process.wait_for("the lease", lambda: _lease_held(env))
        # Verification images go seven days after capture (sector-alarm).
        due = datetime.now(UTC).replace(microsecond=0) + MARGIN
        _publish(env, due - timedelta(days=7))
        process.wait_for("the item", lambda: _states(env) == {"scheduled": 1})
        running = _status(env)
        assert running.exit_code == 0, running.output
        assert running.output.startswith("store: postgres ")
        assert f":{process.process.pid} holds the lease" in running.output
        assert "all well" in running.output
    finally:
        assert process.stop() == 0
    assert _json(env)["states"] == {"scheduled": 1}  # stopped before it was due

    # Due, plus the sweep interval (1 s) that makes it overdue, plus three
    # intervals without a sweep.
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 5)
    stopped = _status(env)
    assert stopped.exit_code == 1, stopped.output
    assert "no lethe run holds the lease" in stopped.output
    assert "let go of it at" in stopped.output
    assert "no sweep for" in stopped.output
    assert ITEM in stopped.output and "due, not yet ordered" in stopped.output
    assert "overdue: due, not ordered by a sweep: 1" in stopped.output
    report = _json(env)
    assert report["ok"] is False and report["counts"]["overdue"] == 1
    assert [a["item_ref"] for a in report["overdue"]] == [ITEM]
    assert report["service"]["lease_held"] is False
    assert report["service"]["sweeps_missed"] >= 3


def _publish(env: dict[str, str], captured: datetime) -> None:
    with producer_for(env) as producer:
        producer.send_image(
            ITEM,
            Metadata("sector-alarm", "verification-image", "cust-st", captured),
            blob_uri=f"s3://media/{ITEM}.jpg",
            sha256=SHA,
            content_type="image/jpeg",
            size_bytes=1,
        )
        producer.flush()


def _status(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["status", *args], env=env)


def _lease_held(env: dict[str, str]) -> bool:
    """False too while `lethe run` has not yet made the store (status exits 2)."""
    result = _status(env, "--json")
    assert result.exit_code in (0, 1, 2), result.output
    return result.exit_code != 2 and json.loads(result.stdout)["service"]["lease_held"]


def _states(env: dict[str, str]) -> object:
    result = _status(env, "--json")  # exit 2 while the shared server is full
    return None if result.exit_code == 2 else json.loads(result.stdout)["states"]


def _json(env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    result = _status(env, "--json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]
