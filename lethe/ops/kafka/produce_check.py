"""Before a record is sent: the consumer's own contract checks, run by the producer.

`lethe run` reads every inbound record with `lethe.consumers.records.read`
and dead-letters what it refuses. Running that same function on the bytes
about to be sent refuses here, with the same reason, what would be
dead-lettered there. What needs Lethe's store to judge (a release of a hold
that is not placed, a confirmation of an unknown order) is left to `lethe run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lethe.consumers.checks import Contract
from lethe.consumers.codec import Catalogue, PoisonRecord
from lethe.consumers.records import KIND_BY_TOPIC, read_unsigned
from lethe.domain.policy import Policy
from lethe.ops.kafka.produce_json import JsonLineError
from lethe.ops.settings import Settings


def contract_for(
    settings: Settings, policies: Mapping[str, Policy], catalogue: Catalogue
) -> Contract:
    """The contract `lethe run` holds inbound records to, from the settings."""
    return Contract(
        policies=policies,
        max_clock_skew=timedelta(seconds=settings.max_clock_skew_s),
        catalogue=catalogue,
        earliest=settings.earliest_instant,
    )


@dataclass  # not frozen: `checks.Delivered` declares plain attributes
class _Outgoing:
    """A record as the consumer will see it (`checks.Delivered`), before it is sent."""

    topic: str
    key: bytes | None
    value: bytes | None
    partition: int = -1  # not known before the broker places it
    offset: int = -1


def refusal(
    contract: Contract, contract_topic: str, key: bytes, data: bytes, now: datetime
) -> str | None:
    """Why `lethe run` would dead-letter this record at `now`, or None."""
    kind = KIND_BY_TOPIC[contract_topic]
    try:
        # Unsigned: the producer signs each record as it sends it.
        read_unsigned(kind, _Outgoing(contract_topic, key, data), contract, now)
    except PoisonRecord as poison:
        return poison.reason
    return None


@dataclass
class Judged:
    """Lines of a file, each either fit to send or refused with its reason."""

    fit: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def judge_lines(
    encode_line: Callable[[str, int], tuple[bytes, bytes]],
    contract: Contract,
    contract_topic: str,
    lines: Iterable[bytes],
    now: datetime,
) -> Judged:
    """Every non-blank line through the schema, then the consumer's checks."""
    judged = Judged()
    for number, raw in enumerate(lines, start=1):
        try:
            # Line by line: one broken byte refuses its line, not the whole file.
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            column = error.start + 1
            judged.refused.append((number, f"not UTF-8 (at byte {column})"))
            continue
        if not line.strip():
            continue
        try:
            key, data = encode_line(line, number)
        except JsonLineError as misfit:
            judged.refused.append((number, str(misfit).partition(": ")[2]))
            continue
        reason = refusal(contract, contract_topic, key, data, now)
        if reason is None:
            judged.fit.append((number, key, data))
        else:
            judged.refused.append((number, reason))
    return judged
