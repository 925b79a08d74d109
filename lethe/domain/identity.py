"""Stable identities: the same natural key always names the same stream."""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID, SafeUUID

ITEMS_NAMESPACE = UUID("6f1c1a52-3c2e-4d59-9d0f-6c7d3b1f2a01")
SUBJECTS_NAMESPACE = UUID("6f1c1a52-3c2e-4d59-9d0f-6c7d3b1f2a02")
ORDERS_NAMESPACE = UUID("6f1c1a52-3c2e-4d59-9d0f-6c7d3b1f2a03")
REQUESTS_NAMESPACE = UUID("6f1c1a52-3c2e-4d59-9d0f-6c7d3b1f2a04")


_PREFIXES: dict[UUID, bytes] = {}  # a namespace's bytes: a few namespaces, often


def uuid5(namespace: UUID, name: str) -> UUID:
    """`uuid.uuid5(namespace, name)`, without UUID's argument checks (~40 % of its
    time; a sweep names two ids an order). tests/unit/test_identity.py compares."""
    prefix = _PREFIXES.get(namespace) or _PREFIXES.setdefault(
        namespace, namespace.bytes
    )
    digest = hashlib.sha1(prefix + name.encode()).digest()
    value = int.from_bytes(digest[:16], "big")
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # the RFC 4122 variant
    value = (value & ~(0xF000 << 64)) | (5 << 76)  # version 5
    made = object.__new__(UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", SafeUUID.unknown)
    return made


def item_id(item_ref: str) -> UUID:
    # Item ids are unique across Lethe's inbound topics (the wire contract says so),
    # so a support person can name an item without knowing its topic; redelivery of
    # the same record maps to the same stream and cannot fork its history.
    return uuid5(ITEMS_NAMESPACE, item_ref)


def subject_id(subject_ref: str) -> UUID:
    return uuid5(SUBJECTS_NAMESPACE, subject_ref)


def order_id(item_ref: str, cause: str, secret: str) -> str:
    """Derived from item and cause: a re-sent order carries the same id, so stores
    recognise it, and an item can never get two different orders for one cause.

    Keyed by `secret` (the item's content digest, itself an HMAC under the
    pseudonym key that is never in the source): whoever knows an item id and a
    cause cannot work out the id of its order and answer it before the store.
    """
    if not secret:
        raise ValueError("an order id needs the item's secret (its content digest)")
    name = hmac.digest(secret.encode(), f"{item_ref}/{cause}".encode(), "sha256")
    return str(uuid5(ORDERS_NAMESPACE, name.hex()))


def request_id(subject_ref: str, command_id: str) -> str:
    return str(uuid5(REQUESTS_NAMESPACE, f"{subject_ref}/{command_id}"))
