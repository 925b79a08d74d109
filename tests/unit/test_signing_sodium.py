"""The relay's producer signs with libsodium where it is installed: the bytes
`cryptography` makes (Ed25519 is deterministic), verified as the eraser does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from lethe.consumers.signatures import KnownKeys, Signatory, Signer, SignerRole, verify
from lethe.ops.kafka import signing
from lethe.ops.kafka.signing import SigningProducer, SodiumSigner, fastest_signer

ORDERS = "lethe.erasures.v1"
AT = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
SIGNER = Signer("lethe", Ed25519PrivateKey.generate())
LETHE = KnownKeys(
    Signatory(SIGNER.key_id, "lethe", SignerRole.LETHE, SIGNER.private_key.public_key())
)
needs_sodium = pytest.mark.skipif(
    signing._sodium() is None, reason="libsodium is not installed here"
)


class Kept:
    """A producer that keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, topic: str, **record: Any) -> None:
        self.sent.append({"topic": topic, **record})


@needs_sodium
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_libsodium_signs_what_cryptography_signs(message: bytes) -> None:
    fast = fastest_signer(SIGNER)
    assert isinstance(fast, SodiumSigner)
    assert fast.sign(message) == SIGNER.sign(message)


@needs_sodium
def test_the_producer_signs_orders_the_eraser_verifies() -> None:
    kept = Kept()
    producer = SigningProducer(kept, SIGNER, {ORDERS: ORDERS}, clock=lambda: AT)
    assert isinstance(producer.signer, SodiumSigner)
    producer.send(ORDERS, value=b"an order", key=b"img-1")
    [record] = kept.sent
    assert record["headers"] == SIGNER.headers(ORDERS, b"img-1", b"an order", AT)
    verify(record["headers"], ORDERS, b"img-1", b"an order", LETHE)


def test_without_libsodium_the_signer_is_cryptographys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signing, "_sodium", lambda: None)
    assert fastest_signer(SIGNER) is SIGNER


@needs_sodium
def test_a_library_that_signs_otherwise_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(SodiumSigner, "sign", lambda self, message: b"\0" * 64)
    assert fastest_signer(SIGNER) is SIGNER
