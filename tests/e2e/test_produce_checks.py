"""`lethe produce` refuses what `lethe run` would dead-letter, with the same reason."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lethe.consumers.deadletter import REASON
from lethe.consumers.signatures import ROLE_FOR_TOPIC
from lethe.ops.cli.main import main
from lethe.ops.cli.produce import EXAMPLES
from lethe.ops.kafka.topics import TopicSettings
from tests.support.consuming import one_partition_fixtures
from tests.support.ingest import Consuming, producer_for, read_topic
from tests.support.signing import trial_key_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

IMAGES, DLQ = "alarm.images.v1", "lethe.dlq.v1"


def image(item_id: str, **changes: Any) -> dict[str, Any]:
    value = json.loads(EXAMPLES[IMAGES])
    value["item_id"] = item_id
    value["metadata"].update(changes.pop("metadata", {}))
    return {**value, **changes}


# What the consumer dead-letters, one line each, and the reason it gives.
WOULD_BE_DEAD = [
    (image("img-sha", sha256="ab"), "sha256 is not 64 lowercase hex characters"),
    (image("img-acme", metadata={"controller": "acme"}), "unknown controller 'acme'"),
    (image("img-\x07"), "item_id holds a control character (U+0007 at position 4)"),
    (image("i" * 201), "item_id is 201 characters long (at most 200)"),
    (
        image("img-old", metadata={"captured_at": "1999-12-31T23:00:00Z"}),
        "metadata.captured_at 1999-12-31T23:00:00+00:00 is before 2000-01-01",
    ),
    (
        image("img-future", metadata={"captured_at": "2999-01-01T00:00:00Z"}),
        "metadata.captured_at 2999-01-01T00:00:00+00:00 is ",
    ),
]


env, consuming = one_partition_fixtures("produce")


def produce(env: dict[str, str], topic: str, path: Path, *more: str) -> Result:
    args = ["produce", topic, "--json", str(path), *more]
    return CliRunner().invoke(main, args, env=env)


def lines_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_lethe_produce_sends_the_fit_lines_and_refuses_the_rest_with_their_reasons(
    env: dict[str, str], consuming: Consuming, tmp_path: Path
) -> None:
    bad = [json.dumps(value) for value, _ in WOULD_BE_DEAD]
    deep = "[" * 100_000 + "]" * 100_000
    misfit = json.dumps(image("img-big", size_bytes="big"))
    good = [json.dumps(image("img-ok-1")), json.dumps(image("img-ok-2"))]
    path = lines_file(tmp_path, good[0], *bad, deep, misfit, good[1])

    result = produce(env, IMAGES, path)

    assert result.exit_code == 1, result.output
    refused = result.stderr.splitlines()
    assert len(refused) == len(bad) + 2
    for number, (line, (_, reason)) in enumerate(
        zip(refused, WOULD_BE_DEAD, strict=False), start=2
    ):
        assert line.startswith(f"lethe: line {number} refused: {reason}"), line
    assert refused[-2] == (
        f"lethe: line {len(bad) + 2} refused: JSON nested too deeply "
        "(a record nests a few levels at most)"
    )
    assert refused[-1].endswith("size_bytes is a str, expected long")
    total = len(good) + len(bad) + 2
    assert result.stdout == (
        f"sent 2 of {total} records to {consuming.name(IMAGES)}; refused {total - 2}\n"
    )
    records = read_topic(
        env["LETHE_KAFKA_BOOTSTRAP"], consuming.name(IMAGES), 2, settle=1
    )
    assert sorted(r.key for r in records) == [b"img-ok-1", b"img-ok-2"]


def test_what_produce_refuses_the_consumer_dead_letters_with_the_same_reason(
    env: dict[str, str], consuming: Consuming, tmp_path: Path
) -> None:
    values = [value for value, _ in WOULD_BE_DEAD]
    refused = produce(env, IMAGES, lines_file(tmp_path, *map(json.dumps, values)))
    assert refused.exit_code == 1
    said = [line.partition(" refused: ")[2] for line in refused.stderr.splitlines()]

    # Sent anyway, past the checks:
    with producer_for(env) as producer:
        for value in values:
            producer.send(IMAGES, value | {"metadata": _instants(value["metadata"])})
    consuming.take_through(IMAGES, len(values) - 1)

    letters = read_topic(env["LETHE_KAFKA_BOOTSTRAP"], consuming.name(DLQ), len(values))
    dead = [dict(r.headers)[REASON].decode("utf-8") for r in letters]
    assert list(map(_timeless, dead)) == list(map(_timeless, said))


def _timeless(reason: str) -> str:
    # How far in the future depends on when it was judged, by seconds.
    return re.sub(r"\d+ s in the future", "N s in the future", reason)


def _instants(meta: dict[str, Any]) -> dict[str, Any]:
    return meta | {"captured_at": datetime.fromisoformat(meta["captured_at"])}


@pytest.mark.parametrize("topic", sorted(EXAMPLES))
def test_every_example_in_the_help_is_sent(
    env: dict[str, str], tmp_path: Path, topic: str
) -> None:
    help_text = CliRunner().invoke(main, ["produce", "--help"]).output
    assert f"\n    {topic}:\n      {EXAMPLES[topic]}\n" in help_text

    signed: list[str] = []
    if topic in ROLE_FOR_TOPIC:  # registered trial keys sign commands and answers
        key = trial_key_for(topic, json.loads(EXAMPLES[topic]), tmp_path)
        signed = ["--key", str(key)]
    result = produce(env, topic, lines_file(tmp_path, EXAMPLES[topic]), *signed)

    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == f"sent 1 of 1 records to {TopicSettings.from_env(env).name(topic)}\n"
    )
    assert (
        len(
            read_topic(
                env["LETHE_KAFKA_BOOTSTRAP"], TopicSettings.from_env(env).name(topic), 1
            )
        )
        == 1
    )
