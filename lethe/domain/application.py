"""The use cases: every way the outside world changes what Lethe knows.

Time is passed in.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    ProcessRecorder,
    Tracking,
    Transcoding,
)
from eventsourcing.utils import Environment, EnvType

from lethe.domain import free_text, identity
from lethe.domain.deadlines import NO_HOLIDAYS, Holidays
from lethe.domain.errors import ItemNotFoundError, PoliceExtensionNotApplicableError
from lethe.domain.event_json import FastMapper
from lethe.domain.item import ErasureCause, Item, Outcome
from lethe.domain.policy import Policy, UnknownPolicyError
from lethe.domain.policy_versions import PolicyVersions
from lethe.domain.ports import SubjectVault
from lethe.domain.reconcile import first_due, reschedule
from lethe.domain.subject_cases import SubjectCases, not_before, require


@dataclass(frozen=True)
class IngestRecord:
    """One inbound item as the consumers decoded it (subject id still in clear)."""

    item_ref: str
    kind: str
    source_topic: str
    source_partition: int
    source_offset: int
    controller: str
    category: str
    subject_id: str
    captured_at: datetime
    police_relevant: bool = False
    blob_uri: str | None = None
    sha256: str | None = None
    legal_basis: str | None = None
    content: bytes = b""  # the canonical content, for telling redelivery from conflict


@dataclass
class IngestResult:
    new: list[Item] = field(default_factory=list)
    duplicates: list[IngestRecord] = field(default_factory=list)
    conflicts: list[IngestRecord] = field(default_factory=list)
    # Erased items whose record arrived again: ordered erased once more.
    again: list[Item] = field(default_factory=list)


class Lethe(SubjectCases, PolicyVersions, Application[UUID]):
    name = "Lethe"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        policies: Mapping[str, Policy],
        vault: SubjectVault | None,
        holidays: Holidays = NO_HOLIDAYS,
        previous: Iterable[Policy] = (),
    ) -> None:
        self.policies = dict(policies)
        # The public holidays that move a request's deadline (lethe/domain/
        # deadlines.py); ops passes the controllers' country's. Without them a
        # deadline moves past weekends only.
        self.holidays = holidays
        # Every version an item may have been scheduled under, by ref: a subject's
        # change reschedules an item under its own version, never silently under
        # a newer one (changing version is an explicit, audited step).
        self.policy_versions = {p.ref: p for p in (*previous, *policies.values())}
        # May be attached after construction: a vault may live in our own database.
        self._vault = vault
        super().__init__(env=env)

    @property
    def vault(self) -> SubjectVault:
        if self._vault is None:
            raise RuntimeError("Lethe was built without a subject vault")
        return self._vault

    @vault.setter
    def vault(self, vault: SubjectVault) -> None:
        self._vault = vault

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Only the mapping ops passes in: eventsourcing would merge os.environ under
        # it and read LETHE_<KEY> before <KEY>, so a stray LETHE_POSTGRES_DBNAME or
        # LETHE_PERSISTENCE_MODULE in a shell would move the store.
        return Environment(name, {**type(self).env, **(env or {})})

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(BytesAsBase64())

    def construct_mapper(self) -> Mapper[UUID]:
        # The generic mapper's stored bytes, encoded faster (domain/event_json.py);
        # a MAPPER_TOPIC in the env still chooses its own.
        factory = self.factory
        chosen = factory.env.get(factory.MAPPER_TOPIC)
        return factory.mapper(
            transcoder=self.construct_transcoder(),
            mapper_class=None if chosen else FastMapper[UUID],
        )

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder: events, Kafka offsets and view rows commit together.
        return self.factory.process_recorder()

    @property
    def process_recorder(self) -> ProcessRecorder:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder

    def record(
        self, *objs: Any, tracking: Tracking | None = None, **kwargs: Any
    ) -> None:
        """Save aggregates in one transaction with an optional tracking position.

        kwargs reach the recorder (Lethe's recorders run `statements` in the same
        transaction); a save of many aggregates is ~10x faster than one each.
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent(tracking=tracking)
        # Not ProcessingEvent.collect_events: it checks every object against two
        # runtime-checkable Protocols, ~6% of ingest's CPU. Ours are aggregates.
        for obj in objs:
            if obj is not None:
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)

    def record_events(self, events: Sequence[Any], **kwargs: Any) -> None:
        """Save events made without their aggregate (the sweeper's lean orders:
        lethe/domain/ordering.py), in one transaction, as `record` saves them."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        processing_event.events.extend(events)
        processing_event.saved_kwargs.update(kwargs)
        self._notify(self._record(processing_event))

    def policy(self, controller: str) -> Policy:
        try:
            return self.policies[controller]
        except KeyError:
            raise UnknownPolicyError(
                f"unknown controller {controller!r}; Lethe has policies for "
                f"{', '.join(sorted(self.policies))}"
            ) from None

    def policy_of(self, item: Item) -> Policy:
        """The policy version that scheduled `item`, which keeps scheduling it."""
        version = self.policy_versions.get(item.policy)
        if version is not None:
            return version
        current = self.policy(item.controller)
        if not item.policy:
            return current  # a version-1 arrival recorded no schedule to keep
        raise UnknownPolicyError(
            f"item {item.item_ref} was scheduled under {item.policy}, which this "
            f"Lethe does not ship (it has {', '.join(sorted(self.policy_versions))}); "
            "restore that version's file under lethe/policies/previous/"
        )

    # -- ingest -----------------------------------------------------------------------

    def new_item(self, record: IngestRecord, at: datetime) -> Item:
        """The item as it arrives, scheduled on its own facts, in one event."""
        policy = self.policy(record.controller)
        policy.rule_for(record.category)  # refuse an unknown category before recording
        subject_ref = self.vault.pseudonym(record.controller, record.subject_id)
        due = first_due(
            policy, record.category, record.captured_at, record.police_relevant
        )
        return Item.arrive(
            item_ref=record.item_ref,
            kind=record.kind,
            source_topic=record.source_topic,
            source_partition=record.source_partition,
            source_offset=record.source_offset,
            controller=record.controller,
            category=record.category,
            subject_ref=subject_ref,
            captured_at=record.captured_at,
            police_relevant=record.police_relevant,
            blob_uri=record.blob_uri,
            sha256=record.sha256,
            legal_basis=record.legal_basis,
            content_digest=self.vault.digest(record.content),
            ingested_at=at,
            due_at=due.at,
            rule=due.rule,
            policy=due.policy,
        )

    def ingest(
        self,
        records: Sequence[IngestRecord],
        at: datetime,
        tracking: Tracking | None = None,
    ) -> IngestResult:
        """Take records exactly once.

        Redelivery is silent, a conflicting copy is refused.
        """
        return self.ingest_refusing(
            records, at, tracking, refuse=lambda _conflicts: None
        )

    def _already_tracked(self, tracking: Tracking) -> bool:
        last = self.process_recorder.max_tracking_id(tracking.application_name)
        return last is not None and last >= tracking.notification_id

    # -- for consumers: a whole Kafka batch in one transaction ------------------------

    def ingest_refusing(
        self,
        records: Sequence[IngestRecord],
        at: datetime,
        tracking: Tracking | None,
        refuse: Callable[[list[IngestRecord]], None],
    ) -> IngestResult:
        """As `ingest`, but conflicting copies go to `refuse` BEFORE the commit that
        records `tracking`: a crash then repeats a refusal but never loses one."""
        if tracking is not None and self._already_tracked(tracking):
            return IngestResult(duplicates=list(records))
        items = [self.new_item(r, at) for r in records]
        if len({item.item_ref for item in items}) == len(items):
            try:
                self.record(*items, tracking=tracking)
                return IngestResult(new=items)
            except IntegrityError:
                pass  # some arrived before (a redelivery), or the tracking moved on
        # The rare path: repeats within the batch, or a redelivery after a crash.
        result = self._classify(records, at)
        refuse(result.conflicts)
        self.record(*result.new, *result.again, tracking=tracking)
        return result

    def _classify(self, records: Sequence[IngestRecord], at: datetime) -> IngestResult:
        result = IngestResult()
        fresh: dict[str, Item] = {}
        for record in records:
            existing = fresh.get(record.item_ref) or self.find_item(record.item_ref)
            if existing is None:
                fresh[record.item_ref] = self.new_item(record, at)
                result.new.append(fresh[record.item_ref])
            elif existing.erase_again(
                record.source_topic, record.source_partition, record.source_offset, at
            ):
                # Erased stays erased: the copy (a subject id in clear) must not
                # outlive its tombstone on a compacted topic. Counted as a
                # duplicate, or as the conflict it is, as before.
                fresh[record.item_ref] = existing
                result.again.append(existing)
                if existing.content_digest == self.vault.digest(record.content):
                    result.duplicates.append(record)
                else:
                    result.conflicts.append(record)
            elif existing.content_digest == self.vault.digest(record.content):
                result.duplicates.append(record)
            else:
                result.conflicts.append(record)
        return result

    # Set while `deferring_saves` collects what the use cases would have saved.
    _deferred: list[Any] | None = None

    @contextmanager
    def deferring_saves(self) -> Iterator[list[Any]]:
        """Use cases in the block hand their changed aggregates to the yielded list
        instead of saving them, so a caller can save many with one tracking position."""
        deferred: list[Any] = []
        self._deferred = deferred
        try:
            yield deferred
        finally:
            self._deferred = None

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        if self._deferred is not None and not kwargs:
            self._deferred.extend(obj for obj in objs if obj is not None)
            return []
        return super().save(*objs, **kwargs)

    # -- items ------------------------------------------------------------------------

    def get_item(self, item_ref: str) -> Item:
        item = self.find_item(item_ref)
        if item is None:
            raise ItemNotFoundError(item_ref)
        return item

    def find_item(self, item_ref: str) -> Item | None:
        try:
            item = self.repository.get(identity.item_id(item_ref))
        except AggregateNotFoundError:
            return None
        assert isinstance(item, Item)
        return item

    def place_hold(
        self, item_ref: str, case_ref: str, reason: str, by: str, at: datetime
    ) -> bool:
        """Whether anything new was recorded: False when the hold is in force."""
        require(case_ref=case_ref, reason=reason, requested_by=by)
        item = self.get_item(item_ref)
        reason = self._item_text(item, "reason", reason, case_ref=case_ref)
        placed = item.place_hold(case_ref, reason, by, at)
        if placed:
            self.save(item)
        return placed

    def release_hold(self, item_ref: str, case_ref: str, by: str, at: datetime) -> Item:
        item = self.get_item(item_ref)
        not_before(item.holds.get(case_ref), "hold", case_ref, at)
        item.release_hold(case_ref, by, at)
        self._reschedule_with_subject(item, "hold-released", at)
        self.save(item)
        return item

    def restrict(
        self, item_ref: str, ticket: str, reason: str, by: str, at: datetime
    ) -> bool:
        """Whether anything new was recorded: False when it is in force."""
        require(ticket=ticket, reason=reason, requested_by=by)
        item = self.get_item(item_ref)
        reason = self._item_text(item, "reason", reason, ticket=ticket)
        restricted = item.restrict(ticket, reason, by, at)
        if restricted:
            self.save(item)
        return restricted

    def lift_restriction(
        self, item_ref: str, ticket: str, by: str, at: datetime
    ) -> Item:
        item = self.get_item(item_ref)
        not_before(item.restrictions.get(ticket), "restriction", ticket, at)
        item.lift_restriction(ticket, by, at)
        self._reschedule_with_subject(item, "restriction-lifted", at)
        self.save(item)
        return item

    def flag_police_relevant(
        self, item_ref: str, case_ref: str, by: str, at: datetime
    ) -> Item:
        """The police extension: the material may matter to an investigation."""
        require(case_ref=case_ref, requested_by=by)
        item = self.get_item(item_ref)
        if item.kind != "verification-image":
            # The ARC standard's 30 days are for images: on anything else the
            # flag would change nothing, and saying it worked would be untrue.
            raise PoliceExtensionNotApplicableError(item_ref, item.kind)
        item.mark_police_relevant(case_ref, by, at)
        self._reschedule_with_subject(item, "police-extension", at)
        self.save(item)
        return item

    def order_erasure(self, item_ref: str, cause: ErasureCause, at: datetime) -> str:
        item = self.get_item(item_ref)
        order_id = item.order_erasure(cause, at)
        self.save(item)
        return order_id

    def confirm_erasure(
        self,
        item_ref: str,
        order_id: str,
        store: str,
        outcome: Outcome,
        detail: str | None,
        at: datetime,
    ) -> Item:
        item = self.get_item(item_ref)
        # A store's own words: sealed, never refused (a refusal would lose the
        # confirmation, and the store cannot rephrase).
        detail = free_text.seal(self.vault, item.subject_ref, detail)
        item.confirm_erasure(order_id, store, outcome, detail, at)
        if outcome == Outcome.RECALLED and item.order is None:
            # Kept and back on its schedule: what changed while it was ordered
            # (a police extension, the subject's facts) now counts.
            self._reschedule_with_subject(item, "recalled", at)
        self.save(item)
        return item

    def replay_erasures(
        self,
        orders: Sequence[tuple[str, str]],
        store: str,
        since: datetime,
        at: datetime,
        loaded: Iterable[Item] = (),
    ) -> list[list[str]]:
        """Record the replay of each confirmed erasure, (item ref, order id), for
        a restored store, in one transaction (a crash records all or none); the
        relay sends them. For each, the holds and restrictions (the item's and
        its subject's) that keep it back: nothing is recorded for that one.
        `loaded`: the items, read in bulk by the caller; others are read here."""
        items = {item.item_ref: item for item in loaded}
        marks: dict[str, list[str]] = {}  # by subject: a subject has many items
        held = []
        for item_ref, order_id in orders:
            item = items.get(item_ref) or self.get_item(item_ref)
            items[item_ref] = item  # an item erased twice is replayed twice
            ref = item.subject_ref
            if ref not in marks:
                marks[ref] = self._marks(ref)
            held.append(item.replay_erasure(order_id, store, since, at, marks[ref]))
        changed = [item for item in items.values() if item.pending_events]
        if changed:
            self.save(*changed)
        return held

    def _marks(self, subject_ref: str) -> list[str]:
        """The holds and restrictions on a subject."""
        subject = self.find_subject_by_ref(subject_ref)
        if subject is None:
            return []
        return [f"hold:{case}" for case in subject.holds] + [
            f"restriction:{ticket}" for ticket in subject.restrictions
        ]

    def open_text(self, subject_ref: str, value: Any) -> Any:
        """A view's text or document with the subject's sealed free text opened
        while its key lives, "(shredded)" after; clear (older) text as it is."""
        return free_text.open_all(self.vault, subject_ref, value)

    def _item_text(self, item: Item, field: str, text: str, **handles: str) -> str:
        """`text` sealed under the item's subject's key, once it is known to name
        no one; the handles stay readable, so they must not name the subject."""

        def is_own_id(token: str) -> bool:
            # The id as typed, and in either case (people retype ids loosely).
            return any(
                self.vault.pseudonym(item.controller, form) == item.subject_ref
                for form in {token, token.lower(), token.upper()}
            )

        for name, handle in handles.items():
            free_text.refuse_own_id(name.replace("_", " "), handle, is_own_id)
        free_text.refuse_identifiers(field, text, is_own_id)
        return free_text.seal(self.vault, item.subject_ref, text) or text

    def _reschedule_with_subject(self, item: Item, basis: str, at: datetime) -> None:
        subject = self.find_subject_by_ref(item.subject_ref)
        reschedule(item, subject, self.policy_of(item), basis, at)


class BytesAsBase64(Transcoding):
    """Sealed subject identifiers are bytes; JSON needs text."""

    type = bytes
    name = "bytes_b64"

    def encode(self, obj: bytes) -> str:
        return base64.b64encode(obj).decode()

    def decode(self, data: str) -> bytes:
        return base64.b64decode(data)
