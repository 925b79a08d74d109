"""Scan what Lethe let out (log lines, Kafka headers) for the subject ids a test
used: a hit names where, never the whole line (it would leak into the report)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lethe.ops import logging as lethe_logging
from tests.support.ingest import read_topic


@dataclass(frozen=True)
class Hit:
    where: str  # "log line 12", "lethe.dlq.v1@3 header lethe.reason"
    secret: str


SHORT_SECRET = 6  # characters: shorter ids are looked for as whole tokens only


def hits(texts: Iterable[tuple[str, str]], secrets: Iterable[str]) -> list[Hit]:
    """Every (where, secret) such that `secret` occurs in the text, in any case.

    Anywhere for an id of 6 characters or more; as a whole token for a shorter
    one, which would otherwise be found inside Lethe's own words ("case" in
    "lowercase") and hide a real leak among false ones."""
    patterns = [(s, _pattern(s)) for s in secrets if s.strip()]
    if not patterns:
        return []
    # One pass for all ids first: the suite's scan is every line by every id.
    anyone = re.compile("|".join(f"(?:{p.pattern})" for _, p in patterns), re.I)
    return [
        Hit(where, secret)
        for where, text in texts
        if anyone.search(text)
        for secret, pattern in patterns
        if pattern.search(text)
    ]


def _pattern(secret: str) -> re.Pattern[str]:
    if len(secret) >= SHORT_SECRET:
        return re.compile(re.escape(secret), re.IGNORECASE)
    return re.compile(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", re.IGNORECASE)


@dataclass
class CapturedLog:
    stream: io.StringIO = field(default_factory=io.StringIO)

    def lines(self) -> list[tuple[str, str]]:
        text = self.stream.getvalue()
        return [(f"log line {n}", line) for n, line in enumerate(text.splitlines())]


@contextmanager
def captured_log(level: str = "DEBUG") -> Iterator[CapturedLog]:
    """Lethe's JSON logging (as `lethe run` sets it up) into a buffer; the root
    logger's handlers and level are put back afterwards."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    lethe_level = logging.getLogger("lethe").level
    captured = CapturedLog()
    lethe_logging.configure(level, stream=captured.stream)
    try:
        yield captured
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        logging.getLogger("lethe").setLevel(lethe_level)


def headers_of(bootstrap: str, topic: str, at_least: int) -> list[tuple[str, str]]:
    """Every header of every record of `topic`, read back from the broker."""
    texts = []
    for record in read_topic(bootstrap, topic, at_least, settle=1.0):
        for name, value in record.headers or ():
            where = f"{topic}@{record.partition}:{record.offset} header {name}"
            texts.append((where, _text(value)))
    return texts


def _text(value: Any) -> str:
    return bytes(value or b"").decode("utf-8", "replace")
