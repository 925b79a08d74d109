"""Free text under the subject's key: readable while it lives, gone after the shred,
never in clear in the event table; a reason that names a person is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from lethe.domain.errors import BadCommandError
from lethe.domain.free_text import SEALED, SHREDDED, PersonalTextError
from lethe.domain.item import Outcome
from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from tests.support import ingest_record
from tests.support.postgres import OUTSIDE_KEYS, temporary_database

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONTROLLER = "sector-alarm"
SUBJECT = "ola.nordmann@example.no"
OTHER = "kari.nordmann@example.no"
HOLD_REASON = "kept while the insurer looks at the break-in"
ERASE_REASON = "customer asked by letter"
RESTRICT_REASON = "disputed accuracy of the alarm log"
TICKET = "ZD-44117"
STAFF = "staff-7"
CASE = "POL-2026-17"
TEXTS = (HOLD_REASON, ERASE_REASON, RESTRICT_REASON, TICKET)


@dataclass
class Store:
    env: dict[str, str]
    runtime: Runtime
    table: str

    def cli(self, *args: str) -> tuple[int, str]:
        result = CliRunner(env=self.env).invoke(main, list(args))
        return result.exit_code, result.output

    def raw_events(self) -> bytes:
        rows = self.runtime.views.query(f"SELECT topic, state FROM {self.table}")
        return b"\n".join(t.encode() + b" " + bytes(state) for t, state in rows)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    env = {**OUTSIDE_KEYS, "LETHE_SWEEP_INTERVAL_S": "60"}
    if request.param == "sqlite":
        env |= {"LETHE_STORE": "sqlite", "LETHE_SQLITE_PATH": str(tmp_path / "l.db")}
        yield from _built(env, "stored_events")
        return
    with temporary_database() as pg:
        env |= {"LETHE_STORE": "postgres"}
        env["LETHE_POSTGRES_DBNAME"] = pg["POSTGRES_DBNAME"]
        yield from _built(env, "lethe_events")


def _built(env: dict[str, str], table: str) -> Iterator[Store]:
    runtime = build_runtime(Settings.from_env(env))
    try:
        yield Store(env, runtime, table)
    finally:
        runtime.app.close()


def _history(s: Store) -> None:
    """An image on hold and a subject restricted, then asked to be forgotten."""
    app = s.runtime.app
    app.ingest(
        [
            ingest_record("img-1", "verification-image", SUBJECT),
            ingest_record("arm-1", "arming-log", SUBJECT, offset=1),
        ],
        at=T0,
    )
    s.runtime.catch_up()
    app.place_hold("img-1", CASE, HOLD_REASON, STAFF, T0 + timedelta(hours=1))
    app.restrict_subject(CONTROLLER, SUBJECT, "R-1", RESTRICT_REASON, STAFF, T0)


def _erase(s: Store) -> None:
    app, at = s.runtime.app, T0 + timedelta(days=1)
    app.lift_subject_restriction(CONTROLLER, SUBJECT, "R-1", STAFF, at)
    app.release_hold("img-1", CASE, STAFF, at)
    app.request_subject_erasure(
        CONTROLLER, SUBJECT, "cmd-1", ERASE_REASON, STAFF, TICKET, at
    )
    s.runtime.catch_up()
    for ref in ("img-1", "arm-1"):
        item = app.get_item(ref)
        assert item.order is not None
        app.confirm_erasure(
            ref, item.order["order_id"], "blobstore", Outcome.DELETED, None, at
        )
    s.runtime.catch_up()
    assert app.vault.is_shredded(app.subject_ref(CONTROLLER, SUBJECT))


def test_free_text_is_sealed_in_the_event_table_and_readable_before_the_shred(
    store: Store,
) -> None:
    _history(store)
    raw = store.raw_events()
    for text in (HOLD_REASON, RESTRICT_REASON):
        assert text.encode() not in raw
    assert SEALED.encode() in raw
    # Accountability stays readable: who, and the case the hold is for.
    assert STAFF.encode() in raw and CASE.encode() in raw
    code, out = store.cli("item", "img-1")
    assert code == 0 and HOLD_REASON in out and SEALED not in out
    code, out = store.cli("audit", "subject", SUBJECT, "--json")
    assert code == 0 and HOLD_REASON in out and RESTRICT_REASON in out
    assert SEALED not in out


def test_after_the_shred_free_text_reads_shredded_and_is_nowhere_in_clear(
    store: Store,
) -> None:
    _history(store)
    _erase(store)
    raw = store.raw_events()
    for text in TEXTS:
        assert text.encode() not in raw
    code, out = store.cli("audit", "item", "img-1", "--json")
    assert code == 0, out
    holds = json.loads(out)["holds"]
    assert [h["reason"] for h in holds] == [SHREDDED]
    assert [h["placed_by"] for h in holds] == [STAFF]  # accountability survives
    code, out = store.cli("audit", "subject", SUBJECT)
    assert code == 0 and SHREDDED in out
    assert not any(text in out for text in TEXTS)


def test_an_event_written_before_sealing_reads_as_it_was(store: Store) -> None:
    _history(store)
    app = store.runtime.app
    # As a Lethe before issue 13 recorded it: the reason in clear in the event.
    item = app.get_item("arm-1")
    item.place_hold("C-OLD", "an old reason in clear", STAFF, T0)
    app.save(item)
    code, out = store.cli("item", "arm-1")
    assert code == 0 and "C-OLD: an old reason in clear" in out
    ref = app.subject_ref(CONTROLLER, SUBJECT)
    assert app.open_text(ref, [f"x {SEALED}AAAA y"]) == [f"x {SHREDDED} y"]


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        (f"asked by {SUBJECT} on the phone", "the subject's own id"),
        (f"asked by ({SUBJECT.upper()}).", "the subject's own id"),
        ("Per Hansen, fnr 12057312345", "national identity number"),
        ("fnr 120573 12345 per letter", "national identity number"),
        ("call back on +47 912 34 567", "phone number"),
        ("call back on 91234567", "phone number"),
    ],
)
def test_a_reason_that_identifies_a_person_is_refused_and_nothing_recorded(
    store: Store, reason: str, why: str
) -> None:
    _history(store)
    app = store.runtime.app
    before = store.raw_events()
    with pytest.raises(PersonalTextError, match=why) as refused:
        app.request_subject_erasure(
            CONTROLLER, SUBJECT, "cmd-9", reason, STAFF, None, T0
        )
    assert SUBJECT not in str(refused.value) and "12057312345" not in str(refused)
    with pytest.raises(PersonalTextError, match=why):
        app.place_hold("arm-1", "C-2", reason, STAFF, T0)  # an item's hold too
    assert store.raw_events() == before
    code, out = store.cli(
        "erase", "subject", SUBJECT, "--reason", reason, "--by", STAFF
    )
    assert code != 0 and why in out and SUBJECT not in out


def test_ordinary_numbers_in_a_reason_pass(store: Store) -> None:
    _history(store)
    app = store.runtime.app
    for n, reason in enumerate(
        ["police case 2026-0017", "per letter of 20260301", f"asked about {OTHER}"]
    ):
        assert app.place_hold("arm-1", f"C-{n}", reason, STAFF, T0)


def test_a_case_ref_that_is_the_subject_id_is_refused(store: Store) -> None:
    _history(store)
    with pytest.raises(BadCommandError, match="case ref holds the subject's own id"):
        store.runtime.app.place_hold("arm-1", SUBJECT, "fine", STAFF, T0)
