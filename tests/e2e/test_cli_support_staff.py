"""Support staff's commands as a person runs them.

erase, hold, restrict, lift, status, item.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record

Run = Callable[..., Result]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lethe.db"
    monkeypatch.setenv("LETHE_SQLITE_PATH", str(path))
    # Staff work on the store `lethe run` made; commands refuse to make one.
    build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(path)})).app.close()
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


def test_subject_erasure_erases_now_and_keeps_invoices(store: Path, lethe: Run) -> None:
    _ingest(
        store,
        ingest_record("img-1", "verification-image", "cust-1"),
        ingest_record("inv-1", "invoice", "cust-1"),
        ingest_record("img-2", "verification-image", "cust-2"),
    )
    result = lethe(
        "erase",
        "subject",
        "cust-1",
        "--reason",
        "asked by phone",
        "--by",
        "kari",
        "--ticket",
        "T-1",
        "--at",
        "2026-03-26T09:00:00Z",
    )
    assert result.exit_code == 0, result.output
    # One month from 26 March ends with 26 April, a Sunday: the next working day.
    assert "answer by end of 2026-04-27 (Europe/Oslo)" in result.output
    assert "subject key destroyed" in result.output
    assert "  erasure ordered now          1  img-1\n" in result.output
    assert "  kept by law                  1  inv-1 (clock not started)\n" in (
        result.output
    )
    assert "cust-1" not in result.output
    image = json.loads(lethe("audit", "item", "img-1", "--json").output)
    assert "SUBJECT_ERASURE" in json.dumps(image)
    invoice = lethe("item", "inv-1").output
    assert "kept      by a legal obligation" in invoice
    assert "state     waiting" in invoice  # clock not started: relationship still open
    other = lethe("item", "img-2").output
    assert "state     scheduled" in other


def test_hold_on_a_subject_stops_the_sweep_until_released(
    store: Path, lethe: Run
) -> None:
    _ingest(store, ingest_record("img-h", "verification-image", "cust-h"))
    placed = lethe(
        "hold",
        "place",
        "--subject",
        "cust-h",
        "--case",
        "POL-7",
        "--reason",
        "police investigation",
        "--by",
        "ola",
        "--at",
        "2026-03-26T00:00:00Z",
    )
    assert placed.exit_code == 0, placed.output
    assert (
        "hold      subject:POL-7: police investigation" in lethe("item", "img-h").output
    )
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    assert runtime.sweeper.sweep(T0 + timedelta(days=10)).ordered == 0
    released = lethe(
        "hold",
        "release",
        "--subject",
        "cust-h",
        "--case",
        "POL-7",
        "--by",
        "ola",
        "--at",
        "2026-04-10T00:00:00Z",
    )
    assert released.exit_code == 0, released.output
    shown = lethe("item", "img-h").output
    # Overdue when released: due at the release, not at the original 7 days.
    assert "due       2026-04-10T00:00:00Z" in shown
    assert runtime.sweeper.sweep(T0 + timedelta(days=16)).ordered == 1


def test_restriction_blocks_erasure_and_lift_restores_it(
    store: Path, lethe: Run
) -> None:
    _ingest(store, ingest_record("evt-r", "arming-log", "cust-r"))
    assert (
        lethe(
            "restrict",
            "--item",
            "evt-r",
            "--ticket",
            "T-9",
            "--reason",
            "accuracy contested",
            "--by",
            "kari",
        ).exit_code
        == 0
    )
    assert "restricted T-9: accuracy contested" in lethe("item", "evt-r").output
    again = lethe("lift", "--item", "evt-r", "--ticket", "T-8", "--by", "kari")
    assert again.exit_code == 2
    assert (
        again.output.strip() == "lethe: item evt-r has no restriction with ticket 'T-8'"
    )
    assert (
        lethe("lift", "--item", "evt-r", "--ticket", "T-9", "--by", "kari").exit_code
        == 0
    )
    assert "restricted" not in lethe("item", "evt-r").output


def test_police_extension_keeps_an_image_thirty_days(store: Path, lethe: Run) -> None:
    _ingest(store, ingest_record("img-p", "verification-image", "cust-p"))
    result = lethe(
        "hold", "police-extend", "--item", "img-p", "--case", "POL-9", "--by", "ola"
    )
    assert result.exit_code == 0, result.output
    # Captured 12:00 CET (11:00Z); 30 calendar days later it is 12:00 CEST = 10:00Z.
    assert (
        "now due 2026-04-24T10:00:00Z (verification-image: captured + 30 days)"
        in result.output
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            (
                "hold",
                "place",
                "--item",
                "nope",
                "--case",
                "C",
                "--reason",
                "r",
                "--by",
                "b",
            ),
            3,
            "lethe: no item 'nope' is known to Lethe for controller"
            " 'sector-alarm'; check the id and controller",
        ),
        (
            (
                "hold",
                "place",
                "--item",
                "a",
                "--subject",
                "b",
                "--case",
                "C",
                "--reason",
                "r",
                "--by",
                "b",
            ),
            2,
            "lethe: name exactly one of --item ITEM_ID or --subject SUBJECT_ID",
        ),
        (
            ("erase", "subject", "cust-x", "--reason", " ", "--by", "kari"),
            2,
            "lethe: missing reason: every such change must say it",
        ),
        (
            (
                "erase",
                "subject",
                "cust-x",
                "--controller",
                "acme",
                "--reason",
                "r",
                "--by",
                "k",
            ),
            2,
            (
                "lethe: unknown controller 'acme'; Lethe has policies for "
                "hedengren, sector-alarm, sensornordic"
            ),
        ),
        (
            ("hold", "release", "--subject", "never-seen", "--case", "C", "--by", "b"),
            3,
            "lethe: no subject with that id is known to Lethe for controller"
            " 'sector-alarm' (no items, no records); check the id and controller",
        ),
    ],
)
def test_a_wrong_command_is_refused_in_one_line(
    lethe: Run, args: tuple[str, ...], code: int, message: str
) -> None:
    # 3: nothing by that id for that controller; 2: a command that cannot be done.
    result = lethe(*args)
    assert result.exit_code == code
    assert result.output.strip() == message


def test_status_lists_overdue_items_and_open_requests(store: Path, lethe: Run) -> None:
    _ingest(store, ingest_record("img-s", "verification-image", "cust-s"))
    lethe(
        "hold",
        "place",
        "--item",
        "img-s",
        "--case",
        "C-1",
        "--reason",
        "dispute",
        "--by",
        "b",
        "--at",
        "2026-04-01T00:00:00Z",  # a release may not be dated before its hold
    )
    held = lethe("status", "--now", "2026-04-10T00:00:00Z", "--json")
    quiet = json.loads(held.output)
    assert quiet["overdue"] == [] and quiet["counts"]["overdue"] == 0  # held
    lethe(
        "hold",
        "release",
        "--item",
        "img-s",
        "--case",
        "C-1",
        "--by",
        "b",
        "--at",
        "2026-04-10T00:00:00Z",
    )
    late = lethe("status", "--now", "2026-04-11T00:00:00Z", "--json")
    report = json.loads(late.output)
    assert [a["item_ref"] for a in report["overdue"]] == ["img-s"]
    assert report["states"] == {"scheduled": 1}
