"""Log lines: subject-id fields as digests, by field not by text; every line capped."""

from __future__ import annotations

import json

import structlog
from kafka import TopicPartition

from lethe.consumers.loop import ResumeFromTracking, assigned_partitions
from lethe.consumers.shown import digest, is_digest
from lethe.ops.logging import MAX_LINE, guard
from tests.support.leaks import captured_log


def test_a_field_that_may_hold_a_subject_id_is_a_digest() -> None:
    event = guard(None, "info", {"event": "x", "key": "cust-1", "subject_id": "c"})
    assert event["key"] == digest("cust-1") and is_digest(event["subject_id"])
    assert guard(None, "info", {"event": "x", "key": event["key"]}) == {
        "event": "x",
        "key": digest("cust-1"),  # a digest is not digested again
    }


def test_redaction_is_by_field_never_by_text() -> None:
    # A short id that happens to be a word is not blotted out of other fields.
    event = guard(None, "info", {"event": "lowercase case", "reason": "case"})
    assert event == {"event": "lowercase case", "reason": "case"}


def test_digests_differ_per_value_and_say_nothing_of_it() -> None:
    assert digest("cust-1") != digest("cust-2")
    assert "cust" not in digest("cust-1") and len(digest("cust-1")) == 10


def test_a_huge_field_or_list_is_summarised_and_the_line_capped() -> None:
    event = guard(
        None,
        "info",
        {"event": "x", "items": [f"item-{n}" for n in range(500)], "blob": b"\x00" * 9},
    )
    assert event["items"] == {"count": 500, "first": ["item-0", "item-1", "item-2"]}
    assert event["blob"] == "(9 bytes)"
    wide = guard(None, "info", {"event": "x", **{f"f{n}": "y" * 290 for n in range(9)}})
    assert len(json.dumps(wide)) <= MAX_LINE and wide["event"] == "x"
    assert "characters left out" in json.dumps(wide)


class _Loop:
    def assign(self, assigned: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: 1000 + tp.partition for tp in assigned}


def test_partitions_assigned_is_one_short_line_by_topic() -> None:
    topics = [f"arc-prod.topic-number-{t}.v1" for t in range(6)]
    assigned = [TopicPartition(t, p) for t in topics for p in range(12)]
    with captured_log() as log:
        ResumeFromTracking(_Loop()).on_partitions_assigned(assigned)  # type: ignore[arg-type]
        structlog.get_logger("lethe.test").info("done")
    line = log.stream.getvalue().splitlines()[0]
    assert len(line) < 1000
    event = json.loads(line)
    assert event["partitions"] == 72
    assert event["topics"][topics[0]] == {
        "partitions": 12,
        "numbers": "0..11",
        "resume_at": "1000..1011",
    }
    assert assigned_partitions(event) == {f"{t}:{p}" for t in topics for p in range(12)}


def test_kafka_pythons_slow_task_warnings_stay_out_of_a_commands_answer() -> None:
    import io
    import logging

    from lethe.ops.logging import configure

    stream = io.StringIO()
    root = logging.getLogger()
    before = (root.handlers[:], root.level)
    try:
        configure(stream=stream)
        selector = logging.getLogger("kafka.net.selector")
        selector.warning("Task ran for 0.219s (>0.100s threshold)")
        selector.error("connection lost")
    finally:
        root.handlers[:], level = before
        root.setLevel(level)
        logging.getLogger("kafka.net.selector").setLevel(logging.NOTSET)
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["connection lost"]
