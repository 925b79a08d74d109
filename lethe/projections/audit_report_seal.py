"""A disposal report's SHA-256, kept in the report itself, and its check.

The digest covers every byte of the file but its own 64 hex digits, which are
counted as zeros: a changed byte anywhere, the digest included, fails the
check. It proves the file unchanged since it was made, not who made it: keep
the digest printed at generation (or the file) where the DPO signs.
"""

from __future__ import annotations

import hashlib
import re

PLACEHOLDER = "0" * 64
_MARK = "lethe-sha256:"
_SEALED = re.compile(re.escape(_MARK) + "([0-9a-f]{64})")


class NotSealedError(ValueError):
    """The file carries no Lethe report digest."""


def mark() -> str:
    """The text a renderer puts once into a report, to be filled by `seal`."""
    return _MARK + PLACEHOLDER


def seal(text: str) -> tuple[str, str]:
    """The report with its digest in place of the placeholder, and the digest."""
    if text.count(mark()) != 1:
        raise ValueError("a report to seal must carry exactly one digest mark")
    digest = hashlib.sha256(text.encode()).hexdigest()
    return text.replace(mark(), _MARK + digest), digest


def check(text: str) -> tuple[bool, str]:
    """Whether `text` is byte for byte what was sealed; and the digest it claims."""
    found = _SEALED.findall(text)
    if len(found) != 1:
        raise NotSealedError("this file carries no Lethe disposal report digest")
    claimed = found[0]
    unsealed = text.replace(_MARK + claimed, mark())
    return hashlib.sha256(unsealed.encode()).hexdigest() == claimed, claimed
