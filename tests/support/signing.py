"""The trial keys tests sign commands, confirmations and orders with."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from lethe.consumers.signatures import (
    ROLE_FOR_TOPIC,
    KnownKeys,
    Signatory,
    Signer,
    SignerRole,
)
from lethe.ops.eraser.files import CONFIRMATIONS_TOPIC
from lethe.ops.kafka.signing import (
    Keyring,
    SigningProducer,
    lethe_signatory,
    public_path,
)
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.lethe_key import lethe_signer, signing_orders
from lethe.ops.settings import Settings

# One pipeline, and every store name the tests' confirmations give.
TEST_PIPELINE = Signer("test-pipeline", Ed25519PrivateKey.generate())
TEST_STORE_NAMES = (
    "files", "blobstore", "backup", "image-store", "images", "demo-blob-store",
    "event-store",
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


def store_signer(name: str) -> Signer:
    return next(s for s in TEST_STORES if s.name == name)


def lethe_key_of(env: Mapping[str, str]) -> KnownKeys:
    """What an eraser of this env trusts: the public half of Lethe's key file."""
    return lethe_signatory(public_path(Path(env["LETHE_SIGNING_KEY_FILE"])))


def signing_as_lethe(env: Mapping[str, str], producer: Any) -> SigningProducer:
    """A relay's producer for this env: signing orders with Lethe's key."""
    settings = Settings.from_env(dict(env))
    return signing_orders(
        producer, lethe_signer(settings), TopicSettings.from_env(dict(env))
    )


def signing_as_store(
    env: Mapping[str, str], producer: Any, store: str
) -> SigningProducer:
    """An eraser's producer for this env: signing confirmations as `store`."""
    confirmations = TopicSettings.from_env(dict(env)).name(CONFIRMATIONS_TOPIC)
    return SigningProducer(
        producer, store_signer(store), {confirmations: CONFIRMATIONS_TOPIC}
    )


def store_key_file(store: str, folder: Path) -> Path:
    """The trial key of `store` as a PEM file, for a `lethe eraser --key`."""
    return key_file(store_signer(store), folder)


def key_file(signer: Signer, folder: Path) -> Path:
    """A trial key as a PEM file (`lethe eraser --key`, `lethe produce --key`)."""
    path = folder / f"{signer.name}.key"
    pem = signer.private_key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    return path


def trial_key_for(contract_topic: str, value: Mapping[str, Any], folder: Path) -> Path:
    """The file of the trial key that signs this record of `contract_topic`."""
    signer = TEST_KEYRING.for_record(contract_topic, value)
    assert signer is not None, f"no trial key signs {contract_topic}"
    return key_file(signer, folder)
