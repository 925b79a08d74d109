"""Stored events back into domain events, fast, for the readers of many events.

Events are decoded with the plain C JSON scanner, reviving only the top-level
values that need it, instead of a Python hook on every object. The result is
the same event the mapper makes, upcast the same way (a test compares them); a
store with a cipher or compression uses the mapper itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import resolve_topic

from lethe.domain.application import Lethe

Decoder = Callable[[Any], Any]


def fast_decoder(app: Lethe, classes: Mapping[str, type] | None = None) -> Decoder:
    """A decoder equal to `app.mapper.to_domain_event` for plain JSON events.

    `classes` maps the topics to decode to their classes; by default every topic
    is resolved (once each) as the mapper would.
    """
    mapper = app.mapper
    if mapper.cipher is not None or mapper.compressor is not None:
        return mapper.to_domain_event
    transcoder: Any = mapper.transcoder
    known: dict[str, type] = dict(classes or {})

    def class_of(topic: str) -> type:
        cls = known.get(topic)
        if cls is None:
            cls = known[topic] = resolve_topic(topic)
        return cls

    # The C scanner itself: json.loads would first sniff the encoding of every
    # record and wrap the scan in two Python calls, a third of the decoding time.
    # (typeshed leaves out the instance attribute `scan_once`, set in __init__.)
    scan: Callable[[str, int], tuple[Any, int]]
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
    iso = datetime.fromisoformat

    def revive(value: dict[str, Any]) -> Any:
        if len(value) == 2 and value.get("_type_") == "datetime_iso":
            return iso(value["_data_"])
        return transcoder.decode(json.dumps(value).encode())  # rare: the full path

    def decode(notification: Any) -> Any:
        raw = notification.state
        state = scan(raw if type(raw) is str else bytes(raw).decode(), 0)[0]
        for key, value in state.items():
            if type(value) is dict:
                state[key] = revive(value)
            elif type(value) is list and value:
                state[key] = transcoder.decode(json.dumps(value).encode())
        cls = class_of(notification.topic)
        upcast(cls, state)
        originator_id = notification.originator_id
        state["originator_id"] = (
            originator_id if type(originator_id) is UUID else UUID(originator_id)
        )
        state["originator_version"] = notification.originator_version
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    return decode


def upcast(cls: type, state: dict[str, Any]) -> None:
    """Bring a stored state up to its class's version, as the mapper does."""
    version, current = state.pop("class_version", 1), getattr(cls, "class_version", 1)
    while version < current:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
