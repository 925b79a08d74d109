"""The codec: fixed bytes, round trips, schema evolution, and poison records."""

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.consumers.codec import Catalogue, PoisonRecord

SCHEMA_DIR = Path(str(resources.files("lethe.schemas")))
CAPTURED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
IMAGE_BYTES = b"\xff\xd8\xff\xe0 a verification image"

FIXED_ALARM_EVENT: dict[str, Any] = {
    "item_id": "evt-000123",
    "event_code": "BA",
    "zone": "3",
    "metadata": {
        "controller": "sector-alarm",
        "category": "alarm-event",
        "subject_id": "cust-42",
        "site_id": "site-7",
        "captured_at": CAPTURED,
        "police_relevant": False,
        "legal_basis": None,
    },
}
# Body checked against Apache Avro's Python encoder; the fingerprint is
# CRC-64-AVRO of the Parsing Canonical Form, as Java's SchemaNormalization
# computes it (little-endian on the wire).
FIXED_ALARM_EVENT_BYTES = bytes.fromhex(
    "c301"  # single-object marker
    "d8a446a95208350f"  # fingerprint of lethe.v1.AlarmEvent
    "146576742d303030313233"  # item_id "evt-000123"
    "044241"  # event_code "BA"
    "020233"  # zone: union branch 1 (string), "3"
    "18736563746f722d616c61726d"  # controller "sector-alarm"
    "16616c61726d2d6576656e74"  # category "alarm-event"
    "0e637573742d3432"  # subject_id "cust-42"
    "020c736974652d37"  # site_id: branch 1, "site-7"
    "80a8a8949567"  # captured_at 2026-03-01T12:00Z in ms, zigzag varint
    "00"  # police_relevant false
    "00"  # legal_basis: branch 0 (null)
)


def metadata(**overrides: Any) -> dict[str, Any]:
    return {**FIXED_ALARM_EVENT["metadata"], **overrides}


REALISTIC = {
    "RetentionMetadata": metadata(legal_basis="GDPR art. 6(1)(b)"),
    "AlarmEvent": FIXED_ALARM_EVENT,
    "VerificationImage": {
        "item_id": "img-20260301-0042",
        "alarm_item_id": "evt-000123",
        "blob_uri": "s3://lethe-media/images/img-20260301-0042.jpg",
        "sha256": hashlib.sha256(IMAGE_BYTES).hexdigest(),
        "content_type": "image/jpeg",
        "size_bytes": len(IMAGE_BYTES),
        "metadata": metadata(category="verification-image", police_relevant=True),
    },
    "CallRecording": {
        "item_id": "call-7781",
        "line": "ALARM_CENTRAL",
        "blob_uri": "s3://lethe-media/calls/call-7781.opus",
        "sha256": hashlib.sha256(b"audio").hexdigest(),
        "duration_ms": 93_500,
        "metadata": metadata(category="alarm-call-recording", site_id=None),
    },
    "CustomerLifecycle": {
        "subject_id": "cust-42",
        "controller": "sector-alarm",
        "kind": "RELATIONSHIP_ENDED",
        "occurred_at": CAPTURED + timedelta(days=400),
    },
    "LetheCommand": {
        "command_id": "cmd-0001",
        "kind": "PLACE_HOLD",
        "controller": "sector-alarm",
        "subject_id": None,
        "item_id": "img-20260301-0042",
        "reason": "Police request: burglary at site-7",
        "case_ref": "POLITIET-2026-118",
        "requested_by": "operator-ola",
        "requested_at": CAPTURED + timedelta(days=2),
    },
    "ErasureOrder": {
        "order_id": "ord-9f1c",
        "item_id": "img-20260301-0042",
        "source_topic": "alarm.images.v1",
        "category": "verification-image",
        "blob_uri": "s3://lethe-media/images/img-20260301-0042.jpg",
        "sha256": hashlib.sha256(IMAGE_BYTES).hexdigest(),
        "reason": "RETENTION_EXPIRED",
        "rule": "sector-alarm@2024-10-25.1/verification-image",
        "due_at": CAPTURED + timedelta(days=7),
        "ordered_at": CAPTURED + timedelta(days=7, seconds=5),
        "attempt": 2,
        "replay": {
            "number": 1,
            "store": "image-store",
            "since": CAPTURED + timedelta(days=1),
        },
    },
    "ErasureConfirmation": {
        "order_id": "ord-9f1c",
        "item_id": "img-20260301-0042",
        "store": "image-store",
        "outcome": "FAILED",
        "confirmed_at": CAPTURED + timedelta(days=7, seconds=9),
        "detail": "bucket unavailable (HTTP 503)",
    },
}


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.shipped()


def test_an_alarm_event_encodes_to_the_fixed_bytes(catalogue: Catalogue) -> None:
    assert catalogue.encode("AlarmEvent", FIXED_ALARM_EVENT) == FIXED_ALARM_EVENT_BYTES


def test_the_fixed_bytes_decode_to_the_alarm_event(catalogue: Catalogue) -> None:
    decoded = catalogue.decode(FIXED_ALARM_EVENT_BYTES)
    assert decoded == ("AlarmEvent", FIXED_ALARM_EVENT)


