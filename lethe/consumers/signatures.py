"""Ed25519 signatures on Kafka records: who sent a command, a confirmation, an order.

A signature covers the record's contract topic (never a deployment's prefixed
name), its key, its value, the signer's key id and the signing instant, each
length-prefixed so no two different records share a signed message. It travels
in three headers; the record's bytes stay as the contract says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lethe.consumers.codec import PoisonRecord
from lethe.consumers.reasons import ReasonCode

SIGNATURE_HEADER = "lethe.signature"
KEY_ID_HEADER = "lethe.key-id"
SIGNED_AT_HEADER = "lethe.signed-at"
_DOMAIN = b"lethe-record-signature/v1"
PUBLIC_KEY_BYTES = 32
MAX_HEADER_TEXT = 64  # a key id or an instant: a reason may quote it


class SignerRole(StrEnum):
    """What a registered key may sign."""

    PIPELINE = "pipeline"  # commands on lethe.commands.v1
    STORE = "store"  # confirmations on lethe.erasure-confirmations.v1, for itself
    LETHE = "lethe"  # Lethe's own key: erasure orders (never registered)


# Which role signs each signed inbound topic; the others are not signed.
ROLE_FOR_TOPIC = {
    "lethe.commands.v1": SignerRole.PIPELINE,
    "lethe.erasure-confirmations.v1": SignerRole.STORE,
}


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A key's id: a digest of the key itself, so one key has one id everywhere."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signed_message(
    contract_topic: str, key: bytes | None, value: bytes, key_id: str, signed_at: str
) -> bytes:
    parts = (
        contract_topic.encode(),
        key or b"",
        value,
        key_id.encode(),
        signed_at.encode(),
    )
    return _DOMAIN + b"".join(len(p).to_bytes(4, "big") + p for p in parts)


@dataclass(frozen=True)
class Signer:
    """A private key and the name it is registered under."""

    name: str
    private_key: Ed25519PrivateKey

    @cached_property  # once: a relay signs every order it sends
    def key_id(self) -> str:
        return key_id_of(self.private_key.public_key())

    def headers(
        self, contract_topic: str, key: bytes | None, value: bytes, at: datetime
    ) -> list[tuple[str, bytes]]:
        signed_at = at.astimezone(UTC).isoformat(timespec="milliseconds")
        message = signed_message(contract_topic, key, value, self.key_id, signed_at)
        return [
            (KEY_ID_HEADER, self.key_id.encode()),
            (SIGNED_AT_HEADER, signed_at.encode()),
            (SIGNATURE_HEADER, self.sign(message)),
        ]

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature (deterministic: one key and message, one value)."""
        return self.private_key.sign(message)


@dataclass(frozen=True)
class Signatory:
    """A registered public key: whose it is, what it may sign, whether revoked."""

    key_id: str
    name: str
    role: SignerRole
    public_key: Ed25519PublicKey
    revoked: bool = False

    @property
    def principal(self) -> str:
        """The actor the history records for what this key signed."""
        return f"{self.role.value}:{self.name}"


class Signatories(Protocol):
    """Where registered keys are looked up (ops keeps them in a table)."""

    def signatory(self, key_id: str) -> Signatory | None: ...


class NoSignatories:
    """No key registered: every signed topic's record is refused."""

    def signatory(self, key_id: str) -> Signatory | None:
        return None


class KnownKeys:
    """A fixed set of trusted keys: what an eraser knows of Lethe (its one key)."""

    def __init__(self, *signatories: Signatory) -> None:
        self.by_id = {s.key_id: s for s in signatories}

    def signatory(self, key_id: str) -> Signatory | None:
        return self.by_id.get(key_id)


