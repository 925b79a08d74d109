"""When a subject's erasure request is answered, and `REQUEST_ANSWERED_LATE`.

Answered (art. 12(3)): every item the request covers is confirmed erased, kept
by law, or kept under a hold or restriction; the orders alone answer nothing.
The deadlines below are worked out by hand (Oslo, Regulation 1182/71); the
history is written with the dates the test gives, then judged by `audit
verify` and shown in the disposal report.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lethe.domain import identity
from lethe.domain.item import Outcome
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.runtime.verify_parallel import verify_store
from lethe.ops.settings import Settings
from lethe.projections.audit_replay import Part, owns
from lethe.projections.audit_verify import REQUEST_ANSWERED_LATE, REQUEST_UNANSWERED
from lethe.projections.health import read_health
from lethe.projections.status import read_status
from tests.integration import test_audit
from tests.integration.test_audit import CONTROLLER, T0, Store, record
from tests.integration.test_disposal_report import confirm

store = test_audit.store
pg_dbname = test_audit.pg_dbname

pytestmark = pytest.mark.integration

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
LATE, EXTENDED, FAST, HELD, OPEN = (
    "cust-LATE-1", "cust-EXT-2", "cust-FAST-3", "cust-HELD-4", "cust-OPEN-5"
)  # fmt: skip
# Received 10 January 2026 11:00 Oslo: one month ends with Tuesday 10 February
# (23:00 UTC); the extension, three months in all, with Friday 10 April (22:00
# UTC, summer time; Easter Monday is 6 April).
DUE = datetime.fromisoformat("2026-02-10T23:00:00+00:00")
EXTENDED_DUE = datetime.fromisoformat("2026-04-10T22:00:00+00:00")
NOW = datetime.fromisoformat("2026-05-01T12:00:00+00:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def history(s: Store) -> dict[str, str]:
    app, rt = s.runtime.app, s.runtime
    subjects = (LATE, EXTENDED, FAST, HELD, OPEN)
    app.ingest(
        [
            record(f"arm-{n}", subject, "arming-log", T0 - 3 * HOUR, offset=n)
            for n, subject in enumerate(subjects)
        ]
        + [record("arm-held", HELD, "arming-log", T0 - 3 * HOUR, offset=9)],
        at=T0 - 2 * HOUR,
    )
    rt.catch_up()
    app.place_hold("arm-held", "POL-7", "police case", "ola", T0 - HOUR)
    requests = {
        subject: app.request_subject_erasure(
            CONTROLLER, subject, f"cmd-{n}", "asked", "kari", None, T0
        )
        for n, subject in enumerate(subjects)
    }
    rt.catch_up()
    for subject in (LATE, EXTENDED):
        told = T0 + 20 * DAY
        assert app.extend_erasure_request(
            CONTROLLER, subject, requests[subject], "many stores", "kari",
            told.date(), told,
        )  # fmt: skip
    rt.catch_up()
    confirm(s, "arm-0", "events", Outcome.DELETED, at("2026-04-12T12:00:00"))
    confirm(s, "arm-1", "events", Outcome.DELETED, at("2026-03-01T12:00:00"))
    confirm(s, "arm-2", "events", Outcome.DELETED, T0 + HOUR)
    confirm(s, "arm-3", "events", Outcome.NOT_FOUND, T0 + 2 * HOUR)
    # arm-4 (OPEN) is never confirmed. HELD's held item goes once its hold is
    # released, after the deadline: the request was answered before, with it
    # kept under the hold.
    app.release_hold("arm-held", "POL-7", "ola", at("2026-03-20T09:00:00"))
    rt.catch_up()
    confirm(s, "arm-held", "events", Outcome.DELETED, at("2026-03-20T10:00:00"))
    rt.catch_up()
    return requests


def test_verify_names_the_request_answered_after_its_extended_deadline(
    store: Store,
) -> None:
    requests = history(store)
    late = store.runtime.app.find_subject_by_ref(
        store.runtime.app.subject_ref(CONTROLLER, LATE)
    )
    assert late is not None
    stored = late.requests[requests[LATE]]
    assert (stored["answer_due_at"], stored["extended_due_at"]) == (DUE, EXTENDED_DUE)

    result = store.verify(NOW)
    named = {
        (v.name, v.item): v
        for v in result.violations
        if v.name in (REQUEST_ANSWERED_LATE, REQUEST_UNANSWERED)
    }
    assert set(named) == {
        (REQUEST_ANSWERED_LATE, requests[LATE]),
        (REQUEST_UNANSWERED, requests[OPEN]),
    }
    late_one = named[(REQUEST_ANSWERED_LATE, requests[LATE])]
    assert late_one.instant == EXTENDED_DUE
    assert late_one.instants["answered"] == at("2026-04-12T12:00:00")
    assert result.counts[REQUEST_ANSWERED_LATE] == 1

    code, out = store.cli("audit", "verify", "--now", NOW.isoformat())
    assert code == 1 and REQUEST_ANSWERED_LATE in out and requests[LATE] in out


def test_the_report_shows_when_each_request_was_answered(store: Store) -> None:
    requests = history(store)
    code, out = store.cli(
        "audit", "report", "--month", "2026-01", "--now", NOW.isoformat()
    )
    assert code == 0, out
    each = {r["request_id"]: r for r in json.loads(out)["requests"]["each"]}
    late, extended, fast, held, still_open = (
        each[requests[s]] for s in (LATE, EXTENDED, FAST, HELD, OPEN)
    )
    assert (instant(late["answered"]), late["on_time"], late["outcome"]) == (
        at("2026-04-12T12:00:00"), False, "erased"
    )  # fmt: skip
    assert late["days_late"] == 2  # 10 April 22:00 UTC to 12 April 12:00: 2 begun
    assert instant(late["extended_to"]) == EXTENDED_DUE
    assert (extended["on_time"], extended["days_late"]) == (True, None)
    assert instant(fast["answered"]) == T0 + HOUR and fast["on_time"] is True
    # Answered once arm-3 was confirmed (not found) with arm-held kept under
    # its hold; erasing arm-held after the release does not move the answer.
    assert instant(held["answered"]) == T0 + 2 * HOUR
    # The outcome is as of when the report is made: by then both are erased.
    assert (held["outcome"], held["on_time"], held["items_erased"]) == (
        "erased", True, 2
    )  # fmt: skip
    assert held["items_held"] == 0
    assert (still_open["outcome"], still_open["answered"]) == (
        "awaiting_confirmation", None
    )  # fmt: skip
    assert still_open["on_time"] is False


def test_the_report_counts_a_request_open_at_month_end_though_its_orders_were_made(
    store: Store,
) -> None:
    history(store)
    code, out = store.cli(
        "audit", "report", "--month", "2026-04", "--now", NOW.isoformat()
    )
    assert code == 0, out
    # OPEN's order went out on 10 January and was never confirmed; the others
    # were answered by the end of April.
    assert json.loads(out)["open_at_month_end"]["REQUEST_UNANSWERED"] == 1


# Subjects whose items fall in several parts (of 2 and of 3), to be judged
# across the parts as one pass judges them.
SPREAD_LATE, SPREAD_HELD, RECALLED, NEVER = (
    "cust-SPREAD-6", "cust-SPREAD-7", "cust-REC-8", "cust-NEVER-9"
)  # fmt: skip
SPREAD = {SPREAD_LATE: "sl", SPREAD_HELD: "sj", RECALLED: "rc", NEVER: "nv"}


def spread(s: Store) -> dict[str, str]:
    """Requests over six items each: the last confirmed after the deadline
    (late); one held when the orders were made, released and erased after the
    deadline (answered in time, before: the release does not move it); one
    recalled by a late hold (answered when it is kept); one never confirmed."""
    app, rt = s.runtime.app, s.runtime
    app.ingest(
        [
            record(f"{tag}-{k}", subject, "arming-log", T0 - 3 * HOUR, offset=k)
            for subject, tag in SPREAD.items()
            for k in range(6)
        ],
        at=T0 - 2 * HOUR,
    )
    rt.catch_up()
    app.place_hold("sj-5", "POL-8", "police case", "ola", T0 - HOUR)
    requests = {
        subject: app.request_subject_erasure(
            CONTROLLER, subject, f"cmd-{tag}", "asked", "kari", None, T0
        )
        for subject, tag in SPREAD.items()
    }
    rt.catch_up()
    app.place_hold("rc-5", "POL-9", "police case", "ola", T0 + 2 * HOUR)
    rt.catch_up()  # reaches rc-5 after its order: recalled
    for tag in SPREAD.values():
        for k in range(5):
            confirm(s, f"{tag}-{k}", "events", Outcome.DELETED, T0 + (k + 1) * HOUR)
    confirm(s, "sl-5", "events", Outcome.DELETED, at("2026-02-15T12:00:00"))
    confirm(s, "rc-5", "events", Outcome.RECALLED, T0 + DAY)
    app.release_hold("sj-5", "POL-8", "ola", at("2026-03-01T09:00:00"))
    rt.catch_up()
    confirm(s, "sj-5", "events", Outcome.DELETED, at("2026-03-01T10:00:00"))
    rt.catch_up()  # nv-5 is never confirmed
    return requests


def test_parts_judge_requests_as_one_pass_does(pg_dbname: str) -> None:
    env = test_audit.BASE_ENV | {
        "LETHE_STORE": "postgres",
        "LETHE_POSTGRES_DBNAME": pg_dbname,
    }
    settings = Settings.from_env(env)
    s = Store(env, build_runtime(settings), "lethe_events")
    try:
        requests = history(s) | spread(s)
        one_pass = s.verify(NOW)  # the reference: one pass over the whole log
        limits = s.limits(NOW)
    finally:
        s.runtime.app.close()
    named = {
        (v.name, v.item): v.instants.get("answered")
        for v in one_pass.violations
        if v.name in (REQUEST_ANSWERED_LATE, REQUEST_UNANSWERED)
    }
    assert named == {
        (REQUEST_ANSWERED_LATE, requests[LATE]): at("2026-04-12T12:00:00"),
        (REQUEST_UNANSWERED, requests[OPEN]): None,
        (REQUEST_ANSWERED_LATE, requests[SPREAD_LATE]): at("2026-02-15T12:00:00"),
        (REQUEST_UNANSWERED, requests[NEVER]): None,
    }
    # Each spread subject's items fall in more than one part, of 2 and of 3.
    for of in (2, 3):
        for tag in SPREAD.values():
            parts = {
                k
                for k in range(of)
                for n in range(6)
                if owns(Part(k, of), identity.item_id(f"{tag}-{n}"))
            }
            assert len(parts) > 1, (tag, of)
    for workers in (1, 2, 3):
        result = verify_store(settings, limits, workers)
        assert result.counts == one_pass.counts, workers
        assert result.violations == one_pass.violations, workers


def test_status_keeps_a_request_open_while_a_store_has_not_confirmed(
    store: Store,
) -> None:
    # `lethe status` and the DPO page must not call a request answered because
    # its orders were made: OPEN's order was never confirmed, so it is still
    # open, overdue and late; the others have nothing awaiting, and their orders
    # were made in time, so status has nothing to say of them.
    requests = history(store)
    views, zones = store.runtime.views, {CONTROLLER: ZoneInfo("Europe/Oslo")}
    status = read_status(views, NOW, 60, 3600, 7, zones)
    [still_open] = status.requests
    assert (still_open.request_id, still_open.carried_out_at) == (requests[OPEN], T0)
    assert (still_open.awaiting, still_open.late) == (1, True)
    assert still_open.days_left is not None and still_open.days_left < 0
    health = read_health(views, 0, NOW, 60, 3600, 7)
    assert (health.requests_past_deadline, health.requests_near_deadline) == (1, 0)

    code, out = store.cli("status", "--now", NOW.isoformat())
    [row] = [line for line in out.splitlines() if requests[OPEN] in line]
    assert "LATE" in row and "1 unconfirmed" in row, out

    # Once the store answers, nothing awaits: the request drops out of status.
    confirm(store, "arm-4", "events", Outcome.DELETED, at("2026-04-20T09:00:00"))
    store.runtime.catch_up()
    assert read_status(views, NOW, 60, 3600, 7, zones).requests == []
    assert read_health(views, 0, NOW, 60, 3600, 7).requests_past_deadline == 0
