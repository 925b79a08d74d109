"""A returning customer, end to end on PostgreSQL and the broker (issue 11, part 3).

ERASE_SUBJECT on the commands topic erases what the customer had; the store
deletes it. RELATIONSHIP_RESUMED on the lifecycle topic; the customer's new
images follow their own rules (7 days), and the older ones stay erased.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lethe.domain.item import ItemState
from tests.integration.test_erasure_e2e import SUBJECT, World, image_bytes
from tests.integration.test_erasure_e2e import pg_world as pg_world  # noqa: F401
from tests.support.ingest import producer_for

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
REQUESTED = NOW - timedelta(hours=1)
RESUMED = NOW - timedelta(minutes=30)


def subject_events(world: World) -> list[str]:
    app = world.consuming.app
    subject = app.find_subject_by_ref(app.subject_ref("sector-alarm", SUBJECT))
    if subject is None:
        return []  # not taken in yet
    return [type(e).__name__ for e in app.repository.event_store.get(subject.id)]


def test_a_returning_customers_new_items_follow_their_rules(pg_world: World) -> None:
    world = pg_world
    old = {
        ref: world.publish_image(
            ref, *image_bytes(ref), captured=NOW - timedelta(hours=2)
        )
        for ref in ("img-before-1", "img-before-2")
    }
    with producer_for(world.env) as producer:
        producer.send_command(
            "cmd-forget-me",
            "ERASE_SUBJECT",
            "sector-alarm",
            subject_id=SUBJECT,
            reason="the customer asked to be forgotten",
            requested_by="support:kari",
            requested_at=REQUESTED,
        )
    world.consuming.run_until(lambda: "ErasureRequested" in subject_events(world))
    world.runtime.catch_up()  # the schedule process orders the subject's items
    world.erase_and_confirm("img-before-1", ItemState.ERASED, orders=2)
    world.answer_until("img-before-2", ItemState.ERASED)
    assert not any(path.exists() for path in old.values())

    with producer_for(world.env) as producer:
        producer.send_lifecycle(
            SUBJECT, "sector-alarm", "RELATIONSHIP_RESUMED", RESUMED
        )
    new_captured = NOW - timedelta(minutes=10)
    new_path = world.publish_image(
        "img-after", *image_bytes("img-after"), captured=new_captured
    )
    world.consuming.run_until(lambda: "RelationshipResumed" in subject_events(world))
    world.consuming.run_until(lambda: world.item("img-after") is not None)
    world.runtime.catch_up()

    new = world.get("img-after")
    assert new.order is None and new.state == ItemState.SCHEDULED  # not erased
    assert new.due_at == new_captured + timedelta(days=7)
    assert world.sweep(new_captured + timedelta(days=6)).ordered == 0
    assert new_path.exists()
    # Its own rule, in its own time: ordered as retention expired, not by the request.
    assert world.sweep(new_captured + timedelta(days=7)).ordered == 1
    ordered = world.get("img-after").order
    assert ordered is not None and ordered["cause"] == "RETENTION_EXPIRED"
    world.erase_and_confirm("img-after", ItemState.ERASED)
    assert not new_path.exists()
    # The older items stayed erased throughout.
    for ref in old:
        assert world.get(ref).state == ItemState.ERASED
