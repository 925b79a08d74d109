"""Records the event store refuses to hold: found by halving, set aside one by one.

A record can pass every contract check and still be refused on save (a value
the database cannot hold, a constraint an operator added). Retrying the batch
would fail for ever, so the taker saves the batch in halves, down to the one
record the store refuses, and sets that one aside: a dead letter with the
reason, a row `lethe status` shows, and its tracking position committed, so it
is not delivered again. Everything before and after it is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from eventsourcing.persistence import DataError

from lethe.consumers.checks import redact

# Only a DataError names a record: the value, not the store, is at fault. An
# OperationalError (a lock or statement timeout, a lost connection) or a
# ProgrammingError concerns every record alike and must stop the process
# loudly, so its supervisor restarts it (issue 11, part 5).
PER_RECORD: tuple[type[Exception], ...] = (DataError,)
MAX_REASON = 500  # characters of the database's message kept

# (place, reason, at) -> the SQL statement and parameters of the row that says
# so, run in the transaction that commits the record's tracking position.
SetAsideRow = Callable[[str, str, datetime], tuple[str, Sequence[Any]]]

Part = TypeVar("Part")


def halving(
    parts: Sequence[Part],
    save: Callable[[Sequence[Part]], None],
    refused: Callable[[Part, Exception], None],
) -> None:
    """Save `parts` in one go; if the store refuses, each half in turn, down to
    the single part it refuses, which goes to `refused`.

    Halves go in order, so the tracking positions they commit only grow; k bad
    records among n cost about 2k·log2(n) saves, none when all are good.
    """
    try:
        save(parts)
    except PER_RECORD as error:
        if len(parts) == 1:
            refused(parts[0], error)
            return
        middle = len(parts) // 2
        halving(parts[:middle], save, refused)
        halving(parts[middle:], save, refused)


def reason(error: Exception, personal: Iterable[str | None]) -> str:
    """Why the record was set aside, in one line: the database's first line,
    which names the problem, with any of the record's personal fields (the
    subject id, an item ref) that it quotes shown as digests."""
    lines = str(error).strip().splitlines()
    said = lines[0] if lines else type(error).__name__
    text = f"the event store refused this record ({type(error).__name__}): {said}"
    return redact(text, personal)[:MAX_REASON]


def place(tracking_name: str, offset: int) -> str:
    """topic:partition@offset, with the epoch (`#n`) of a resumed partition,
    whose offsets start again from 0."""
    return f"{tracking_name.removeprefix('kafka:')}@{offset}"
