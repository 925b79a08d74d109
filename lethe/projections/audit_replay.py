"""The audit's replay: the notification log as domain events, page by page, fast.

Reading the next page overlaps decoding the current one (one worker thread),
and events are decoded with the plain C JSON scanner, reviving only the
top-level values that need it, instead of a Python hook on every object. The
result is the same event the mapper makes (a test compares them); any store
with a cipher, compression or upcasting uses the mapper itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic

from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.domain.subject import Subject

# Only these events bear on an invariant or a report; the others (contact,
# relationship, registration) are skipped before they are decoded.
RELEVANT: tuple[type, ...] = (
    Item.Ingested,
    Item.Scheduled,
    Item.HoldPlaced,
    Item.HoldReleased,
    Item.Restricted,
    Item.RestrictionLifted,
    Item.ErasureOrdered,
    Item.ErasureReissued,
    Item.Erased,
    Item.ErasureFailed,
    Subject.HoldPlaced,
    Subject.HoldReleased,
    Subject.ErasureRequested,
    Subject.ErasureCarriedOut,
)
Decoder = Callable[[Any], Any]


def replay(
    app: Lethe, page_size: int = 5000, progress: Callable[[int], None] | None = None
) -> Iterator[Any]:
    """Every relevant domain event in log order, at most two pages in memory."""
    wanted = {get_topic(cls): cls for cls in RELEVANT}
    decode = fast_decoder(app, wanted)
    select = page_reader(app)
    with ThreadPoolExecutor(max_workers=1) as reader:
        page = select(1, page_size)
        while page:
            upcoming = reader.submit(select, page[-1].id + 1, page_size)
            for notification in page:
                if notification.topic in wanted:
                    yield decode(notification)
            if progress is not None:
                progress(len(page))
            page = upcoming.result()


def page_reader(app: Lethe) -> Callable[[int, int], list[Any]]:
    """select_notifications, on PostgreSQL as named tuples rather than dict rows
    made into frozen dataclasses: that construction was a third of the replay."""
    recorder: Any = app.process_recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        return recorder.select_notifications  # type: ignore[no-any-return]
    from psycopg import sql
    from psycopg.rows import namedtuple_row

    statement = sql.SQL(
        "SELECT notification_id AS id, originator_id, originator_version, topic,"
        " state FROM {}.{} WHERE notification_id >= %s"
        " ORDER BY notification_id LIMIT %s"
    ).format(
        sql.Identifier(recorder.datastore.schema),
        sql.Identifier(recorder.events_table_name),
    )

    def select(start: int, limit: int) -> list[Any]:
        connection = recorder.datastore.get_connection()
        with connection as conn, conn.cursor(row_factory=namedtuple_row) as cursor:
            cursor.execute(statement, (start, limit), prepare=True)
            return cursor.fetchall()

    return select


def fast_decoder(app: Lethe, classes: dict[str, type]) -> Decoder:
    """A decoder equal to `app.mapper.to_domain_event` for plain JSON events."""
    mapper = app.mapper
    plain = mapper.cipher is None and mapper.compressor is None
    if not plain or any(getattr(c, "class_version", 1) != 1 for c in classes.values()):
        return mapper.to_domain_event
    transcoder: Any = mapper.transcoder
    # The C scanner itself: json.loads would first sniff the encoding of every
    # record and wrap the scan in two Python calls, a third of the decoding time.
    scan, iso = json.JSONDecoder().scan_once, datetime.fromisoformat

    def revive(value: dict[str, Any]) -> Any:
        if len(value) == 2 and value.get("_type_") == "datetime_iso":
            return iso(value["_data_"])
        return transcoder.decode(json.dumps(value).encode())  # rare: the full path

    def decode(notification: Any) -> Any:
        raw = notification.state
        state = scan(raw if type(raw) is str else bytes(raw).decode(), 0)[0]
        for key, value in state.items():
            if type(value) is dict:
                state[key] = revive(value)
        state.pop("class_version", None)
        originator_id = notification.originator_id
        state["originator_id"] = (
            originator_id if type(originator_id) is UUID else UUID(originator_id)
        )
        state["originator_version"] = notification.originator_version
        event = object.__new__(classes[notification.topic])
        object.__setattr__(event, "__dict__", state)
        return event

    return decode
