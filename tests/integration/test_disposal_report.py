"""The disposal report of a month with every kind of event, figure by figure.

Each expected figure is worked out here from the instants the test itself
wrote, never by calling the report's code; then the HTML is rendered in
headless Chromium and its screenshot kept in the test artefacts.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lethe.domain.item import Outcome
from lethe.projections.audit_report import ReportClock, build_report
from lethe.projections.audit_verify import DEFAULT_SLACK
from tests.integration import test_audit
from tests.integration.test_audit import CONTROLLER, T0, Store, record

# The audit tests' store, one per backend (SQLite, and a PostgreSQL database).
store = test_audit.store
pg_dbname = test_audit.pg_dbname

pytestmark = pytest.mark.integration

DAY, MIN = timedelta(days=1), timedelta(minutes=1)
SWEPT_AFTER = timedelta(seconds=30)
ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts"
BOB, CAROL, DAVE, ERIN = "cust-B-1", "cust-C-2", "cust-D-3", "cust-E-4"
FRED = "cust-F-5"  # no request: his images go by retention
CAPTURED = T0 - timedelta(hours=1)
IMAGE_DUE = CAPTURED + 7 * DAY  # sector-alarm: captured + 7 days


def confirm(
    s: Store, ref: str, store_name: str, outcome: Outcome, at: datetime
) -> None:
    order = s.runtime.app.get_item(ref).order
    assert order is not None
    s.runtime.app.confirm_erasure(ref, order["order_id"], store_name, outcome, None, at)


def sweep(s: Store, at: datetime, expected: set[str]) -> None:
    assert set(s.runtime.sweeper.due_items(at)) == expected
    assert s.runtime.sweeper.sweep(at).ordered == len(expected)
    s.runtime.catch_up()


def image(ref: str, subject: str, captured: datetime, offset: int) -> Any:
    return record(ref, subject, "verification-image", captured, f"s3://v/{ref}", offset)


def build_month(s: Store) -> dict[str, Any]:
    """January 2026 in Oslo; returns what the test expects, worked out by hand."""
    app, rt = s.runtime.app, s.runtime
    late_capture = T0 - 10 * DAY  # arrives three days past its due time
    gap_capture = T0 + DAY
    app.ingest(
        [
            image("img-a", FRED, CAPTURED, 1),
            image("img-b", FRED, CAPTURED, 2),
            image("img-r", FRED, CAPTURED, 3),
            image("img-late", FRED, late_capture, 4),
            image("img-h", BOB, CAPTURED, 5),
            record("arm-b", BOB, "arming-log", CAPTURED, offset=6),
            record("rec-b", BOB, "alarm-call-recording", CAPTURED, "s3://v/r", 7),
            record("arm-c", CAROL, "arming-log", CAPTURED, offset=8),
            record("arm-d", DAVE, "arming-log", CAPTURED, offset=9),
            record("arm-e", ERIN, "arming-log", CAPTURED, offset=10),
        ],
        at=T0,
    )
    app.ingest([image("img-gap", FRED, gap_capture, 11)], at=gap_capture)
    rt.catch_up()
    sweep(s, T0 + SWEPT_AFTER, {"img-late"})
    confirm(s, "img-late", "images", Outcome.DELETED, T0 + SWEPT_AFTER + MIN)
    app.place_hold("img-b", "POL-1", "police case", "ola", T0 + DAY)
    app.place_hold("img-h", "POL-2", "police case", "kari", T0 + DAY)
    app.restrict("img-r", "T-9", "accuracy contested", "kari", T0 + DAY)
    app.place_subject_hold(
        CONTROLLER, ERIN, "POL-S", "police case", "ola", T0 + 5 * DAY
    )
    bob = app.request_subject_erasure(
        CONTROLLER, BOB, "TCK-1", "asked", "kari", "TCK-1", T0 + 2 * DAY
    )
    carol = app.request_subject_erasure(
        CONTROLLER, CAROL, "TCK-2", "asked", "kari", "TCK-2", T0 + 3 * DAY
    )
    dave = app.request_subject_erasure(
        CONTROLLER, DAVE, "TCK-3", "asked", "kari", None, T0 + 4 * DAY
    )
    rt.catch_up()
    confirm(s, "arm-b", "events", Outcome.DELETED, T0 + 2 * DAY + 20 * MIN)
    confirm(s, "arm-c", "events", Outcome.DELETED, T0 + 3 * DAY + 2 * 60 * MIN)
    rt.catch_up()
    sweep(s, IMAGE_DUE + SWEPT_AFTER, {"img-a"})
    confirm(s, "img-a", "images", Outcome.DELETED, IMAGE_DUE + SWEPT_AFTER + 5 * MIN)
    app.lift_restriction("img-r", "T-9", "kari", T0 + 15 * DAY)
    rt.catch_up()
    lifted_sweep = T0 + 15 * DAY + SWEPT_AFTER
    sweep(s, lifted_sweep, {"img-r", "img-gap"})
    confirm(s, "img-r", "images", Outcome.DELETED, lifted_sweep + 2 * MIN)
    confirm(s, "img-gap", "images", Outcome.DELETED, lifted_sweep + 3 * MIN)
    app.release_hold("img-b", "POL-1", "ola", T0 + 20 * DAY)
    rt.catch_up()
    released_sweep = T0 + 20 * DAY + SWEPT_AFTER
    sweep(s, released_sweep, {"img-b"})
    confirm(s, "img-b", "backup", Outcome.NOT_FOUND, released_sweep + 10 * MIN)
    # Dave's only item is confirmed on 1 March, past his deadline (end of 16 Feb).
    confirm(s, "arm-d", "events", Outcome.DELETED, datetime.fromisoformat(
        "2026-03-01T12:00:00+00:00"))  # fmt: skip
    rt.catch_up()
    return {
        "bob": bob,
        "carol": carol,
        "dave": dave,
        "gap_due": gap_capture + 7 * DAY,
        "late_due": late_capture + 7 * DAY,
        "lifted_sweep": lifted_sweep,
        "released_sweep": released_sweep,
    }


NOW = datetime.fromisoformat("2026-03-02T12:00:00+00:00")


def report_of(s: Store, relayed_up_to: int) -> dict[str, Any]:
    settings = s.runtime.settings
    clock = ReportClock(
        NOW,
        timedelta(seconds=settings.sweep_interval_s),
        timedelta(seconds=settings.confirm_timeout_s),
    )
    doc = build_report(s.runtime.app, "2026-01", "Europe/Oslo", clock, relayed_up_to)
    return json.loads(json.dumps(doc.document(), default=str))


def seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 1)


def test_each_figure_of_a_month_with_every_kind_of_event(store: Store) -> None:
    x = build_month(store)
    doc = report_of(store, relayed_up_to=10**9)
    late_after = timedelta(seconds=60) + DEFAULT_SLACK
    assert doc["late_after_s"] == late_after.total_seconds()

    # Erased in January: img-late, img-a, img-r, img-gap, img-b by retention;
    # arm-b and arm-c by request. arm-d was confirmed in March.
    assert doc["erased_total"] == 7
    images = {r["category"]: r for r in doc["erased_by_category"]}
    assert images["verification-image"] == {
        "category": "verification-image", "deleted": 4, "not_found": 1
    }  # fmt: skip
    assert images["arming-log"]["deleted"] == 2 and images["invoice"]["deleted"] == 0

    delays = {r["category"]: r for r in doc["delays_by_category"]}
    image_delays = delays["verification-image"]
    due_to_order = sorted(
        [
            seconds(T0 + SWEPT_AFTER - x["late_due"]),  # arrived late
            seconds(SWEPT_AFTER),  # img-a, on time
            seconds(x["lifted_sweep"] - IMAGE_DUE),  # img-r, restricted
            seconds(x["lifted_sweep"] - x["gap_due"]),  # img-gap, no sweep ran
            seconds(x["released_sweep"] - IMAGE_DUE),  # img-b, held
        ]
    )
    assert image_delays["due_to_order"] == {
        "items": 5,
        "p50_s": due_to_order[math.ceil(0.5 * 5) - 1],
        "p95_s": due_to_order[math.ceil(0.95 * 5) - 1],
        "max_s": due_to_order[-1],
    }
    assert image_delays["orders_by_reason"] == {
        "arrived_late": 1, "held": 1, "no_sweep": 1, "on_time": 1, "restricted": 1
    }  # fmt: skip
    confirmed = sorted([60.0, 300.0, 120.0, 180.0, 600.0])
    assert image_delays["order_to_confirmation"]["items"] == 5
    assert image_delays["order_to_confirmation"]["p50_s"] == confirmed[2]
    assert image_delays["order_to_confirmation"]["max_s"] == 600.0
    # Subject erasures are not due by a rule: no due→order figure, only the stores'.
    assert delays["arming-log"]["due_to_order"]["items"] == 0
    assert delays["arming-log"]["order_to_confirmation"]["max_s"] == 7200.0
    assert doc["clocks_disagree"] == 0
    # Due → confirmed, the longest: img-b, held 13 days past its due time.
    longest = x["released_sweep"] + 10 * MIN - IMAGE_DUE
    assert doc["due_to_confirmed_erasure"]["max_s"] == seconds(longest)
    assert doc["due_to_confirmed_erasure"]["items"] == 5

    # Orders made in January: 5 by the sweeps, arm-b, arm-c and arm-d by requests;
    # and arm-d, unconfirmed past the timeout, re-sent by the three later sweeps.
    assert doc["tombstones_sent"] == 8 + 3
    assert report_of(store, relayed_up_to=0)["tombstones_sent"] == 0

    in_force = {(h["case"], h["on"], h["by"]) for h in doc["in_force_at_month_end"]}
    assert in_force == {("POL-2", "item", "kari"), ("POL-S", "subject", "ola")}
    released = doc["released_in_month"]
    assert [(h["case"], h["item"], h["released_by"]) for h in released] == [
        ("POL-1", "img-b", "ola")
    ]

    requests = {r["request_id"]: r for r in doc["requests"]["each"]}
    bob, carol, dave = (requests[x[k]] for k in ("bob", "carol", "dave"))
    # Bob: arm-b erased, the recording kept by law for 12 months, img-h held
    # (POL-2, still in force). Answered once arm-b was confirmed: the rest is
    # kept with a reason (by law, under the hold), which the subject is told.
    assert (bob["outcome"], bob["items_erased"], bob["items_kept_by_law"]) == (
        "erased_some_kept", 1, 1
    )  # fmt: skip
    assert bob["items_held"] == 1 and bob["answered"] == str(T0 + 2 * DAY + 20 * MIN)
    assert bob["on_time"] is True and bob["days_late"] is None
    assert doc["requests"]["overdue"] == 0
    assert bob["kept_until"].startswith("2027-01-10")
    # Tickets are free text sealed under the subject's key: the report, kept for
    # years, opens none of them (docs/architecture.md, "Personal data").
    assert bob["ticket"] == "(sealed)" and bob["controller"] == CONTROLLER
    assert bob["answer_due"] == "2026-02-12 23:00:00+00:00"  # end of 12 Feb, Oslo
    assert (carol["outcome"], carol["answered"]) == (
        "erased", str(T0 + 3 * DAY + 2 * 60 * MIN)
    )  # fmt: skip
    assert carol["on_time"] is True and carol["days_late"] is None
    # Dave: 14 February is a Saturday, so due at the end of Monday 16 February
    # (Oslo); done on 1 March 12:00 UTC.
    deadline = datetime.fromisoformat("2026-02-16T23:00:00+00:00")
    answered = datetime.fromisoformat("2026-03-01T12:00:00+00:00")
    assert dave["ticket"] is None and dave["on_time"] is False
    assert dave["days_late"] == math.ceil((answered - deadline) / DAY)
    assert doc["requests"]["answered_late"] == 1
    assert doc["requests"]["answered_on_time"] == 2 and doc["requests"]["open"] == 0
    # Nothing was set aside on the dead-letter topic in this history
    # (test_dead_letter_report.py checks the figure against a real topic).
    assert doc["dead_letters"] == {
        "total": 0, "by_reason": {}, "by_topic": {}, "by_reason_and_topic": []
    }  # fmt: skip

    controllers = {c["controller"]: c for c in doc["controllers"]}
    assert controllers[CONTROLLER]["name"] == "Sector Alarm AS"
    assert (
        controllers[CONTROLLER]["deleted"],
        controllers[CONTROLLER]["not_found"],
    ) == (6, 1)
    assert controllers[CONTROLLER]["requests"] == 3


def test_the_html_report_renders_in_chromium(store: Store, tmp_path: Path) -> None:
    build_month(store)
    out = tmp_path / "disposal-2026-01.html"
    code, _ = store.cli(
        "audit", "report", "--month", "2026-01", "--format", "html",
        "--now", NOW.isoformat(), "-o", str(out),
    )  # fmt: skip
    assert code == 0
    html = out.read_text()
    for readable in ("under legal hold when due", "arrived after it was due",
                     "Sector Alarm AS", "end of 2026-02-12", "POL-S"):  # fmt: skip
        assert readable in html, readable
    assert "RETENTION_EXPIRED" not in html and "waiting_on_holds" not in html
    norsk = tmp_path / "rapport.html"
    code, _ = store.cli(
        "audit", "report", "--month", "2026-01", "--format", "html", "--lang", "no",
        "--now", NOW.isoformat(), "-o", str(norsk),
    )  # fmt: skip
    assert code == 0 and "under rettslig hold ved forfall" in norsk.read_text()
    assert store.cli("audit", "report", "--check", str(norsk))[0] == 0
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / f"disposal-report-{store.env['LETHE_STORE']}.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         f"--screenshot={shot}", "--window-size=1280,2600", out.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.stat().st_size > 10_000  # a page was drawn, not an empty frame
