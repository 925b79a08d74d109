"""An item keeps the policy version that scheduled it: a new version of the
policy changes new arrivals only, never an item already in the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lethe.domain.application import Lethe
from lethe.domain.policy import ItemFacts, UnknownPolicyError
from lethe.policies import load_previous, load_shipped
from lethe.projections.schedule import ScheduleProcess
from lethe.projections.store import SqlViews
from tests.support import T0, ingest_record
from tests.support.fakes import FakeSubjectVault

CURRENT = load_shipped("sector-alarm")
(PREVIOUS,) = load_previous()
SUBJECT = "customer-4711"
CONTRACT_ENDED = T0 + timedelta(days=100)
LAST_INVOICE_PAID = T0 + timedelta(days=145)


def lethe(path: Path, *, current: bool, vault: FakeSubjectVault) -> Lethe:
    env = {
        "PERSISTENCE_MODULE": "lethe.projections.store:LetheSQLiteFactory",
        "SQLITE_DBNAME": str(path / "lethe.db"),
    }
    if current:
        return Lethe(
            env=env,
            policies={"sector-alarm": CURRENT},
            vault=vault,
            previous=load_previous(),
        )
    return Lethe(env=env, policies={"sector-alarm": PREVIOUS}, vault=vault)


def catch_up(app: Lethe) -> None:
    process = ScheduleProcess(app, SqlViews(app.process_recorder))
    while process.process_page():  # not run_until_idle: the fake vault has no key table
        pass


def test_the_shipped_versions_differ_where_the_issue_says() -> None:
    assert (PREVIOUS.ref, CURRENT.ref) == (
        "sector-alarm@2024-10-25.1",
        "sector-alarm@2024-10-25.2",
    )
    assert str(PREVIOUS.rules["customer-identity"].describe()) == (
        "relationship-end + 12 months"
    )


def test_an_item_scheduled_under_the_previous_version_keeps_it(tmp_path: Path) -> None:
    vault = FakeSubjectVault()
    before = lethe(tmp_path, current=False, vault=vault)
    before.ingest([ingest_record("id-old", "customer-identity", SUBJECT)], T0)
    catch_up(before)
    before.close()

    # The upgrade: the same store, the new version in force.
    after = lethe(tmp_path, current=True, vault=vault)
    after.ingest(
        [ingest_record("id-new", "customer-identity", SUBJECT, offset=1)],
        T0 + timedelta(days=1),
    )
    after.end_contract("sector-alarm", SUBJECT, CONTRACT_ENDED, CONTRACT_ENDED)
    after.end_relationship(
        "sector-alarm", SUBJECT, LAST_INVOICE_PAID, LAST_INVOICE_PAID
    )
    catch_up(after)

    old, new = after.get_item("id-old"), after.get_item("id-new")
    # Rescheduled by the subject's facts, each under the version that first
    # scheduled it: the old item by its relationship's end, as version 1 says.
    assert (old.policy, old.rule) == (
        PREVIOUS.ref,
        "customer-identity: relationship-end + 12 months",
    )
    assert old.due_at == PREVIOUS.due("customer-identity", _facts()).at
    assert new.policy == CURRENT.ref
    assert new.due_at == CURRENT.due("customer-identity", _facts()).at
    assert new.due_at is not None and old.due_at is not None
    assert new.due_at < old.due_at  # only the new arrival got the earlier clock
    after.close()


def test_an_item_of_a_version_not_shipped_is_refused_loudly(tmp_path: Path) -> None:
    vault = FakeSubjectVault()
    before = lethe(tmp_path, current=False, vault=vault)
    before.ingest([ingest_record("id-old", "customer-identity", SUBJECT)], T0)
    item = before.get_item("id-old")
    before.close()
    forgetful = Lethe(
        env={
            "PERSISTENCE_MODULE": "lethe.projections.store:LetheSQLiteFactory",
            "SQLITE_DBNAME": str(tmp_path / "lethe.db"),
        },
        policies={"sector-alarm": CURRENT},
        vault=vault,
    )
    with pytest.raises(UnknownPolicyError, match="sector-alarm@2024-10-25.1"):
        forgetful.policy_of(item)
    forgetful.close()


def _facts() -> ItemFacts:
    return ItemFacts(
        captured_at=T0,
        relationship_ended_at=LAST_INVOICE_PAID,
        contract_ended_at=CONTRACT_ENDED,
    )
