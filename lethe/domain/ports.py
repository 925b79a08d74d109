"""Ports the domain needs from the outside world, as small protocols."""

from __future__ import annotations

from typing import Protocol


class SubjectVault(Protocol):
    """Keeps subject identifiers out of the event store.

    `pseudonym` is a keyed hash (HMAC) that indexes a subject without revealing it;
    `seal` encrypts the identifier under a per-subject key kept outside the event
    store; `shred` destroys that key, after which `unseal` returns None and
    `is_shredded` True (the audit prints such a subject as erased).
    """

    def pseudonym(self, controller: str, subject_id: str) -> str: ...

    def seal(self, subject_ref: str, subject_id: str) -> bytes: ...

    def unseal(self, subject_ref: str, seal: bytes) -> str | None: ...

    def digest(self, data: bytes) -> str: ...

    def shred(self, subject_ref: str) -> None: ...

    def scrub(self) -> None:
        """After a batch of shreds: let the storage forget the deleted keys' bytes."""
        ...

    def is_shredded(self, subject_ref: str) -> bool: ...
