"""The contract checks every inbound record passes; each reason says what to fix."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import unquote

from lethe.consumers import limits, shown
from lethe.consumers.codec import Catalogue, PoisonRecord
from lethe.consumers.reasons import ReasonCode
from lethe.consumers.signatures import NoSignatories, Signatories
from lethe.domain.policy import Policy, UnknownCategoryError

_SHA256 = re.compile(r"[0-9a-f]{64}")
# An RFC 3986 scheme, then something: two letters at least, so a Windows path
# (C:\...) is no URI. A regex, not urlsplit: it runs for every image and call.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:[^\s]+")
# RFC 3986's split of a URI into scheme, authority and path (query and fragment
# may follow; they do not name another object).
_PARTS = re.compile(
    r"(?P<scheme>[^:/?#]+):(?://(?P<authority>[^/?#]*))?(?P<path>[^?#]*)(?:[?#].*)?",
    re.S,
)
# Before any alarm centre kept digital records: an instant earlier than this is a
# default (epoch 0, year 1) that a producer forgot to fill in, not a fact.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class Delivered(Protocol):
    """What a Kafka record carries (kafka-python's ConsumerRecord has these)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Contract:
    """What an inbound record is checked against."""

    policies: Mapping[str, Policy]
    max_clock_skew: timedelta = timedelta(minutes=5)
    catalogue: Catalogue = field(default_factory=Catalogue.shipped)
    earliest: datetime = EARLIEST  # LETHE_EARLIEST_INSTANT
    # The registered keys commands and confirmations must be signed with; none
    # unless given, so an unconfigured contract takes no unsigned command.
    signatories: Signatories = field(default_factory=NoSignatories)


def allowed(category: str, permitted: tuple[str, ...], record_name: str) -> None:
    if category not in permitted:
        raise PoisonRecord(
            f"category {category!r} is not allowed for {record_name} "
            f"(allowed: {', '.join(permitted)})",
            code=ReasonCode.UNKNOWN_CATEGORY,
        )


def policy(contract: Contract, controller: str) -> Policy:
    found = contract.policies.get(controller)
    if found is None:
        known = ", ".join(sorted(contract.policies))
        raise PoisonRecord(
            f"unknown controller {controller!r} (policies: {known})",
            code=ReasonCode.UNKNOWN_CONTROLLER,
        )
    return found


def rule_exists(contract: Contract, controller: str, category: str) -> None:
    try:
        policy(contract, controller).rule_for(category)
    except UnknownCategoryError as error:
        raise PoisonRecord(str(error), code=ReasonCode.UNKNOWN_CATEGORY) from None


def nonempty(text: str, name: str) -> str:
    if not text.strip():
        raise PoisonRecord(f"{name} is empty", code=ReasonCode.BAD_TEXT)
    return text


def key_is(record: Delivered, expected: str, name: str) -> None:
    if record.key is None:
        raise PoisonRecord(
            f"the record has no key; key it by {name}", code=ReasonCode.KEY_MISMATCH
        )
    try:
        key = bytes(record.key).decode("utf-8")
    except UnicodeDecodeError:
        raise PoisonRecord(
            f"the key is not UTF-8; key it by {name}", code=ReasonCode.KEY_MISMATCH
        ) from None
    if key != expected:
        # Either may be a subject id (a pipeline that keys items by customer):
        # say that they differ and show digests, never what they are.
        raise PoisonRecord(
            f"the key is not the record's {name}"
            f" (key {shown.digest(key)}, {name} {shown.digest(expected)})",
            code=ReasonCode.KEY_MISMATCH,
        )


def texts(value: Mapping[str, Any]) -> None:
    """Every string of the record within its length, free of control characters."""
    for name, text in limits.strings(value):
        if not limits.suspect(text):
            continue  # most strings: short and printable
        found = limits.problem(name, text)
        if found is not None:
            raise PoisonRecord(found, code=ReasonCode.BAD_TEXT)


def plausible(at: datetime, name: str, contract: Contract, now: datetime) -> None:
    """Neither before the earliest plausible instant nor in the future."""
    if at < contract.earliest:
        raise PoisonRecord(
            f"{name} {at.isoformat()} is before {contract.earliest.date()}, "
            "the earliest instant Lethe believes (a default left unset?)",
            code=ReasonCode.IMPLAUSIBLE_TIME,
        )
    not_future(at, name, contract, now)


def not_future(at: datetime, name: str, contract: Contract, now: datetime) -> None:
    ahead = at - now
    if ahead > contract.max_clock_skew:
        raise PoisonRecord(
            f"{name} {at.isoformat()} is {ahead.total_seconds():.0f} s in the future "
            f"(allowed clock skew: {contract.max_clock_skew.total_seconds():.0f} s)",
            code=ReasonCode.IMPLAUSIBLE_TIME,
        )


def blob(value: dict[str, Any]) -> None:
    sha256 = value["sha256"]
    if not _SHA256.fullmatch(sha256):
        raise PoisonRecord(
            f"sha256 is not 64 lowercase hex characters (got {len(sha256)} "
            f"characters{', some uppercase' if sha256 != sha256.lower() else ''})",
            code=ReasonCode.BAD_BLOB,
        )
    # Never echo the URI: a path may carry a customer's name.
    uri = value["blob_uri"]
    if not _URI.fullmatch(uri):
        raise PoisonRecord(
            "blob_uri is not a URI with a scheme (write e.g. s3://bucket/key, "
            "file:///path or https://host/path)",
            code=ReasonCode.BAD_BLOB,
        )
    unclean = _unclean(uri)
    if unclean:
        raise PoisonRecord(
            f"blob_uri is not a clean absolute URI: {unclean}", code=ReasonCode.BAD_BLOB
        )


def _unclean(uri: str) -> str | None:
    """Why an eraser could delete the wrong thing at `uri`, or None.

    An order names the blob to delete: a `..` could climb out of the store's
    root, and an encoded NUL or backslash means different paths to different
    stores.
    """
    # A regex, not urlsplit: this runs for every image and call, and urlsplit
    # took more than the rest of an image's checks together.
    parts = _PARTS.fullmatch(uri)
    if parts is None or parts["authority"] is None:
        return "it has no authority part (write scheme://host/path or file:///path)"
    if parts["scheme"].lower() != "file" and not parts["authority"]:
        return "it names no host or bucket"
    path = parts["path"]
    if "%" in path:
        path = unquote(path)
    if "\x00" in path or "\\" in path:
        return "its path holds a NUL or a backslash (encoded or not)"
    if "." in path and any(segment in (".", "..") for segment in path.split("/")):
        return "its path has a '.' or '..' segment"
    return None


def redact(reason: str, personal: Iterable[str | None]) -> str:
    """The reason with every given field value (a subject id, an unknown item
    ref) shown as its digest where it stands as a whole token.

    Reasons are written never to quote personal data; this is the safety net for
    a message from deeper down (a library, a domain error) that quotes a field
    of the record anyway. Driven by the record's fields, never by a pattern.
    """
    # Whole tokens only: a short customer id such as "case" must not change the
    # middle of ordinary words ("lowercase hex"), yet the id itself goes.
    for value in sorted({p for p in personal if p and p.strip()}, key=len)[::-1]:
        token = re.compile(rf"(?<![\w.:/-]){re.escape(value)}(?![\w.:/-])")
        reason = token.sub(shown.digest(value), reason)
    return reason


def personal(value: dict[str, Any]) -> list[str | None]:
    meta = value.get("metadata") or {}
    return [value.get("subject_id"), meta.get("subject_id")]
