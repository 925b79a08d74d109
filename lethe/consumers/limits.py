"""How long each inbound string may be, and which characters it may hold.

The same limits stand in the `doc` of each field in lethe/schemas (a test keeps
the two in step). A value is refused rather than cut: a shortened item id or
case reference would name something else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

IDENTIFIER = 200  # item, order, command and subject ids; case refs; staff ids
NAME = 100  # policy ids, categories, store names, codes
FREE_TEXT = 1000  # a reason in words: a sentence or a paragraph, never a document
DETAIL = 2000  # a store's account of what it did
URI = 2048

# By field name: the same name means the same thing in every record.
LIMITS: Mapping[str, int] = {
    "item_id": IDENTIFIER,
    "alarm_item_id": IDENTIFIER,
    "order_id": IDENTIFIER,
    "command_id": IDENTIFIER,
    "subject_id": IDENTIFIER,
    "case_ref": IDENTIFIER,
    "requested_by": IDENTIFIER,
    "site_id": IDENTIFIER,
    "controller": NAME,
    "category": NAME,
    "store": NAME,
    "legal_basis": NAME,
    "content_type": NAME,
    "event_code": NAME,
    "zone": NAME,
    "sha256": 64,
    "blob_uri": URI,
    "reason": FREE_TEXT,
    "detail": DETAIL,
}
DEFAULT_LIMIT = IDENTIFIER
# Free text may run over lines; nothing else may hold a control character.
MULTILINE = frozenset({"reason", "detail"})
# Unicode's control characters (category Cc), as a regex: it runs on every string
# of every record, and a search in C is ~20x a Python loop over the characters.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


SHORTEST_LIMIT = min(LIMITS.values())


def suspect(value: str) -> bool:
    """Cheap first look: False means `problem` would find nothing."""
    return len(value) > SHORTEST_LIMIT or _CONTROL.search(value) is not None


def problem(name: str, value: str) -> str | None:
    """Why `value` cannot stand in field `name`, or None. Never quotes the value."""
    field = name.rpartition(".")[2]
    limit = LIMITS.get(field, DEFAULT_LIMIT)
    if len(value) > limit:
        return f"{name} is {len(value)} characters long (at most {limit})"
    control = _CONTROL_BUT_LINE_BREAKS if field in MULTILINE else _CONTROL
    found = control.search(value)
    if found is None:
        return None
    return (
        f"{name} holds a control character (U+{ord(found.group()):04X} at "
        f"position {found.start()}); {_what_to_do(field)}"
    )


def _what_to_do(field: str) -> str:
    if field in MULTILINE:
        return "free text may hold line breaks and tabs, nothing else of the kind"
    return "send printable text only"


def strings(value: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted field name, text) for every string in a decoded record."""
    for key, item in value.items():
        name = f"{path}.{key}" if path else str(key)
        if isinstance(item, str):
            yield name, item
        elif isinstance(item, Mapping):
            yield from strings(item, name)
