"""Every contract check an inbound record passes, on bytes as a pipeline sends them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lethe.consumers.changes import Command, Confirmation, LifecycleChange
from lethe.consumers.checks import Contract, redact
from lethe.consumers.codec import HEADER_SIZE, Catalogue, PoisonRecord
from lethe.consumers.records import KIND_BY_TOPIC, read
from lethe.consumers.shown import digest
from lethe.policies import load_shipped, shipped_ids
from tests.support.signing import TEST_SIGNATORIES, signed_headers

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
SUBJECT = "customer-4711-secret"
SHA = "ab" * 32
CATALOGUE = Catalogue.shipped()
CONTRACT = Contract(
    policies={policy_id: load_shipped(policy_id) for policy_id in shipped_ids()},
    max_clock_skew=timedelta(seconds=300),
    catalogue=CATALOGUE,
    signatories=TEST_SIGNATORIES,
)
RECORD_OF = {topic: kind.record for topic, kind in KIND_BY_TOPIC.items()}


@dataclass(frozen=True)
class Delivered:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int = 0
    offset: int = 42
    headers: tuple[tuple[str, bytes], ...] = ()


def metadata(**changes: Any) -> dict[str, Any]:
    return {
        "controller": "sector-alarm",
        "category": "verification-image",
        "subject_id": SUBJECT,
        "site_id": None,
        "captured_at": NOW - timedelta(minutes=3),
        "police_relevant": False,
        "legal_basis": None,
        **changes,
    }


def image(**changes: Any) -> dict[str, Any]:
    meta = changes.pop("metadata", {})
    return {
        "item_id": "img-1",
        "alarm_item_id": "alarm-1",
        "blob_uri": "s3://arc-media/img-1.jpg",
        "sha256": SHA,
        "content_type": "image/jpeg",
        "size_bytes": 123_456,
        "metadata": metadata(**meta),
        **changes,
    }


def event(**changes: Any) -> dict[str, Any]:
    meta = changes.pop("metadata", {})
    value = {"item_id": "ev-1", "event_code": "BA", "zone": "03"}
    meta = {"category": "alarm-event", **meta}
    return {**value, "metadata": metadata(**meta), **changes}


def recording(**changes: Any) -> dict[str, Any]:
    meta = changes.pop("metadata", {})
    value = {
        "item_id": "call-1",
        "line": "ALARM_CENTRAL",
        "blob_uri": "s3://calls/call-1.opus",
        "sha256": SHA,
        "duration_ms": 60_000,
    }
    meta = {"category": "alarm-call-recording", **meta}
    return {**value, "metadata": metadata(**meta), **changes}


def lifecycle(**changes: Any) -> dict[str, Any]:
    return {
        "subject_id": SUBJECT,
        "controller": "sector-alarm",
        "kind": "RELATIONSHIP_ENDED",
        "occurred_at": NOW - timedelta(days=1),
        **changes,
    }


def command(**changes: Any) -> dict[str, Any]:
    return {
        "command_id": "cmd-1",
        "kind": "PLACE_HOLD",
        "controller": "sector-alarm",
        "subject_id": None,
        "item_id": "img-1",
        "reason": "police case",
        "case_ref": "POL-2026-1",
        "requested_by": "support-17",
        "requested_at": NOW - timedelta(minutes=1),
        **changes,
    }


def confirmation(**changes: Any) -> dict[str, Any]:
    return {
        "order_id": "order-1",
        "item_id": "img-1",
        "store": "image-store",
        "outcome": "DELETED",
        "confirmed_at": NOW,
        "detail": None,
        **changes,
    }


KEY_FIELD = {
    "customer.lifecycle.v1": "subject_id",
    "lethe.commands.v1": "item_id",
}


def delivered(topic: str, value: dict[str, Any], key: str | None = "") -> Delivered:
    if key == "":
        key = value.get(KEY_FIELD.get(topic, "item_id")) or value.get("subject_id")
    data = CATALOGUE.encode(RECORD_OF[topic], value)
    raw_key = None if key is None else key.encode()
    headers = tuple(signed_headers(topic, raw_key, data, value, NOW))
    return Delivered(topic, raw_key, data, headers=headers)


def take(topic: str, value: dict[str, Any], key: str | None = "") -> Any:
    return read(KIND_BY_TOPIC[topic], delivered(topic, value, key), CONTRACT, NOW)


def refused(topic: str, value: dict[str, Any], key: str | None = "") -> str:
    with pytest.raises(PoisonRecord) as caught:
        take(topic, value, key)
    assert SUBJECT not in caught.value.reason  # never personal data in a reason
    return caught.value.reason


IMAGES, EVENTS, CALLS = "alarm.images.v1", "alarm.events.v1", "alarm.recordings.v1"
LIFECYCLE, COMMANDS = "customer.lifecycle.v1", "lethe.commands.v1"
CONFIRMATIONS = "lethe.erasure-confirmations.v1"


# -- items that pass -----------------------------------------------------------------


def test_a_valid_image_becomes_an_ingest_record_with_its_origin() -> None:
    record = delivered(IMAGES, image())
    taken = read(KIND_BY_TOPIC[IMAGES], replace(record, offset=9), CONTRACT, NOW)
    assert (taken.item_ref, taken.kind, taken.category) == (
        "img-1",
        "verification-image",
        "verification-image",
    )
    assert (taken.source_topic, taken.source_partition, taken.source_offset) == (
        IMAGES,
        0,
        9,
    )
    assert taken.subject_id == SUBJECT and taken.sha256 == SHA
    assert taken.blob_uri == "s3://arc-media/img-1.jpg"


def test_redelivery_is_told_by_the_avro_body_after_the_ten_byte_header() -> None:
    record = delivered(IMAGES, image())
    taken = take(IMAGES, image())
    assert record.value is not None
    assert taken.content == record.value[HEADER_SIZE:]


@pytest.mark.parametrize("category", ["alarm-event", "arming-log"])
def test_an_alarm_event_may_be_an_alarm_event_or_an_arming_log(category: str) -> None:
    taken = take(EVENTS, event(metadata={"category": category}))
    assert (taken.kind, taken.category) == ("alarm-event", category)


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("ALARM_CENTRAL", "alarm-call-recording"),
        ("CUSTOMER_SERVICE", "service-call-recording"),
    ],
)
def test_a_recording_s_category_follows_its_line(line: str, category: str) -> None:
    taken = take(CALLS, recording(line=line, metadata={"category": category}))
    assert taken.category == category


def test_a_recording_without_a_category_takes_the_one_its_line_says() -> None:
    taken = take(CALLS, recording(line="CUSTOMER_SERVICE", metadata={"category": ""}))
    assert taken.category == "service-call-recording"


@pytest.mark.parametrize(
    "uri", ["s3://bucket/key", "file:///var/media/x.jpg", "https://host/p?q=1"]
)
def test_blob_uris_with_a_scheme_pass(uri: str) -> None:
    assert take(IMAGES, image(blob_uri=uri)).blob_uri == uri


def test_a_capture_within_the_allowed_clock_skew_passes() -> None:
    ahead = NOW + timedelta(seconds=299)
    assert take(IMAGES, image(metadata={"captured_at": ahead})).captured_at == ahead


# -- items refused ---------------------------------------------------------------------


def test_an_image_sent_as_an_arming_log_is_refused() -> None:
    reason = refused(IMAGES, image(metadata={"category": "arming-log"}))
    assert "category 'arming-log' is not allowed for VerificationImage" in reason


def test_an_alarm_event_of_an_image_category_is_refused() -> None:
    reason = refused(EVENTS, event(metadata={"category": "verification-image"}))
    assert "allowed: alarm-event, arming-log" in reason


def test_a_recording_whose_category_contradicts_its_line_is_refused() -> None:
    value = recording(
        line="CUSTOMER_SERVICE", metadata={"category": "alarm-call-recording"}
    )
    reason = refused(CALLS, value)
    assert "line CUSTOMER_SERVICE means category service-call-recording" in reason


def test_a_recording_of_a_foreign_category_is_refused() -> None:
    reason = refused(CALLS, recording(metadata={"category": "arming-log"}))
    assert "not allowed for CallRecording" in reason


def test_an_unknown_controller_is_refused_naming_the_known_ones() -> None:
    reason = refused(IMAGES, image(metadata={"controller": "acme"}))
    assert "unknown controller 'acme'" in reason and "sector-alarm" in reason


def test_a_category_the_controller_s_policy_lacks_is_refused() -> None:
    value = recording(
        line="ALARM_CENTRAL",
        metadata={"controller": "sensornordic", "category": "alarm-call-recording"},
    )
    reason = refused(CALLS, value)
    assert (
        "policy 'sensornordic' has no rule for category 'alarm-call-recording'"
        in reason
    )


def test_a_capture_beyond_the_clock_skew_is_refused() -> None:
    ahead = NOW + timedelta(hours=1)
    reason = refused(IMAGES, image(metadata={"captured_at": ahead}))
    assert "metadata.captured_at" in reason and "3600 s in the future" in reason
    assert "allowed clock skew: 300 s" in reason


@pytest.mark.parametrize("subject", ["", "   "])
def test_an_empty_subject_is_refused(subject: str) -> None:
    reason = refused(IMAGES, image(metadata={"subject_id": subject}))
    assert reason == "metadata.subject_id is empty"


@pytest.mark.parametrize(
    ("sha", "says"),
    [
        ("AB" * 32, "some uppercase"),
        ("ab" * 31, "got 62 characters"),
        ("zz" * 32, "got 64 characters"),
    ],
)
def test_a_malformed_sha256_is_refused(sha: str, says: str) -> None:
    reason = refused(IMAGES, image(sha256=sha))
    assert "sha256 is not 64 lowercase hex characters" in reason and says in reason


@pytest.mark.parametrize(
    "uri",
    [
        "arc-media/img-1.jpg",
        "C:\\media\\img.jpg",
        "s3:",
        "",
        "/var/x.jpg",
        "s3://b/a b",
    ],
)
def test_a_blob_uri_without_a_scheme_is_refused(uri: str) -> None:
    assert "blob_uri is not a URI with a scheme" in refused(IMAGES, image(blob_uri=uri))


def test_a_recording_with_a_malformed_blob_is_refused_too() -> None:
    assert "sha256" in refused(CALLS, recording(sha256="nope"))


def test_a_key_other_than_the_item_id_is_refused() -> None:
    reason = refused(IMAGES, image(), key="img-2")
    assert reason == (
        "the key is not the record's item_id"
        f" (key {digest('img-2')}, item_id {digest('img-1')})"
    )


def test_a_record_without_a_key_is_refused() -> None:
    assert "no key" in refused(IMAGES, image(), key=None)


def test_a_key_that_is_not_utf8_is_refused() -> None:
    record = replace(delivered(IMAGES, image()), key=b"\xff\xfe")
    with pytest.raises(PoisonRecord, match="not UTF-8"):
        read(KIND_BY_TOPIC[IMAGES], record, CONTRACT, NOW)


def test_an_empty_item_id_is_refused() -> None:
    assert refused(IMAGES, image(item_id=""), key="") == "item_id is empty"


def test_bytes_that_are_not_avro_are_refused() -> None:
    record = Delivered(IMAGES, b"img-1", b'{"item_id": "img-1"}')
    with pytest.raises(PoisonRecord, match="not Avro single-object encoding"):
        read(KIND_BY_TOPIC[IMAGES], record, CONTRACT, NOW)


def test_a_record_of_another_kind_on_an_item_topic_is_refused() -> None:
    record = replace(delivered(EVENTS, event()), topic=IMAGES)
    with pytest.raises(PoisonRecord, match="expected lethe.v1.VerificationImage"):
        read(KIND_BY_TOPIC[IMAGES], record, CONTRACT, NOW)


# -- customer lifecycle ----------------------------------------------------------------


def test_a_lifecycle_record_becomes_a_lifecycle_change() -> None:
    taken = take(LIFECYCLE, lifecycle())
    assert taken == LifecycleChange(
        "sector-alarm", SUBJECT, "RELATIONSHIP_ENDED", NOW - timedelta(days=1)
    )
    assert SUBJECT not in taken.describe()


def test_a_lifecycle_key_other_than_the_subject_is_refused_without_quoting_it() -> None:
    assert refused(LIFECYCLE, lifecycle(), key="someone-else") == (
        "the key is not the record's subject_id"
        f" (key {digest('someone-else')}, subject_id {digest(SUBJECT)})"
    )


def test_a_lifecycle_record_for_an_unknown_controller_is_refused() -> None:
    assert "unknown controller" in refused(LIFECYCLE, lifecycle(controller="acme"))


def test_a_lifecycle_record_without_a_subject_is_refused() -> None:
    assert refused(LIFECYCLE, lifecycle(subject_id=""), key="") == "subject_id is empty"


def test_a_lifecycle_record_from_the_future_is_refused() -> None:
    later = NOW + timedelta(days=2)
    assert "occurred_at" in refused(LIFECYCLE, lifecycle(occurred_at=later))


# -- commands --------------------------------------------------------------------------


def test_an_item_command_names_the_item() -> None:
    taken = take(COMMANDS, command())
    assert isinstance(taken, Command)
    assert (taken.item_ref, taken.subject_id, taken.case_ref) == (
        "img-1",
        None,
        "POL-2026-1",
    )


def test_a_subject_command_is_keyed_by_the_subject() -> None:
    value = command(
        kind="ERASE_SUBJECT", item_id=None, subject_id=SUBJECT, case_ref=None
    )
    taken = take(COMMANDS, value, key=SUBJECT)
    assert (taken.kind, taken.subject_id) == ("ERASE_SUBJECT", SUBJECT)
    assert SUBJECT not in taken.describe()


@pytest.mark.parametrize(
    ("subject_id", "item_id", "says"),
    [
        (SUBJECT, "img-1", "both are set"),
        (None, None, "neither is"),
        ("  ", None, "neither"),
    ],
)
def test_a_command_names_exactly_one_target(
    subject_id: str | None, item_id: str | None, says: str
) -> None:
    value = command(subject_id=subject_id, item_id=item_id)
    reason = refused(COMMANDS, value, key="img-1")
    assert "exactly one of subject_id and item_id" in reason and says in reason


def test_an_erasure_of_an_item_is_refused_it_erases_subjects() -> None:
    reason = refused(COMMANDS, command(kind="ERASE_SUBJECT"))
    assert reason == "ERASE_SUBJECT names a subject_id, not an item_id"


@pytest.mark.parametrize(
    "kind", ["PLACE_HOLD", "RELEASE_HOLD", "RESTRICT", "LIFT_RESTRICTION"]
)
def test_holds_and_restrictions_need_a_case_reference(kind: str) -> None:
    reason = refused(COMMANDS, command(kind=kind, case_ref=None))
    assert reason == f"case_ref (needed by {kind}) is empty"


@pytest.mark.parametrize("field", ["command_id", "reason", "requested_by"])
def test_a_command_without_its_who_and_why_is_refused(field: str) -> None:
    assert refused(COMMANDS, command(**{field: " "})) == f"{field} is empty"


def test_a_subject_command_keyed_otherwise_is_refused_without_quoting_it() -> None:
    value = command(item_id=None, subject_id=SUBJECT)
    reason = refused(COMMANDS, value, key="x")
    assert reason.startswith("the key is not the record's subject_id (key key#")
    assert SUBJECT not in reason


def test_a_command_for_an_unknown_controller_is_refused() -> None:
    assert "unknown controller" in refused(COMMANDS, command(controller="acme"))


def test_a_command_from_the_future_is_refused() -> None:
    later = NOW + timedelta(minutes=10)
    assert "requested_at" in refused(COMMANDS, command(requested_at=later))


# -- confirmations -----------------------------------------------------------------


def test_a_confirmation_becomes_a_confirmation() -> None:
    taken = take(CONFIRMATIONS, confirmation(outcome="FAILED", detail="disk"))
    assert taken == Confirmation(
        "img-1", "order-1", "image-store", "FAILED", "disk", NOW
    )


@pytest.mark.parametrize("field", ["order_id", "store"])
def test_a_confirmation_without_order_or_store_is_refused(field: str) -> None:
    assert refused(CONFIRMATIONS, confirmation(**{field: ""})) == f"{field} is empty"


def test_a_confirmation_keyed_by_another_item_is_refused() -> None:
    assert f"(key {digest('img-9')}," in refused(
        CONFIRMATIONS, confirmation(), key="img-9"
    )


def test_a_null_value_on_a_command_topic_is_refused() -> None:
    record = Delivered(COMMANDS, b"img-1", None)
    with pytest.raises(PoisonRecord, match="null value"):
        read(KIND_BY_TOPIC[COMMANDS], record, CONTRACT, NOW)


# -- no personal data in a reason --------------------------------------------------


def test_redact_blots_out_a_subject_id_quoted_from_deeper_down() -> None:
    assert redact(f"no hold for {SUBJECT} here", [SUBJECT, None, ""]) == (
        f"no hold for {digest(SUBJECT)} here"
    )


def test_a_reason_that_would_quote_the_subject_has_it_withheld() -> None:
    # The item id is quoted in a key mismatch; a producer that put the subject
    # id there must not get it echoed into the dead-letter topic.
    value = image(item_id=SUBJECT)
    reason = refused(IMAGES, value, key="img-1")
    assert SUBJECT not in reason and digest(SUBJECT) in reason


# -- implausible input (issue 11, part 4) ----------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "s3://media/../other/key",
        "file:///var/media/../../etc/passwd",
        "file:///var/media/%2e%2e/secret",
        "s3://media/./key",
        "s3://media/key%00.jpg",
        "s3://media/a%5Cb",
        "s3:media/key",
        "https:///no-host/x",
    ],
)
def test_a_blob_uri_that_is_not_clean_and_absolute_is_refused(uri: str) -> None:
    reason = refused(IMAGES, image(blob_uri=uri))
    assert reason.startswith("blob_uri is not a clean absolute URI: ")
    assert "passwd" not in reason and "media" not in reason  # never the URI itself


@pytest.mark.parametrize(
    "captured_at",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    ],
)
def test_a_capture_before_the_earliest_plausible_instant_is_refused(
    captured_at: datetime,
) -> None:
    reason = refused(IMAGES, image(metadata={"captured_at": captured_at}))
    assert "metadata.captured_at" in reason and "before 2000-01-01" in reason


def test_the_earliest_plausible_instant_itself_passes() -> None:
    at = datetime(2000, 1, 1, tzinfo=UTC)
    assert take(IMAGES, image(metadata={"captured_at": at})).captured_at == at


def test_the_earliest_instant_is_the_contracts_to_choose() -> None:
    later = replace(CONTRACT, earliest=datetime(2020, 1, 1, tzinfo=UTC))
    value = image(metadata={"captured_at": datetime(2019, 6, 1, tzinfo=UTC)})
    with pytest.raises(PoisonRecord, match="before 2020-01-01"):
        read(KIND_BY_TOPIC[IMAGES], delivered(IMAGES, value, ""), later, NOW)


def test_a_lifecycle_change_dated_at_epoch_zero_is_refused() -> None:
    at = datetime(1970, 1, 1, tzinfo=UTC)
    assert "occurred_at" in refused(LIFECYCLE, lifecycle(occurred_at=at), SUBJECT)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\n"])
def test_a_control_character_in_an_item_id_is_refused(char: str) -> None:
    item_id = f"img{char}1"
    reason = refused(IMAGES, image(item_id=item_id), key=item_id)
    assert reason.startswith(f"item_id holds a control character (U+{ord(char):04X}")


def test_a_nul_in_a_nested_field_is_refused_by_its_dotted_name() -> None:
    reason = refused(IMAGES, image(metadata={"controller": "sector\x00alarm"}))
    assert reason.startswith("metadata.controller holds a control character")


def test_a_nul_in_a_subject_id_is_refused_without_showing_the_subject() -> None:
    subject = SUBJECT + "\x00"
    reason = refused(IMAGES, image(metadata={"subject_id": subject}))
    assert reason.startswith("metadata.subject_id holds a control character")


@pytest.mark.parametrize(
    ("field", "limit"), [("item_id", 200), ("content_type", 100), ("blob_uri", 2048)]
)
def test_a_value_longer_than_its_fields_limit_is_refused(
    field: str, limit: int
) -> None:
    at_limit = "s3://b/" + "k" * (limit - 7) if field == "blob_uri" else "x" * limit
    over = at_limit + "k"
    key = {"item_id": over}.get(field, "")
    reason = refused(IMAGES, image(**{field: over}), key=key or "")
    assert reason == f"{field} is {limit + 1} characters long (at most {limit})"
    key = {"item_id": at_limit}.get(field, "")
    assert take(IMAGES, image(**{field: at_limit}), key=key or "") is not None


def test_a_command_reason_over_its_limit_is_refused() -> None:
    reason = refused(COMMANDS, command(reason="x" * 800_000))
    assert reason == "reason is 800000 characters long (at most 1000)"


def test_a_command_reason_may_run_over_lines() -> None:
    text = "Police case 2026/114:\n\tkeep everything of the site"
    assert take(COMMANDS, command(reason=text)).reason == text


def test_a_confirmation_detail_with_a_bell_is_refused() -> None:
    reason = refused(CONFIRMATIONS, confirmation(detail="gone\x07"))
    assert reason.startswith("detail holds a control character (U+0007")
