"""The schedule: a read model of due instants, and the subject process that fans out.

One reader follows the whole event log in order. For each notification it
updates `lethe_schedule` (the due items, which doubles as the subject index) and,
where a subject's facts bear on its items (relationship ended, hold, restriction,
erasure request), applies them to every item of the subject — including items
that arrive later. New events, view rows and the tracking position commit in one
transaction, so a crash at any point replays the batch and changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import DataError, IntegrityError, Tracking

from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.domain.reconcile import apply_subject
from lethe.domain.subject import Subject
from lethe.projections import aside, runner
from lethe.projections import schedule_rows as rows
from lethe.projections.aside import set_aside_statement
from lethe.projections.bulk import load_items
from lethe.projections.chunks import save_chunks
from lethe.projections.decode import fast_decoder
from lethe.projections.store import SqlViews, Statement

TRACKING_NAME = "lethe-schedule"


@dataclass
class Batch:
    """What one pass over a page of the log has loaded, changed and must write."""

    statements: list[Statement] = field(default_factory=list)
    items: dict[str, Item] = field(default_factory=dict)
    subjects: dict[str, Subject | None] = field(default_factory=dict)
    changed: dict[Any, Any] = field(default_factory=dict)
    new_items_by_subject: dict[str, list[str]] = field(default_factory=dict)
    known_subjects: set[str] = field(default_factory=set)
    carried_out: list[str] = field(default_factory=list)


class ScheduleProcess:
    def __init__(self, app: Lethe, views: SqlViews, page_size: int = 1000) -> None:
        self.app = app
        self.views = views
        self.page_size = page_size
        self.decode = fast_decoder(app)
        views.run_ddl(rows.DDL)
        views.run_ddl(aside.DDL)
        views.run_ddl(runner.DDL)  # read by status and /metrics on any store

    @property
    def position(self) -> int:
        return self.app.process_recorder.max_tracking_id(TRACKING_NAME) or 0

    def run_until_idle(self, at_most: int = 1_000_000) -> int:
        """Process pages until the log is read; returns how many notifications."""
        total = 0
        while total < at_most:
            done = self.process_page()
            if done == 0:
                break
            total += done
        self.shred_answered_subjects()
        return total

    def process_page(self) -> int:
        for _attempt in range(5):
            try:
                return self._process_page()
            except IntegrityError:
                continue  # another writer changed an item we touched: re-read and redo
            except DataError:
                # The store refused something of this page: find what, set it
                # aside, and go on (a restart would only fail on it again).
                return self._process_one_by_one()
        return self._process_page()

    def _process_page(self, page_size: int | None = None) -> int:
        start = self.position + 1
        notifications = self.app.process_recorder.select_notifications(
            start, page_size or self.page_size
        )
        if not notifications:
            return 0
        self._process(notifications)
        return len(notifications)

    def _process_one_by_one(self) -> int:
        done = 0
        while done < self.page_size:
            try:
                if self._process_page(page_size=1) == 0:
                    break
            except DataError as error:
                self._set_aside(self.position + 1, error)
            done += 1
        return done

    def _set_aside(self, position: int, error: DataError) -> None:
        """Pass over one notification the store refuses, with a row that says so.

        Its item is then not in the schedule: `lethe status` shows it, with the
        reason, until someone repairs it. The reason is the database's, which
        names the problem, not the value.
        """
        (notification,) = self.app.process_recorder.select_notifications(position, 1)
        event = self.decode(notification)
        reason = f"the store refused {type(event).__qualname__}: {error}"
        place = f"log position {position} ({notification.originator_id})"
        statement = set_aside_statement("schedule", place, reason[:500], _at(event))
        tracking = Tracking(TRACKING_NAME, position)
        self.app.record(tracking=tracking, statements=[statement])

    def _process(self, notifications: Sequence[Any]) -> None:
        events = [self.decode(n) for n in notifications]
        batch = Batch(known_subjects=self._known_subjects(events))
        for event in events:
            self._apply(event, batch)
        tracking = Tracking(TRACKING_NAME, notifications[-1].id)
        *earlier, last = save_chunks(list(batch.changed.values()))
        for chunk in earlier:
            # Safe outside the page's transaction: a replay of the page decides the
            # same again and skips what is already done (apply_subject is idempotent).
            self.app.record(*chunk)
        self.app.record(*last, tracking=tracking, statements=batch.statements)

    # -- one event --------------------------------------------------------------------

    def _apply(self, event: DomainEventProtocol[Any], batch: Batch) -> None:
        batch.statements.extend(rows.statements_for(event))
        if isinstance(event, Item.Ingested):
            self._on_item_arrived(event, batch)
        elif isinstance(
            event,
            (
                Item.HoldReleased,
                Item.RestrictionLifted,
                Item.ErasureWithheld,
                Item.RecallAnswered,
            ),
        ):
            # A withheld or recalled order puts the item back on its schedule:
            # its subject's facts, skipped while it was ordered, now reach it.
            self._on_item_released(event, batch)
        elif isinstance(event, Subject.Registered):
            batch.known_subjects.add(event.subject_ref)
        if isinstance(event, Subject.Event) and not isinstance(
            event,
            (Subject.Registered, Subject.ErasureCarriedOut, Subject.RequestExtended),
        ):
            self._on_subject_changed(event, batch)

    def _on_item_arrived(self, event: Any, batch: Batch) -> None:
        subject_ref = event.subject_ref
        batch.new_items_by_subject.setdefault(subject_ref, []).append(event.item_ref)
        if subject_ref in batch.known_subjects:
            self._reconcile(
                event.item_ref,
                subject_ref,
                "subject-known-on-arrival",
                _at(event),
                batch,
            )

    def _on_item_released(self, event: Any, batch: Batch) -> None:
        # Not limited to `known_subjects`: that set covers only the subjects of items
        # ingested in this page, and a released item of an erased subject must go.
        item = self._item(event.originator_id, batch)
        if item is not None:
            self._reconcile(
                item.item_ref, item.subject_ref, "released", _at(event), batch
            )

    def _on_subject_changed(self, event: Any, batch: Batch) -> None:
        subject = self._subject_by_id(event.originator_id, batch)
        if subject is None:
            return
        basis = _basis_of(event)
        item_refs = self._items_of(subject.subject_ref, batch)
        self._load_items(item_refs, batch)  # a subject may have 10,000: one query
        for item_ref in item_refs:
            self._reconcile(item_ref, subject.subject_ref, basis, _at(event), batch)
        if isinstance(event, Subject.ErasureRequested):
            self._answer(subject, event, batch)

    def _answer(self, subject: Subject, event: Any, batch: Batch) -> None:
        request = subject.requests.get(event.request_id)
        if request is None or request["carried_out_at"] is not None:
            return
        counts = rows.answer_counts(
            [
                batch.items[ref]
                for ref in self._items_of(subject.subject_ref, batch)
                if ref in batch.items
            ]
        )
        subject.carry_out_erasure(event.request_id, *counts, at=_at(event))
        batch.changed[subject.id] = subject

    def _reconcile(
        self, item_ref: str, subject_ref: str, basis: str, at: datetime, batch: Batch
    ) -> None:
        subject = self._subject(subject_ref, batch)
        item = self._item_by_ref(item_ref, batch)
        if subject is None or item is None:
            return
        if apply_subject(item, subject, self.app.policy_of(item), basis, at):
            batch.changed[item.id] = item

    # -- loading, once per batch ------------------------------------------------------

    def _item_by_ref(self, item_ref: str, batch: Batch) -> Item | None:
        if item_ref not in batch.items:
            found = self.app.find_item(item_ref)
            if found is None:
                return None
            batch.items[item_ref] = found
        return batch.items[item_ref]

    def _load_items(self, item_refs: list[str], batch: Batch) -> None:
        missing = [ref for ref in item_refs if ref not in batch.items]
        for item in load_items(self.app, self.views, missing):
            batch.items[item.item_ref] = item

    def _item(self, originator_id: Any, batch: Batch) -> Item | None:
        for item in batch.items.values():
            if item.id == originator_id:
                return item
        item = self.app.repository.get(originator_id)
        assert isinstance(item, Item)
        batch.items[item.item_ref] = item
        return item

    def _subject(self, subject_ref: str, batch: Batch) -> Subject | None:
        if subject_ref not in batch.subjects:
            batch.subjects[subject_ref] = self.app.find_subject_by_ref(subject_ref)
        return batch.subjects[subject_ref]

    def _subject_by_id(self, originator_id: Any, batch: Batch) -> Subject | None:
        for subject in batch.subjects.values():
            if subject is not None and subject.id == originator_id:
                return subject
        subject = self.app.repository.get(originator_id)
        assert isinstance(subject, Subject)
        batch.subjects[subject.subject_ref] = subject
        return subject

    def _items_of(self, subject_ref: str, batch: Batch) -> list[str]:
        stored = self.views.query(rows.ITEMS_OF_SUBJECT, (subject_ref,))
        refs = [r[0] for r in stored] + batch.new_items_by_subject.get(subject_ref, [])
        return list(dict.fromkeys(refs))

    def _known_subjects(self, events: Sequence[Any]) -> set[str]:
        refs = sorted({e.subject_ref for e in events if isinstance(e, Item.Ingested)})
        known: set[str] = set()
        for chunk in _chunks(refs, 500):
            marks = ",".join("?" for _ in chunk)
            stored = self.views.query(
                "SELECT subject_ref FROM lethe_subjects"
                f" WHERE subject_ref IN ({marks})",
                chunk,
            )
            known.update(r[0] for r in stored)
        return known

    # -- crypto-shredding, after the answer is committed ------------------------------

    def shred_answered_subjects(self) -> int:
        """Destroy the key of every subject whose erasure was carried out.

        Runs after the commit (and again on every start), so a crash between the
        answer and the shredding only delays it.
        """
        pending = self.views.query(rows.ANSWERED_NOT_SHREDDED)
        for (subject_ref,) in pending:
            self.app.vault.shred(subject_ref)
        if pending:
            self.app.vault.scrub()  # outside the shreds' transactions, once a batch
        return len(pending)


def _at(event: Any) -> datetime:
    """The domain instant of an event (time is passed in, never read from a clock)."""
    for name in ("at", "requested_at", "ingested_at"):
        value = getattr(event, name, None)
        if value is not None:
            return value
    return event.timestamp


def _basis_of(event: Any) -> str:
    return {
        "RelationshipEnded": "relationship-ended",
        "RelationshipResumed": "relationship-resumed",
        "ContractEnded": "contract-ended",
        "Onboarded": "onboarded",
        "ContactRecorded": "contact-recorded",
    }.get(type(event).__name__, "subject-" + type(event).__name__.lower())


def _chunks(values: list[str], size: int) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
