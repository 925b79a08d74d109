"""Test support: fakes and builders shared by unit, contract and integration tests."""

from __future__ import annotations

from datetime import UTC, datetime

from lethe.domain.application import IngestRecord
from tests.support.subjects import used

T0 = datetime(2026, 3, 25, 11, 0, tzinfo=UTC)

TOPIC_OF_KIND = {
    "alarm-event": "alarm.events.v1",
    "verification-image": "alarm.images.v1",
    "call-recording": "alarm.recordings.v1",
}


def ingest_record(
    item_ref: str,
    category: str,
    subject_id: str,
    captured_at: datetime = T0,
    *,
    kind: str | None = None,
    offset: int = 0,
    controller: str = "sector-alarm",
    police_relevant: bool = False,
    content: bytes | None = None,
) -> IngestRecord:
    """A decoded inbound record; its content is the item ref unless given."""
    kind = kind or (
        "verification-image" if category == "verification-image" else "alarm-event"
    )
    used(subject_id)
    return IngestRecord(
        item_ref=item_ref,
        kind=kind,
        source_topic=TOPIC_OF_KIND.get(kind, "alarm.events.v1"),
        source_partition=0,
        source_offset=offset,
        controller=controller,
        category=category,
        subject_id=subject_id,
        captured_at=captured_at,
        police_relevant=police_relevant,
        blob_uri=f"s3://arc-media/{item_ref}",
        sha256="ab" * 32,
        content=item_ref.encode() if content is None else content,
    )
