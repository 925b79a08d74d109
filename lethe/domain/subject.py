"""Subject (customer) lifecycle: relationship, contact, requests, subject-wide holds."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from lethe.domain import identity
from lethe.domain.errors import (
    NoSuchHoldError,
    NoSuchRequestError,
    NoSuchRestrictionError,
)


class Subject(Aggregate):
    """Known by a keyed pseudonym; the identifier itself is only ever stored sealed.

    `subject_seal` is the subject id encrypted under a per-subject key kept outside
    the event store; destroying that key (crypto-shredding) leaves this history
    intact and replayable but no longer linkable to the person.
    """

    @staticmethod
    def create_id(subject_ref: str) -> UUID:
        return identity.subject_id(subject_ref)

    if TYPE_CHECKING:
        # The events `@event("Name")` below creates at runtime, declared for the type
        # checker only: eventsourcing builds them from the method signatures, which
        # mypy cannot see. Runtime is untouched, so the stored topics stay
        # `lethe.domain.subject:Subject.<Name>`; tests/unit/test_event_declarations.py
        # fails when a declaration here and the method it stands for differ.
        class Registered(Aggregate.Created):
            subject_ref: str
            controller: str
            subject_seal: bytes
            at: datetime

        class RelationshipEnded(Aggregate.Event):
            ended_at: datetime
            at: datetime

        class RelationshipResumed(Aggregate.Event):
            resumed_at: datetime
            at: datetime

        class ContractEnded(Aggregate.Event):
            ended_at: datetime
            at: datetime

        class Onboarded(Aggregate.Event):
            onboarded_at: datetime
            at: datetime

        class ContactRecorded(Aggregate.Event):
            contact_at: datetime
            at: datetime

        class HoldPlaced(Aggregate.Event):
            case_ref: str
            reason: str
            by: str
            at: datetime

        class HoldReleased(Aggregate.Event):
            case_ref: str
            by: str
            at: datetime

        class Restricted(Aggregate.Event):
            ticket: str
            reason: str
            by: str
            at: datetime

        class RestrictionLifted(Aggregate.Event):
            ticket: str
            by: str
            at: datetime

        class ErasureRequested(Aggregate.Event):
            request_id: str
            reason: str
            requested_by: str
            ticket: str | None
            requested_at: datetime
            answer_due_at: datetime

        class ErasureCarriedOut(Aggregate.Event):
            request_id: str
            ordered: int
            kept: int
            waiting_on_holds: int
            at: datetime

        class RequestExtended(Aggregate.Event):
            request_id: str
            reason: str
            by: str
            told_on: str
            extended_due_at: datetime
            at: datetime

    @event("Registered")
    def __init__(
        self, subject_ref: str, controller: str, subject_seal: bytes, at: datetime
    ):
        self.subject_ref = subject_ref
        self.controller = controller
        self.subject_seal = subject_seal
        self.relationship_ended_at: datetime | None = None
        self.contract_ended_at: datetime | None = None
        self.onboarded_at: datetime | None = None
        self.last_contact_at: datetime | None = None
        self.holds: dict[str, dict[str, Any]] = {}
        self.restrictions: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, dict[str, Any]] = {}
        self.erased_at: datetime | None = None

    # -- relationship ---------------------------------------------------------------

    @event("RelationshipEnded")
    def end_relationship(self, ended_at: datetime, at: datetime) -> None:
        self.relationship_ended_at = ended_at

    @event("RelationshipResumed")
    def resume_relationship(self, resumed_at: datetime, at: datetime) -> None:
        self.relationship_ended_at = None
        # A customer who comes back has a contract again: its old end no longer
        # starts the clock.
        self.contract_ended_at = None

    @event("ContractEnded")
    def end_contract(self, ended_at: datetime, at: datetime) -> None:
        self.contract_ended_at = ended_at

    @event("Onboarded")
    def onboard(self, onboarded_at: datetime, at: datetime) -> None:
        self.onboarded_at = onboarded_at

    def record_contact(self, contact_at: datetime, at: datetime) -> bool:
        if self.last_contact_at is not None and contact_at <= self.last_contact_at:
            return False  # contact only ever moves the clock forward
        self._contact_recorded(contact_at=contact_at, at=at)
        return True

    @event("ContactRecorded")
    def _contact_recorded(self, contact_at: datetime, at: datetime) -> None:
        self.last_contact_at = contact_at

    # -- holds and restrictions on everything the subject has ------------------------

    def place_hold(self, case_ref: str, reason: str, by: str, at: datetime) -> bool:
        if case_ref in self.holds:
            return False
        self._hold_placed(case_ref=case_ref, reason=reason, by=by, at=at)
        return True

    @event("HoldPlaced")
    def _hold_placed(self, case_ref: str, reason: str, by: str, at: datetime) -> None:
        self.holds[case_ref] = {"reason": reason, "by": by, "at": at}

    def release_hold(self, case_ref: str, by: str, at: datetime) -> None:
        if case_ref not in self.holds:
            raise NoSuchHoldError("the subject", case_ref)
        self._hold_released(case_ref=case_ref, by=by, at=at)

    @event("HoldReleased")
    def _hold_released(self, case_ref: str, by: str, at: datetime) -> None:
        del self.holds[case_ref]

    def restrict(self, ticket: str, reason: str, by: str, at: datetime) -> bool:
        if ticket in self.restrictions:
            return False
        self._restricted(ticket=ticket, reason=reason, by=by, at=at)
        return True

    @event("Restricted")
    def _restricted(self, ticket: str, reason: str, by: str, at: datetime) -> None:
        self.restrictions[ticket] = {"reason": reason, "by": by, "at": at}

    def lift_restriction(self, ticket: str, by: str, at: datetime) -> None:
        if ticket not in self.restrictions:
            raise NoSuchRestrictionError("the subject", ticket)
        self._restriction_lifted(ticket=ticket, by=by, at=at)

    @event("RestrictionLifted")
    def _restriction_lifted(self, ticket: str, by: str, at: datetime) -> None:
        del self.restrictions[ticket]

    # -- the right to erasure (GDPR art. 17) ------------------------------------------

    def request_erasure(
        self,
        request_id: str,
        reason: str,
        requested_by: str,
        ticket: str | None,
        requested_at: datetime,
        answer_due_at: datetime,
    ) -> bool:
        if request_id in self.requests:
            return False  # the same command delivered twice
        self._erasure_requested(
            request_id=request_id,
            reason=reason,
            requested_by=requested_by,
            ticket=ticket,
            requested_at=requested_at,
            answer_due_at=answer_due_at,
        )
        return True

    @event("ErasureRequested")
    def _erasure_requested(
        self,
        request_id: str,
        reason: str,
        requested_by: str,
        ticket: str | None,
        requested_at: datetime,
        answer_due_at: datetime,
    ) -> None:
        self.requests[request_id] = {
            "requested_at": requested_at,
            "answer_due_at": answer_due_at,
            "ticket": ticket,
            "carried_out_at": None,
            "extended_due_at": None,
            "told_on": None,
        }

    def extend_request(
        self,
        request_id: str,
        reason: str,
        by: str,
        told_on: date,
        extended_due_at: datetime,
        at: datetime,
    ) -> bool:
        """GDPR art. 12(3)'s two further months; False when already extended.

        The caller checks the dates against the law (lethe/domain/deadlines.py).
        """
        request = self.requests.get(request_id)
        if request is None:
            raise NoSuchRequestError(request_id)
        # Allowed once every item is ordered too: the subject is told when the
        # stores have confirmed, which may take longer than the first month.
        if request.get("extended_due_at") is not None:
            return False
        self._request_extended(
            request_id=request_id,
            reason=reason,
            by=by,
            told_on=told_on.isoformat(),  # a calendar day, not an instant
            extended_due_at=extended_due_at,
            at=at,
        )
        return True

    @event("RequestExtended")
    def _request_extended(
        self,
        request_id: str,
        reason: str,
        by: str,
        told_on: str,
        extended_due_at: datetime,
        at: datetime,
    ) -> None:
        request = self.requests[request_id]
        request["extended_due_at"] = extended_due_at
        request["told_on"] = told_on

    @event("ErasureCarriedOut")
    def carry_out_erasure(
        self,
        request_id: str,
        ordered: int,
        kept: int,
        waiting_on_holds: int,
        at: datetime,
    ) -> None:
        """Each item was ordered for erasure or kept by law: the request is answered."""
        self.requests[request_id]["carried_out_at"] = at
        self.erased_at = self.erased_at or at

    @property
    def open_requests(self) -> list[str]:
        return [r for r, v in self.requests.items() if v["carried_out_at"] is None]

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None
