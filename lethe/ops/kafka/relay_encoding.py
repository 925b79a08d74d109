"""A compiled Avro writer for the relay's flat records (the plain ErasureOrder).

`Catalogue.encode_as` walks the schema for every record: the contract check
(fastavro's `validate` and the naive-datetime scan) and then fastavro's generic
writer, ~130 µs of CPU an order under the profiler, the largest share of the
relay after signing. A plain order is a flat record of strings, an enum, two
instants and an int, so its writer is compiled once from the schema into one
small function a field.

Each field's function checks its value as strictly as the contract does (the
exact type, an aware datetime, a known symbol, the int's range) and raises
`Misfit` on anything else; so does a missing or an unknown field. A misfit is
never encoded here: the caller gives that record to the generic path, which
refuses it with its usual message (or, if this writer was only stricter than
it needs to be, encodes it). The bytes are the generic path's, byte for byte:
tests/unit/test_relay_encoding.py compares them over generated orders.

A schema with any other kind of field compiles to None: the generic path only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from lethe.consumers.codec import MARKER

Encode = Callable[[Any], bytes]
RecordWriter = Callable[[Mapping[str, Any]], bytes]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
_SMALL = tuple(bytes((n,)) for n in range(0x80))  # one-byte varints
_NULL, _PRESENT = b"\x00", b"\x02"  # union branch 0 and 1, zig-zag coded


class Misfit(Exception):
    """A value this writer does not encode: the generic path decides."""


def compile_writer(
    schema: Mapping[str, Any], fingerprint: bytes
) -> RecordWriter | None:
    """The single-object encoder of a flat record schema, or None if it has a
    field of a kind not compiled here."""
    fields = []
    for field in schema.get("fields", ()):
        encode = _field_encoder(field["type"])
        if encode is None:
            return None
        fields.append((field["name"], encode))
    names = frozenset(name for name, _ in fields)
    header = MARKER + fingerprint

    def write(value: Mapping[str, Any]) -> bytes:
        if len(value) != len(fields) or not names.issuperset(value):
            raise Misfit("missing or unknown fields")  # defaults: the generic path
        return header + b"".join([encode(value[name]) for name, encode in fields])

    return write


def _field_encoder(avro_type: Any) -> Encode | None:
    if isinstance(avro_type, list):
        if len(avro_type) == 2 and avro_type[0] == "null":
            present = _field_encoder(avro_type[1])
            return None if present is None else _optional(present)
        return None
    if isinstance(avro_type, dict):
        if avro_type.get("type") == "enum":
            return _enum(avro_type["symbols"])
        if avro_type == {"type": "long", "logicalType": "timestamp-millis"}:
            return _timestamp_millis
        return None
    return {"string": _string, "int": _int, "long": _long}.get(avro_type)


def _optional(present: Encode) -> Encode:
    def encode(value: Any) -> bytes:
        return _NULL if value is None else _PRESENT + present(value)

    return encode


def _enum(symbols: list[str]) -> Encode:
    index = {symbol: _varint(2 * i) for i, symbol in enumerate(symbols)}

    def encode(value: Any) -> bytes:
        if type(value) is not str or value not in index:
            raise Misfit("not a symbol of the enum")
        return index[value]

    return encode


def _string(value: Any) -> bytes:
    if type(value) is not str:
        raise Misfit("not a str")
    try:
        data = value.encode()
    except UnicodeEncodeError:  # a lone surrogate: fastavro refuses it too
        raise Misfit("not UTF-8 encodable") from None
    return _zigzag(len(data)) + data


def _int(value: Any) -> bytes:
    if type(value) is not int or not INT_MIN <= value <= INT_MAX:
        raise Misfit("not an int")
    return _zigzag(value)


def _long(value: Any) -> bytes:
    if type(value) is not int or not LONG_MIN <= value <= LONG_MAX:
        raise Misfit("not a long")
    return _zigzag(value)


def _timestamp_millis(value: Any) -> bytes:
    # Only an aware datetime: fastavro would read a naive one as local time,
    # and the contract refuses it. fastavro's own conversion, integer-exact.
    if type(value) is not datetime or value.utcoffset() is None:
        raise Misfit("not an aware datetime")
    delta = value - EPOCH
    millis = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return _zigzag(millis)


def _zigzag(n: int) -> bytes:
    return _varint((n << 1) ^ (n >> 63))


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
