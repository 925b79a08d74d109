"""Hand-written fakes for the domain's ports (no mocks)."""

from __future__ import annotations

import hashlib
import hmac
import os


class FakeSubjectVault:
    """SubjectVault in a dict: keyed pseudonyms, reversible seals, shredding.

    The seal XORs the identifier with a keystream from a per-subject random key,
    so it is reversible while the key lives and is never the identifier in clear.
    """

    def __init__(self, pseudonym_key: bytes = b"fake-pseudonym-key-0123456789") -> None:
        self._pseudonym_key = pseudonym_key
        self._keys: dict[str, bytes] = {}
        self.shredded: set[str] = set()

    def pseudonym(self, controller: str, subject_id: str) -> str:
        message = f"{controller}\x1f{subject_id}".encode()
        return hmac.new(self._pseudonym_key, message, hashlib.sha256).hexdigest()[:32]

    def digest(self, data: bytes) -> str:
        return hmac.new(self._pseudonym_key, data, hashlib.blake2b).hexdigest()[:32]

    def seal(self, subject_ref: str, subject_id: str) -> bytes:
        if subject_ref in self.shredded:
            return b""
        key = self._keys.setdefault(subject_ref, os.urandom(32))
        return _xor(subject_id.encode(), key)

    def unseal(self, subject_ref: str, seal: bytes) -> str | None:
        key = self._keys.get(subject_ref)
        if key is None or not seal:
            return None
        return _xor(seal, key).decode()

    def shred(self, subject_ref: str) -> None:
        self._keys.pop(subject_ref, None)
        self.shredded.add(subject_ref)

    def scrub(self) -> None:
        """Nothing to scrub: a dict keeps no old copies."""

    def is_shredded(self, subject_ref: str) -> bool:
        return subject_ref in self.shredded


def _xor(data: bytes, key: bytes) -> bytes:
    stream = hashlib.shake_256(key).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))
