"""The audit's replay: the notification log as domain events, page by page, fast.

Reading the next page overlaps decoding the current one (one worker thread),
and events are decoded by `decode.fast_decoder`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic

from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.domain.subject import Subject
from lethe.projections.decode import fast_decoder

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
