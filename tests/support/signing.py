"""The trial keys tests sign commands, confirmations and orders with."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lethe.consumers.signatures import (
    ROLE_FOR_TOPIC,
    KnownKeys,
    Signatory,
    Signer,
    SignerRole,
)
from lethe.ops.kafka.signing import Keyring

# One pipeline, and every store name the tests' confirmations give.
TEST_PIPELINE = Signer("test-pipeline", Ed25519PrivateKey.generate())
TEST_STORE_NAMES = (
    "files", "blobstore", "backup", "image-store", "images", "demo-blob-store",
)  # fmt: skip
TEST_STORES = tuple(Signer(n, Ed25519PrivateKey.generate()) for n in TEST_STORE_NAMES)
TEST_KEYRING = Keyring(TEST_PIPELINE, TEST_STORES)


def signatory(signer: Signer, role: SignerRole) -> Signatory:
    return Signatory(signer.key_id, signer.name, role, signer.private_key.public_key())


TRIAL_SIGNATORIES: tuple[Signatory, ...] = (
    signatory(TEST_PIPELINE, SignerRole.PIPELINE),
    *(signatory(s, SignerRole.STORE) for s in TEST_STORES),
)
TEST_SIGNATORIES = KnownKeys(*TRIAL_SIGNATORIES)


def signed_headers(
    contract_topic: str,
    key: bytes | None,
    data: bytes,
    value: Mapping[str, Any],
    at: datetime | None = None,
) -> list[tuple[str, bytes]]:
    """The trial signature a record of `contract_topic` carries (none if unsigned)."""
    if contract_topic not in ROLE_FOR_TOPIC:
        return []
    # A store no trial key is named for: signed by another store (and refused).
    signer = TEST_KEYRING.for_record(contract_topic, value) or TEST_STORES[0]
    return signer.headers(contract_topic, key, data, at or datetime.now(UTC))
