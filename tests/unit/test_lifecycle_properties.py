"""Random lives of a few customers' items: the erasure invariants hold after every step.

The machine drives the real application, schedule process, sweeper and relay on
an SQLite file, with one clock that only moves forward. Commands interleave with
the projector's *steps*, not only whole ticks: one schedule page of two
notifications, one sweeper page of one item, one relay page of one order. The
invariants are checked against the aggregates, their event histories and the
log, never against the view:

- part 1: nothing the relay sent was preceded in the log by a hold or
  restriction still on, on the item or on its subject;
- part 2: a hold or restriction placed after an order (before or after the
  store answered, on the item or its subject) is recorded and recalls the
  order exactly once; a recall goes out only for an order that did; no
  tombstone goes out before a store erased the item, nor for an order a store
  answered RECALLED; a TOO_LATE answer is recorded as such;
- part 3: a subject erasure is ordered only for an item its request covers;
- part 7: a record of an erased item arriving again is ordered erased again.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import event as seen  # --hypothesis-show-statistics counts them
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from lethe.consumers.codec import Catalogue
from lethe.domain import identity
from lethe.domain.errors import ItemAlreadyErasedError
from lethe.domain.item import Item, ItemState, Outcome
from lethe.domain.policy import ItemFacts
from lethe.domain.reconcile import SUBJECT_HOLD_PREFIX, covers
from lethe.domain.subject import Subject
from lethe.ops.kafka.relay import Relay
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from lethe.projections.schedule import ScheduleProcess
from lethe.projections.sweeper import SweepReport
from tests.support import T0, ingest_record

CONTROLLER = "sector-alarm"
CUSTOMERS = ("cust-A", "cust-B")
CATEGORIES = (
    "verification-image",
    "alarm-event",
    "invoice",
    "customer-identity",
    "alarm-call-recording",
)
CASES = ("POL-1", "POL-2")
STEPS = st.sampled_from(
    [
        timedelta(minutes=5),
        timedelta(days=1),
        timedelta(days=8),
        timedelta(days=40),
        timedelta(days=400),
        timedelta(days=3 * 365),
    ]
)
BACK = st.sampled_from(
    [timedelta(0), timedelta(days=3), timedelta(days=20), timedelta(days=800)]
)
PICK = st.integers(min_value=0, max_value=10_000)
KINDS = st.sampled_from(["hold", "restriction"])
CUSTOMER = st.sampled_from(CUSTOMERS)
SETTLE = st.booleans()  # let the schedule process catch up right after the step


class ItemLives(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.kept_copies: dict[str, str] = {}  # item ref: the order id when kept
        self.directory = Path(tempfile.mkdtemp(prefix="lethe-props-"))
        self.rt: Runtime = build_runtime(
            Settings.from_env(
                {
                    "LETHE_STORE": "sqlite",
                    "LETHE_SQLITE_PATH": str(self.directory / "l.db"),
                }
            )
        )
        self.app = self.rt.app
        self.policy = self.app.policy(CONTROLLER)
        self.now = T0
        self.producer = SentOrders(self.app)
        self.relay = Relay(
            self.app, self.producer, Catalogue.shipped(), clock=lambda: self.now
        )
        # The same process as the runtime's (one tracking position), in small steps.
        self.stepper = ScheduleProcess(self.app, self.rt.views, page_size=2)
        self.owner: dict[
            str, str
        ] = {}  # item ref -> customer id (the test's own model)

    def teardown(self) -> None:
        if hasattr(self, "rt"):
            self.app.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- helpers -----------------------------------------------------------------------

    def tick(self, step: timedelta = timedelta(minutes=1)) -> datetime:
        self.now += step
        return self.now

    def items(self) -> list[Item]:
        return [self.app.get_item(ref) for ref in self.owner]

    def pick_item(self, index: int, where: Any = None) -> Item | None:
        """One of the items, or of those `where` accepts (None if there are none)."""
        items = [i for i in self.items() if where is None or where(i)]
        return items[index % len(items)] if items else None

    def subject(self, customer: str) -> Subject | None:
        return self.app.find_subject_by_ref(self.app.subject_ref(CONTROLLER, customer))

    def legal(self, item: Item) -> bool:
        return self.policy.rule_for(item.category).legal_obligation

    # -- what the world does -----------------------------------------------------------

    @rule(
        customer=CUSTOMER,
        category=st.sampled_from(CATEGORIES),
        back=BACK,
        police=st.booleans(),
        count=st.integers(min_value=1, max_value=3),
        settle=SETTLE,
    )
    def ingest(
        self,
        customer: str,
        category: str,
        back: timedelta,
        police: bool,
        count: int,
        settle: bool,
    ) -> None:
        at = self.tick()
        records = [
            ingest_record(
                f"it-{len(self.owner) + i}",
                category,
                customer,
                captured_at=at - back,
                police_relevant=police,
            )
            for i in range(count)
        ]
        result = self.app.ingest(records, at)
        assert len(result.new) == count
        self.owner.update({r.item_ref: customer for r in records})
        self.settle(settle)

    @precondition(lambda self: self.owner)
    @rule(index=PICK, republished=st.booleans())
    def redeliver(self, index: int, republished: bool) -> None:
        """The item's record again: redelivered at its offset, or republished at a
        new one (a pipeline's replay, a restored topic)."""
        item = self.pick_item(index)
        assert item is not None
        self.republished = getattr(self, "republished", 0) + republished
        again = ingest_record(
            item.item_ref,
            item.category,
            self.owner[item.item_ref],
            captured_at=item.captured_at,
            offset=1000 + self.republished if republished else 0,
        )
        result = self.app.ingest([again], self.tick())
        assert result.duplicates == [again] and result.new == []
        after = self.app.get_item(item.item_ref)
        if item.state != ItemState.ERASED or not republished:
            return
        if item.holds or item.restrictions:  # a hold whose store was too late
            assert after.order == item.order, "a held copy was ordered erased"
            assert item.order is not None
            self.kept_copies[item.item_ref] = item.order["order_id"]
            seen("an erased item's copy came back under a hold")
        else:  # part 7: erased stays erased
            assert result.again and after.order != item.order

    @precondition(lambda self: self.owner)
    @rule(index=PICK, kind=KINDS, case=st.sampled_from(CASES), settle=SETTLE)
    def stop_item(self, index: int, kind: str, case: str, settle: bool) -> None:
        """A legal hold or an art. 18 restriction on one item."""
        item = self.pick_item(index)  # ordered ones too: a late hold recalls
        assert item is not None
        stop = self.app.place_hold if kind == "hold" else self.app.restrict
        try:
            stop(item.item_ref, case, "police case", "support:ola", self.tick())
        except ItemAlreadyErasedError:
            assert item.state == ItemState.ERASED  # nothing left to hold
        else:
            seen(f"{kind} on an item {item.state.value}")
        self.settle(settle)

    @precondition(lambda self: self.owner)
    @rule(index=PICK, kind=KINDS, settle=SETTLE)
    def free_item(self, index: int, kind: str, settle: bool) -> None:
        """Release one of an item's own holds, or lift one of its own restrictions."""
        item = self.pick_item(index, lambda i: _own(_stops(i, kind)))
        if item is None:
            return
        case = _own(_stops(item, kind))[0]
        free = self.app.release_hold if kind == "hold" else self.app.lift_restriction
        free(item.item_ref, case, "support:ola", self.tick())
        after = self.app.get_item(item.item_ref)
        kept_under = self.kept_copies.get(item.item_ref)
        if not after.holds and not after.restrictions and kept_under is not None:
            del self.kept_copies[item.item_ref]
            if item.order is not None and item.order["order_id"] == kept_under:
                # A copy that came back while held goes at the last release.
                assert after.order != item.order, "a kept copy outlived its hold"
                seen("a copy kept under a hold is ordered at its release")
        self.settle(settle)

    @rule(customer=CUSTOMER, kind=KINDS, case=st.sampled_from(CASES), settle=SETTLE)
    def stop_subject(self, customer: str, kind: str, case: str, settle: bool) -> None:
        stop = (
            self.app.place_subject_hold if kind == "hold" else self.app.restrict_subject
        )
        stop(CONTROLLER, customer, case, "police", "ola", self.tick())
        self.settle(settle)

    @rule(customer=CUSTOMER, kind=KINDS, settle=SETTLE)
    def free_subject(self, customer: str, kind: str, settle: bool) -> None:
        subject = self.subject(customer)
        cases = sorted(_stops(subject, kind)) if subject is not None else []
        if cases:
            free = (
                self.app.release_subject_hold
                if kind == "hold"
                else self.app.lift_subject_restriction
            )
            free(CONTROLLER, customer, cases[0], "ola", self.tick())
        self.settle(settle)

    @rule(customer=CUSTOMER, ended=st.booleans(), back=BACK, settle=SETTLE)
    def relationship(
        self, customer: str, ended: bool, back: timedelta, settle: bool
    ) -> None:
        at = self.tick()
        if ended:
            self.app.end_relationship(CONTROLLER, customer, at - back, at)
        else:
            self.app.resume_relationship(CONTROLLER, customer, at, at)
        self.settle(settle)

    @rule(customer=CUSTOMER, settle=SETTLE)
    def request_erasure(self, customer: str, settle: bool) -> None:
        command = f"cmd-{self.now.timestamp()}"
        self.app.request_subject_erasure(
            CONTROLLER, customer, command, "asked", "kari", None, self.tick()
        )
        self.settle(settle)

    @precondition(lambda self: self.owner)
    @rule(index=PICK, outcome=st.sampled_from(list(Outcome)))
    def confirm(self, index: int, outcome: Outcome) -> None:
        """A store that keeps its word answers an order or its recall."""
        item = self.pick_item(
            index, lambda i: i.order and (i.state != ItemState.ERASED or i.recall)
        )
        if item is None or item.order is None:
            return
        recall = item.recall
        if recall is None and outcome in (Outcome.RECALLED, Outcome.TOO_LATE):
            outcome = Outcome.DELETED  # no recall to answer
        elif recall is not None and (
            item.state == ItemState.ERASED or item.confirmed_by(recall["order_id"])
        ):
            outcome = Outcome.TOO_LATE  # it said DELETED: the recall came too late
        # A store answers a recall with the order it recalled: after an erased
        # item's copy arrived again, the live order is another one.
        recall_answer = outcome in (Outcome.RECALLED, Outcome.TOO_LATE)
        order_id = (recall or {}).get("order_id") if recall_answer else None
        order_id = order_id or item.order["order_id"]
        self.app.confirm_erasure(
            item.item_ref, order_id, "blob-store", outcome, None, self.tick()
        )
        seen(f"store answered {outcome.value}")
        after = self.app.get_item(item.item_ref)
        if outcome == Outcome.TOO_LATE:  # recorded as such, and the bytes are gone
            assert after.recall_answers[order_id] == "TOO_LATE"
            assert after.state == ItemState.ERASED or after.confirmed_by(order_id)
        elif outcome == Outcome.RECALLED:
            assert after.order is None and order_id in after.recalled_orders

    # -- the projector's steps, one at a time --------------------------------------

    @rule()
    def schedule_step(self) -> None:
        self.stepper.process_page()

    @rule()
    def sweep_step(self) -> None:
        """One sweeper page of one item, at the current instant."""
        due = self.rt.sweeper.due_items(self.now, limit=1)
        self.rt.sweeper._order_page(due, self.now, SweepReport())

    @rule()
    def relay_step(self) -> None:
        self.relay.relay_page(1)

    @rule(step=STEPS)
    def wait(self, step: timedelta) -> None:
        self.tick(step)

    def settle(self, settle: bool) -> None:
        if settle:
            self.rt.catch_up()
            self.check_caught_up()

    @rule(step=STEPS, catch_up_first=st.booleans())
    def sweep(self, step: timedelta, catch_up_first: bool) -> None:
        now = self.tick(step)
        self.settle(catch_up_first)
        self.rt.sweeper.sweep(now)
        if catch_up_first:
            self.check_nothing_due_is_left(now)
        self.relay.relay_pending()  # as a tick of `lethe run` ends

    # -- what must then be true --------------------------------------------------------

    def check_nothing_due_is_left(self, now: datetime) -> None:
        """After a catch-up and a sweep at `now`, every free item now due is ordered."""
        for item in self.items():
            free = not item.is_held and not item.is_restricted
            if free and item.is_due(now):
                assert item.order is not None, (item.item_ref, item.due_at, now)

    def check_caught_up(self) -> None:
        for item in self.items():
            subject = self.subject(self.owner[item.item_ref])
            if item.order is not None or subject is None:
                continue
            mirrored = {c for c in item.holds if c.startswith(SUBJECT_HOLD_PREFIX)}
            assert mirrored == {SUBJECT_HOLD_PREFIX + c for c in subject.holds}
            mirrored = {
                t for t in item.restrictions if t.startswith(SUBJECT_HOLD_PREFIX)
            }
            assert mirrored == {SUBJECT_HOLD_PREFIX + t for t in subject.restrictions}
            assert item.due_at == self.expected_due(item, subject), item.item_ref
            requested = [r["requested_at"] for r in subject.requests.values()]
            covered = any(covers(at, item) for at in requested)
            if covered and not (item.is_held or item.is_restricted):
                # Erased now unless the law keeps it until it is due.
                assert self.legal(item) and item.kept_for_legal_obligation, (
                    item.item_ref
                )

    def expected_due(self, item: Item, subject: Subject) -> datetime | None:
        facts = ItemFacts(
            item.captured_at,
            item.police_relevant,
            subject.relationship_ended_at,
            subject.last_contact_at,
        )
        due = self.policy.due(item.category, facts).at
        if due is not None and item.released_at is not None:
            return max(due, item.released_at)
        return due

    @invariant()
    def nothing_left_after_a_mark(self) -> None:
        """Part 1: no order left Lethe once a hold or restriction on the item or its
        subject preceded it in the log and was still on."""
        if not hasattr(self, "rt"):
            return
        log = self.app.process_recorder.select_notifications(1, 1_000_000)
        for position in self.producer.positions:
            item = self.app.repository.get(self.producer.item_at[position])
            marks = marks_before(self.app, log, position, item)
            assert not marks, (item.item_ref, position, marks)

    @invariant()
    def tombstones_and_recalls_follow_the_stores(self) -> None:
        """Part 2: a tombstone only after a store erased the item, never for an
        order a store kept; a recall only for an order that went out."""
        if not hasattr(self, "rt"):
            return
        for item_id, order_id in self.producer.tombstones:
            item = self.app.repository.get(item_id)
            assert item.recall_answers.get(order_id) != "RECALLED", item.item_ref
            erased = [
                e
                for e in self.app.repository.event_store.get(item_id)
                if type(e).__name__ == "Erased" and e.order_id == order_id
            ]
            assert erased, (item.item_ref, order_id)
        sent = set(self.producer.orders)
        for item_id, order_id in self.producer.recalls:
            assert (item_id, order_id) in sent, order_id

    @invariant()
    def subject_erasure_only_what_a_request_covers(self) -> None:
        """Part 3: an art. 17 request is not for ever."""
        if not hasattr(self, "rt"):
            return
        for ref, customer in self.owner.items():
            item = self.app.get_item(ref)
            if item.order is None or item.order["cause"] != "SUBJECT_ERASURE":
                continue
            subject = self.subject(customer)
            assert subject is not None
            requested = [r["requested_at"] for r in subject.requests.values()]
            assert any(covers(at, item) for at in requested), ref

    @invariant()
    def every_history_obeys_the_rules(self) -> None:
        if not hasattr(self, "rt"):
            return
        for ref in self.owner:
            events = list(self.app.repository.event_store.get(identity.item_id(ref)))
            check_history(events, self.legal(self.app.get_item(ref)))


def _stops(holder: Any, kind: str) -> dict[str, Any]:
    return holder.holds if kind == "hold" else holder.restrictions


def _own(cases: dict[str, Any]) -> list[str]:
    return sorted(c for c in cases if not c.startswith(SUBJECT_HOLD_PREFIX))


def check_history(events: list[Any], legal_obligation: bool) -> None:
    """Replay one item: no order while held or restricted, one live order at a
    time, never early; a withheld or recalled (RECALLED) order ends it, a record
    after the erasure orders once more (part 7); a mark after the order recalls
    it, once (part 2)."""
    holds: set[str] = set()
    restrictions: set[str] = set()
    due: datetime | None = None
    live: str | None = None  # the order out (or to go out), if any
    # The recalls out, by order: an old order's recall may still wait for its
    # answer when a copy's order goes out, and that order can be recalled too.
    recalls: set[str] = set()
    recalled = 0  # orders a store kept: an order after one has a new id
    orders: list[str] = []
    erased = again = expect_recall = False
    for event in events:
        name = type(event).__name__
        assert not expect_recall or name == "ErasureRecalled", ("no recall", name)
        expect_recall = False
        if name in ("HoldPlaced", "Restricted", "PoliceFlagged"):
            # A late mark: the live order, out and not erased, is recalled once.
            expect_recall = live is not None and not erased and live not in recalls
        if name == "HoldPlaced":
            holds.add(event.case_ref)
        elif name == "HoldReleased":
            holds.discard(event.case_ref)
        elif name == "Restricted":
            restrictions.add(event.ticket)
        elif name == "RestrictionLifted":
            restrictions.discard(event.ticket)
        elif name == "Ingested":
            due = event.due_at  # the first schedule arrives with the item
        elif name == "Scheduled":
            assert live is None, "rescheduled after the order"
            due = event.due_at
        elif name == "ErasureOrdered" and again:
            assert event.order_id not in orders  # a new order id
            live, again, erased = event.order_id, False, False
            orders.append(live)
        elif name == "ErasureOrdered":
            assert live is None or erased, ("ordered twice", live)
            assert not holds and not restrictions, (holds, restrictions)
            assert event.due_at == due
            named = event.cause + (f"@recall-{recalled}" if recalled else "")
            assert event.order_id == identity.order_id(
                events[0].item_ref, named, events[0].content_digest
            )
            if event.cause == "SUBJECT_ERASURE":
                assert not legal_obligation
            else:
                assert due is not None and event.at >= due
            live = event.order_id
            orders.append(live)
        elif name == "ErasureWithheld":
            assert event.order_id == live
            recalls.discard(live)
            live = None
        elif name == "ErasureRecalled":
            assert event.order_id == live and live not in recalls and not erased
            recalls.add(live)
        elif name == "RecallAnswered":
            assert event.order_id in recalls
            recalls.discard(event.order_id)
            kept = event.outcome == "RECALLED" and event.order_id == live
            if kept and not erased:
                live, recalled = None, recalled + 1
        elif name in ("ErasureReissued", "ReissueWithheld"):
            assert event.order_id == live and live not in recalls
        elif name == "ArrivedAgain":
            assert erased, "arrived again before it was erased"
            again = True
        elif name == "Erased":
            assert live is not None, "erased without an order"
            erased = True
    assert not expect_recall, "a late mark with no recall after it"


class SentOrders:
    """The relay's producer: takes every record, and notes the log position of
    each order it was given (the relay sends in log order, one page at a time)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.positions: list[int] = []
        self.item_at: dict[int, Any] = {}
        self.orders: list[tuple[Any, str]] = []  # (item id, order id) sent
        self.recalls: list[tuple[Any, str]] = []
        self.tombstones: list[tuple[Any, str]] = []

    def send(self, topic: str, key: bytes | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.get("headers") or [])
        assert key is not None
        sent = (identity.item_id(key.decode()), headers["lethe.order-id"].decode())
        if not topic.startswith("lethe.erasures"):
            assert kwargs.get("value") is None  # a tombstone
            self.tombstones.append(sent)
        elif "lethe.attempt" not in headers:  # an ErasureRecall
            self.recalls.append(sent)
        else:
            self.orders.append(sent)
            order_id = headers["lethe.order-id"].decode()
            attempt = int(headers["lethe.attempt"])
            position, item_id = self._order_position(key.decode(), order_id, attempt)
            self.positions.append(position)
            self.item_at[position] = item_id
        return SimpleNamespace(is_done=True, failed=lambda: False, exception=None)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def _order_position(
        self, item_ref: str, order_id: str, attempt: int
    ) -> tuple[int, Any]:
        """Where in the log the order being sent lies: the latest ErasureOrdered
        (attempt 1) or ErasureReissued of this order id and attempt. A withheld
        order made again has the same id and attempt, but lies after it."""
        item_id = identity.item_id(item_ref)
        found = 0
        for n in self.app.process_recorder.select_notifications(1, 1_000_000):
            if n.originator_id != item_id:
                continue
            if n.topic.endswith(("ErasureOrdered", "ErasureReissued")):
                event = self.app.mapper.to_domain_event(n)
                if (event.order_id, getattr(event, "attempt", 1)) == (
                    order_id,
                    attempt,
                ):
                    found = n.id
        assert found, (item_ref, order_id)
        return found, item_id


def marks_before(app: Any, log: list[Any], position: int, item: Item) -> list[str]:
    """Holds and restrictions on the item and its subject just before `position`."""
    subject_id = identity.subject_id(item.subject_ref)
    on: set[str] = set()
    for n in log:
        if n.id >= position:
            break
        if n.originator_id not in (item.id, subject_id):
            continue
        name = n.topic.rsplit(".", 1)[-1]
        if name in ("HoldPlaced", "Restricted", "HoldReleased", "RestrictionLifted"):
            event = app.mapper.to_domain_event(n)
            mark = (
                f"{n.originator_id}:{getattr(event, 'case_ref', None) or event.ticket}"
            )
            if name in ("HoldPlaced", "Restricted"):
                on.add(f"{name}:{mark}")
            else:
                placed = "HoldPlaced" if name == "HoldReleased" else "Restricted"
                on.discard(f"{placed}:{mark}")
    return sorted(on)


ItemLives.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestItemLives = ItemLives.TestCase
