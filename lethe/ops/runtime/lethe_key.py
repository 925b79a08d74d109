"""Lethe's own signing key: what its erasure orders are signed with.

Kept in a file, never in the event store: whoever can write the database must
not be able to order a store to delete. On the embedded default a key is made
on first use (with a warning); on PostgreSQL Lethe refuses to start without one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog

from lethe.consumers.signatures import Signer
from lethe.ops.kafka.relay import ORDERS_TOPIC
from lethe.ops.kafka.signing import (
    SigningProducer,
    load_signer,
    public_path,
    write_key_pair,
)
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.settings import Settings, SettingsError

LETHE_SIGNER = "lethe"
DEFAULT_FILE = "lethe-signing.key"  # beside the SQLite file

log = structlog.get_logger("lethe.keys")


def signing_key_path(settings: Settings) -> Path:
    if settings.signing_key_file is not None:
        return settings.signing_key_file
    if settings.store != "sqlite":
        raise SettingsError(
            "LETHE_SIGNING_KEY_FILE is not set: on PostgreSQL Lethe signs erasure "
            "orders with a key file kept outside the database (make one with "
            "`lethe signer keygen FILE`)"
        )
    return settings.sqlite_path.with_name(DEFAULT_FILE)


def check_signing_key(settings: Settings) -> None:
    """SettingsError now, before any store or broker is touched, when Lethe
    could not sign its orders (PostgreSQL without a key file)."""
    path = signing_key_path(settings)
    if settings.store != "sqlite" and not path.exists():
        raise SettingsError(
            f"LETHE_SIGNING_KEY_FILE={str(path)!r} does not exist "
            "(make one with `lethe signer keygen FILE`)"
        )


def lethe_signer(settings: Settings, create: bool = False) -> Signer:
    """Lethe's signer; `create` makes the key on the embedded default if missing."""
    path = signing_key_path(settings)
    if not path.exists():
        if not (create and settings.store == "sqlite"):
            raise SettingsError(
                f"LETHE_SIGNING_KEY_FILE={str(path)!r} does not exist "
                "(make one with `lethe signer keygen FILE`)"
            )
        write_key_pair(path)
        log.warning(
            "made a new signing key for erasure orders; give its public key to "
            "every eraser, and back the key up",
            key_file=str(path),
            public_key_file=str(public_path(path)),
        )
    try:
        return load_signer(LETHE_SIGNER, path)
    except ValueError as error:
        raise SettingsError(f"LETHE_SIGNING_KEY_FILE: {error}") from None


def signing_orders(
    producer: Any, signer: Signer, topics: TopicSettings
) -> SigningProducer:
    """`producer`, signing every record it sends on the orders topic as Lethe."""
    return SigningProducer(producer, signer, {topics.name(ORDERS_TOPIC): ORDERS_TOPIC})
