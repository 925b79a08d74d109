"""The suite's leak scan (issue 13, part 3): a pytest plugin.

For the whole session it collects what Lethe let out, and at the end looks in
it for every subject id the suite used (tests/support/subjects.py); any hit
fails the session, naming where and which id, never printing the line.

What is scanned:
- every log record emitted in the test process, formatted by Lethe's own
  formatter (`lethe.ops.logging.json_formatter`: the guard, then JSON), at
  the levels `lethe.ops.logging.configure` set, as production writes it;
- the log of every `lethe run` started through tests/support/lethe_process.py;
- what every in-process CLI command (click's CliRunner) printed: the lines a
  support person reads and pastes into a ticket;
- on the session's broker, every topic Lethe writes: keys and headers, and
  the values of the topics documented to hold no subject id (orders, the
  shred ledger).

What is not, and why (each a narrow, deliberate exclusion):
- inbound topics (alarm.*, customer.lifecycle.v1, lethe.commands.v1,
  lethe.erasure-confirmations.v1): their producers put subject ids there by
  contract (docs/architecture.md, "In Kafka");
- a dead letter's key and value: the rejected record as it came, kept for
  its documented retention; its headers (Lethe's words) are scanned;
- output of subprocesses a test starts itself with subprocess.run: not
  Lethe's log, and the tests that do so mostly assert on that output;
- records a test planted itself on such a topic (`planted`);
- CLI help pages (source text) and the one line of `lethe audit subject`
  that answers whom the history is about (NAMES_THE_SUBJECT);
- ids shorter than MIN_ID; ids shorter than leaks.SHORT_SECRET are looked
  for in the output of the tests that used them (and the session's) only.

Not collected: structlog lines printed before any `configure` outside a
CliRunner (they go to pytest's captured stdout), and the ids a test hands
straight to the application (`app.erase_subject(...)`) or to a subprocess.
"""

from __future__ import annotations

import logging
import re
import shlex
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from kafka import KafkaConsumer, TopicPartition

from lethe.ops import logging as lethe_logging
from lethe.ops.kafka.relay import ORDERS_TOPIC
from lethe.ops.kafka.topic_audit import LEDGER_TOPIC
from tests.support import subjects
from tests.support.leaks import SHORT_SECRET, Hit, hits
from tests.support.subjects import current_test

# Inbound to Lethe: other systems write subject ids there by contract.
INBOUND_LETHE_TOPICS = frozenset(
    {"lethe.commands.v1", "lethe.erasure-confirmations.v1"}
)
DLQ = "lethe.dlq.v1"
# Documented to hold no subject id at all (topic_audit.HOLDS): values scanned too.
NO_SUBJECT_ID = frozenset({ORDERS_TOPIC, LEDGER_TOPIC})
# Ids shorter than this are tests' shorthand ("a", "b" beside `--by b`): as a
# whole token they occur in base64 signatures and in cut-off words ("or b…"),
# and no real subject id is that short. They are counted, not looked for.
MIN_ID = 3
SUBJECT_PARAMS = frozenset({"subject", "subject_id"})  # the CLI's names for one
_CONTRACT = re.compile(r"(?:^|\.)(lethe\.[a-z0-9-]+\.v\d+)$")
IDLE_S, CAP_S = 3.0, 120.0  # reading the broker: quiet this long, at most that
SHOWN_HITS = 40


