"""Domain events into stored events, with a JSON encoder precompiled for flat states.

eventsourcing's `Mapper.to_stored_event` encodes each event's state with
`json.JSONEncoder`, which calls back into Python (`default`) for every datetime.
Nearly all of Lethe's events are flat: strings, ints, bools, None, datetimes.
`FastMapper` joins such a state from one precompiled piece per key and one
function per value type, and gives anything else (a nested value, a UUID, a
subclass, a non-finite float, a cipher or compressor) to the generic mapper
whole, so every stored event is byte for byte the generic one
(tests/unit/test_event_json.py compares them, and their exceptions).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

from eventsourcing.domain import DomainEventProtocol, TAggregateID
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoder,
    Transcoding,
)
from eventsourcing.utils import get_topic

Encode = Callable[[Any], str]

# Keys are event field names, a small set; random states (tests) stop caching here.
_MAX_KEYS = 1024


class _Fallback(Exception):
    """A value the precompiled encoder does not write as the generic one would."""


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _null(value: None) -> str:
    return "null"


def _float(value: float) -> str:
    # json writes NaN and the infinities its own way: leave them to it.
    if value - value == 0.0:
        return float.__repr__(value)
    raise _Fallback


# Exact types only: json writes a subclass by its base's rules, but a subclass may
# also be registered with the transcoder, or not be at all; the generic path decides.
_PLAIN: dict[type, Encode] = {
    str: encode_basestring,  # what JSONEncoder(ensure_ascii=False) uses, in C
    int: int.__repr__,  # bool is its own type here, never int
    bool: _bool,
    type(None): _null,
    float: _float,
}


def _datetime_encoder(transcoding: Transcoding) -> Encode:
    # isoformat() writes digits and "-:.+T" only: nothing a JSON string escapes.
    head = '{"_type_":' + encode_basestring(transcoding.name) + ',"_data_":"'

    def encode(value: datetime) -> str:
        return head + value.isoformat() + '"}'

    return encode


def _plain_encoder(transcoder: Transcoder) -> dict[type, Encode] | None:
    """The value encoders equal to `transcoder`'s, or None if it is not the stock
    JSON transcoder configured as eventsourcing makes it."""
    if type(transcoder) is not JSONTranscoder:
        return None
    json = transcoder.encoder
    stock = (
        json.item_separator == ","
        and json.key_separator == ":"
        and not json.ensure_ascii
        and not json.sort_keys
        and json.indent is None
        and json.allow_nan
        and json.default == transcoder._encode_obj
    )
    if not stock:
        return None
    values = dict(_PLAIN)
    transcoding = transcoder.types.get(datetime)
    if type(transcoding) is DatetimeAsISO:
        values[datetime] = _datetime_encoder(transcoding)
    return values


class FastMapper(Mapper[TAggregateID]):
    """A `Mapper` whose stored events equal the generic mapper's, made faster."""

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Any = None,
        cipher: Any = None,
    ) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        self._keys: dict[str, str] = {}
        self._compile()

    def _compile(self) -> None:
        # What the encoders were made from: checked on every event, so a transcoder
        # swapped or a datetime transcoding registered later is followed.
        transcoder: Any = self.transcoder
        self._made_for = (
            transcoder,
            getattr(transcoder, "encoder", None),
            getattr(transcoder, "types", {}).get(datetime),
        )
        self._values = _plain_encoder(transcoder)

    def _current(self) -> dict[type, Encode] | None:
        transcoder = self.transcoder
        if type(transcoder) is not JSONTranscoder:
            return None
        made_for, encoder, transcoding = self._made_for
        if (
            transcoder is not made_for
            or transcoder.encoder is not encoder
            or transcoder.types.get(datetime) is not transcoding
        ):
            self._compile()
        return self._values

    def to_stored_event(
        self, domain_event: DomainEventProtocol[TAggregateID]
    ) -> StoredEvent:
        # Compressed or encrypted, the encoding is a small part: keep one path.
        values = None
        if self.cipher is None and self.compressor is None:
            values = self._current()
        if values is None:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version  # last, as the generic mapper
        encoded = self._encode(state, values)
        if encoded is None:
            return super().to_stored_event(domain_event)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(domain_event.__class__),
            state=encoded,
        )

    def _encode(
        self, state: dict[str, Any], values: dict[type, Encode]
    ) -> bytes | None:
        """The state as the generic transcoder encodes it, or None to leave it to it.

        Raises what the generic encoding raises for a state it would encode here:
        a lone surrogate's UnicodeEncodeError, an int too long to write.
        """
        keys = self._keys
        try:
            body = ",".join([keys[k] + values[type(v)](v) for k, v in state.items()])
        except KeyError:  # a key not seen yet, or a value type left to json
            return self._encode_learning(state, values)
        except _Fallback:
            return None
        return ("{" + body + "}").encode("utf8")

    def _encode_learning(
        self, state: dict[str, Any], values: dict[type, Encode]
    ) -> bytes | None:
        for key, value in state.items():
            if type(key) is not str or type(value) not in values:
                return None
        try:
            parts = [
                encode_basestring(k) + ":" + values[type(v)](v)
                for k, v in state.items()
            ]
        except _Fallback:
            return None
        if len(self._keys) + len(state) <= _MAX_KEYS:
            for key in state:
                self._keys.setdefault(key, encode_basestring(key) + ":")
        return ("{" + ",".join(parts) + "}").encode("utf8")
