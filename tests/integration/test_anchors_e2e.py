"""Contract end and onboarding through Kafka: the clocks the notice names.

The item topics of the wire contract carry alarm events, images and call
recordings only, so the customer-database items (identity, paper originals)
enter through the application, as a pipeline's own adapter would; the facts
that start their clocks come over customer.lifecycle.v1 like every other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lethe.domain.calendar import Period, add_period
from lethe.domain.item import ItemState
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.projections.schedule import ScheduleProcess
from lethe.projections.store import SqlViews
from tests.support import ingest_record
from tests.support.ingest import (
    Consuming,
    create_topics,
    lethe_env,
    producer_for,
)

pytestmark = pytest.mark.integration

SUBJECT = "cust-0099-private"
LIFECYCLE = "customer.lifecycle.v1"
OSLO = ZoneInfo("Europe/Oslo")
YEAR = Period(12, "months")


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(
    request: pytest.FixtureRequest, sqlite_env: dict[str, str]
) -> dict[str, str]:
    if request.param == "sqlite":
        return sqlite_env
    return request.getfixturevalue("pg_schema_env")


@pytest.fixture
def env(
    store_env: dict[str, str], broker: EmbeddedBroker, topic_name: Callable[..., str]
) -> dict[str, str]:
    settings = lethe_env(
        store_env, broker.bootstrap, topic_name("anchors") + ".", topic_name("group")
    )
    settings["LETHE_TOPIC_PARTITIONS"] = "1"  # offsets below are those of partition 0
    create_topics(settings)
    return settings


@pytest.fixture
def consuming(env: dict[str, str]) -> Iterator[Consuming]:
    running = Consuming(env)
    yield running
    running.close()


def catch_up(consuming: Consuming) -> None:
    app = consuming.app
    ScheduleProcess(app, SqlViews(app.process_recorder)).run_until_idle()


def test_identity_is_due_a_year_after_the_contract_though_paid_up_later(
    consuming: Consuming, env: dict[str, str]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    captured = now - timedelta(days=400)
    contract_ended = now - timedelta(days=60)
    paid_up = now - timedelta(days=14)  # the last invoice, six weeks on
    app = consuming.app
    app.ingest(
        [
            ingest_record("ident-1", "customer-identity", SUBJECT, captured),
            ingest_record("onb-1", "onboarding", SUBJECT, captured, offset=1),
        ],
        captured,
    )
    catch_up(consuming)
    assert app.get_item("ident-1").state == ItemState.WAITING

    with producer_for(env) as producer:
        producer.send_lifecycle(
            SUBJECT, "sector-alarm", "CONTRACT_ENDED", contract_ended
        )
        producer.send_lifecycle(SUBJECT, "sector-alarm", "RELATIONSHIP_ENDED", paid_up)
    consuming.take_through(LIFECYCLE, 1)
    catch_up(consuming)

    identity, onboarding = app.get_item("ident-1"), app.get_item("onb-1")
    assert identity.due_at == add_period(contract_ended, YEAR, OSLO)
    assert identity.rule == (
        "customer-identity: min(contract-end + 12 months, relationship-end + 12 months)"
    )
    # The relationship's rows still count from the last invoice.
    assert onboarding.due_at == add_period(paid_up, YEAR, OSLO)
    assert identity.due_at < onboarding.due_at
    subject = app.get_subject("sector-alarm", SUBJECT)
    assert (subject.contract_ended_at, subject.relationship_ended_at) == (
        contract_ended,
        paid_up,
    )


def test_a_paper_original_is_due_thirty_days_after_onboarding(
    consuming: Consuming, env: dict[str, str]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    onboarded, scanned = now - timedelta(days=20), now - timedelta(days=12)
    app = consuming.app
    app.ingest([ingest_record("paper-1", "paper-original", SUBJECT, scanned)], scanned)
    catch_up(consuming)
    # Before onboarding is known, the scan's capture stands in.
    assert app.get_item("paper-1").due_at == add_period(
        scanned, Period(30, "days"), OSLO
    )

    with producer_for(env) as producer:
        producer.send_lifecycle(SUBJECT, "sector-alarm", "ONBOARDED", onboarded)
    consuming.take_through(LIFECYCLE, 0)
    catch_up(consuming)

    assert app.get_item("paper-1").due_at == add_period(
        onboarded, Period(30, "days"), OSLO
    )


def test_a_contract_end_before_any_item_schedules_the_items_that_come_later(
    consuming: Consuming, env: dict[str, str]
) -> None:
    # A contract end for a subject Lethe has no item of yet registers the
    # subject; an identity item arriving later is scheduled at once.
    now = datetime.now(UTC).replace(microsecond=0)
    contract_ended = now - timedelta(days=30)
    with producer_for(env) as producer:
        producer.send_lifecycle(
            SUBJECT, "sector-alarm", "CONTRACT_ENDED", contract_ended
        )
    consuming.take_through(LIFECYCLE, 0)
    app = consuming.app
    app.ingest([ingest_record("ident-2", "customer-identity", SUBJECT, now)], now)
    catch_up(consuming)
    assert app.get_item("ident-2").due_at == add_period(contract_ended, YEAR, OSLO)
