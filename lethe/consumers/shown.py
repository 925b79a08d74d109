"""How a value that could be a subject id is shown in a log line or a header:
as a short keyed digest (`key#3f9a1c`), never as itself and never by substring.

The digest key is drawn afresh by each process and kept nowhere: a digest lets
one process's log lines and dead letters be matched to each other, yet nobody can
later test a guessed customer id against it (the pseudonym key is not used, so
holding that key does not open the logs either). Correlate across processes by
topic, partition and offset, which every such line and header carries.
"""

from __future__ import annotations

import hashlib
import hmac
import os

_PROCESS_KEY = os.urandom(32)
DIGEST_HEX = 6  # 24 bits: enough to tell a handful of values apart, no more
PREFIX = "key#"


def digest(value: str | bytes | None) -> str:
    """`key#` and 6 hex digits of an HMAC of `value` under this process's key."""
    if value is None:
        return "none"
    data = value if isinstance(value, bytes) else value.encode("utf-8", "replace")
    mac = hmac.new(_PROCESS_KEY, data, hashlib.sha256).hexdigest()
    return PREFIX + mac[:DIGEST_HEX]


def is_digest(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX) and len(value) == 10