def test_the_fingerprint_is_the_eight_header_bytes(catalogue: Catalogue) -> None:
    assert catalogue.fingerprint("lethe.v1.AlarmEvent") == FIXED_ALARM_EVENT_BYTES[2:10]


@pytest.mark.parametrize("name", sorted(REALISTIC))
def test_every_record_round_trips(catalogue: Catalogue, name: str) -> None:
    data = catalogue.encode(name, REALISTIC[name])
    assert catalogue.decode(data) == (name, REALISTIC[name])
    assert catalogue.decode_as(data, f"lethe.v1.{name}") == REALISTIC[name]


def test_defaults_fill_fields_left_out(catalogue: Catalogue) -> None:
    value = copy.deepcopy(FIXED_ALARM_EVENT)
    for optional in ("site_id", "police_relevant", "legal_basis"):
        del value["metadata"][optional]
    del value["zone"]
    _, decoded = catalogue.decode(catalogue.encode("AlarmEvent", value))
    assert decoded["zone"] is None
    assert decoded["metadata"]["police_relevant"] is False


def test_timestamps_decode_as_utc_and_keep_the_instant(catalogue: Catalogue) -> None:
    oslo = CAPTURED.astimezone(ZoneInfo("Europe/Oslo"))
    value = {**FIXED_ALARM_EVENT, "metadata": metadata(captured_at=oslo)}
    _, decoded = catalogue.decode(catalogue.encode("AlarmEvent", value))
    captured = decoded["metadata"]["captured_at"]
    assert captured == CAPTURED and captured.utcoffset() == timedelta(0)


def test_decode_as_rejects_another_record(catalogue: Catalogue) -> None:
    data = catalogue.encode("CallRecording", REALISTIC["CallRecording"])
    with pytest.raises(PoisonRecord) as caught:
        catalogue.decode_as(data, "AlarmEvent")
    assert caught.value.reason == (
        "expected lethe.v1.AlarmEvent, got lethe.v1.CallRecording"
    )


def broken(change: Any) -> dict[str, Any]:
    value = copy.deepcopy(FIXED_ALARM_EVENT)
    change(value)
    return value


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (broken(lambda v: v.pop("item_id")), "item_id"),
        (broken(lambda v: v["metadata"].pop("captured_at")), "captured_at"),
        (broken(lambda v: v["metadata"].update(subject_id=4242)), "subject_id"),
        (broken(lambda v: v["metadata"].update(police_relevant=1)), "police_relevant"),
        (broken(lambda v: v.update(zone=["3"])), "zone"),
        (broken(lambda v: v.update(priority=1)), "priority"),
    ],
    ids=["missing", "missing-nested", "wrong-type", "int-as-bool", "union", "extra"],
)
def test_a_value_that_does_not_fit_is_refused_naming_the_field(
    catalogue: Catalogue, value: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field) as caught:
        catalogue.encode("AlarmEvent", value)
    assert not isinstance(caught.value, PoisonRecord)


def test_a_refusal_never_repeats_the_value(catalogue: Catalogue) -> None:
    # The value may be personal data and the message may reach a log.
    value = broken(lambda v: v["metadata"].update(subject_id=19870412))
    with pytest.raises(ValueError) as caught:
        catalogue.encode("AlarmEvent", value)
    assert "19870412" not in str(caught.value)


def test_a_naive_datetime_is_refused(catalogue: Catalogue) -> None:
    # Naive means local time to fastavro: the instant would depend on the host.
    value = broken(lambda v: v["metadata"].update(captured_at=datetime(2026, 3, 1)))
    with pytest.raises(ValueError, match="metadata.captured_at"):
        catalogue.encode("AlarmEvent", value)


def test_an_unknown_record_name_is_refused(catalogue: Catalogue) -> None:
    with pytest.raises(ValueError, match="Alarm"):
        catalogue.encode("Alarm", FIXED_ALARM_EVENT)


def body_of(data: bytes) -> bytes:
    return data[10:]


UNKNOWN_FINGERPRINT = bytes.fromhex("1234abcd00000000")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty value"),
        (b'{"item_id": "evt-1"}', "no C3 01 marker"),
        (b"\x00" + FIXED_ALARM_EVENT_BYTES, "no C3 01 marker"),
        (FIXED_ALARM_EVENT_BYTES[:6], "header cut short: 6 bytes"),
        (
            b"\xc3\x01" + UNKNOWN_FINGERPRINT + body_of(FIXED_ALARM_EVENT_BYTES),
            "unknown schema fingerprint 1234abcd00000000 (not in Lethe's catalogue)",
        ),
        (FIXED_ALARM_EVENT_BYTES[:-3], "body does not decode as lethe.v1.AlarmEvent"),
        (FIXED_ALARM_EVENT_BYTES[:10], "body does not decode as lethe.v1.AlarmEvent"),
        (
            FIXED_ALARM_EVENT_BYTES[:10] + b"\xff" * 40,
            "body does not decode as lethe.v1.AlarmEvent",
        ),
        (
            FIXED_ALARM_EVENT_BYTES + b"\x00\x00",
            "2 bytes left over after the record",
        ),
    ],
    ids=[
        "empty",
        "json",
        "shifted",
        "short-header",
        "unknown-fingerprint",
        "truncated-body",
        "no-body",
        "garbage-body",
        "trailing-bytes",
    ],
)
def test_bytes_that_are_not_a_record_are_poison_with_a_reason(
    catalogue: Catalogue, data: bytes, reason: str
) -> None:
    with pytest.raises(PoisonRecord) as caught:
        catalogue.decode(data)
    assert reason in caught.value.reason
    with pytest.raises(PoisonRecord):
        catalogue.decode_as(data, "AlarmEvent")


