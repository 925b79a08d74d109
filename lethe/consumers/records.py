"""Inbound records into application inputs, refusing what breaks the wire contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lethe.consumers import checks
from lethe.consumers.changes import Command, Confirmation, LifecycleChange
from lethe.consumers.checks import Contract, Delivered
from lethe.consumers.codec import HEADER_SIZE, PoisonRecord
from lethe.consumers.reasons import ReasonCode
from lethe.consumers.signatures import ROLE_FOR_TOPIC, Signatory, may_sign, verify
from lethe.domain.application import IngestRecord

EVENT_CATEGORIES = ("alarm-event", "arming-log")
IMAGE_CATEGORIES = ("verification-image",)
# The line decides a recording's rule: the ARC standard keeps alarm calls.
LINE_CATEGORIES = {
    "ALARM_CENTRAL": "alarm-call-recording",
    "CUSTOMER_SERVICE": "service-call-recording",
}
RECORDING_CATEGORIES = tuple(LINE_CATEGORIES.values())

SIGNED_BY = "lethe.signed-by"  # the verified signer, added to a signed record's value
UNSIGNED = "(not signed yet)"  # read_unsigned's: a producer's check before it signs
Reader = Callable[[Delivered, dict[str, Any], Contract, datetime], Any]


@dataclass(frozen=True)
class Kind:
    """One inbound topic of the contract: its record and how to read it."""

    topic: str  # the contract's name; deployments may prefix it
    record: str
    read: Reader
    is_item: bool  # items go through Lethe.ingest; the rest are changes


def read(kind: Kind, record: Delivered, contract: Contract, now: datetime) -> Any:
    """The application input for `record`, or PoisonRecord saying what to fix."""
    _not_null(kind, record)
    if kind.topic not in ROLE_FOR_TOPIC:
        return _checked(kind, record, contract, now, None)
    headers = getattr(record, "headers", None)
    assert record.value is not None
    signatory = verify(
        headers, kind.topic, record.key, record.value, contract.signatories
    )
    return _checked(kind, record, contract, now, signatory)


def read_unsigned(
    kind: Kind, record: Delivered, contract: Contract, now: datetime
) -> Any:
    """Every check of `read` but the signature's: for a producer that signs a
    record as it sends it (`lethe produce` refuses what `lethe run` would)."""
    _not_null(kind, record)
    return _checked(kind, record, contract, now, None)


def _not_null(kind: Kind, record: Delivered) -> None:
    if record.value is None:
        raise PoisonRecord(
            f"null value: {kind.topic} takes {kind.record} records",
            code=ReasonCode.NULL_VALUE,
        )


def _checked(
    kind: Kind,
    record: Delivered,
    contract: Contract,
    now: datetime,
    signatory: Signatory | None,
) -> Any:
    value = contract.catalogue.decode_as(bytes(record.value or b""), kind.record)
    if kind.topic in ROLE_FOR_TOPIC:
        # Who asked is the key that signed, not what the record says of itself.
        value = {**value, SIGNED_BY: signatory.principal if signatory else UNSIGNED}
    try:
        # First: a NUL that PostgreSQL refuses must never reach the store.
        checks.texts(value)
        taken = kind.read(record, value, contract, now)
        if signatory is not None:
            may_sign(signatory, kind.topic, value)
        return taken
    except PoisonRecord as poison:
        raise PoisonRecord(
            checks.redact(poison.reason, checks.personal(value)), code=poison.code
        ) from None


# -- items --------------------------------------------------------------------------


def alarm_event(
    record: Delivered, value: dict[str, Any], contract: Contract, now: datetime
) -> IngestRecord:
    meta = value["metadata"]
    checks.allowed(meta["category"], EVENT_CATEGORIES, "AlarmEvent")
    return _item(record, value, "alarm-event", meta["category"], contract, now)


def verification_image(
    record: Delivered, value: dict[str, Any], contract: Contract, now: datetime
) -> IngestRecord:
    meta = value["metadata"]
    checks.allowed(meta["category"], IMAGE_CATEGORIES, "VerificationImage")
    checks.blob(value)
    return _item(record, value, "verification-image", meta["category"], contract, now)


def call_recording(
    record: Delivered, value: dict[str, Any], contract: Contract, now: datetime
) -> IngestRecord:
    category = LINE_CATEGORIES[value["line"]]
    given = value["metadata"]["category"]
    if given.strip() and given != category:
        checks.allowed(given, RECORDING_CATEGORIES, "CallRecording")
        raise PoisonRecord(
            f"line {value['line']} means category {category}, "
            f"but metadata.category is {given!r}",
            code=ReasonCode.BAD_FIELDS,
        )
    checks.blob(value)
    return _item(record, value, "call-recording", category, contract, now)


def _item(
    record: Delivered,
    value: dict[str, Any],
    kind: str,
    category: str,
    contract: Contract,
    now: datetime,
) -> IngestRecord:
    item_ref = checks.nonempty(value["item_id"], "item_id")
    checks.key_is(record, item_ref, "item_id")
    meta = value["metadata"]
    checks.rule_exists(contract, meta["controller"], category)
    checks.nonempty(meta["subject_id"], "metadata.subject_id")
    checks.plausible(meta["captured_at"], "metadata.captured_at", contract, now)
    return IngestRecord(
        item_ref=item_ref,
        kind=kind,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        controller=meta["controller"],
        category=category,
        subject_id=meta["subject_id"],
        captured_at=meta["captured_at"],
        police_relevant=meta["police_relevant"],
        blob_uri=value.get("blob_uri"),
        sha256=value.get("sha256"),
        legal_basis=meta["legal_basis"],
        # The Avro body: a redelivery is byte-identical, a conflicting copy is not.
        content=bytes(record.value or b"")[HEADER_SIZE:],
    )


# -- subjects, commands, confirmations ---------------------------------------------


def lifecycle_change(
    record: Delivered, value: dict[str, Any], contract: Contract, now: datetime
) -> LifecycleChange:
    subject_id = checks.nonempty(value["subject_id"], "subject_id")
    checks.key_is(record, subject_id, "subject_id")
    checks.policy(contract, value["controller"])
    checks.plausible(value["occurred_at"], "occurred_at", contract, now)
    if value["kind"] == "UNKNOWN":
        # The enum's default: a kind added after this Lethe's schema. Guessing
        # what it means could invent a fact; park it until Lethe knows it.
        raise PoisonRecord(
            "kind UNKNOWN: a lifecycle kind newer than this Lethe's schema; "
            "upgrade Lethe, then replay this record from the dead-letter topic",
            code=ReasonCode.NEWER_THAN_LETHE,
        )
    return LifecycleChange(
        value["controller"], subject_id, value["kind"], value["occurred_at"]
    )


def command(
    record: Delivered, value: dict[str, Any], contract: Contract, now: datetime
) -> Command:
    # Blank counts as absent: exactly one of the two names the command's target.
    subject_id = (value["subject_id"] or "").strip() and value["subject_id"]
    item_id = (value["item_id"] or "").strip() and value["item_id"]
    if bool(subject_id) == bool(item_id):
        raise PoisonRecord(
            "a command names exactly one of subject_id and item_id "
            f"({'both are' if subject_id else 'neither is'} set)",
            code=ReasonCode.BAD_FIELDS,
        )
    if item_id:
        checks.key_is(record, item_id, "item_id")
    else:
        checks.key_is(record, subject_id, "subject_id")
    _command_fields(value, is_item=bool(item_id))
    checks.policy(contract, value["controller"])
    checks.plausible(value["requested_at"], "requested_at", contract, now)
    return Command(
        command_id=value["command_id"],
        kind=value["kind"],
        controller=value["controller"],
        subject_id=subject_id or None,
        item_ref=item_id or None,
        reason=value["reason"],
        case_ref=value["case_ref"],
        requested_by=value[SIGNED_BY],
        requested_at=value["requested_at"],
    )


def _command_fields(value: dict[str, Any], is_item: bool) -> None:
    for name in ("command_id", "reason", "requested_by"):
        checks.nonempty(value[name], name)
    if value["kind"] == "ERASE_SUBJECT" and is_item:
        raise PoisonRecord(
            "ERASE_SUBJECT names a subject_id, not an item_id",
            code=ReasonCode.BAD_FIELDS,
        )
    if value["kind"] != "ERASE_SUBJECT":
        # The case reference is the hold's or restriction's handle: lifting needs it.
        checks.nonempty(
            value["case_ref"] or "", f"case_ref (needed by {value['kind']})"
        )


def confirmation(
    record: Delivered, value: dict[str, Any], contract: Contract, now: datetime
) -> Confirmation:
    item_ref = checks.nonempty(value["item_id"], "item_id")
    checks.key_is(record, item_ref, "item_id")
    checks.nonempty(value["order_id"], "order_id")
    checks.nonempty(value["store"], "store")
    checks.plausible(value["confirmed_at"], "confirmed_at", contract, now)
    if value["outcome"] == "UNKNOWN":
        # The enum's default: an outcome newer than this Lethe's schema.
        raise PoisonRecord(
            "outcome UNKNOWN: an erasure outcome newer than this Lethe's schema; "
            "upgrade Lethe, then replay this record from the dead-letter topic",
            code=ReasonCode.NEWER_THAN_LETHE,
        )
    return Confirmation(
        item_ref=item_ref,
        order_id=value["order_id"],
        store=value["store"],
        outcome=value["outcome"],
        detail=value["detail"],
        confirmed_at=value["confirmed_at"],
    )


KINDS: tuple[Kind, ...] = (
    Kind("alarm.events.v1", "AlarmEvent", alarm_event, is_item=True),
    Kind("alarm.images.v1", "VerificationImage", verification_image, is_item=True),
    Kind("alarm.recordings.v1", "CallRecording", call_recording, is_item=True),
    Kind("customer.lifecycle.v1", "CustomerLifecycle", lifecycle_change, False),
    Kind("lethe.commands.v1", "LetheCommand", command, is_item=False),
    Kind("lethe.erasure-confirmations.v1", "ErasureConfirmation", confirmation, False),
)
KIND_BY_TOPIC = {kind.topic: kind for kind in KINDS}
