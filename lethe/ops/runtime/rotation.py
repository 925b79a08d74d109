"""`lethe keys rotate`: a new KEK, every live key re-wrapped, the old KEK destroyed.

Crash-safe by order: the new KEK is on disk before the store names it; each
batch re-wraps its keys in one transaction (a key is under the old KEK or the
new, never neither); the old KEK is destroyed only once no key is under it.
A re-run after a crash takes the same new KEK and finishes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lethe.ops.runtime import keystore
from lethe.ops.runtime.kek import KekError, KekProvider
from lethe.ops.runtime.keystore import (
    KEK,
    KEK_ROTATED,
    KEK_ROTATING,
    read_state,
    scrub,
    upsert_state,
)
from lethe.projections.store import SqlViews

NOT_UNDER = (
    "SELECT subject_ref, kek_id, wrapped_key FROM lethe_wrapped_keys"
    " WHERE kek_id <> ? ORDER BY subject_ref LIMIT ?"
)


@dataclass(frozen=True)
class Rotated:
    old: str
    new: str
    rewrapped: int
    destroyed: str  # what destroying the old KEK meant


def rotate_kek(
    views: SqlViews,
    kek: KekProvider,
    batch_size: int = 500,
    after_batch: Callable[[int], None] = lambda done: None,
) -> Rotated:
    old = _recorded(views)
    new = kek.begin_rotation()
    if old != new:
        # FOR SHARE in the vault's insert waits for this flip: no key created
        # meanwhile can be wrapped by the old KEK and missed below.
        views.execute([upsert_state(KEK_ROTATING, old), upsert_state(KEK, new)])
    done = 0
    while True:
        rows = views.query(NOT_UNDER, (new, batch_size))
        if not rows:
            break
        views.execute([_rewrap(kek, new, *row) for row in rows])
        done += len(rows)
        after_batch(done)
    destroyed = kek.finish_rotation(new)
    views.execute(
        [
            upsert_state(KEK_ROTATED, new),
            ("DELETE FROM lethe_key_state WHERE name = ?", (KEK_ROTATING,)),
        ]
    )
    scrub(views)  # the re-wrapped rows' old versions
    return Rotated(old=old, new=new, rewrapped=done, destroyed=destroyed)


def _recorded(views: SqlViews) -> str:
    state = read_state(views, KEK)
    if state is None:
        raise KekError("this store records no KEK yet; start it once first")
    return state[0]


def _rewrap(
    kek: KekProvider, new: str, subject_ref: str, kek_id: str, wrapped: bytes
) -> keystore.Statement:
    data_key = kek.unwrap(kek_id, bytes(wrapped))
    # Only if still under the KEK read: a shred meanwhile stays a shred.
    return (
        "UPDATE lethe_wrapped_keys SET kek_id = ?, wrapped_key = ?"
        " WHERE subject_ref = ? AND kek_id = ?",
        (new, kek.wrap(new, data_key), subject_ref, kek_id),
    )


@dataclass(frozen=True)
class KekStatus:
    kek_id: str
    since: datetime  # when it became the store's KEK
    rotated: datetime | None  # when a rotation last destroyed the old one
    overdue: bool
    unfinished: bool  # keys under another KEK: a rotation crashed mid-way

    def line(self) -> str:
        last = (
            f"last rotated {self.rotated:%Y-%m-%d %H:%M} UTC (shreds before "
            f"{self.since:%Y-%m-%d %H:%M} UTC can no longer be re-linked)"
            if self.rotated
            else f"never rotated (in use since {self.since:%Y-%m-%d %H:%M} UTC)"
        )
        verdict = "overdue: run `lethe keys rotate`" if self.overdue else "not due"
        if self.unfinished:
            verdict = "a rotation is unfinished: re-run `lethe keys rotate`"
        return f"KEK {self.kek_id}: {last}; {verdict}"


def kek_status(views: SqlViews, rotation_days: int, now: datetime) -> KekStatus | None:
    """The store's KEK and its rotation, or None for a store that records none."""
    current = read_state(views, KEK)
    if current is None:
        return None
    rotated = read_state(views, KEK_ROTATED)
    since = _instant(current[1])
    last = _instant(rotated[1]) if rotated else None
    unfinished = read_state(views, KEK_ROTATING) is not None or bool(
        views.query(NOT_UNDER, (current[0], 1))
    )
    return KekStatus(
        kek_id=current[0],
        since=since,
        rotated=last,
        overdue=now - (last or since) > timedelta(days=rotation_days),
        unfinished=unfinished,
    )


def _instant(at_ms: int) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, UTC)
