"""The audit's replay: the notification log as domain events, page by page, fast.

Reading the next page overlaps decoding the current one (one worker thread),
and events are decoded by `decode.fast_decoder`. On PostgreSQL the replay may
take one `Part` of the streams, so that several processes share a log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic

from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.domain.subject import Subject
from lethe.domain.sweep import Sweep
from lethe.projections.decode import fast_decoder

# Only these events bear on an invariant or a report; the others (contact,
# relationship, registration) are skipped before they are decoded.
RELEVANT: tuple[type, ...] = (
    Item.Ingested,
    Item.Scheduled,
    Item.Rescheduled,
    Item.HoldPlaced,
    Item.HoldReleased,
    Item.Restricted,
    Item.RestrictionLifted,
    Item.ErasureOrdered,
    Item.ErasureWithheld,
    Item.RecallAnswered,
    Item.ErasureReissued,
    Item.Erased,
    Item.ErasureFailed,
    Item.ErasureReplayed,
    Subject.HoldPlaced,
    Subject.HoldReleased,
    Subject.ErasureRequested,
    Subject.RequestExtended,
    Subject.ErasureCarriedOut,
    Sweep.Recorded,
)
# In every part: the audit judges each item against the sweeps (see audit_verify).
IN_EVERY_PART: tuple[type, ...] = (Sweep.Recorded,)


class Part(NamedTuple):
    """The streams whose originator id's last byte is `number` modulo `of`.

    A whole stream always falls in one part, in its own order; uuid5 ids spread
    their last byte evenly, so the parts are of about equal size.
    """

    # Not `index` and `count`: those would hide the tuple methods of those names.
    number: int
    of: int


def replay(
    app: Lethe,
    page_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    part: Part | None = None,
    classes: tuple[type, ...] = RELEVANT,
) -> Iterator[Any]:
    """Every relevant domain event (of `classes`) in log order (of `part`'s
    streams only, if given, and the sweeps), at most two pages in memory."""
    for _position, event in replay_positioned(app, page_size, progress, part, classes):
        yield event


def replay_positioned(
    app: Lethe,
    page_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    part: Part | None = None,
    classes: tuple[type, ...] = RELEVANT,
) -> Iterator[tuple[int, Any]]:
    """`replay`, each event with its notification id (its place in the log)."""
    wanted = {get_topic(cls): cls for cls in classes}
    decode = fast_decoder(app, wanted)
    select = page_reader(app, part)
    with ThreadPoolExecutor(max_workers=1) as reader:
        page = select(1, page_size)
        while page:
            upcoming = reader.submit(select, page[-1].id + 1, page_size)
            for notification in page:
                if notification.topic in wanted:
                    yield notification.id, decode(notification)
            if progress is not None:
                progress(_own_rows(page, part))
            page = upcoming.result()


def _own_rows(page: list[Any], part: Part | None) -> int:
    """The page's rows that are `part`'s own: a sweep read by every part counts
    in the part its stream falls in, so the parts' pages add up to the log."""
    if part is None:
        return len(page)
    shared = {get_topic(cls) for cls in IN_EVERY_PART}
    return sum(
        1
        for n in page
        if n.topic not in shared
        or UUID(str(n.originator_id)).bytes[15] % part.of == part.number
    )


def page_reader(
    app: Lethe, part: Part | None = None
) -> Callable[[int, int], list[Any]]:
    """select_notifications, on PostgreSQL as named tuples rather than dict rows
    made into frozen dataclasses: that construction was a third of the replay.

    A page of a part holds only that part's rows, as far as the log reached when
    the reader was made; an empty page means the end, as for the whole log.
    """
    recorder: Any = app.process_recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        if part is not None:
            raise ValueError("a replay in parts needs PostgreSQL")
        return recorder.select_notifications
    if part is None:
        return _query(
            recorder, "notification_id >= %s ORDER BY notification_id LIMIT %s"
        )
    return _windows(recorder, part)


def _windows(recorder: Any, part: Part) -> Callable[[int, int], list[Any]]:
    # By windows of ids, not by LIMIT: PostgreSQL cannot estimate how many rows
    # the part's condition keeps (it guesses 0.5 %), and with a LIMIT it chose to
    # sort the whole table for every page. A window `limit` times the number of
    # parts wide holds about `limit` of the part's rows and is read by the index.
    fetch = _query(
        recorder,
        "notification_id >= %s AND notification_id < %s AND "
        + _in_part(part, recorder.datastore.originator_id_type)
        + " ORDER BY notification_id",
    )
    end = recorder.max_notification_id() or 0

    def select(start: int, limit: int) -> list[Any]:
        rows: list[Any] = []
        width = limit * part.of
        while not rows and start <= end:  # a window may hold none of the part
            rows = fetch(start, start + width)
            start += width
        return rows

    return select


def _query(recorder: Any, where: str) -> Callable[..., list[Any]]:
    """The events table's notifications `where` the condition holds."""
    from psycopg import sql
    from psycopg.rows import namedtuple_row

    statement = sql.SQL(
        "SELECT notification_id AS id, originator_id, originator_version, topic,"
        " state FROM {}.{} WHERE "
    ).format(
        sql.Identifier(recorder.datastore.schema),
        sql.Identifier(recorder.events_table_name),
    ) + sql.SQL(where)

    def fetch(*params: int) -> list[Any]:
        connection = recorder.datastore.get_connection()
        with connection as conn, conn.cursor(row_factory=namedtuple_row) as cursor:
            cursor.execute(statement, params, prepare=True)
            return cursor.fetchall()

    return fetch


def _in_part(part: Part, originator_id_type: str) -> str:
    """The SQL condition that keeps `part`'s streams (two whole numbers: no
    quoting needed)."""
    # eventsourcing stores originator_id as uuid (or, if so configured, as text
    # holding a uuid): the last of its 16 bytes picks the part.
    column = "originator_id" if originator_id_type == "uuid" else "originator_id::uuid"
    shared = ", ".join(f"'{get_topic(cls)}'" for cls in IN_EVERY_PART)  # our names
    return (
        f"(get_byte(uuid_send({column}), 15) %% {int(part.of)} = {int(part.number)}"
        f" OR topic IN ({shared}))"
    )
