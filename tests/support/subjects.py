"""The subject ids the suite used, recorded where the support helpers take them.

The suite's leak scan (tests/support/leak_scan.py) looks for exactly these in
what Lethe let out: recorded at the source (a helper's `subject_id` argument,
a record's `subject_id` field, a CLI parameter named for a subject), never
guessed from text by a pattern. Each id remembers the tests that used it (a
short id is looked for in their output only). This module imports nothing of
the suite, so every helper can record without an import cycle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

USED: dict[str, set[str]] = {}  # subject id -> node ids of the tests that used it


def current_test() -> str:
    """The running test's node id (pytest sets it, in fixtures' setup too)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "(no test)").rsplit(" ", 1)[0]


def used(subject_id: str | None) -> str | None:
    """Record `subject_id` as one the running test used; returns it unchanged."""
    if subject_id:
        USED.setdefault(str(subject_id), set()).add(current_test())
    return subject_id


def used_in(value: Mapping[str, Any]) -> None:
    """The subject ids of a record's value: its own field and its metadata's."""
    used(value.get("subject_id"))
    meta = value.get("metadata")
    if isinstance(meta, Mapping):
        used(meta.get("subject_id"))
