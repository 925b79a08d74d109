"""How the schedule splits a page's changes into saves of bounded size."""

from __future__ import annotations

from typing import Any

from lethe.domain.subject import Subject

SAVE_CHUNK = 1000
# And at most about this many bytes of event state a save: the events go in one
# INSERT, and a fan-out of a few large events (a long hold reason on every item
# of a subject) once hung inside psycopg's pipeline holding the events lock.
SAVE_BYTES = 4_000_000


def save_chunks(
    changed: list[Any], most: int = SAVE_CHUNK, most_bytes: int = SAVE_BYTES
) -> list[list[Any]]:
    """At most `most` aggregates and about `most_bytes` of events a save, subjects
    last (an aggregate larger than `most_bytes` goes alone).

    A 10,000-item subject in one save once hung inside psycopg's pipeline; and
    a subject's answer must only be recorded once every item's order is.
    """
    ordered = sorted(changed, key=lambda aggregate: isinstance(aggregate, Subject))
    chunks: list[list[Any]] = [[]]
    size = 0
    for aggregate in ordered:
        grows = pending_bytes(aggregate)
        if chunks[-1] and (len(chunks[-1]) >= most or size + grows > most_bytes):
            chunks.append([])
            size = 0
        chunks[-1].append(aggregate)
        size += grows
    return chunks


def pending_bytes(aggregate: Any) -> int:
    """A cheap upper-bound guess of the stored size of the aggregate's new events:
    the text of their attributes (JSON adds little; its escapes are rare)."""
    return sum(
        64 + sum(len(str(value)) for value in vars(event).values())
        for event in aggregate.pending_events
    )