def test_a_bad_enum_index_is_poison(catalogue: Catalogue) -> None:
    data = catalogue.encode("CustomerLifecycle", REALISTIC["CustomerLifecycle"])
    enum_at = 10 + 8 + 13  # header, subject_id "cust-42", controller "sector-alarm"
    assert data[enum_at] == 0  # RELATIONSHIP_ENDED
    with pytest.raises(PoisonRecord, match="CustomerLifecycle"):
        catalogue.decode(data[:enum_at] + b"\x7e" + data[enum_at + 1 :])


def newer_alarm_event() -> dict[str, Any]:
    """A test-only next version of AlarmEvent: one field added, with a default."""
    schema: dict[str, Any] = json.loads(
        (SCHEMA_DIR / "lethe.v1.AlarmEvent.avsc").read_text()
    )
    schema["fields"].append(
        {"name": "priority", "type": "int", "default": 0, "doc": "Test only."}
    )
    return schema


@pytest.fixture
def newer(tmp_path: Path) -> Catalogue:
    for path in SCHEMA_DIR.glob("*.avsc"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "lethe.v1.AlarmEvent.avsc").write_text(json.dumps(newer_alarm_event()))
    return Catalogue.from_dir(tmp_path)


def test_a_newer_reader_reads_bytes_of_the_shipped_schema(newer: Catalogue) -> None:
    newer.add_writer_schema(SCHEMA_DIR / "lethe.v1.AlarmEvent.avsc")
    name, value = newer.decode(FIXED_ALARM_EVENT_BYTES)
    assert (name, value) == ("AlarmEvent", {**FIXED_ALARM_EVENT, "priority": 0})


def test_a_newer_reader_rejects_an_unregistered_older_writer(newer: Catalogue) -> None:
    with pytest.raises(PoisonRecord, match="unknown schema fingerprint"):
        newer.decode(FIXED_ALARM_EVENT_BYTES)


def test_an_older_reader_rejects_an_unregistered_newer_writer(
    catalogue: Catalogue, newer: Catalogue
) -> None:
    data = newer.encode("AlarmEvent", {**FIXED_ALARM_EVENT, "priority": 2})
    with pytest.raises(PoisonRecord, match="unknown schema fingerprint"):
        catalogue.decode(data)


def test_an_older_reader_reads_a_registered_newer_writer(
    catalogue: Catalogue, newer: Catalogue
) -> None:
    # The dict names RetentionMetadata; it resolves from the catalogue's files.
    catalogue.add_writer_schema(newer_alarm_event())
    data = newer.encode("AlarmEvent", {**FIXED_ALARM_EVENT, "priority": 2})
    assert catalogue.decode(data) == ("AlarmEvent", FIXED_ALARM_EVENT)


def test_a_writer_schema_needs_a_current_schema_of_its_name(
    catalogue: Catalogue,
) -> None:
    stranger = {**newer_alarm_event(), "name": "Stranger"}
    with pytest.raises(ValueError, match="lethe.v1.Stranger"):
        catalogue.add_writer_schema(stranger)


def test_a_registered_writer_stays_in_its_own_catalogue(newer: Catalogue) -> None:
    Catalogue.shipped().add_writer_schema(newer_alarm_event())
    data = newer.encode("AlarmEvent", {**FIXED_ALARM_EVENT, "priority": 2})
    with pytest.raises(PoisonRecord):
        Catalogue.shipped().decode(data)


texts = st.text(max_size=40)
optional_texts = st.none() | texts
instants = st.integers(
    min_value=int(datetime(1900, 1, 1, tzinfo=UTC).timestamp() * 1000),
    max_value=int(datetime(9999, 1, 1, tzinfo=UTC).timestamp() * 1000),
).map(lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms))
alarm_events = st.fixed_dictionaries(
    {
        "item_id": texts,
        "event_code": texts,
        "zone": optional_texts,
        "metadata": st.fixed_dictionaries(
            {
                "controller": texts,
                "category": texts,
                "subject_id": texts,
                "site_id": optional_texts,
                "captured_at": instants,
                "police_relevant": st.booleans(),
                "legal_basis": optional_texts,
            }
        ),
    }
)


@given(alarm_events)
def test_any_valid_alarm_event_round_trips(value: dict[str, Any]) -> None:
    catalogue = Catalogue.shipped()
    assert catalogue.decode(catalogue.encode("AlarmEvent", value)) == (
        "AlarmEvent",
        value,
    )
