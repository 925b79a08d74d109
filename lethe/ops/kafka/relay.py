"""The erasure relay: the event log is the outbox, and this sends it to Kafka.

It reads the log from its own tracking position, keeping only ErasureOrdered,
ErasureReissued, ErasureReplayed, ErasureRecalled and Erased. For each it sends
its record (relay_records.py: an ErasureOrder, marked as a replay for a
restored store's ErasureReplayed, or an ErasureRecall to `lethe.erasures.v1`,
or, once a store has erased the item, its tombstone); then it flushes, checks
that every record was acknowledged, and only then records its position. A
crash anywhere before that re-sends the page on restart: nothing is lost, and a
re-sent record carries the same order id (derived from item and cause), so
stores recognise it. Orders and recalls are keyed by item id, so a store reads
an item's recall after the order it takes back.

The relay is also the gate (docs/architecture.md, "Holds win in log order"):
an ErasureOrdered preceded in the log by a hold or restriction on its subject
that is still on at that position is not sent. The relay records
ErasureWithheld on the item instead (ReplayWithheld for a replay), in the
transaction that moves its position, so the history says the order never
left. The decision reads only the log below the order, so a relay reading
its page again, or a second relay, decides the same.

The producer is librdkafka's (lethe/ops/kafka/rdkafka.py), not kafka-python's: two
records an order, and kafka-python's send alone took ~34 µs of CPU a record,
half of the relay's CPU. Pages are not pipelined (page n+1 sent while page n's
acknowledgements come in): with librdkafka the wait for a page's
acknowledgements is ~5 ms, 2% of the relay's time, so there is nothing to hide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import get_topic

from lethe.consumers.batch import ORDER_ID_HEADER as SENT_BY_LETHE_HEADER
from lethe.consumers.codec import Catalogue
from lethe.domain import identity
from lethe.domain.application import Lethe
from lethe.domain.gate import Mark, SubjectMarks
from lethe.domain.item import Item
from lethe.domain.subject import Subject
from lethe.ops import logging as lethe_logging
from lethe.ops.kafka.relay_records import ATTEMPT_HEADER, Outgoing, Source, records_for
from lethe.projections.bulk import load_events, load_items, select_positioned
from lethe.projections.decode import fast_decoder
from lethe.projections.store import SqlViews

TRACKING_NAME = "lethe-relay"
ORDERS_TOPIC = "lethe.erasures.v1"
ORDER_ID_HEADER = SENT_BY_LETHE_HEADER
ORDERED = get_topic(Item.ErasureOrdered)
REISSUED = get_topic(Item.ErasureReissued)
RECALLED = get_topic(Item.ErasureRecalled)
REPLAYED = get_topic(Item.ErasureReplayed)
ERASED = get_topic(Item.Erased)
RECALL_ANSWERED = get_topic(Item.RecallAnswered)
WITHHELD = get_topic(Item.ErasureWithheld)
INGESTED = get_topic(Item.Ingested)
# What the relay reads from the log: every record it sends follows one of these.
RELAYED_TOPICS = [ORDERED, REISSUED, REPLAYED, RECALLED, ERASED]
ORDERS = (Item.ErasureOrdered, Item.ErasureReissued)
# What the gate may keep back: an order, its re-sending, or its replay.
GATED = (*ORDERS, Item.ErasureReplayed)
__all__ = ["ATTEMPT_HEADER", "ORDER_ID_HEADER", "Outgoing", "Relay", "Source"]
# The subject's events that put a mark on or take it off: (topic, kind, on).
MARK_TOPICS = {
    get_topic(Subject.HoldPlaced): ("hold", True),
    get_topic(Subject.HoldReleased): ("hold", False),
    get_topic(Subject.Restricted): ("restriction", True),
    get_topic(Subject.RestrictionLifted): ("restriction", False),
}
WITHHOLD_ATTEMPTS = 5

log = lethe_logging.get_logger(__name__)


@dataclass(frozen=True)
class Backlog:
    """How far the relay has sent the log, and what waits above it."""

    position: int
    waiting: int  # events whose records are not yet sent, counted up to `most`
    most: int

    @property
    def more(self) -> bool:
        return self.waiting >= self.most


def backlog(app: Lethe, most: int = 1000) -> Backlog:
    """What `lethe status` shows of the relay (in `lethe run` or `lethe relay`)."""
    recorder = app.process_recorder
    position = recorder.max_tracking_id(TRACKING_NAME) or 0
    waiting = recorder.select_notifications(position + 1, most, topics=RELAYED_TOPICS)
    return Backlog(position, len(waiting), most)


class Producer(Protocol):
    """What the relay needs of a Kafka producer: RdKafkaProducer in service.

    `send` returns a future-like record (`is_done`, `failed()`, `exception`),
    as kafka-python's KafkaProducer does, which the tests and tools may pass too.
    """

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> Any: ...

    def flush(self, timeout: float | None = None) -> Any: ...


class RelayError(RuntimeError):
    """Kafka did not take every record of a page: nothing was marked as sent."""


class Relay:
    """Sends erasure orders and tombstones from the event log, at least once."""

    def __init__(
        self,
        app: Lethe,
        producer: Producer,
        catalogue: Catalogue,
        *,
        page_size: int = 1000,
        orders_topic: str = ORDERS_TOPIC,
        send_timeout_s: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.app = app
        self.producer = producer
        self.catalogue = catalogue
        self.page_size = page_size
        self.orders_topic = orders_topic
        self.send_timeout_s = send_timeout_s
        self.clock = clock
        self.views = SqlViews(app.process_recorder)
        self._decode = fast_decoder(app)
        self._read_to = 0  # the log is read this far; nothing to send before it

    @property
    def position(self) -> int:
        return self.app.process_recorder.max_tracking_id(TRACKING_NAME) or 0

    def relay_pending(self, limit: int | None = None) -> int:
        """Send every order recorded since the last call (up to `limit`); how many."""
        total = 0
        while limit is None or total < limit:
            size = (
                self.page_size if limit is None else min(self.page_size, limit - total)
            )
            sent = self.relay_page(size)
            if sent == 0:
                break
            total += sent
        return total

    def relay_page(self, size: int) -> int:
        recorder = self.app.process_recorder
        # Orders are rare in the log, and PostgreSQL finds them by scanning it from
        # the start: 50 ms per 100,000 events. The tracking position only moves
        # with an order, so remember how far the log was read (in memory: a
        # restart reads from the position again). Safe because eventsourcing
        # commits notifications in id order: none can appear below the head.
        head = recorder.max_notification_id() or 0
        notifications = recorder.select_notifications(
            max(self.position, self._read_to) + 1,
            size,
            stop=head,
            topics=RELAYED_TOPICS,
        )
        if notifications:
            events = [self._decode(n) for n in notifications]
            orders = [
                (n, e)
                for n, e in zip(notifications, events, strict=True)
                if isinstance(e, GATED)
            ]
            held = self._held([n for n, _ in orders], [e for _, e in orders])
            withheld = {n.id: (e, held[n.id]) for n, e in orders if n.id in held}
            to_send = self._to_send(notifications, events, withheld)
            records = self._records(to_send)
            self._send(records)
            self._advance(notifications[-1].id, withheld)
            log.info(
                "relayed",
                events=len(to_send),
                records=len(records),
                withheld=len(withheld),
                position=notifications[-1].id,
            )
        if len(notifications) < size:  # a full page may have more orders behind it
            self._read_to = head
        return len(notifications)

    def _to_send(
        self,
        notifications: Sequence[Any],
        events: list[Any],
        withheld: dict[int, tuple[Any, list[str]]],
    ) -> list[Any]:
        """The page's events but the withheld orders and the recalls they make
        moot (a late mark's recall of an order that never left)."""
        never_sent = {
            (e.originator_id, e.originator_version) for e, _ in withheld.values()
        }
        recalls = [e for e in events if isinstance(e, Item.ErasureRecalled)]
        moot = self._moot(recalls, never_sent)
        return [
            e
            for n, e in zip(notifications, events, strict=True)
            if n.id not in withheld and id(e) not in moot
        ]

    def _moot(self, recalls: list[Any], never_sent: set[tuple[UUID, int]]) -> set[int]:
        """The recalls (by id()) of orders withheld: in this page, or already
        recorded. After a recall its order stays live until it is withheld or
        answered, so the recall is moot if the item's next ErasureWithheld or
        ErasureOrdered after it is an ErasureWithheld."""
        if not recalls:
            return set()
        ids = sorted({r.originator_id for r in recalls})
        later = load_events(self.app, self.views, ids, [WITHHELD, ORDERED])
        moot = set()
        for recall in recalls:
            if (recall.originator_id, recall.order_version) in never_sent:
                moot.add(id(recall))
                continue
            after = [
                e
                for e in later.get(recall.originator_id, [])
                if e.originator_version > recall.originator_version
            ]
            first = min(after, key=lambda e: e.originator_version, default=None)
            if isinstance(first, Item.ErasureWithheld):
                moot.add(id(recall))
        return moot

    def _records(self, to_send: list[Any]) -> list[Outgoing]:
        originals = self._original_orders(to_send)
        sources = self._sources(originals)
        kept = self._kept([e for e in to_send if isinstance(e, Item.Erased)])
        return [
            r
            for e, o in zip(to_send, originals, strict=True)
            if not (
                isinstance(e, Item.Erased) and (e.originator_id, e.order_id) in kept
            )
            for r in records_for(
                e, o, sources[id(o)], self.catalogue, self.orders_topic
            )
        ]

    def _kept(self, erased: list[Any]) -> set[tuple[UUID, str]]:
        """The erased items' orders a store answered RECALLED: no tombstone."""
        ids = sorted({e.originator_id for e in erased})
        answers = load_events(self.app, self.views, ids, [RECALL_ANSWERED])
        return {
            (a.originator_id, a.order_id)
            for history in answers.values()
            for a in history
            if a.outcome == "RECALLED"
        }

    def _sources(self, originals: list[Any]) -> dict[int, Source]:
        """Each order's item ref and the partition its record was read from."""
        sources = {
            id(o): Source(o.item_ref, o.source_partition)
            for o in originals
            if o.item_ref is not None
        }
        # A version-1 order carries neither: its item's Ingested event does.
        older = [o for o in originals if id(o) not in sources]
        ingested = load_events(
            self.app, self.views, sorted({o.originator_id for o in older}), [INGESTED]
        )
        for o in older:
            first = ingested[o.originator_id][0]
            sources[id(o)] = Source(first.item_ref, first.source_partition)
        return sources

    def _original_orders(self, events: list[Any]) -> list[Any]:
        """For each event, the ErasureOrdered it sends, repeats, recalls or
        follows (an erasure's tombstone).

        An item may have several (a withheld order made again, a record that
        arrived after its erasure, an order after a recall); the others name
        theirs by order id, which may be pages behind.
        """
        in_page: dict[tuple[UUID, str], Any] = {}
        for e in events:
            if isinstance(e, Item.ErasureOrdered):
                in_page.setdefault((e.originator_id, e.order_id), e)
        missing = sorted(
            {
                e.originator_id
                for e in events
                if (e.originator_id, e.order_id) not in in_page
            }
        )
        stored = load_events(self.app, self.views, missing, [ORDERED])
        originals = []
        for e in events:
            if isinstance(e, Item.ErasureOrdered):
                originals.append(e)
            elif (e.originator_id, e.order_id) in in_page:
                originals.append(in_page[e.originator_id, e.order_id])
            else:
                earlier = stored.get(e.originator_id, [])
                originals.append(next(o for o in earlier if o.order_id == e.order_id))
        return originals

    def _send(self, records: Sequence[Outgoing]) -> None:
        futures = [
            self.producer.send(
                r.topic,
                value=r.value,
                key=r.key,
                headers=r.headers,
                partition=r.partition,
            )
            for r in records
        ]
        self.producer.flush(timeout=self.send_timeout_s)
        failed = [f for f in futures if not f.is_done or f.failed()]
        if failed:
            first = failed[0].exception if failed[0].is_done else "not acknowledged"
            raise RelayError(
                f"{len(failed)} of {len(futures)} records not sent: {first}"
            )

    # -- the gate ------------------------------------------------------------------

    def _held(
        self, notifications: Sequence[Any], events: list[Any]
    ) -> dict[int, list[str]]:
        """The orders of the page to keep back, by position, with the marks on."""
        ordered = list(zip((n.id for n in notifications), events, strict=True))
        if not ordered:
            return {}
        subjects = self._subjects_of(events)
        marks = self._marks(set(subjects.values()), below=ordered[-1][0])
        held: dict[int, list[str]] = {}
        for position, event in ordered:
            on = marks.on_at(subjects[event.originator_id], position)
            if on:
                held[position] = on
        return held

    def _subjects_of(self, orders: list[Any]) -> dict[UUID, UUID]:
        """Each ordered item's subject's stream id: from the order itself (version
        3 carries the subject's pseudonym), else the schedule, else its Ingested."""
        found: dict[UUID, UUID] = {}
        by_ref: dict[str, UUID] = {}  # a subject's items come in runs
        for order in orders:
            subject_ref = getattr(order, "subject_ref", None)
            if subject_ref is not None:
                if subject_ref not in by_ref:
                    by_ref[subject_ref] = identity.subject_id(subject_ref)
                found[order.originator_id] = by_ref[subject_ref]
        unnamed = (o.originator_id for o in orders if o.originator_id not in found)
        wanted = list(dict.fromkeys(unnamed))
        for start in range(0, len(wanted), 500):
            chunk = [str(i) for i in wanted[start : start + 500]]
            marks = ",".join("?" for _ in chunk)
            for item_id, subject_ref in self.views.query(
                "SELECT item_id, subject_ref FROM lethe_schedule"
                f" WHERE item_id IN ({marks})",
                chunk,
            ):
                found[UUID(item_id)] = identity.subject_id(subject_ref)
        missing = [i for i in wanted if i not in found]
        for item_id, history in load_events(
            self.app, self.views, missing, [INGESTED]
        ).items():
            found[item_id] = identity.subject_id(history[0].subject_ref)
        return found

    def _marks(self, subject_ids: set[UUID], below: int) -> SubjectMarks:
        stored = select_positioned(
            self.app, self.views, sorted(subject_ids), list(MARK_TOPICS), below
        )
        marks = []
        for position, record in stored:
            kind, on = MARK_TOPICS[record.topic]
            event = self._decode(record)
            name = event.case_ref if kind == "hold" else event.ticket
            marks.append(Mark(position, event.originator_id, f"{kind}:{name}", on))
        return SubjectMarks(marks)

    def _advance(
        self, notification_id: int, withheld: dict[int, tuple[Any, list[str]]]
    ) -> None:
        """Move the position, recording each withheld order in the same commit."""
        tracking = Tracking(TRACKING_NAME, notification_id)
        for _attempt in range(WITHHOLD_ATTEMPTS):
            if self.position >= notification_id:
                # Another relay got there first; it sent the same records (same
                # ids) and withheld the same orders.
                log.warning("relay position already past", position=notification_id)
                return
            changed = self._withhold(withheld)
            try:
                if changed:
                    self.app.record(*changed, tracking=tracking)
                else:  # a save of no events would not record the position
                    self.app.process_recorder.insert_tracking(tracking)
                return
            except IntegrityError:
                continue  # an item changed under us, or another relay moved on
        raise RelayError(f"could not record the relay position {notification_id}")

    def _withhold(self, withheld: dict[int, tuple[Any, list[str]]]) -> list[Item]:
        if not withheld:
            return []
        refs = [getattr(e, "item_ref", None) for e, _ in withheld.values()]
        by_id = {
            item.id: item
            for item in load_items(self.app, self.views, [r for r in refs if r])
        }
        missing = [
            e.originator_id
            for e, _ in withheld.values()
            if e.originator_id not in by_id
        ]
        for item_id in missing:
            by_id[item_id] = self.app.repository.get(item_id)
        at = self.clock()
        changed: dict[UUID, Item] = {}
        for event, on in withheld.values():
            item = by_id[event.originator_id]
            if isinstance(event, Item.ErasureReplayed):
                kept = item.withhold_replay(event.order_id, event.number, on, at)
            else:
                version = event.originator_version
                kept = item.withhold_erasure(event.order_id, version, on, at)
            if kept:
                changed[item.id] = item
                log.warning(
                    "order withheld: its subject was held or restricted first",
                    item_id=item.item_ref,
                    order_id=event.order_id,
                    marks=on,
                )
        return list(changed.values())
