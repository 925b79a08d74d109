"""Key files and the produce hook that signs records on their way to Kafka.

Private keys are PKCS#8 PEM files readable by their owner only; public keys
are SubjectPublicKeyInfo PEM, what `lethe signer add --public-key` takes.

The relay signs every order: `cryptography`'s Ed25519 (OpenSSL) took 93 µs a
signature on the 2-core bench host, libsodium's 57 µs. Ed25519 is
deterministic (RFC 8032: one key and message, one signature), so where
libsodium is installed the producer signs with it, after checking once that it
gives the very bytes OpenSSL does; else, or on any doubt, with `cryptography`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from lethe.consumers.signatures import (
    ROLE_FOR_TOPIC,
    KnownKeys,
    Signatory,
    Signer,
    SignerRole,
    key_id_of,
)


class KeyFileError(ValueError):
    """A key file is missing, unreadable or not an Ed25519 key."""


def write_key_pair(path: Path) -> Ed25519PrivateKey:
    """A new private key at `path` (0600, never overwritten) and its public
    key beside it at `path`.pub."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} exists: a key is never overwritten") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    public_path(path).write_bytes(public_pem(key.public_key()))
    return key


def public_path(private: Path) -> Path:
    return private.with_name(private.name + ".pub")


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(_read(path), password=None) if _pem(path) else None
    except (ValueError, TypeError):  # another PEM, or one under a passphrase
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 private key (PEM)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(_read(path)) if _pem(path) else None
    except ValueError:  # a private key, a certificate: not a public key
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 public key (PEM)")
    return key


def load_signer(name: str, path: Path) -> Signer:
    return Signer(name, load_private_key(path))


class SodiumSigner(Signer):
    """A Signer whose signatures libsodium computes: the same bytes, sooner."""

    @cached_property  # libsodium's 64-byte secret key: the seed and its public key
    def _secret(self) -> ctypes.Array[ctypes.c_char]:
        seed = self.private_key.private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        public = ctypes.create_string_buffer(32)
        secret = ctypes.create_string_buffer(64)
        if _loaded().crypto_sign_seed_keypair(public, secret, seed) != 0:
            raise RuntimeError("libsodium refused the key's seed")
        return secret

    def sign(self, message: bytes) -> bytes:
        signature = ctypes.create_string_buffer(64)  # one per call: thread-safe
        if (
            _loaded().crypto_sign_detached(
                signature, None, message, len(message), self._secret
            )
            != 0
        ):
            raise RuntimeError("libsodium could not sign")
        return signature.raw


def fastest_signer(signer: Signer) -> Signer:
    """`signer` signing with libsodium if it is installed and, tried on a probe
    message, gives the signature `cryptography` gives; else `signer` itself."""
    if type(signer) is not Signer or _sodium() is None:
        return signer
    fast = SodiumSigner(signer.name, signer.private_key)
    probe = b"lethe: the same signature from both libraries"
    try:
        same = fast.sign(probe) == signer.sign(probe)
    except (RuntimeError, ctypes.ArgumentError):
        same = False
    return fast if same else signer


def _loaded() -> ctypes.CDLL:
    sodium = _sodium()
    if sodium is None:
        raise RuntimeError("libsodium is not installed")
    return sodium


@cache
def _sodium() -> ctypes.CDLL | None:
    """libsodium, typed for the two calls made of it, or None if absent."""
    name = ctypes.util.find_library("sodium")
    try:
        sodium = ctypes.CDLL(name) if name else None
    except OSError:
        sodium = None
    if sodium is None or sodium.sodium_init() < 0:
        return None
    uchars = ctypes.c_char_p
    sodium.crypto_sign_seed_keypair.argtypes = [uchars, uchars, uchars]
    sodium.crypto_sign_seed_keypair.restype = ctypes.c_int
    sodium.crypto_sign_detached.argtypes = [
        uchars,
        ctypes.c_void_p,
        uchars,
        ctypes.c_ulonglong,
        uchars,
    ]
    sodium.crypto_sign_detached.restype = ctypes.c_int
    return sodium


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"cannot read key file {path}: {error.strerror}") from None


def _pem(path: Path) -> bool:
    return _read(path).lstrip().startswith(b"-----BEGIN ")


class SigningProducer:
    """A producer (kafka-python's or RdKafkaProducer) that signs every record
    with a value sent to one of `contracts` (deployed topic name -> contract
    name); tombstones and other topics pass unchanged."""

    def __init__(
        self,
        inner: Any,
        signer: Signer,
        contracts: Mapping[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.inner = inner
        self.signer = fastest_signer(signer)
        self.contracts = dict(contracts)
        self.clock = clock

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> Any:
        contract = self.contracts.get(topic)
        if contract is not None and value is not None:
            signature = self.signer.headers(contract, key, value, self.clock())
            headers = [*(headers or []), *signature]
        return self.inner.send(
            topic, value=value, key=key, headers=headers, partition=partition
        )

    def flush(self, timeout: float | None = None) -> Any:
        return self.inner.flush(timeout=timeout)

    def close(self, *args: Any, **kwargs: Any) -> None:
        self.inner.close(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class RecordSigners(Protocol):
    """Which key signs a record (None: it goes unsigned)."""

    def for_record(
        self, contract_topic: str, value: Mapping[str, Any]
    ) -> Signer | None: ...


class Keyring:
    """The keys a producer signs with: a pipeline's for commands, each store's
    for its own confirmations (the key registered under that store's name)."""

    def __init__(self, pipeline: Signer | None = None, stores: tuple[Signer, ...] = ()):
        self.pipeline = pipeline
        self.stores = {signer.name: signer for signer in stores}

    def for_record(
        self, contract_topic: str, value: Mapping[str, Any]
    ) -> Signer | None:
        role = ROLE_FOR_TOPIC.get(contract_topic)
        if role == SignerRole.PIPELINE:
            return self.pipeline
        if role == SignerRole.STORE:
            return self.stores.get(str(value.get("store")))
        return None


def lethe_signatory(public_key_file: Path) -> KnownKeys:
    """What an eraser trusts: Lethe's public key, and only it."""
    key = load_public_key(public_key_file)
    return KnownKeys(Signatory(key_id_of(key), "lethe", SignerRole.LETHE, key))


class OneSigner:
    """One key for every signed record (`lethe produce --key`)."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def for_record(
        self, contract_topic: str, value: Mapping[str, Any]
    ) -> Signer | None:
        return self.signer if contract_topic in ROLE_FOR_TOPIC else None
