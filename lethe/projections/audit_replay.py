"""The audit's replay: the notification log as domain events, page by page, fast.

Reading the next page overlaps decoding the current one (one worker thread),
and events are decoded by `decode.fast_decoder` (or, for the verification,
which reads few fields, by `replay_dated`). On PostgreSQL the replay may
take one `Part` of the streams, so that several processes share a log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic

from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.domain.subject import Subject
from lethe.domain.sweep import Sweep
from lethe.projections.decode import fast_decoder, upcast

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
    shared: tuple[type, ...] = IN_EVERY_PART,
) -> Iterator[tuple[int, Any]]:
    """`replay`, each event with its notification id (its place in the log).

    A part also reads the events of `shared` classes of every stream (the
    reader tells them apart with `owns`)."""
    wanted = {get_topic(cls): cls for cls in classes}
    decode = fast_decoder(app, wanted)
    row = _Row()  # the decoder reads a row's fields by name: one holder for all
    for page in _pages(app, page_size, progress, part, shared):
        for row.id, row.originator_id, row.originator_version, topic, state in page:
            if topic in wanted:
                row.topic, row.state = topic, state
                yield row.id, decode(row)


def replay_dated(
    app: Lethe,
    dates: Mapping[type, tuple[str, ...]],
    page_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    part: Part | None = None,
    shared: tuple[type, ...] = IN_EVERY_PART,
) -> Iterator[tuple[int, Any]]:
    """`replay_positioned` for a reader of few fields: the events of the classes
    in `dates`, of which only the datetimes named there are revived.

    The rest stays as stored (a datetime as its JSON object, lists as lists):
    reviving every value of every event was most of the decoding. Upcast as
    the mapper does. A store with a cipher or compression decodes in full.
    """
    mapper = app.mapper
    if mapper.cipher is not None or mapper.compressor is not None:
        yield from replay_positioned(
            app, page_size, progress, part, tuple(dates), shared
        )
        return
    wanted = {get_topic(cls): (cls, names) for cls, names in dates.items()}
    transcoder: Any = mapper.transcoder
    # The C scanner itself, as decode.fast_decoder does (the reasons are there).
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
    iso, new, put = datetime.fromisoformat, object.__new__, object.__setattr__
    for page in _pages(app, page_size, progress, part, shared):
        for position, stream, version, topic, raw in page:
            found = wanted.get(topic)
            if found is None:
                continue
            cls, names = found
            state = scan(raw.decode() if type(raw) is bytes else str(raw), 0)[0]
            for name in names:
                value = state.get(name)
                if type(value) is dict:
                    state[name] = (
                        iso(value["_data_"])
                        if value.get("_type_") == "datetime_iso"
                        else transcoder.decode(json.dumps(value).encode())
                    )
            upcast(cls, state)
            state["originator_id"] = stream if type(stream) is UUID else UUID(stream)
            state["originator_version"] = version
            event: Any = new(cls)
            put(event, "__dict__", state)
            yield position, event


class _Row:
    """A notification's fields by name, as decode.fast_decoder reads them."""

    __slots__ = ("id", "originator_id", "originator_version", "topic", "state")
    id: int
    originator_id: Any
    originator_version: int
    topic: str
    state: Any


def _pages(
    app: Lethe,
    page_size: int,
    progress: Callable[[int], None] | None,
    part: Part | None,
    shared: tuple[type, ...],
) -> Iterator[list[tuple[Any, ...]]]:
    """The log (or `part` of it) page by page, as rows (id, originator_id,
    originator_version, topic, state); the next page is read while the caller
    takes this one."""
    select = page_reader(app, part, shared)
    shared_topics = frozenset(get_topic(cls) for cls in shared)
    with ThreadPoolExecutor(max_workers=1) as reader:
        page = select(1, page_size)
        while page:
            upcoming = reader.submit(select, page[-1][0] + 1, page_size)
            yield page
            if progress is not None:
                progress(_own_rows(page, part, shared_topics))
            page = upcoming.result()


def owns(part: Part | None, stream: UUID) -> bool:
    """Whether `stream` falls in `part` (every stream falls in no part at all)."""
    return part is None or (stream.int & 0xFF) % part.of == part.number