@dataclass
class Evidence:
    """What Lethe let out, as (where, text), each with the test it came in
    (None: the session's, e.g. a topic read at the end), and counts by kind."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    tests: list[str | None] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, where: str, text: str, test: str | None = None) -> None:
        self.texts.append((where, text))
        self.tests.append(test)
        self.counts[kind] += 1

    def of(self, tests: set[str]) -> list[tuple[str, str]]:
        """The texts of those tests (not the session's: see `scan`)."""
        return [
            text
            for text, test in zip(self.texts, self.tests, strict=True)
            if test is not None and test in tests
        ]


Used = Mapping[str, set[str]]  # subject id -> the tests that used it


def looked_for(used: Used) -> list[str]:
    return sorted(s for s in used if len(s.strip()) >= MIN_ID)


def scan(evidence: Evidence, used: Used) -> list[Hit]:
    """The scanning core: every place a subject id occurs (leaks.hits rules).

    An id of SHORT_SECRET characters or more is looked for everywhere. A
    shorter one is a whole word ("case", chosen to be one of Lethe's words),
    so only in the output of the tests that used it: in another test's output
    the same word is that test's own ("police case"), and so it is on the
    session's topics, which every test writes to (the full suite found "case"
    in dead letters' reasons of other tests). The test that uses such an id
    scans its own topics itself (test_no_ids_leave.py)."""
    ids = looked_for(used)
    found = hits(evidence.texts, [s for s in ids if len(s) >= SHORT_SECRET])
    for short in (s for s in ids if len(s) < SHORT_SECRET):
        found += hits(evidence.of(set(used[short])), [short])
    return found


def summary(evidence: Evidence, used: Used, found: list[Hit]) -> str:
    counted = ", ".join(f"{n} {kind}" for kind, n in sorted(evidence.counts.items()))
    scanned = len(looked_for(used))
    return (
        f"leak scan: {counted or 'nothing'} scanned for {scanned} subject ids"
        f" ({len(used) - scanned} shorter than {MIN_ID} characters not looked"
        f" for): {len(found)} hits"
    )


def described(found: list[Hit]) -> list[str]:
    """One line a hit: where and which id, never the text it was found in."""
    lines = [f"  {hit.where}: subject id {hit.secret!r}" for hit in found[:SHOWN_HITS]]
    if len(found) > SHOWN_HITS:
        lines.append(f"  … and {len(found) - SHOWN_HITS} more")
    return lines


# --- what Lethe writes on Kafka -------------------------------------------


def contract_of(topic: str) -> str | None:
    """`lethe.dlq.v1` for `leak.3f9a.lethe.dlq.v1`; None for a topic not Lethe's."""
    match = _CONTRACT.search(topic)
    return match.group(1) if match else None


def lethe_writes(topic: str) -> bool:
    contract = contract_of(topic)
    return contract is not None and contract not in INBOUND_LETHE_TOPICS


def record_texts(topic: str, record: Any) -> Iterator[tuple[str, str, str]]:
    """(kind, where, text) of one record of a topic Lethe writes."""
    contract = contract_of(topic)
    at = f"{topic}@{record.partition}:{record.offset}"
    if record.key is not None and contract != DLQ:
        yield "Kafka keys", f"{at} key", _text(record.key)
    for name, value in record.headers or ():
        yield "Kafka headers", f"{at} header {name}", _text(value)
    if contract in NO_SUBJECT_ID and record.value is not None:
        yield "Kafka values", f"{at} value", _text(record.value)


PLANTED: set[tuple[str, int, int]] = set()  # (topic, partition, offset)


def planted(topic: str, partition: int, offset: int) -> None:
    """A record a test wrote itself on a topic Lethe writes (a foreign record
    Lethe must refuse): its content is the test's, not Lethe's, so it is left
    out of the scan."""
    PLANTED.add((topic, partition, offset))


def read_lethe_topics(bootstrap: str, evidence: Evidence) -> None:
    """Every record of every topic Lethe writes on the broker, from the start,
    until the broker has been quiet for IDLE_S (its end offsets are not to be
    trusted, tests/support/ingest.py::read_topic)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        topics = sorted(t for t in consumer.topics() if lethe_writes(t))
        partitions = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or {0})
        ]
        evidence.counts["Lethe topics"] += len(topics)
        if not partitions:
            return
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        deadline, quiet = time.monotonic() + CAP_S, time.monotonic() + IDLE_S
        while time.monotonic() < min(deadline, quiet):
            batch = consumer.poll(timeout_ms=200)
            if batch:
                quiet = time.monotonic() + IDLE_S
            for records in batch.values():
                for record in records:
                    if (record.topic, record.partition, record.offset) in PLANTED:
                        evidence.counts["records a test planted (left out)"] += 1
                        continue
                    for kind, where, text in record_texts(record.topic, record):
                        evidence.add(kind, where, text)
    finally:
        consumer.close()


def _text(value: Any) -> str:
    return bytes(value).decode("utf-8", "replace")


# --- what the test process logs and prints --------------------------------


class LogCapture(logging.Handler):
    """Every record, formatted by Lethe's own formatter, with the test it came in."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(lethe_logging.json_formatter())
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 (logging's own rule: never raise)
            self.handleError(record)
            return
        self.lines.append((current_test(), line))

    def attach(self) -> None:
        root = logging.getLogger()
        if self not in root.handlers:
            root.addHandler(self)


def parsed(cli: Any, args: Any) -> tuple[str, list[str]]:
    """(command path, subject ids) of a CLI invocation, by the CLI's own
    parser: `("lethe erase subject", ["cust-1"])`; no pattern guesses which
    argument is an id, and the path holds command names only, never an id."""
    if not isinstance(cli, click.Command) or args is None:
        return getattr(cli, "name", None) or "cli", []
    argv = shlex.split(args) if isinstance(args, str) else [str(a) for a in args]
    found: list[str] = []
    path = cli.name or "lethe"
    try:
        ctx = cli.make_context(path, argv, resilient_parsing=True)
        while True:
            path = ctx.command_path
            found += [
                str(v) for n, v in ctx.params.items() if n in SUBJECT_PARAMS and v
            ]
            rest = [*ctx._protected_args, *ctx.args]
            if not isinstance(ctx.command, click.Group) or not rest:
                return path, found
            name, command, rest = ctx.command.resolve_command(ctx, rest)
            if command is None or name is None:
                return path, found
            ctx = command.make_context(name, rest, parent=ctx, resilient_parsing=True)
    except click.ClickException:
        return path, found  # what the CLI refuses to parse, the test means refused


def asks_for_help(args: Any) -> bool:
    """A help page is text written in the source (its examples name `cust-1`,
    an id tests use too): nothing a test put in can reach it, so it is left
    out. Click's --help is eager: with it, the command itself never runs."""
    argv = shlex.split(args) if isinstance(args, str) else [str(a) for a in args or ()]
    return "--help" in argv


# `lethe audit subject ID` is an auditor asking for that subject's history:
# its line "subject   ID" (JSON: the top-level "subject") says whom it is
# about, opened from the subject's seal while the key lives, `(shredded)`
# after. That line is the answer asked for (the remote command needs the
# auditor role), so it alone is left out; every other line is scanned.
NAMES_THE_SUBJECT = {
    "lethe audit subject": re.compile(r'^(subject\s|  "subject": )'),
}


def cli_lines(test: str, path: str, output: str, evidence: Evidence) -> None:
    """The lines a CLI command printed, but the one that is its answer."""
    answer = NAMES_THE_SUBJECT.get(path)
    for n, line in enumerate(output.splitlines()):
        if answer is not None and answer.match(line):
            evidence.counts["CLI lines naming the subject asked for (left out)"] += 1
            continue
        where = f"`{path}` output line {n} ({test})"
        evidence.add("CLI output lines", where, line, test)


# --- the plugin -----------------------------------------------------------


class LeakScan:
    """The session's collector; `pytest_sessionfinish` scans what it holds."""

    def __init__(self) -> None:
        self.capture = LogCapture()
        self.cli_outputs: list[tuple[str, str, str]] = []  # (test, command, text)
        self.process_logs: list[tuple[str, Path]] = []  # (test, log file)
        self.session = Evidence()  # the topics, and counts of what is left out
        self._undo: list[Callable[[], None]] = []

    def install(self) -> None:
        self.capture.attach()
        configure = lethe_logging.configure

        def configure_and_keep_scanning(*args: Any, **kwargs: Any) -> None:
            configure(*args, **kwargs)  # replaces the root's handlers
            self.capture.attach()

        lethe_logging.configure = configure_and_keep_scanning
        invoke = CliRunner.invoke
        scanner = self

        def invoke_and_keep(runner: CliRunner, cli: Any, args: Any = None,
                            *rest: Any, **kwargs: Any) -> Any:  # fmt: skip
            try:
                path, subject_ids = parsed(cli, args)
            except Exception:  # noqa: BLE001 (never break the test; counted)
                path, subject_ids = "cli (not parsed)", []
                scanner.session.counts["CLI invocations not parsed"] += 1
            for subject_id in subject_ids:
                subjects.used(subject_id)
            result = invoke(runner, cli, args, *rest, **kwargs)
            if asks_for_help(args):
                scanner.session.counts["CLI help pages (left out)"] += 1
            else:
                scanner.cli_outputs.append((current_test(), path, result.output))
            return result

        CliRunner.invoke = invoke_and_keep  # type: ignore[method-assign,assignment]

        def undo() -> None:
            lethe_logging.configure = configure
            CliRunner.invoke = invoke  # type: ignore[method-assign]
            logging.getLogger().removeHandler(self.capture)

        self._undo.append(undo)

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def evidence(self) -> Evidence:
        found = Evidence(
            list(self.session.texts),
            list(self.session.tests),
            Counter(self.session.counts),
        )
        for n, (test, line) in enumerate(self.capture.lines):
            found.add("in-process log lines", f"log line {n} ({test})", line, test)
        for test, path, output in self.cli_outputs:
            cli_lines(test, path, output, found)
        for test, log in self.process_logs:
            if not log.exists():
                found.counts["lethe run logs gone before the scan"] += 1
                continue
            text = log.read_text(errors="replace")
            for n, line in enumerate(text.splitlines()):
                where = f"{log.name} line {n} ({test})"
                found.add("lethe run log lines", where, line, test)
        return found


_SCAN = LeakScan()


def lethe_process_log(path: Path) -> None:
    """A `lethe run` started by a helper writes its log to `path`: scan it."""
    _SCAN.process_logs.append((current_test(), path))


def pytest_configure(config: pytest.Config) -> None:
    _SCAN.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    _SCAN.uninstall()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _SCAN.capture.attach()  # in case a test put the root's handlers back


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Any:
    """Read the session broker's Lethe topics just before it stops: a finalizer
    added after the fixture's own teardown runs before it (last in, first out)."""
    result = yield
    if fixturedef.argname == "broker" and hasattr(result, "bootstrap"):
        bootstrap = result.bootstrap
        fixturedef.addfinalizer(lambda: read_lethe_topics(bootstrap, _SCAN.session))
    return result


_REPORT_KEY = pytest.StashKey[tuple[str, list[str]]]()


@pytest.hookimpl(tryfirst=True)  # before tmp_path's clean-up takes the logs
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    evidence = _SCAN.evidence()
    used = subjects.USED
    found = scan(evidence, used)
    report = summary(evidence, used, found), described(found)
    session.config.stash[_REPORT_KEY] = report
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    line, hits_shown = config.stash.get(_REPORT_KEY, ("leak scan: not run", []))
    terminalreporter.write_line(line, red=bool(hits_shown), bold=bool(hits_shown))
    for shown in hits_shown:
        terminalreporter.write_line(shown, red=True)
