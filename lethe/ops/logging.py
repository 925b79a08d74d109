"""Structured logs: one JSON object a line, for Lethe and the libraries it uses."""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

import structlog

LIBRARY_LEVEL = logging.WARNING  # kafka-python is chatty at INFO about every join

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure(level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Send structlog's and the stdlib's records as JSON lines to `stream` (stderr).

    Callers bind topic, partition, offset and item ids: never a subject id, a
    name or a blob's content (STYLE.md, rule 4).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LIBRARY_LEVEL)
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
