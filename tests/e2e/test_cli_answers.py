"""Every answer says what happened: the exact output and exit code of support's
commands for an unknown subject, the wrong controller, held items and repeats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record

Run = Callable[..., Result]
REQUEST_OPTIONS = ("--reason", "asked by phone", "--by", "kari", "--ticket", "T-1")
AT = ("--at", "2026-03-26T09:00:00Z")
UNKNOWN_SUBJECT = (
    "lethe: no subject with that id is known to Lethe for controller"
    " 'sector-alarm' (no items, no records); check the id and controller\n"
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lethe.db"
    monkeypatch.setenv("LETHE_SQLITE_PATH", str(path))
    return path


@pytest.fixture
def lethe(store: Path) -> Run:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


def _ingest(store: Path, *records: object) -> None:
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    runtime.app.ingest(list(records), T0)  # type: ignore[arg-type]
    runtime.catch_up()


def _event_count(store: Path) -> int:
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    return runtime.app.process_recorder.max_notification_id() or 0


def _hold(lethe: Run, *target: str, case: str = "POL-7") -> Result:
    return lethe(
        "hold", "place", *target, "--case", case, "--reason", "police", "--by", "ola"
    )


@pytest.fixture
def customer(store: Path) -> None:
    _ingest(
        store,
        ingest_record("img-1", "verification-image", "cust-1"),
        ingest_record("inv-1", "invoice", "cust-1"),
    )


def test_erasing_an_unknown_subject_records_nothing_and_says_check_the_id(
    store: Path, lethe: Run, customer: None
) -> None:
    events = _event_count(store)
    result = lethe("erase", "subject", "cust-10001", *REQUEST_OPTIONS, *AT)
    assert (result.exit_code, result.output) == (3, UNKNOWN_SUBJECT)
    assert _event_count(store) == events
    audit = lethe("audit", "subject", "cust-10001")
    assert (audit.exit_code, audit.output) == (3, UNKNOWN_SUBJECT)


def test_the_wrong_controller_does_not_find_a_real_customer(
    store: Path, lethe: Run, customer: None
) -> None:
    events = _event_count(store)
    result = lethe(
        "erase", "subject", "cust-1", "--controller", "hedengren", *REQUEST_OPTIONS
    )
    assert result.exit_code == 3
    assert result.output == UNKNOWN_SUBJECT.replace("sector-alarm", "hedengren")
    item = _hold(lethe, "--item", "img-1", "--controller", "hedengren")
    assert (item.exit_code, item.output) == (
        3,
        "lethe: no item 'img-1' is known to Lethe for controller 'hedengren';"
        " check the id and controller\n",
    )
    assert _event_count(store) == events


def test_holding_or_restricting_an_unknown_subject_is_refused(
    lethe: Run, customer: None
) -> None:
    hold = _hold(lethe, "--subject", "cust-9999")
    assert (hold.exit_code, hold.output) == (3, UNKNOWN_SUBJECT)
    restrict = lethe(
        "restrict", "--subject", "cust-9999", "--ticket", "T-9", "--reason", "r",
        "--by", "kari",
    )  # fmt: skip
    assert (restrict.exit_code, restrict.output) == (3, UNKNOWN_SUBJECT)


def test_subject_erasure_reports_each_item_and_the_deadline(
    lethe: Run, customer: None
) -> None:
    result = lethe("erase", "subject", "cust-1", *REQUEST_OPTIONS, *AT)
    assert result.exit_code == 0
    request_line, rest = result.output.split("\n", 1)
    assert request_line.startswith("request   ")
    # Received Thursday 26 March; 26 April 2026 is a Sunday: end of Monday 27th.
    assert rest == (
        "received  2026-03-26T09:00:00Z\n"
        "answer by end of 2026-04-27 (Europe/Oslo)  (GDPR art. 12(3))\n"
        "found     2 items of this subject (sector-alarm)\n"
        "  erasure ordered now          1  img-1\n"
        "  kept by law                  1  inv-1 (clock not started)\n"
        "status    orders made: 1 ordered for erasure now, 1 kept by law;"
        " subject key destroyed; answered once the stores confirm\n"
    )


def test_a_subject_whose_items_are_all_held_is_told_nothing_was_erased(
    lethe: Run, store: Path
) -> None:
    _ingest(store, ingest_record("img-h", "verification-image", "cust-h"))
    assert _hold(lethe, "--subject", "cust-h").exit_code == 0
    result = lethe("erase", "subject", "cust-h", *REQUEST_OPTIONS, *AT)
    assert result.exit_code == 0
    assert result.output.split("\n", 3)[3] == (
        "found     1 item of this subject (sector-alarm)\n"
        "  held (POL-7)                 1  img-h\n"
        "status    answered: nothing erased now: every item left is held or"
        " restricted; subject key destroyed\n"
    )
    assert "state     scheduled" in lethe("item", "img-h").output


def test_a_repeated_subject_hold_says_it_is_in_force_and_records_nothing(
    lethe: Run, store: Path, customer: None
) -> None:
    first = _hold(lethe, "--subject", "cust-1")
    assert (first.exit_code, first.output) == (
        0,
        "hold POL-7 placed on the subject (sector-alarm)\n"
        "found     2 items of this subject (sector-alarm)\n"
        "  held (POL-7)                 2  img-1, inv-1\n",
    )
    events = _event_count(store)
    again = _hold(lethe, "--subject", "cust-1")
    assert (again.exit_code, again.output) == (
        0,
        "hold POL-7 is already in force on the subject (sector-alarm);"
        " nothing new recorded\n"
        "found     2 items of this subject (sector-alarm)\n"
        "  held (POL-7)                 2  img-1, inv-1\n",
    )
    assert _event_count(store) == events


def test_a_repeated_item_hold_and_restriction_say_they_are_in_force(
    lethe: Run, store: Path, customer: None
) -> None:
    assert _hold(lethe, "--item", "img-1").output == (
        "hold POL-7 placed on item img-1\n  held (POL-7)                 1  img-1\n"
    )
    events = _event_count(store)
    again = _hold(lethe, "--item", "img-1")
    assert (again.exit_code, again.output) == (
        0,
        "hold POL-7 is already in force on item img-1; nothing new recorded\n"
        "  held (POL-7)                 1  img-1\n",
    )
    restrict = ("restrict", "--item", "inv-1", "--ticket", "T-9", "--reason", "r")
    assert lethe(*restrict, "--by", "kari").output == (
        "restriction T-9 recorded on item inv-1\n"
        "  restricted (T-9)             1  inv-1\n"
    )
    repeated = lethe(*restrict, "--by", "kari")
    assert (repeated.exit_code, repeated.output) == (
        0,
        "restriction T-9 is already in force on item inv-1; nothing new recorded\n"
        "  restricted (T-9)             1  inv-1\n",
    )
    assert _event_count(store) == events + 1


def test_releasing_a_hold_says_when_the_item_goes(lethe: Run, customer: None) -> None:
    _hold(lethe, "--item", "img-1", *AT)  # a release may not predate its hold
    released = lethe(
        "hold", "release", "--item", "img-1", "--case", "POL-7", "--by", "ola",
        "--at", "2026-03-27T00:00:00Z",
    )  # fmt: skip
    # Captured 12:00 CET on 25 March; 7 days later is 12:00 CEST = 10:00Z.
    assert (released.exit_code, released.output) == (
        0,
        "hold POL-7 released from item img-1\n"
        "  scheduled                    1  img-1 until 2026-04-01T10:00:00Z\n",
    )


def test_repeating_the_same_request_records_nothing_new(
    lethe: Run, store: Path, customer: None
) -> None:
    lethe("erase", "subject", "cust-1", *REQUEST_OPTIONS, *AT)
    events = _event_count(store)
    again = lethe("erase", "subject", "cust-1", *REQUEST_OPTIONS, *AT)
    assert again.exit_code == 0
    lines = again.output.splitlines()
    assert lines[1] == "          the same request was recorded before; nothing new"
    assert "  erasure ordered before       1  img-1" in lines
    assert _event_count(store) == events
