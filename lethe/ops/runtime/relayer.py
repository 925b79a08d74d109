"""`lethe relay`: the relay in a process of its own, following the log.

In `lethe run` the relay takes turns with the schedule and the sweep in one
thread, so a sweep's orders leave only after the sweep, and Python runs one
of them at a time. A `lethe relay` beside it sends each page of orders as soon
as the sweep commits it, on another core (docs/performance.md, "Sweep").

One relay sends at a time: the holder of the relay lease (a PostgreSQL
advisory lock, lethe/ops/runtime/lease.py). `lethe run`'s projector borrows
that lease for each relay and lets go after it, so a `lethe relay` that starts
takes over at its next poll; when it stops or is killed, its lock goes with
its session and `lethe run` relays again at its next tick. No order waits for
an operator, and two relays never send the same page at once (each would be
safe, at least once with the same order ids, but the stores would read it
twice). On the embedded store (SQLite) `lethe run` relays itself: a second
process there would have no lease to share, so `lethe relay` refuses.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from lethe.consumers.codec import Catalogue
from lethe.domain.application import Lethe
from lethe.ops.kafka.relay import ORDERS_TOPIC, Producer, Relay
from lethe.ops.kafka.shred_ledger import SHRED_LEDGER_TOPIC, LedgerRelay
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.lease import RELAY_LEASE, Lease, lease_for
from lethe.ops.runtime.projector import Relaying
from lethe.ops.settings import Settings

POLL_INTERVAL_S = 0.2  # how often an idle `lethe relay` looks for new orders


@dataclass(frozen=True)
class Relays:
    """What a relay sends: erasure orders, then the shred ledger's records."""

    orders: Relay
    ledger: LedgerRelay

    def relay_pending(self, limit: int | None = None) -> int:
        return self.orders.relay_pending(limit) + self.ledger.relay_pending(limit)


def relays(
    app: Lethe, producer: Producer, topics: TopicSettings, settings: Settings
) -> Relays:
    return Relays(
        Relay(
            app,
            producer,
            Catalogue.shipped(),
            orders_topic=topics.name(ORDERS_TOPIC),
            page_size=settings.batch_size,
        ),
        LedgerRelay(
            app,
            producer,
            topics.name(SHRED_LEDGER_TOPIC),
            page_size=settings.batch_size,
        ),
    )


class LeasedRelay:
    """A relay that sends only while it holds the relay lease.

    `borrowed`: let the lease go after each call (`lethe run`'s projector, so
    a dedicated relay can take it); else keep it until the process stops.
    """

    def __init__(self, relay: Relaying, lease: Lease, *, borrowed: bool) -> None:
        self.relay, self.lease, self.borrowed = relay, lease, borrowed

    def relay_pending(self, limit: int | None = None) -> int:
        if not self.lease.held():
            return 0  # another relay sends
        try:
            return self.relay.relay_pending(limit)
        finally:
            if self.borrowed:
                self.lease.let_go()


def relay_lease(settings: Settings) -> Lease:
    return lease_for(settings, RELAY_LEASE)


def follow(
    relay: LeasedRelay, stop: threading.Event, interval_s: float = POLL_INTERVAL_S
) -> int:
    """Relay until `stop` is set; a full page goes on at once, an empty one waits.

    Returns how many records went out (orders, recalls, tombstones, shreds).
    """
    total = 0
    while not stop.is_set():
        sent = relay.relay_pending()
        total += sent
        if not sent:
            stop.wait(interval_s)
    return total
