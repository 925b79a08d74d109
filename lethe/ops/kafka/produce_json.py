"""JSON lines into Avro values: plain JSON, timestamps as ISO-8601 with an offset."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from fastavro.schema import load_schema

SCHEMA_PACKAGE = "lethe.schemas"
NAMESPACE = "lethe.v1"


class JsonLineError(ValueError):
    """One line that does not fit its schema; the message names line and field."""

    def __init__(self, number: int, problem: str) -> None:
        super().__init__(f"line {number}: {problem}")
        self.number = number


@cache
def schema_of(record: str) -> Any:
    """The record's schema with every named reference inlined."""
    path = resources.files(SCHEMA_PACKAGE) / f"{NAMESPACE}.{record}.avsc"
    return load_schema(str(path))


def from_json(schema: Any, line: str, number: int) -> dict[str, Any]:
    """The Avro value of one JSON line; the codec then checks the types."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise JsonLineError(
            number, f"not JSON ({error.msg} at column {error.colno})"
        ) from None
    except RecursionError:  # hostile or broken input, not a record of ours
        raise JsonLineError(
            number, "JSON nested too deeply (a record nests a few levels at most)"
        ) from None
    try:
        converted = _convert(schema, value, "")
    except _FieldError as error:
        raise JsonLineError(
            number, f"{error.path or 'the line'}: {error.problem}"
        ) from None
    assert isinstance(converted, dict)
    return converted


class _FieldError(ValueError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem)
        self.path, self.problem = path, problem


def _convert(schema: Any, value: Any, path: str) -> Any:
    if isinstance(schema, list):  # a union: JSON null or the one other branch
        branches = [branch for branch in schema if branch != "null"]
        if value is None or len(branches) != 1:
            return value
        return _convert(branches[0], value, path)
    if not isinstance(schema, dict):
        return value  # a primitive: the codec checks its type
    if schema.get("logicalType") == "timestamp-millis":
        return _instant(value, path)
    if schema["type"] == "record":
        return _record(schema, value, path)
    return value


def _record(schema: dict[str, Any], value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _FieldError(path, f"expected a JSON object, got {_json_type(value)}")
    fields = {field["name"]: field for field in schema["fields"]}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise _FieldError(_join(path, unknown[0]), "no such field in the schema")
    return {
        name: _convert(fields[name]["type"], item, _join(path, name))
        for name, item in value.items()
    }


def _instant(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise _FieldError(path, "expected an ISO-8601 timestamp string with an offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _FieldError(
            path, f"{value!r} is not an ISO-8601 timestamp (e.g. 2026-03-25T11:00:00Z)"
        ) from None
    if parsed.utcoffset() is None:
        raise _FieldError(path, f"{value!r} has no UTC offset (add Z or +01:00)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 lies before year 1 in UTC
        raise _FieldError(
            path, f"{value!r} is before year 1 or after 9999 in UTC"
        ) from None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")  # fmt: skip
