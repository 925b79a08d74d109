"""`lethe hold place` on an item whose order went out: recorded, and recalled;
`lethe item` and `lethe audit item` show the recall and the store's answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lethe.domain.item import Outcome
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.e2e.test_cli_support_staff import Run, _ingest
from tests.e2e.test_cli_support_staff import lethe as lethe  # noqa: F401
from tests.e2e.test_cli_support_staff import store as store  # noqa: F401
from tests.support import T0, ingest_record


def test_a_hold_after_the_order_is_recorded_and_recalls_it(
    store: Path, lethe: Run
) -> None:
    _ingest(store, ingest_record("img-late", "verification-image", "cust-l"))
    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    assert runtime.sweeper.sweep(T0 + timedelta(days=8)).ordered == 1
    runtime.app.close()
    placed = lethe(
        "hold", "place", "--item", "img-late", "--case", "POL-5",
        "--reason", "police evidence", "--by", "ola",
        "--at", (T0 + timedelta(days=8, hours=1)).isoformat(),
    )  # fmt: skip
    assert placed.exit_code == 0, placed.output
    assert "hold POL-5 placed on item img-late" in placed.output
    assert "order recalled" in placed.output and "img-late" in placed.output
    shown = lethe("item", "img-late").output
    assert "state     recall-sent" in shown
    assert "awaiting the store's answer" in shown

    runtime = build_runtime(Settings.from_env({"LETHE_SQLITE_PATH": str(store)}))
    order = runtime.app.get_item("img-late").order
    assert order is not None
    runtime.app.confirm_erasure(
        "img-late", order["order_id"], "media", Outcome.RECALLED, None,
        T0 + timedelta(days=8, hours=2),
    )  # fmt: skip
    runtime.app.close()
    shown = lethe("item", "img-late").output
    assert "state     scheduled" in shown
    assert f"recalled  order {order['order_id']}: the store answered RECALLED" in shown
    history = lethe("audit", "item", "img-late").output
    assert "ErasureRecalled" in history and "hold:POL-5 came after it" in history
    assert "RecallAnswered" in history and "media: RECALLED" in history


def test_a_back_dated_hold_keeps_when_it_was_really_recorded(
    store: Path, lethe: Run
) -> None:
    _ingest(store, ingest_record("img-old", "verification-image", "cust-o"))
    at = T0 + timedelta(days=1)
    placed = lethe(
        "hold", "place", "--item", "img-old", "--case", "POL-6", "--reason", "case",
        "--by", "ola", "--at", at.isoformat(),
    )  # fmt: skip
    assert placed.exit_code == 0, placed.output
    doc = json.loads(lethe("audit", "item", "img-old", "--json").output)
    (row,) = [r for r in doc["timeline"] if r["event"] == "HoldPlaced"]
    assert datetime.fromisoformat(row["at"]) == at
    recorded = datetime.fromisoformat(row["recorded"])
    assert abs(recorded - datetime.now(UTC)) < timedelta(minutes=5)
    # The table shows both: its instant and, beside it, when it was recorded.
    table = lethe("audit", "item", "img-old").output
    assert "RECORDED" in table and recorded.strftime("%Y-%m-%d") in table
    shown = lethe("item", "img-old").output
    assert f"; recorded {recorded.strftime('%Y-%m-%d')}" in shown
