"""`lethe produce` signs commands: a trial key on the embedded default, --key else."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from lethe.ops.cli.main import main
from lethe.ops.kafka.broker import EmbeddedBroker
from tests.support.ingest import Consuming, one_partition_env, producer_for
from tests.support.ingest import metadata as meta_of

pytestmark = pytest.mark.integration

COMMANDS, IMAGES = "lethe.commands.v1", "alarm.images.v1"


def hold_line(command_id: str, case: str) -> str:
    at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    return json.dumps({
        "command_id": command_id, "kind": "PLACE_HOLD", "controller": "sector-alarm",
        "subject_id": None, "item_id": "img-p1", "reason": "police case",
        "case_ref": case, "requested_by": "kari", "requested_at": at,
    })  # fmt: skip


def test_lethe_produce_signs_with_a_trial_key_and_refuses_an_unregistered_one(
    sqlite_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    env = one_partition_env(
        sqlite_env, broker.bootstrap, topic_name("produce") + ".", topic_name("g")
    )
    consuming = Consuming(env)
    try:
        with producer_for(env) as producer:
            producer.send_image(
                "img-p1", meta_of("cust-p1", "verification-image"),
                blob_uri="s3://media/p1.jpg", sha256="ab" * 32,
                content_type="image/jpeg", size_bytes=1,
            )  # fmt: skip
        consuming.take_through(IMAGES, 0)
        stranger = tmp_path / "stranger.key"
        made = CliRunner().invoke(main, ["signer", "keygen", str(stranger)], env=env)
        assert made.exit_code == 0, made.output
        lines = tmp_path / "cmds.jsonl"
        lines.write_text(hold_line("c-stranger", "POL-X") + "\n")
        by_stranger = CliRunner().invoke(
            main, ["produce", COMMANDS, "--json", str(lines), "--key", str(stranger)],
            env=env,
        )  # fmt: skip
        assert by_stranger.exit_code == 0, by_stranger.output
        lines.write_text(hold_line("c-trial", "POL-T") + "\n")
        trial = CliRunner().invoke(
            main, ["produce", COMMANDS, "--json", str(lines)], env=env
        )
        assert trial.exit_code == 0, trial.output
        assert "signing with a trial key for pipeline trial-pipeline" in trial.output
        consuming.take_through(COMMANDS, 1)
        holds = consuming.app.get_item("img-p1").holds
        assert list(holds) == ["POL-T"]
        assert holds["POL-T"]["by"] == "pipeline:trial-pipeline"
        assert (
            Path(env["LETHE_SQLITE_PATH"])
            .with_name("trial-pipeline-trial-pipeline.key")
            .exists()
        )
    finally:
        consuming.close()


def test_lethe_produce_on_postgres_needs_a_key(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    env = one_partition_env(
        pg_schema_env, broker.bootstrap, topic_name("produce") + ".", topic_name("g")
    )
    Consuming(env).close()  # makes the store
    lines = tmp_path / "cmds.jsonl"
    lines.write_text(hold_line("c-1", "POL-1") + "\n")
    result = CliRunner().invoke(
        main, ["produce", COMMANDS, "--json", str(lines)], env=env
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "lethe: trial keys are for the embedded default only: sign with --key FILE "
        "(a key registered with `lethe signer add`)"
    ]
