"""`lethe request extend` and the deadlines in `lethe status`, on real dates."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from lethe.projections.status import _deadline
from tests.support import T0, ingest_record

Run = Callable[..., Result]
OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lethe.db"
    monkeypatch.setenv("LETHE_SQLITE_PATH", str(path))
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(path)}))
    runtime.app.ingest(
        [
            ingest_record("inv-1", "invoice", "cust-1"),
            ingest_record("inv-2", "invoice", "cust-2"),
        ],
        T0,
    )
    runtime.catch_up()
    return path


@pytest.fixture
def lethe(store: Path) -> Run:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


def _request(lethe: Run, subject: str, at: str) -> str:
    """Erase on request (received at `at`); returns the request id printed."""
    result = lethe(
        "erase", "subject", subject, "--reason", "asked", "--by", "kari",
        "--ticket", f"T-{subject}", "--at", at,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[0].split()[1]


def _extend(lethe: Run, request: str, subject: str, told_on: str, at: str) -> Result:
    return lethe(
        "request", "extend", request, "--subject", subject, "--reason",
        "many stores to confirm", "--told-on", told_on, "--by", "kari", "--at", at,
    )  # fmt: skip


def test_an_extension_told_on_day_29_is_recorded_with_the_day(lethe: Run) -> None:
    # Received Wednesday 10 June 2026 (10:00 in Oslo); the month ends with 10 July.
    request = _request(lethe, "cust-1", "2026-06-10T08:00:00Z")
    result = _extend(lethe, request, "cust-1", "2026-07-09", "2026-07-09T12:00:00Z")
    assert (result.exit_code, result.output) == (
        0,
        f"request   {request} extended (GDPR art. 12(3))\n"
        "first     end of 2026-07-10 (Europe/Oslo)\n"
        "answer by end of 2026-09-10 (Europe/Oslo)\n"
        "told on   2026-07-09\n",
    )
    again = _extend(lethe, request, "cust-1", "2026-07-09", "2026-07-09T12:00:00Z")
    assert again.exit_code == 0
    assert again.output.splitlines()[0] == (
        f"request   {request} was already extended; nothing new recorded"
    )
    audit = json.loads(lethe("audit", "subject", "cust-1", "--json").output)
    extended = [row for row in audit["timeline"] if row["event"] == "RequestExtended"]
    # cust-1 has no items: the request was carried out at once and the key
    # shredded, so the reason (free text about a forgotten subject) is sealed
    # under no key: the audit says so, and the rest of the extension stands.
    assert audit["subject"] == "erased (key destroyed)"
    assert [row["details"] for row in extended] == [
        f"request {request}: extended to 2026-09-10T22:00:00+00:00;"
        " subject told on 2026-07-09: (shredded) (by kari)"
    ]


def test_an_extension_told_on_day_32_is_refused(lethe: Run) -> None:
    request = _request(lethe, "cust-2", "2026-06-10T08:00:00Z")
    result = _extend(lethe, request, "cust-2", "2026-07-12", "2026-07-12T12:00:00Z")
    assert (result.exit_code, result.output) == (
        2,
        "lethe: too late to extend: the first month ended with 2026-07-10 and the"
        " subject was told on 2026-07-12; GDPR art. 12(3) allows the extension only"
        " if the subject is told within the first month\n",
    )


def test_a_request_is_found_by_its_subject_and_its_id(lethe: Run) -> None:
    request = _request(lethe, "cust-1", "2026-06-10T08:00:00Z")
    other = _extend(lethe, request, "cust-2", "2026-06-11", "2026-06-11T12:00:00Z")
    assert other.exit_code == 3
    assert other.output.startswith(f"lethe: the subject has no request '{request}'")


def test_days_left_count_the_controllers_calendar_days() -> None:
    due = int(datetime(2027, 1, 4, 23, 0, tzinfo=UTC).timestamp() * 1000)
    received = int(datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp() * 1000)
    row = ("r-1", "sector-alarm", received, due, None, None, 0)
    zones = {"sector-alarm": OSLO}

    def at(instant: str) -> object:
        return _deadline(row, datetime.fromisoformat(instant), zones)

    assert at("2027-01-01T12:00:00+01:00").days_left == 3  # type: ignore[attr-defined]
    # 23:30 on the last day is still in time: due today, not late.
    last_evening = at("2027-01-04T23:30:00+01:00")
    assert (last_evening.days_left, last_evening.late) == (0, False)  # type: ignore[attr-defined]
    overdue = at("2027-01-06T09:00:00+01:00")
    assert (overdue.days_left, overdue.late) == (-2, True)  # type: ignore[attr-defined]
