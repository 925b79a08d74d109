"""Bulk loading: the events or aggregates of many streams in one query each chunk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from lethe.domain import identity
from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.domain.ordering import project
from lethe.projections.decode import fast_decoder
from lethe.projections.store import SqlViews

# Enough ids per query to amortise the round trip, few enough for SQLite's
# bound-parameter limit and a PostgreSQL plan that stays an index scan.
CHUNK = 500


def load_events(
    app: Lethe, views: SqlViews, ids: Iterable[UUID], topics: Sequence[str] = ()
) -> dict[UUID, list[Any]]:
    """Each stream's domain events in version order (optionally of some topics only)."""
    by_id: dict[UUID, list[Any]] = {}
    decode = fast_decoder(app)
    for stored in select_stored(app, views, ids, topics):
        event = decode(stored)
        by_id.setdefault(event.originator_id, []).append(event)
    return by_id


def load_aggregates(
    app: Lethe, views: SqlViews, ids: Iterable[UUID]
) -> dict[UUID, Any]:
    """The current state of every stream that exists; missing ids are left out."""
    wanted = list(dict.fromkeys(ids))
    if app.snapshots is not None:
        # A snapshotting app keeps history out of reach of one query: go one by one.
        return {i: app.repository.get(i) for i in wanted if i in app.repository}
    events = load_events(app, views, wanted)
    return {i: project(events[i]) for i in wanted if i in events}


def load_items(app: Lethe, views: SqlViews, item_refs: Iterable[str]) -> list[Item]:
    """The items that exist among `item_refs`, in the order asked."""
    ids = [identity.item_id(ref) for ref in item_refs]
    found = load_aggregates(app, views, ids)
    return [found[i] for i in ids if i in found]


def select_stored(
    app: Lethe, views: SqlViews, ids: Iterable[UUID], topics: Sequence[str] = ()
) -> list[StoredEvent]:
    """The stored events of many streams, ordered by stream and version."""
    recorder: Any = app.process_recorder
    wanted = list(dict.fromkeys(ids))
    found: list[StoredEvent] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        if views.is_postgres:
            found.extend(_select_postgres(views, recorder, chunk, topics))
        else:
            found.extend(_select_sqlite(views, recorder, chunk, topics))
    return found


def _select_postgres(
    views: SqlViews, recorder: Any, ids: list[UUID], topics: Sequence[str]
) -> list[StoredEvent]:
    table = (
        f"{_quoted(recorder.datastore.schema)}.{_quoted(recorder.events_table_name)}"
    )
    sql = (
        f"SELECT originator_id, originator_version, topic, state FROM {table}"
        " WHERE originator_id = ANY(?)"
    )
    params: list[Any] = [ids]
    if topics:
        sql += " AND topic = ANY(?)"
        params.append(list(topics))
    rows = views.query(sql + " ORDER BY originator_id, originator_version", params)
    return [StoredEvent(r[0], r[1], r[2], bytes(r[3])) for r in rows]


def _select_sqlite(
    views: SqlViews, recorder: Any, ids: list[UUID], topics: Sequence[str]
) -> list[StoredEvent]:
    # eventsourcing's SQLite recorder keys streams by the UUID's hex form.
    marks = ",".join("?" for _ in ids)
    sql = (
        "SELECT originator_id, originator_version, topic, state"
        f" FROM {recorder.events_table_name} WHERE originator_id IN ({marks})"
    )
    params: list[Any] = [i.hex for i in ids]
    if topics:
        sql += f" AND topic IN ({','.join('?' for _ in topics)})"
        params.extend(topics)
    rows = views.query(sql + " ORDER BY originator_id, originator_version", params)
    convert = recorder.convert_originator_id
    return [StoredEvent(convert(r[0]), r[1], r[2], bytes(r[3])) for r in rows]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def select_positioned(
    app: Lethe,
    views: SqlViews,
    ids: Iterable[UUID],
    topics: Sequence[str],
    below: int,
) -> list[tuple[int, StoredEvent]]:
    """Stored events of some topics of many streams, with their notification ids,
    below a position of the log, in log order."""
    recorder: Any = app.process_recorder
    wanted = list(dict.fromkeys(ids))
    found: list[tuple[int, StoredEvent]] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        if views.is_postgres:
            table = (
                f"{_quoted(recorder.datastore.schema)}."
                f"{_quoted(recorder.events_table_name)}"
            )
            sql = (
                "SELECT notification_id, originator_id, originator_version, topic,"
                f" state FROM {table} WHERE originator_id = ANY(?)"
                " AND topic = ANY(?) AND notification_id < ?"
            )
            params: list[Any] = [chunk, list(topics), below]
            convert: Any = lambda value: value  # noqa: E731
        else:
            marks = ",".join("?" for _ in chunk)
            sql = (
                "SELECT rowid, originator_id, originator_version, topic, state"
                f" FROM {recorder.events_table_name}"
                f" WHERE originator_id IN ({marks})"
                f" AND topic IN ({','.join('?' for _ in topics)}) AND rowid < ?"
            )
            params = [*(i.hex for i in chunk), *topics, below]
            convert = recorder.convert_originator_id
        for r in views.query(sql, params):
            found.append((r[0], StoredEvent(convert(r[1]), r[2], r[3], bytes(r[4]))))
    return sorted(found, key=lambda pair: pair[0])
