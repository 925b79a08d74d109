"""The suite's leak scan can fail: its core finds a seeded id, names where
without the line, and does not take a digest of the id for the id."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from lethe.consumers.shown import digest
from lethe.ops import logging as lethe_logging
from lethe.ops.cli.main import main
from tests.support.leak_scan import (
    Evidence,
    LogCapture,
    asks_for_help,
    cli_lines,
    described,
    lethe_writes,
    parsed,
    record_texts,
    scan,
    summary,
)

SUBJECT = "ola.nordmann@example.no"
ROOT = Path(__file__).resolve().parents[2]


def _formatted(logger_name: str, **fields: object) -> str:
    """One line as Lethe's logging writes it (structlog through the guard)."""
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        lethe_logging.configure("INFO", stream=stream)
        lethe_logging.get_logger(logger_name).info("batch taken", **fields)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return stream.getvalue().strip()


def test_a_seeded_leak_is_reported_by_where_never_by_line() -> None:
    evidence = Evidence()
    evidence.add("in-process log lines", "log line 0", '{"event": "fine"}')
    evidence.add("Kafka headers", "t.lethe.dlq.v1@0:3 header lethe.reason",
                 f"no item {SUBJECT.upper()}")  # fmt: skip
    found = scan(evidence, {SUBJECT: {"t"}, "cust-1": {"t"}})
    assert [(h.where, h.secret) for h in found] == [
        ("t.lethe.dlq.v1@0:3 header lethe.reason", SUBJECT)
    ]
    shown = described(found)
    where = "t.lethe.dlq.v1@0:3 header lethe.reason"
    assert shown == [f"  {where}: subject id {SUBJECT!r}"]
    assert "no item" not in "".join(shown)
    assert summary(
        evidence, {SUBJECT: {"t"}, "cust-1": {"t"}, "b": {"t"}}, found
    ).endswith(
        "scanned for 2 subject ids (1 shorter than 3 characters not looked for): 1 hits"
    )


def test_a_digest_of_the_id_is_not_a_hit_and_the_id_itself_is() -> None:
    evidence = Evidence()
    guarded = _formatted("lethe.test", key=SUBJECT)
    assert json.loads(guarded)["key"] == digest(SUBJECT)
    evidence.add("in-process log lines", "log line 0", guarded)
    assert scan(evidence, {SUBJECT: {"t"}}) == []
    # The same line had the guard not digested the key: found.
    evidence.add("in-process log lines", "log line 1", guarded.replace(
        digest(SUBJECT), SUBJECT))  # fmt: skip
    assert [h.where for h in scan(evidence, {SUBJECT: {"t"}})] == ["log line 1"]


def test_the_capture_writes_what_production_writes_and_names_the_test() -> None:
    stream, capture = io.StringIO(), LogCapture()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        lethe_logging.configure("INFO", stream=stream)
        root.addHandler(capture)
        lethe_logging.get_logger("lethe.test").info("dead letter", key=SUBJECT)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    [(test, line)] = capture.lines
    assert "test_the_capture_writes_what_production_writes" in test
    assert line == stream.getvalue().strip()  # the same line, byte for byte
    assert json.loads(line)["key"] == digest(SUBJECT)  # the guard ran before it


def test_only_topics_lethe_writes_are_read_and_a_dead_letters_key_is_not() -> None:
    assert lethe_writes("leak.3f9a.lethe.dlq.v1")
    assert lethe_writes("lethe.erasures.v1")
    assert not lethe_writes("leak.3f9a.lethe.commands.v1")
    assert not lethe_writes("leak.3f9a.alarm.images.v1")
    assert not lethe_writes("x.customer.lifecycle.v1")
    record = SimpleNamespace(
        partition=0,
        offset=7,
        key=SUBJECT.encode(),
        value=b"v",
        headers=[("lethe.reason", b"why")],
    )
    letter = list(record_texts("p.lethe.dlq.v1", record))
    assert [kind for kind, _, _ in letter] == ["Kafka headers"]
    order = list(record_texts("p.lethe.erasures.v1", record))
    assert [kind for kind, _, _ in order] == ["Kafka keys", "Kafka headers",
                                              "Kafka values"]  # fmt: skip


def test_subject_ids_are_taken_from_the_clis_own_parameters() -> None:
    erase = ["erase", "subject", "cust-9", "--reason", "r"]
    assert parsed(main, erase) == ("lethe erase subject", ["cust-9"])
    hold = ["hold", "place", "--subject", "cust-8", "--case", "POL-1"]
    assert parsed(main, hold) == ("lethe hold place", ["cust-8"])
    assert parsed(main, ["item", "img-1"]) == ("lethe item", [])
    assert parsed(main, ["no-such-command", "x"]) == ("lethe", [])
    assert asks_for_help(["produce", "--help"]) and asks_for_help("erase --help")
    assert not asks_for_help(["erase", "subject", "cust-9", "--reason", "help"])


def test_a_short_id_is_looked_for_in_the_tests_that_used_it_only() -> None:
    evidence = Evidence()
    evidence.add("CLI output lines", "line 0", "held for a police case", "t::other")
    evidence.add("CLI output lines", "line 1", "no hold for case", "t::leaky")
    # The session's topics carry every test's words: a short id is not looked
    # for there (its own test scans its topics), a long one is.
    evidence.add("Kafka headers", "dlq header", "the CASE again, cust-77")
    found = scan(
        evidence, {"case": {"t::leaky"}, "b": {"t::leaky"}, "cust-77": {"t::x"}}
    )
    assert [(h.where, h.secret) for h in found] == [
        ("dlq header", "cust-77"),
        ("line 1", "case"),
    ]


def test_audit_subject_leaves_out_only_the_line_that_answers_who() -> None:
    evidence = Evidence()
    output = f"subject   {SUBJECT}\npseudonym p1 (sector-alarm); 1 items\n{SUBJECT}\n"
    cli_lines("t::a", "lethe audit subject", output, evidence)
    cli_lines("t::a", "lethe item", output, evidence)
    found = scan(evidence, {SUBJECT: {"t::a"}})
    assert [h.where for h in found] == [
        "`lethe audit subject` output line 2 (t::a)",
        "`lethe item` output line 0 (t::a)",
        "`lethe item` output line 2 (t::a)",
    ]


LEAKY_TEST = """
import logging
from tests.support.subjects import used
from lethe.consumers.shown import digest

def test_logs_{name}():
    subject = used("ola.nordmann@example.no")
    shown = {shown}
    logging.getLogger("lethe.seeded").warning("no item %s", shown)
"""


def test_a_session_of_passing_tests_fails_on_the_one_line_with_the_id(
    tmp_path: Path,
) -> None:
    """A real pytest session with the plugin loaded as the suite loads it:
    one test logs the id, one its digest; both pass, the session fails."""
    for name, shown in (("leaky", "subject"), ("digested", "digest(subject)")):
        test = LEAKY_TEST.format(name=name, shown=shown)
        (tmp_path / f"test_{name}.py").write_text(test)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "tests.support.leak_scan", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    assert "2 passed" in done.stdout
    assert "2 in-process log lines" in done.stdout and ": 1 hits" in done.stdout
    [hit] = [line for line in done.stdout.splitlines() if "subject id '" in line]
    assert "test_leaky.py::test_logs_leaky" in hit
    assert hit.endswith("subject id 'ola.nordmann@example.no'")
    assert "no item" not in done.stdout  # the line itself is never printed
