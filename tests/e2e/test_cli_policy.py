"""`lethe policy what-if` then `apply`, as the DPO runs them, on SQLite and PostgreSQL.

Apply is killed with SIGKILL after its first chunk; the re-run finishes the
rest and moves no item twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from lethe.domain.item import ErasureCause, Item, Outcome
from lethe.ops.cli.main import main
from lethe.policies import load_shipped
from lethe.projections.audit_replay import replay
from tests.integration import test_audit
from tests.integration.test_audit import Store
from tests.support import ingest_record

# The audit tests' store, one per backend (SQLite, and a PostgreSQL database).
store = test_audit.store
pg_dbname = test_audit.pg_dbname

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CAPTURED = NOW - timedelta(days=3)
AT = NOW.isoformat()  # when apply runs
IMAGES, ARMING = 4000, 4000
SHIPPED = (
    Path(__file__).resolve().parents[2] / "lethe" / "policies" / "sector-alarm.toml"
)


def new_version(tmp_path: Path) -> Path:
    """Images kept 14 days (later), arming logs 1 day (earlier: due at once)."""
    text = SHIPPED.read_text(encoding="utf-8")
    current = load_shipped("sector-alarm").version
    text = text.replace(f'version = "{current}"', 'version = "2026-12-01.1"')
    text = text.replace('due = "captured + 7 days"', 'due = "captured + 14 days"')
    text = text.replace('due = "captured + 3 months"', 'due = "captured + 1 days"')
    path = tmp_path / "sector-alarm-2026-12-01.1.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fill(s: Store) -> None:
    records = [
        ingest_record(f"img-{n}", "verification-image", f"cust-{n % 500}", CAPTURED,
                      offset=n)
        for n in range(IMAGES)
    ] + [
        ingest_record(f"arm-{n}", "arming-log", f"cust-{n % 500}", CAPTURED,
                      offset=IMAGES + n)
        for n in range(ARMING)
    ]  # fmt: skip
    app = s.runtime.app
    app.ingest(records, CAPTURED)
    app.place_hold("arm-0", "POL-1", "police case", "ola", CAPTURED)
    order = app.order_erasure("img-0", ErasureCause.SUBJECT_ERASURE, CAPTURED)
    app.confirm_erasure("img-0", order, "images", Outcome.DELETED, None, CAPTURED)
    s.runtime.catch_up()


def rescheduled(s: Store) -> Counter[str]:
    refs = {}
    moves: Counter[str] = Counter()
    for e in replay(s.runtime.app):
        if isinstance(e, Item.Ingested):
            refs[e.originator_id] = e.item_ref
        elif isinstance(e, Item.Rescheduled):
            moves[refs[e.originator_id]] += 1
    return moves


def test_what_if_then_apply_killed_and_run_again(store: Store, tmp_path: Path) -> None:
    fill(store)
    path = new_version(tmp_path)
    events_before = len(store.all_event_bytes())
    code, out = store.cli("policy", "what-if", str(path), "--now", NOW.isoformat(),
                          "--json")  # fmt: skip
    assert code == 0, out
    plan = json.loads(out)["categories"]
    # img-0 is ordered (not live); arm-0 is held: it moves, but is not due at once.
    assert plan["verification-image"]["later"] == IMAGES - 1
    assert plan["arming-log"]["earlier"] == ARMING
    assert plan["arming-log"]["due_at_once"] == ARMING - 1
    assert plan["invoice"] == {"earlier": 0, "later": 0, "unchanged": 0,
                               "due_at_once": 0, "examples": {}}  # fmt: skip
    assert len(plan["arming-log"]["examples"]["earlier"]) == 3
    assert len(store.all_event_bytes()) == events_before  # nothing was recorded

    killed = _apply_and_kill(store, path)
    assert 0 < sum(killed.values()) < IMAGES + ARMING - 1  # cut short, midway
    code, out = store.cli("policy", "apply", str(path), "--by", "dpo", "--now", AT)
    assert code == 0, out
    assert "in force already: finishing what a run before left" in out
    moves = rescheduled(store)
    assert set(moves.values()) == {1}  # none moved twice
    assert len(moves) == IMAGES + ARMING - 1 and "img-0" not in moves

    views = store.runtime.views
    due = dict(views.query("SELECT item_ref, due_at FROM lethe_schedule"))
    day = 86_400_000
    assert due["arm-5"] == int(CAPTURED.timestamp() * 1000) + day
    assert due["img-5"] == int(CAPTURED.timestamp() * 1000) + 14 * day
    code, out = store.cli("policy", "what-if", str(path))
    assert (code, out.count("\n")) == (2, 1) and "is not newer than" in out
    code, out = store.cli("audit", "item", "arm-5")
    assert "Rescheduled" in out and "sector-alarm@2026-12-01.1" in out


def test_after_apply_the_sweep_orders_what_became_due_and_audit_verify_passes(
    store: Store, tmp_path: Path
) -> None:
    fill(store)
    path = new_version(tmp_path)
    assert store.cli("policy", "apply", str(path), "--by", "dpo", "--now", AT)[0] == 0
    swept = store.cli("sweep", "--now", (NOW + timedelta(seconds=30)).isoformat())
    assert f"ordered   {ARMING - 1}" in swept[1]  # every arming log but the held one
    code, out = store.cli(
        "audit", "verify", "--now", (NOW + timedelta(minutes=2)).isoformat()
    )
    assert code == 0 and "all invariants hold" in out, out
    code, out = store.cli(
        "audit", "report", "--month", "2026-12", "--now",
        (NOW + timedelta(hours=1)).isoformat(),
    )  # fmt: skip
    changes = json.loads(out)["policy_changes_applied"]
    assert changes == {"sector-alarm@2026-12-01.1": IMAGES + ARMING - 1}


def _apply_and_kill(s: Store, path: Path) -> Counter[str]:
    env = {**os.environ, **s.env}
    process = subprocess.Popen(
        [sys.executable, "-m", "lethe.ops.cli.main", "policy", "apply", str(path),
         "--by", "dpo", "--now", AT],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if "items looked at" in line:  # its first chunk is saved
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL
    return rescheduled(s)


def test_apply_refuses_a_malformed_file_and_records_nothing(
    store: Store, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('policy = "sector-alarm"\nversion = "2027-01-01.1"\n')
    code, out = store.cli("policy", "apply", str(bad), "--by", "dpo")
    assert code == 2 and out.count("\n") == 1
    assert out.startswith("lethe: bad.toml: ")


def test_apply_refuses_a_version_that_drops_a_category_in_use(
    store: Store, tmp_path: Path
) -> None:
    fill(store)
    text = new_version(tmp_path).read_text(encoding="utf-8")
    start = text.index("[rules.arming-log]")
    dropped = tmp_path / "dropped.toml"
    dropped.write_text(text[:start] + text[text.index("[rules.", start + 1) :])
    events_before = len(store.all_event_bytes())
    code, out = store.cli("policy", "apply", str(dropped), "--by", "dpo")
    assert (code, out) == (
        2,
        "lethe: sector-alarm@2026-12-01.1 has no rule for arming-log, which live"
        " items have; a new version must keep every category in use\n",
    )
    assert len(store.all_event_bytes()) == events_before  # not even adopted


def _show(s: Store, *args: str) -> tuple[int, str, str]:
    result = CliRunner(env=s.env).invoke(main, ["policy", "show", *args])
    return result.exit_code, result.stdout, result.stderr


def test_policy_show_gives_the_version_the_store_adopted(
    store: Store, tmp_path: Path
) -> None:
    shipped = load_shipped("sector-alarm").version
    code, out, err = _show(store, "sector-alarm")
    assert code == 0 and out.startswith(f"policy sector-alarm@{shipped}  zone")
    assert "shipped file holds" not in out and err.startswith("in force in the store")

    path = new_version(tmp_path)
    code, out = store.cli("policy", "apply", str(path), "--by", "dpo", "--now", AT)
    assert code == 0, out
    code, out, _ = _show(store, "sector-alarm")
    head = out.splitlines()[0]
    assert code == 0 and head.startswith("policy sector-alarm@2026-12-01.1  zone")
    assert head.endswith(f"(in force; the shipped file holds {shipped})")
    # The rules shown are the adopted version's: images kept 14 days, not 7.
    row = next(line for line in out.splitlines() if line.startswith("verification-"))
    assert "captured + 14 days" in row

    # `retention due` answers with the version in force, as the sweep would.
    code, out = store.cli(
        "retention", "due", "--policy", "sector-alarm", "--category",
        "verification-image", "--captured-at", "2026-12-01T12:00:00+00:00",
    )  # fmt: skip
    assert code == 0, out
    assert "policy  sector-alarm@2026-12-01.1" in out
    assert "2026-12-15" in out.splitlines()[0]  # 14 days, not the shipped 7

    code, out, _ = _show(store, "--json")
    listed = {p["policy"]: p for p in json.loads(out)["policies"]}
    sector = listed["sector-alarm"]
    assert (sector["version"], sector["shipped_version"]) == ("2026-12-01.1", shipped)
    assert listed["hedengren"]["version"] == listed["hedengren"]["shipped_version"]
    code, out, _ = _show(store)
    row = next(line for line in out.splitlines() if line.startswith("sector-alarm"))
    assert row.split()[1] == "2026-12-01.1" and row.split()[-1] == shipped


def test_policy_show_without_a_store_says_it_gives_the_shipped_version(
    tmp_path: Path,
) -> None:
    env = {"LETHE_STORE": "sqlite", "LETHE_SQLITE_PATH": str(tmp_path / "none.db")}
    result = CliRunner(env=env).invoke(main, ["policy", "show", "sector-alarm"])
    version = load_shipped("sector-alarm").version
    assert result.exit_code == 0
    assert result.stdout.startswith(f"policy sector-alarm@{version}  zone")
    assert (
        result.stderr.startswith("no store at sqlite ") and "shipped" in result.stderr
    )
    assert not (tmp_path / "none.db").exists()  # showing made no store
