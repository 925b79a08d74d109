"""Random lives of a few customers' items: the erasure invariants hold after every step.

The machine drives the real application, schedule process and sweeper on an
SQLite file, with one clock that only moves forward. The invariants are checked
against the aggregates and their event histories, never against the view.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from lethe.domain import identity
from lethe.domain.errors import ErasureAlreadyOrderedError
from lethe.domain.item import Item, ItemState, Outcome
from lethe.domain.policy import ItemFacts
from lethe.domain.reconcile import SUBJECT_HOLD_PREFIX
from lethe.domain.subject import Subject
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
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
    @rule(index=PICK)
    def redeliver(self, index: int) -> None:
        item = self.pick_item(index)
        assert item is not None
        again = ingest_record(
            item.item_ref,
            item.category,
            self.owner[item.item_ref],
            captured_at=item.captured_at,
        )
        result = self.app.ingest([again], self.tick())
        assert result.duplicates == [again] and result.new == []

    @precondition(lambda self: self.owner)
    @rule(index=PICK, kind=KINDS, case=st.sampled_from(CASES), settle=SETTLE)
    def stop_item(self, index: int, kind: str, case: str, settle: bool) -> None:
        """A legal hold or an art. 18 restriction on one item."""
        item = self.pick_item(index, lambda i: i.order is None) or self.pick_item(index)
        assert item is not None
        stop = self.app.place_hold if kind == "hold" else self.app.restrict
        try:
            stop(item.item_ref, case, "police case", "support:ola", self.tick())
        except ErasureAlreadyOrderedError:
            assert item.order is not None
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
        item = self.pick_item(index, lambda i: i.order and i.state != ItemState.ERASED)
        if item is not None and item.order is not None:
            self.app.confirm_erasure(
                item.item_ref,
                item.order["order_id"],
                "blob-store",
                outcome,
                None,
                self.tick(),
            )

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
            if subject.requests and not (item.is_held or item.is_restricted):
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
    """Replay one item: no order while held or restricted, one order, never early."""
    holds: set[str] = set()
    restrictions: set[str] = set()
    due: datetime | None = None
    orders = []
    for event in events:
        name = type(event).__name__
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
            assert not orders, "rescheduled after the order"
            due = event.due_at
        elif name == "ErasureOrdered":
            assert not holds and not restrictions, (holds, restrictions)
            assert event.due_at == due
            assert event.order_id == identity.order_id(events[0].item_ref, event.cause)
            if event.cause == "SUBJECT_ERASURE":
                assert not legal_obligation
            else:
                assert due is not None and event.at >= due
            orders.append(event.order_id)
        elif name == "ErasureReissued":
            assert event.order_id == orders[0]
    assert len(orders) <= 1, orders


ItemLives.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestItemLives = ItemLives.TestCase
