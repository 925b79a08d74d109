"""The erasures stores confirmed, read from the log: what a restore undoes.

A store restored from a backup has back every file it deleted after the
backup was taken. `confirmed_since` lists those erasures (the Erased events
after an instant), each with what a replay needs and nothing personal: the
item's ref and category, the store, the order id, when and how it was
confirmed, and the replays already recorded for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.utils import get_topic

from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.projections.bulk import load_events
from lethe.projections.decode import fast_decoder
from lethe.projections.store import SqlViews

ERASED = get_topic(Item.Erased)
INGESTED = get_topic(Item.Ingested)
REPLAYED = get_topic(Item.ErasureReplayed)
REPLAY_ANSWERED = get_topic(Item.ReplayAnswered)
REPLAY_WITHHELD = get_topic(Item.ReplayWithheld)
PAGE = 5000


@dataclass(frozen=True)
class Replay:
    """One replay of a confirmed erasure, and the store's answer if it came."""

    number: int
    at: datetime
    answer: str | None = None  # DELETED, NOT_FOUND, FAILED; "withheld" by a mark


@dataclass(frozen=True)
class ConfirmedErasure:
    item_ref: str
    category: str
    store: str
    order_id: str
    confirmed_at: datetime
    outcome: str  # DELETED or NOT_FOUND
    replays: tuple[Replay, ...] = ()


def confirmed_since(
    app: Lethe, views: SqlViews, since: datetime, store: str | None = None
) -> list[ConfirmedErasure]:
    """Every erasure confirmed after `since` (by `store`, if given), in log order."""
    erased = [
        e for e in _erased(app) if e.at > since and (store is None or e.store == store)
    ]
    ids = sorted({e.originator_id for e in erased})
    histories = load_events(
        app, views, ids, [INGESTED, REPLAYED, REPLAY_ANSWERED, REPLAY_WITHHELD]
    )
    return [_row(e, histories[e.originator_id]) for e in erased]


def stores(app: Lethe) -> set[str]:
    """Every store that ever confirmed an erasure."""
    return {e.store for e in _erased(app)}


def _erased(app: Lethe) -> Iterator[Any]:
    recorder = app.process_recorder
    decode = fast_decoder(app)
    head = recorder.max_notification_id() or 0
    start = 1
    while start <= head:
        page = recorder.select_notifications(start, PAGE, stop=head, topics=[ERASED])
        if not page:
            return
        yield from (decode(n) for n in page)
        start = page[-1].id + 1


def _row(erased: Any, history: list[Any]) -> ConfirmedErasure:
    ingested = history[0]
    return ConfirmedErasure(
        item_ref=ingested.item_ref,
        category=ingested.category,
        store=erased.store,
        order_id=erased.order_id,
        confirmed_at=erased.at,
        outcome=erased.outcome,
        replays=_replays(history, erased.order_id, erased.store),
    )


def _replays(history: list[Any], order_id: str, store: str) -> tuple[Replay, ...]:
    sent: dict[int, Replay] = {}
    for e in history:
        if getattr(e, "order_id", None) != order_id:
            continue
        if isinstance(e, Item.ErasureReplayed) and e.store == store:
            sent[e.number] = Replay(e.number, e.at)
        elif isinstance(e, Item.ReplayAnswered) and e.number in sent:
            sent[e.number] = Replay(e.number, sent[e.number].at, e.outcome)
        elif isinstance(e, Item.ReplayWithheld) and e.number in sent:
            sent[e.number] = Replay(e.number, sent[e.number].at, "withheld")
    return tuple(sent[n] for n in sorted(sent))
