"""Support staff's commands refuse what cannot be true, in one line, and go on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lethe.domain.item import Item
from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record

Run = Callable[..., Result]
HOLD = ("hold", "place", "--item", "img-1", "--case", "POL-1", "--by", "ola")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lethe.db"
    monkeypatch.setenv("LETHE_SQLITE_PATH", str(path))
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(path)}))
    records = [
        ingest_record("img-1", "verification-image", "cust-1"),
        ingest_record("ev-1", "alarm-event", "cust-1"),
    ]
    runtime.app.ingest(records, T0)
    runtime.catch_up()
    return path


@pytest.fixture
def lethe(store: Path) -> Run:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


def one_line_refusal(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output.strip()


def item(store: Path, item_ref: str) -> Item:
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    return runtime.app.get_item(item_ref)


def test_an_instant_in_the_future_is_refused_and_the_next_command_is_taken(
    store: Path, lethe: Run
) -> None:
    refusal = one_line_refusal(
        lethe(*HOLD, "--reason", "r", "--at", "2100-01-01T00:00:00Z")
    )
    assert refusal.startswith("lethe: --at 2100-01-01T00:00:00Z is in the future")
    assert item(store, "img-1").holds == {}
    assert lethe(*HOLD, "--reason", "r").exit_code == 0
    assert list(item(store, "img-1").holds) == ["POL-1"]


@pytest.mark.parametrize(
    "instant", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"]
)
def test_an_instant_out_of_range_is_refused_without_a_traceback(
    lethe: Run, instant: str
) -> None:
    refusal = one_line_refusal(lethe(*HOLD, "--reason", "r", "--at", instant))
    assert "is out of range" in refusal


def test_a_release_dated_before_its_hold_is_refused(store: Path, lethe: Run) -> None:
    placed = "2026-06-01T12:00:00Z"
    assert lethe(*HOLD, "--reason", "r", "--at", placed).exit_code == 0
    release = ("hold", "release", "--item", "img-1", "--case", "POL-1", "--by", "ola")
    refusal = one_line_refusal(lethe(*release, "--at", "2026-05-31T12:00:00Z"))
    assert refusal.startswith("lethe: hold POL-1 was placed at 2026-06-01")
    assert list(item(store, "img-1").holds) == ["POL-1"]
    assert lethe(*release, "--at", "2026-06-02T12:00:00Z").exit_code == 0
    assert item(store, "img-1").holds == {}


def test_a_lift_dated_before_its_restriction_is_refused(lethe: Run) -> None:
    restrict = ("restrict", "--item", "img-1", "--ticket", "T-1", "--by", "ola")
    assert (
        lethe(*restrict, "--reason", "r", "--at", "2026-06-01T12:00:00Z").exit_code == 0
    )
    lift = ("lift", "--item", "img-1", "--ticket", "T-1", "--by", "ola")
    refusal = one_line_refusal(lethe(*lift, "--at", "2026-05-01T12:00:00Z"))
    assert refusal.startswith("lethe: restriction T-1 was placed at 2026-06-01")


def test_the_police_extension_is_refused_on_anything_but_an_image(
    store: Path, lethe: Run
) -> None:
    args = ("hold", "police-extend", "--item", "ev-1", "--case", "POL-9", "--by", "o")
    refusal = one_line_refusal(lethe(*args))
    assert refusal == (
        "lethe: item ev-1 is not a verification image (alarm-event): the police "
        "extension applies to images only; to keep it, place a legal hold"
    )
    assert item(store, "ev-1").police_relevant is False


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--reason", "x" * 800_000, "800000 characters long (at most 1000)"),
        ("--reason", "bell\x07", "control character (U+0007"),
        ("--case", "POL\x00-1", "control character (U+0000"),
        ("--by", "o" * 201, "201 characters long (at most 200)"),
    ],
)
def test_text_over_its_limit_or_with_control_characters_is_refused(
    store: Path, lethe: Run, option: str, value: str, says: str
) -> None:
    args = {"--reason": "r", "--case": "POL-1", "--by": "ola", option: value}
    flat = [part for pair in args.items() for part in pair]
    refusal = one_line_refusal(lethe("hold", "place", "--item", "img-1", *flat))
    assert f"Invalid value for {option}: the value " in refusal and says in refusal
    assert item(store, "img-1").holds == {}


def test_the_real_time_is_recorded_beside_the_instant_given(
    store: Path, lethe: Run
) -> None:
    before = datetime.now(UTC)
    assert lethe(*HOLD, "--reason", "r", "--at", "2026-06-01T12:00:00Z").exit_code == 0
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    events = runtime.app.repository.event_store.get(item(store, "img-1").id)
    [placed] = [e for e in events if isinstance(e, Item.HoldPlaced)]
    assert placed.at == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    assert placed.timestamp >= before - timedelta(seconds=1)
