"""`lethe erasures since` and `lethe erasures replay` on bad input and on
nothing to do: a true message and its exit code, never "carried out"; and a
replay kept back by a hold on the subject records nothing (holds win)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lethe.domain import identity
from lethe.domain.item import ErasureCause, Outcome
from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record

Run = Callable[..., Result]
ORDERED = T0 + timedelta(hours=1)
CONFIRMED = T0 + timedelta(hours=2)
BEFORE = (T0 - timedelta(days=1)).isoformat()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lethe.db"
    monkeypatch.setenv("LETHE_SQLITE_PATH", str(path))
    return path


@pytest.fixture
def lethe(store: Path) -> Run:
    runner = CliRunner()

    def run(*args: str) -> Result:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert "carried out" not in result.output
        return result

    return run


@pytest.fixture
def erased(store: Path) -> str:
    """img-1 of cust-1, erased: the store `media` answered DELETED."""
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    app = runtime.app
    app.ingest([ingest_record("img-1", "verification-image", "cust-1")], T0)
    order_id = app.order_erasure("img-1", ErasureCause.SUBJECT_ERASURE, ORDERED)
    app.confirm_erasure("img-1", order_id, "media", Outcome.DELETED, None, CONFIRMED)
    runtime.catch_up()
    return order_id


def _history(store: Path) -> list[str]:
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    events = runtime.app.events.get(identity.item_id("img-1"))
    return [type(e).__name__ for e in events]


def test_since_lists_the_erasure_without_personal_data(lethe: Run, erased: str) -> None:
    result = lethe("erasures", "since", BEFORE)
    assert result.exit_code == 0, result.output
    header, rule, row, total = result.output.splitlines()
    assert header.split() == [
        "ITEM", "CATEGORY", "STORE", "ORDER", "CONFIRMED", "OUTCOME", "REPLAYS"
    ]  # fmt: skip
    assert row.split() == [
        "img-1", "verification-image", "media", erased, "2026-03-25T13:00:00Z",
        "DELETED", "-",
    ]  # fmt: skip
    assert "cust-1" not in result.output
    assert total == "1 erasures confirmed after 2026-03-24T11:00:00Z"


def test_a_since_in_the_future_is_refused(lethe: Run, erased: str) -> None:
    for args in (
        ("erasures", "since", "2999-01-01T00:00:00Z"),
        ("erasures", "replay", "--since", "2999-01-01T00:00:00Z", "--store", "media"),
    ):
        result = lethe(*args)
        assert (result.exit_code, result.output) == (
            2,
            "lethe: 2999-01-01T00:00:00Z is later than the clock:"
            " no erasure is confirmed in the future\n",
        )


def test_an_unknown_store_is_not_known(lethe: Run, erased: str) -> None:
    for args in (
        ("erasures", "since", BEFORE, "--store", "medai"),
        ("erasures", "replay", "--since", BEFORE, "--store", "medai"),
    ):
        result = lethe(*args)
        assert (result.exit_code, result.output) == (
            3,
            "lethe: no store 'medai' ever confirmed an erasure (stores that did:"
            " media); check the store name\n",
        )


def test_nothing_to_replay_says_so_and_exits_1(
    lethe: Run, erased: str, store: Path
) -> None:
    after = (CONFIRMED + timedelta(minutes=1)).isoformat()
    listed = lethe("erasures", "since", after, "--store", "media")
    assert (listed.exit_code, listed.output) == (
        0,
        "no erasure confirmed by store media after 2026-03-25T13:01:00Z\n",
    )
    result = lethe("erasures", "replay", "--since", after, "--store", "media")
    assert (result.exit_code, result.output) == (
        1,
        "replay    store media: erasures confirmed after 2026-03-25T13:01:00Z\n"
        "nothing   no erasure confirmed by store media after"
        " 2026-03-25T13:01:00Z; nothing replayed\n",
    )
    assert "ErasureReplayed" not in _history(store)


def test_a_replay_without_a_broker_is_recorded_and_says_not_sent_yet(
    lethe: Run, erased: str, store: Path
) -> None:
    result = lethe("erasures", "replay", "--since", BEFORE, "--store", "media")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1:3] == ["found     1 erasures", "replayed  1  img-1"]
    assert (
        "status    recorded, not sent yet (LETHE_KAFKA_BOOTSTRAP is not set:"
        " `lethe run` relays them)"
    ) in lines
    assert lines[-1].startswith("store: ")  # said once the change is made
    assert _history(store)[-1] == "ErasureReplayed"
    listed = lethe("erasures", "since", BEFORE)
    assert "#1 " in listed.output and "awaiting answer" in listed.output
    audit = lethe("audit", "item", "img-1")
    assert f"order {erased} replayed (#1) to media" in audit.output


def test_a_held_subjects_erasure_is_not_replayed(
    lethe: Run, erased: str, store: Path
) -> None:
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    runtime.app.place_subject_hold(
        "sector-alarm", "cust-1", "POL-7", "police", "ola", CONFIRMED
    )
    result = lethe("erasures", "replay", "--since", BEFORE, "--store", "media")
    assert result.exit_code == 1, result.output
    assert "held      1  img-1 (hold:POL-7)  (holds win: not replayed)" in (
        result.output
    )
    assert result.output.splitlines()[-1] == (
        "status    nothing replayed: every item is held or restricted"
    )
    assert "ErasureReplayed" not in _history(store)
