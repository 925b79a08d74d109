"""Stable identities: the same natural key always names the same stream."""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID, uuid5

ITEMS_NAMESPACE = UUID("6f1c1a52-3c2e-4d59-9d0f-6c7d3b1f2a01")
SUBJECTS_NAMESPACE = UUID("6f1c1a52-3c2e-4d59-9d0f-6c7d3b1f2a02")
ORDERS_NAMESPACE = UUID("6f1c1a52-3c2e-4d59-9d0f-6c7d3b1f2a03")
REQUESTS_NAMESPACE = UUID("6f1c1a52-3c2e-4d59-9d0f-6c7d3b1f2a04")


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
    name = hmac.new(secret.encode(), f"{item_ref}/{cause}".encode(), hashlib.sha256)
    return str(uuid5(ORDERS_NAMESPACE, name.hexdigest()))


def request_id(subject_ref: str, command_id: str) -> str:
    return str(uuid5(REQUESTS_NAMESPACE, f"{subject_ref}/{command_id}"))