def verify(
    headers: Iterable[tuple[str, bytes]] | None,
    contract_topic: str,
    key: bytes | None,
    value: bytes,
    signatories: Signatories,
) -> Signatory:
    """The registered signatory whose valid signature the record carries, or
    PoisonRecord saying what is wrong (never a key's secret, never the value)."""
    found = _headers(headers)
    if SIGNATURE_HEADER not in found or KEY_ID_HEADER not in found:
        raise PoisonRecord(
            f"unsigned: {contract_topic} takes only records signed by a "
            "registered key (headers lethe.key-id, lethe.signed-at, lethe.signature)",
            code=ReasonCode.UNSIGNED,
        )
    key_id = _text(found[KEY_ID_HEADER], KEY_ID_HEADER)
    signed_at = _text(found.get(SIGNED_AT_HEADER, b""), SIGNED_AT_HEADER)
    signatory = signatories.signatory(key_id)
    if signatory is None:
        raise PoisonRecord(
            f"signed with unknown key {key_id!r} (see `lethe signer list`)",
            code=ReasonCode.UNKNOWN_SIGNER,
        )
    if signatory.revoked:
        raise PoisonRecord(
            f"signed with revoked key {key_id!r} ({signatory.name})",
            code=ReasonCode.REVOKED_SIGNER,
        )
    message = signed_message(contract_topic, key, value, key_id, signed_at)
    try:
        signatory.public_key.verify(found[SIGNATURE_HEADER], message)
    except InvalidSignature:
        raise PoisonRecord(
            f"bad signature: key {key_id!r} ({signatory.name}) did not sign this "
            f"record for {contract_topic}",
            code=ReasonCode.BAD_SIGNATURE,
        ) from None
    _instant(signed_at)
    return signatory


def may_sign(
    signatory: Signatory, contract_topic: str, value: Mapping[str, object]
) -> None:
    """PoisonRecord unless the signatory's role lets it sign this record."""
    needed = ROLE_FOR_TOPIC.get(contract_topic)
    if needed is not None and signatory.role != needed:
        raise PoisonRecord(
            f"key {signatory.key_id!r} ({signatory.name}) has role "
            f"{signatory.role.value}; {contract_topic} needs role {needed.value}",
            code=ReasonCode.SIGNER_NOT_ALLOWED,
        )
    store = value.get("store")
    if needed == SignerRole.STORE and store != signatory.name:
        raise PoisonRecord(
            f"store {signatory.name!r} signed a confirmation for store {store!r}: "
            "a store confirms only its own erasures",
            code=ReasonCode.SIGNER_NOT_ALLOWED,
        )


def _headers(headers: Iterable[tuple[str, bytes]] | None) -> dict[str, bytes]:
    # The first of a repeated header counts, as Kafka clients' lookups do.
    found: dict[str, bytes] = {}
    for name, raw in headers or ():
        found.setdefault(name, bytes(raw or b""))
    return found


def _text(raw: bytes, name: str) -> str:
    if len(raw) > MAX_HEADER_TEXT:
        raise PoisonRecord(
            f"header {name} is longer than {MAX_HEADER_TEXT} bytes",
            code=ReasonCode.BAD_SIGNATURE,
        )
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise PoisonRecord(
            f"header {name} is not ASCII", code=ReasonCode.BAD_SIGNATURE
        ) from None


def _instant(signed_at: str) -> None:
    """The signing instant is signed, and must be one; it is not held against a
    clock: a record may wait in Kafka for days while Lethe is down, and a replay
    changes nothing (commands count once by command id, answers by order id)."""
    try:
        at = datetime.fromisoformat(signed_at)
    except ValueError:
        raise PoisonRecord(
            f"header {SIGNED_AT_HEADER} is not an ISO 8601 instant",
            code=ReasonCode.BAD_SIGNATURE,
        ) from None
    if at.tzinfo is None:
        raise PoisonRecord(
            f"header {SIGNED_AT_HEADER} has no UTC offset",
            code=ReasonCode.BAD_SIGNATURE,
        )


def public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ValueError(
            f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes, not {len(raw)}"
        )
    return Ed25519PublicKey.from_public_bytes(raw)
