"""Avro single-object encoding of the lethe.v1 records: encode, or decode or reject."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from io import BytesIO
from os import PathLike
from pathlib import Path
from typing import Any, cast

from fastavro import schemaless_reader, schemaless_writer
from fastavro.repository.base import AbstractSchemaRepository, SchemaRepositoryError
from fastavro.schema import (
    fingerprint,
    fullname,
    load_schema,
    to_parsing_canonical_form,
)
from fastavro.validation import ValidationError, validate

from lethe.consumers.reasons import ReasonCode

MARKER = b"\xc3\x01"
HEADER_SIZE = 10  # marker + 8-byte CRC-64-AVRO fingerprint
SCHEMA_PACKAGE = "lethe.schemas"
# Earlier versions of the schemas, `<full name>.<N>.avsc`: producers still
# writing them must keep being read (schema resolution into the current one).
PREVIOUS_FOLDER = "previous"

# A schema as a dict, or the path of its .avsc file.
SchemaSource = Mapping[str, Any] | str | PathLike[str]


class PoisonRecord(Exception):
    """Bytes that are not a record of Lethe's catalogue; `reason` says why,
    `code` (from the fixed catalogue in reasons.py) what kind of why."""

    def __init__(self, reason: str, code: ReasonCode = ReasonCode.CONTRACT) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True)
class _Writer:
    """How to read the bodies written with one writer schema."""

    full_name: str
    short_name: str
    schema: dict[str, Any]
    # None when the writer schema is the current one: fastavro then skips
    # schema resolution, which makes a read about a third slower.
    reader: dict[str, Any] | None


class _Repository(AbstractSchemaRepository):
    """Schema JSON by full name: `<full name>.avsc` under a folder or package."""

    def __init__(
        self, root: Traversable | None, extra: Mapping[str, Any] | None = None
    ) -> None:
        self.root = root
        self.extra = extra or {}

    def load(self, name: str) -> Any:
        if name in self.extra:
            # load_schema injects referenced schemas in place: keep ours intact.
            return copy.deepcopy(self.extra[name])
        if self.root is None:
            raise SchemaRepositoryError(f"no folder to load schema {name} from")
        try:
            return json.loads((self.root / f"{name}.avsc").read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise SchemaRepositoryError(f"cannot load schema {name}") from error


class Catalogue:
    """The record schemas Lethe reads and writes, by name and by fingerprint."""

    def __init__(
        self, schemas: Iterable[dict[str, Any]], root: Traversable | None = None
    ) -> None:
        # root: where named references in later writer schemas resolve.
        self._root = root
        self._readers: dict[str, dict[str, Any]] = {}
        self._full_names: dict[str, str] = {}
        self._fingerprints: dict[str, bytes] = {}
        self._writers: dict[bytes, _Writer] = {}
        for schema in schemas:
            self._add_reader(schema)

    @classmethod
    def shipped(cls) -> Catalogue:
        """The schemas packaged in lethe/schemas; a fresh copy each call."""
        return _shipped()._copy()

    @classmethod
    def from_dir(cls, path: str | PathLike[str]) -> Catalogue:
        """Every `<namespace>.<Name>.avsc` in a folder."""
        return cls._load(Path(path))

    @classmethod
    def _load(cls, root: Traversable) -> Catalogue:
        repository = _Repository(root)
        names = sorted(
            entry.name.removesuffix(".avsc")
            for entry in root.iterdir()
            if entry.name.endswith(".avsc")
        )
        return cls((_load_named(name, repository) for name in names), root)

    def _copy(self) -> Catalogue:
        clone = copy.copy(self)
        clone._writers = dict(self._writers)  # the only state that changes later
        return clone

    def _add_reader(self, schema: dict[str, Any]) -> None:
        full_name = schema["name"]
        short_name = full_name.rpartition(".")[2]
        if self._full_names.get(short_name, full_name) != full_name:
            raise ValueError(f"two records are named {short_name}")
        wire_fingerprint = _fingerprint(schema)
        self._readers[full_name] = schema
        self._full_names[short_name] = full_name
        self._full_names[full_name] = full_name
        self._fingerprints[full_name] = wire_fingerprint
        self._writers[wire_fingerprint] = _Writer(full_name, short_name, schema, None)

    def add_writer_schema(self, schema: SchemaSource) -> None:
        """Let bytes written with an older or newer `schema` decode into the
        current schema of the same full name (Avro schema resolution).

        `schema` is a dict (its named references resolve against this
        catalogue's folder) or the path of an .avsc file (references resolve
        against that file's folder).
        """
        writer = self._load_writer(schema)
        full_name = writer["name"]
        if full_name not in self._readers:
            raise ValueError(f"no current schema named {full_name} to read into")
        wire_fingerprint = _fingerprint(writer)
        if wire_fingerprint != self._fingerprints[full_name]:
            short_name = full_name.rpartition(".")[2]
            reader = self._readers[full_name]
            self._writers[wire_fingerprint] = _Writer(
                full_name, short_name, writer, reader
            )

    def _load_writer(self, schema: SchemaSource) -> dict[str, Any]:
        if not isinstance(schema, Mapping):
            return _record(load_schema(str(schema)))
        name = fullname(dict(schema))
        return _load_named(name, _Repository(self._root, {name: schema}))

    def fingerprint(self, record_name: str) -> bytes:
        """The 8 fingerprint bytes as they appear on the wire (little-endian)."""
        return self._fingerprints[self._full_name(record_name)]

    def encode(self, record_name: str, value: Mapping[str, Any]) -> bytes:
        """Single-object encoding of `value`; ValueError naming the field if it
        does not fit the current schema of `record_name`."""
        full_name = self._full_name(record_name)
        schema = self._readers[full_name]
        _check(full_name, schema, value)
        out = BytesIO()
        out.write(MARKER)
        out.write(self._fingerprints[full_name])
        try:
            # Strict: an unknown or missing (undefaulted) field is a producer
            # bug, not something to drop or fill in silently.
            schemaless_writer(out, schema, value, strict_allow_default=True)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{full_name}: {error}") from None
        return out.getvalue()

    def writer_fingerprint(self, schema: SchemaSource) -> bytes:
        """The wire fingerprint of an older (or newer) version of a schema."""
        return _fingerprint(self._load_writer(schema))

    def encode_as(
        self, record_name: str, value: Mapping[str, Any], writer: bytes
    ) -> bytes:
        """As `encode`, but with the writer schema of fingerprint `writer` (one
        `add_writer_schema` gave): bytes a reader of that version still reads."""
        known = self._writers.get(writer)
        full_name = self._full_name(record_name)
        if known is None or known.full_name != full_name:
            raise ValueError(f"{full_name}: no writer schema {writer.hex()} known")
        _check(full_name, known.schema, value)
        out = BytesIO()
        out.write(MARKER)
        out.write(writer)
        try:
            schemaless_writer(out, known.schema, value, strict_allow_default=True)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{full_name}: {error}") from None
        return out.getvalue()

    def decode(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """(short record name, value), or PoisonRecord saying why not."""
        writer = self._writer_of(data)
        return writer.short_name, _read_body(data, writer)

    def decode_as(self, data: bytes, expected: str) -> dict[str, Any]:
        """The value of a record that must be `expected`, or PoisonRecord."""
        expected_name = self._full_name(expected)
        writer = self._writer_of(data)
        if writer.full_name != expected_name:
            raise PoisonRecord(
                f"expected {expected_name}, got {writer.full_name}",
                code=ReasonCode.WRONG_RECORD_TYPE,
            )
        return _read_body(data, writer)

    def _writer_of(self, data: bytes) -> _Writer:
        if not data:
            raise PoisonRecord("empty value", code=ReasonCode.NOT_AVRO)
        if data[:2] != MARKER:
            raise PoisonRecord(
                "not Avro single-object encoding "
                f"(no C3 01 marker; starts with {bytes(data[:2]).hex(' ')})",
                code=ReasonCode.NOT_AVRO,
            )
        if len(data) < HEADER_SIZE:
            raise PoisonRecord(
                f"header cut short: {len(data)} bytes, single-object encoding "
                f"needs {HEADER_SIZE} before the body",
                code=ReasonCode.NOT_AVRO,
            )
        writer = self._writers.get(bytes(data[2:HEADER_SIZE]))
        if writer is None:
            raise PoisonRecord(
                f"unknown schema fingerprint {bytes(data[2:HEADER_SIZE]).hex()} "
                "(not in Lethe's catalogue)",
                code=ReasonCode.UNKNOWN_SCHEMA,
            )
        return writer

    def _full_name(self, record_name: str) -> str:
        try:
            return self._full_names[record_name]
        except KeyError:
            raise ValueError(f"no record {record_name} in the catalogue") from None


@cache
def _shipped() -> Catalogue:
    # Parsing and fingerprinting happen once per process; callers get copies
    # so a writer schema one of them registers does not leak to the others.
    root = resources.files(SCHEMA_PACKAGE)
    catalogue = Catalogue._load(root)
    for entry in sorted((root / PREVIOUS_FOLDER).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".avsc"):
            # As a dict, so named references resolve against the current files.
            catalogue.add_writer_schema(json.loads(entry.read_text("utf-8")))
    return catalogue


def _load_named(name: str, repository: _Repository) -> dict[str, Any]:
    # load_schema inlines records referenced by name from sibling files, so
    # every loaded schema is self-contained and has a true canonical form.
    schema = _record(load_schema(name, repo=repository))
    if schema["name"] != name:
        raise ValueError(f"{name}.avsc defines {schema['name']}: name files after")
    return schema


def _record(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise ValueError("the catalogue holds record schemas only")
    return schema


def _fingerprint(schema: dict[str, Any]) -> bytes:
    # fastavro returns CRC-64-AVRO already in wire (little-endian) byte order.
    canonical = to_parsing_canonical_form(schema)
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


def _read_body(data: bytes, writer: _Writer) -> dict[str, Any]:
    body = BytesIO(data)
    body.seek(HEADER_SIZE)
    # The schemas were checked at load, so whatever fastavro raises here
    # (EOFError, UnicodeDecodeError, IndexError...) is the bytes' fault.
    try:
        value = schemaless_reader(body, writer.schema, writer.reader)
    except Exception as error:
        raise PoisonRecord(
            f"body does not decode as {writer.full_name}: "
            f"{type(error).__name__}: {error}",
            code=ReasonCode.UNDECODABLE,
        ) from None
    trailing = len(data) - body.tell()
    if trailing:
        raise PoisonRecord(
            f"body does not decode as {writer.full_name}: "
            f"{trailing} bytes left over after the record",
            code=ReasonCode.UNDECODABLE,
        )
    return cast(dict[str, Any], value)


def _check(full_name: str, schema: dict[str, Any], value: Mapping[str, Any]) -> None:
    naive = _naive_datetime(value)
    if naive is not None:
        # fastavro would read a naive datetime as the host's local time.
        raise ValueError(f"{full_name}: {naive} is a naive datetime; give a tzinfo")
    # raise_errors=True builds (and JSON-dumps) an exception for every union
    # branch that does not match, even when another does: a third of the relay's
    # CPU. Ask yes/no first; only a misfit pays for the description.
    if validate(value, schema, raise_errors=False):
        return
    try:
        validate(value, schema, raise_errors=True)
    except ValidationError as error:
        raise ValueError(f"{full_name}: {_describe(error)}") from None


def _naive_datetime(value: Any) -> str | None:
    """The path of the first naive datetime in `value`, e.g. "retention.at".

    Runs for every record Lethe writes, so the path is built only on the way
    back from a find (building it for every field was a tenth of the relay)."""
    if isinstance(value, datetime):
        return "" if value.utcoffset() is None else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, datetime | Mapping):
                found = _naive_datetime(item)
                if found is not None:
                    return f"{key}.{found}" if found else str(key)
    return None


def _describe(error: ValidationError) -> str:
    # Names field and types but never the value: it may be personal data.
    expected: dict[str, list[str]] = {}
    got: dict[str, str] = {}
    for problem in error.errors:
        expected.setdefault(problem.field, []).append(_type_name(problem.schema))
        got[problem.field] = (
            "missing or null"
            if problem.datum is None
            else f"a {type(problem.datum).__name__}"
        )
    return "; ".join(
        f"{field or 'the value'} is {got[field]}, expected {' or '.join(types)}"
        for field, types in expected.items()
    )


def _type_name(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("logicalType") or schema.get("name") or schema["type"])
    if isinstance(schema, list):
        return " or ".join(_type_name(branch) for branch in schema)
    return str(schema)
