"""A store holding many live items, fast: real events of a template, copied by COPY.

A thousand items are made by the application itself (ingested and scheduled);
their stored events are then copied under new item refs, item ids and subject
pseudonyms, so the rows are exactly what Lethe writes, at COPY speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from lethe.domain import identity
from lethe.domain.application import IngestRecord, Lethe
from lethe.ops.bench.infra import connect, events_table
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.settings import Settings

TEMPLATE = 1000
PER_SUBJECT = 10
CONTROLLER = "sector-alarm"
COLUMNS = "originator_id, originator_version, topic, state"


def fill_live_items(settings: Settings, items: int) -> int:
    """Write at least `items` live items (one event each); how many items."""
    app = build_app(settings)
    template = _template(app)
    copies = -(-items // TEMPLATE)
    sql = f"COPY {events_table(settings)} ({COLUMNS}) FROM STDIN"
    with connect(settings) as conn, conn.cursor() as cursor, cursor.copy(sql) as copy:
        for c in range(copies):
            for row in _copy_rows(app, template, c):
                copy.write_row(row)
    app.close()
    return copies * TEMPLATE


def _ref(copy: int, i: int) -> str:
    return f"fill-{copy:07d}-{i:04d}"


def _subject(copy: int, i: int) -> str:
    return f"fill-customer-{copy:07d}-{i // PER_SUBJECT:03d}"


def _template(app: Lethe) -> list[tuple[int, list[Any]]]:
    """(index, stored events) of each template item, made by the application."""
    at = datetime.now(UTC) - timedelta(hours=1)
    out = []
    for i in range(TEMPLATE):
        item = app.new_item(_record(i, at - timedelta(seconds=i)), at)
        out.append((i, [app.mapper.to_stored_event(e) for e in item.collect_events()]))
    return out


def _record(i: int, captured: datetime) -> IngestRecord:
    image = i % 4 == 0
    ref = _ref(0, i)
    return IngestRecord(
        item_ref=ref,
        kind="VerificationImage" if image else "AlarmEvent",
        source_topic="alarm.images.v1" if image else "alarm.events.v1",
        source_partition=i % 6,
        source_offset=i,
        controller=CONTROLLER,
        category="verification-image" if image else "arming-log",
        subject_id=_subject(0, i),
        captured_at=captured,
        blob_uri=f"s3://arc-media/{ref}.jpg" if image else None,
        sha256="0" * 64 if image else None,
    )


def _copy_rows(
    app: Lethe, template: list[tuple[int, list[Any]]], c: int
) -> Iterator[tuple[Any, ...]]:
    old_ref, new_ref = _ref(0, 0)[:13].encode(), _ref(c, 0)[:13].encode()
    pseudonyms: dict[str, bytes] = {}
    for i, stored in template:
        ref = _ref(c, i)
        old_subject = _pseudonym(app, _subject(0, i), pseudonyms)
        new_subject = _pseudonym(app, _subject(c, i), pseudonyms)
        for event in stored:
            state = event.state.replace(old_ref, new_ref)
            yield (
                identity.item_id(ref),
                event.originator_version,
                event.topic,
                state.replace(old_subject, new_subject),
            )


def _pseudonym(app: Lethe, subject_id: str, cache: dict[str, bytes]) -> bytes:
    if subject_id not in cache:
        cache[subject_id] = app.vault.pseudonym(CONTROLLER, subject_id).encode()
    return cache[subject_id]