def _own_rows(
    page: list[tuple[Any, ...]], part: Part | None, shared: frozenset[str]
) -> int:
    """The page's rows that are `part`'s own: a shared event read by every part
    counts in the part its stream falls in, so the parts' pages add up to the log."""
    if part is None:
        return len(page)
    return sum(
        1 for row in page if row[3] not in shared or owns(part, UUID(str(row[1])))
    )


def page_reader(
    app: Lethe, part: Part | None = None, shared: tuple[type, ...] = IN_EVERY_PART
) -> Callable[[int, int], list[tuple[Any, ...]]]:
    """select_notifications as plain rows (id, originator_id, originator_version,
    topic, state): on PostgreSQL plain tuples in binary, rather than dict rows
    made into frozen dataclasses (that construction was a third of the replay),
    or named tuples (a Python call a row), and the state's bytes as they are
    rather than in hex.

    A page of a part holds only that part's rows, as far as the log reached when
    the reader was made; an empty page means the end, as for the whole log.
    """
    recorder: Any = app.process_recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        if part is not None:
            raise ValueError("a replay in parts needs PostgreSQL")
        return _plain(recorder.select_notifications)
    if part is None:
        return _query(
            recorder, "notification_id >= %s ORDER BY notification_id LIMIT %s"
        )
    return _windows(recorder, part, shared)


def _plain(
    select: Callable[[int, int], list[Any]],
) -> Callable[[int, int], list[tuple[Any, ...]]]:
    def rows(start: int, limit: int) -> list[tuple[Any, ...]]:
        return [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in select(start, limit)
        ]

    return rows


def _windows(
    recorder: Any, part: Part, shared: tuple[type, ...]
) -> Callable[[int, int], list[Any]]:
    # By windows of ids, not by LIMIT: PostgreSQL cannot estimate how many rows
    # the part's condition keeps (it guesses 0.5 %), and with a LIMIT it chose to
    # sort the whole table for every page. A window `limit` times the number of
    # parts wide holds about `limit` of the part's rows and is read by the index.
    fetch = _query(
        recorder,
        "notification_id >= %s AND notification_id < %s AND "
        + _in_part(part, recorder.datastore.originator_id_type, shared)
        + " ORDER BY notification_id",
    )
    end = recorder.max_notification_id() or 0

    def select(start: int, limit: int) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        width = limit * part.of
        while not rows and start <= end:  # a window may hold none of the part
            rows = fetch(start, start + width)
            start += width
        return rows

    return select


def _query(recorder: Any, where: str) -> Callable[..., list[tuple[Any, ...]]]:
    """The events table's notifications `where` the condition holds."""
    from psycopg import sql
    from psycopg.rows import tuple_row

    statement = sql.SQL(
        "SELECT notification_id AS id, originator_id, originator_version, topic,"
        " state FROM {}.{} WHERE "
    ).format(
        sql.Identifier(recorder.datastore.schema),
        sql.Identifier(recorder.events_table_name),
    ) + sql.SQL(where)

    def fetch(*params: int) -> list[tuple[Any, ...]]:
        connection = recorder.datastore.get_connection()
        with connection as conn:
            cursor = conn.cursor(row_factory=tuple_row, binary=True)
            cursor.execute(statement, params, prepare=True)
            return cursor.fetchall()

    return fetch


def _in_part(part: Part, originator_id_type: str, shared: tuple[type, ...]) -> str:
    """The SQL condition that keeps `part`'s streams and the `shared` events of
    every stream (two whole numbers and our topic names: no quoting needed)."""
    # eventsourcing stores originator_id as uuid (or, if so configured, as text
    # holding a uuid): the last of its 16 bytes picks the part.
    column = "originator_id" if originator_id_type == "uuid" else "originator_id::uuid"
    if not shared:
        return (
            f"get_byte(uuid_send({column}), 15) %% {int(part.of)} = {int(part.number)}"
        )
    topics = ", ".join(f"'{get_topic(cls)}'" for cls in shared)
    return (
        f"(get_byte(uuid_send({column}), 15) %% {int(part.of)} = {int(part.number)}"
        f" OR topic IN ({topics}))"
    )
