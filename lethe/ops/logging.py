"""Structured logs: one JSON object a line, for Lethe and the libraries it uses.

What a line may carry is decided by field: fields that could hold a subject id
are shown as digests (`key#3f9a1c`), never as themselves and never by looking
for an id's text inside a message; messages are written never to quote such
values (STYLE.md rule 4), and `guard` is the net under that rule. Every line
is capped, so no record (or list of partitions) spills into one huge line.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import IO, Any

import structlog

from lethe.consumers import shown

LIBRARY_LEVEL = logging.WARNING  # kafka-python is chatty at INFO about every join

# Fields that hold, or may hold, a subject id (a record's key may be a customer
# id where an item id belongs): shown only as `key#3f9a1c`.
DIGESTED = frozenset({"key", "kafka_key", "subject", "subject_id", "customer_id"})
MAX_VALUE = 300  # characters of one field's text
MAX_ITEMS = 12  # entries of one list or mapping before it is summarised
MAX_LINE = 1000  # characters of the whole line, traceback aside


def guard(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: digests, then caps (tracebacks are left whole)."""
    for name, value in list(event.items()):
        if name in DIGESTED and not shown.is_digest(value):
            event[name] = shown.digest(None if value is None else str(value))
        elif name not in ("exc_info", "exception", "stack_info"):
            event[name] = _capped(value)
    return _shortened(event)


def _capped(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"({len(value)} bytes)"  # never raw bytes in a log
    if isinstance(value, str) and len(value) > MAX_VALUE:
        return value[:MAX_VALUE] + f"… (+{len(value) - MAX_VALUE} characters)"
    if isinstance(value, Mapping):
        pairs = list(value.items())
        capped = {str(k): _capped(v) for k, v in pairs[:MAX_ITEMS]}
        return capped if len(pairs) <= MAX_ITEMS else _summary(len(pairs), capped)
    if isinstance(value, list | tuple | set | frozenset):
        entries = [_capped(v) for v in list(value)[: MAX_ITEMS + 1]]
        return entries if len(value) <= MAX_ITEMS else _summary(len(value), entries)
    return value


def _summary(count: int, first: Any) -> dict[str, Any]:
    """A long list or mapping as its size and first few entries."""
    if isinstance(first, dict):
        return {"count": count, "first": dict(list(first.items())[:3])}
    return {"count": count, "first": first[:3]}


def _shortened(event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop the longest fields (saying so) until the line fits MAX_LINE."""
    kept = ("event", "level", "logger", "timestamp", "exc_info", "exception")
    while _length(event) > MAX_LINE:
        candidates = [n for n in event if n not in kept and not _is_note(event[n])]
        if not candidates:
            break
        longest = max(candidates, key=lambda n: _length(event[n]))
        event[longest] = f"({_length(event[longest])} characters left out)"
    return event


def _is_note(value: Any) -> bool:
    return isinstance(value, str) and value.endswith(" characters left out)")


def _length(value: Any) -> int:
    return len(json.dumps(value, default=str))


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    guard,
]


def get_logger(name: str) -> Any:
    """structlog's logger, with the guard in place even if `configure` never
    runs (most CLI commands do not configure logging)."""
    guard_unconfigured()
    return structlog.get_logger(name)


def guard_unconfigured() -> None:
    """Until `configure` runs (never, in most CLI commands), structlog prints
    with its defaults: put the guard before its renderer so those lines obey too."""
    if structlog.is_configured():
        return
    *processors, renderer = structlog.get_config()["processors"]
    structlog.configure(processors=[*processors, guard, renderer])


def json_formatter() -> logging.Formatter:
    """The formatter of `configure`'s handler: the guard runs in it for the
    stdlib's records (structlog's have passed it already), then one JSON line.
    The suite's leak scan formats every record with it, as production does."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def configure(level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Send structlog's and the stdlib's records as JSON lines to `stream` (stderr).

    Callers bind topic, partition, offset and item ids: never a subject id, a
    name or a blob's content (STYLE.md, rule 4).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LIBRARY_LEVEL)
    # kafka-python warns whenever one of its own tasks ran over 0.1 s: on a
    # loaded host that is every few seconds, in the middle of a command's
    # answer (a CLI refusal stopped being one line), and nothing an operator
    # can act on. Its errors still come through.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    logging.getLogger("lethe").setLevel(level.upper())
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
