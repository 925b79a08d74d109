"""The string limits the consumers enforce are the ones the schema docs promise."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from lethe.consumers.limits import DEFAULT_LIMIT, LIMITS, problem

OUTBOUND = ("ErasureOrder", "ErasureRecall")  # Lethe writes these; stores read them
INBOUND = [
    entry
    for entry in resources.files("lethe.schemas").iterdir()
    if entry.name.endswith(".avsc") and not any(n in entry.name for n in OUTBOUND)
]


def string_fields(schema: dict) -> list[dict]:  # type: ignore[type-arg]
    def is_string(kind: object) -> bool:
        return kind == "string" or (isinstance(kind, list) and "string" in kind)

    return [f for f in schema["fields"] if is_string(f["type"])]


@pytest.mark.parametrize("entry", INBOUND, ids=lambda e: e.name)
def test_every_inbound_string_field_documents_the_limit_lethe_enforces(entry) -> None:  # type: ignore[no-untyped-def]
    schema = json.loads(entry.read_text("utf-8"))
    for field in string_fields(schema):
        limit = LIMITS.get(field["name"], DEFAULT_LIMIT)
        assert f"At most {limit} characters" in field["doc"], field["name"]


def test_a_value_at_its_limit_passes_and_one_more_character_does_not() -> None:
    assert problem("case_ref", "x" * 200) is None
    too_long = "case_ref is 201 characters long (at most 200)"
    assert problem("case_ref", "x" * 201) == too_long


def test_free_text_may_break_lines_but_an_identifier_may_not() -> None:
    assert problem("reason", "one\ntwo\tthree") is None
    assert problem("case_ref", "one\ntwo") is not None
    # A carriage return rewrites a line on a terminal: not even free text.
    assert problem("reason", "one\rtwo") is not None
