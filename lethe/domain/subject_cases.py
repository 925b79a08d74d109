"""Subject use cases: relationship, contact, subject-wide holds, erasure requests.

A mixin of the `Lethe` application; the subject process carries each change to
every item of the subject (lethe/projections/schedule.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from lethe.domain import free_text, identity
from lethe.domain.deadlines import (
    EXTENDED_MONTHS,
    Holidays,
    answer_deadline,
    check_extension,
)
from lethe.domain.errors import (
    BadCommandError,
    EndsBeforeItBeganError,
    NoSuchHoldError,
    NoSuchRequestError,
    NoSuchRestrictionError,
    SubjectNotFoundError,
)
from lethe.domain.subject import Subject


class SubjectCases:
    """Needs from its host: `policy`, `vault`, `repository`, `save`, `holidays`."""

    policy: Any
    vault: Any
    repository: Any
    save: Any
    holidays: Holidays

    def subject_ref(self, controller: str, subject_id: str) -> str:
        if not subject_id.strip():
            raise BadCommandError("the subject id is empty")
        self.policy(controller)
        return self.vault.pseudonym(controller, subject_id)

    def find_subject_by_ref(self, subject_ref: str) -> Subject | None:
        try:
            subject = self.repository.get(identity.subject_id(subject_ref))
        except AggregateNotFoundError:
            return None
        assert isinstance(subject, Subject)
        return subject

    def get_subject(self, controller: str, subject_id: str) -> Subject:
        subject = self.find_subject_by_ref(self.subject_ref(controller, subject_id))
        if subject is None:
            raise SubjectNotFoundError(controller)
        return subject

    def _recorded(
        self, controller: str, subject_id: str, missing: Any, ref: str
    ) -> Subject:
        """The subject's record; without one it has no hold, restriction or request
        to change, though it may have items."""
        subject = self.find_subject_by_ref(self.subject_ref(controller, subject_id))
        if subject is None:
            raise missing("the subject", ref)
        return subject

    def subject_for(self, controller: str, subject_id: str, at: datetime) -> Subject:
        """The subject, registered (sealed) on first mention."""
        subject_ref = self.subject_ref(controller, subject_id)
        subject = self.find_subject_by_ref(subject_ref)
        if subject is None:
            seal = self.vault.seal(subject_ref, subject_id)
            subject = Subject(
                subject_ref=subject_ref, controller=controller, subject_seal=seal, at=at
            )
        return subject

    def _sealed_text(
        self, controller: str, subject_id: str, field: str, text: str | None
    ) -> Any:
        """`text` sealed under the subject's key, once it is known not to name
        them (refused before anything is recorded)."""
        free_text.refuse_identifiers(field, text, free_text.names(subject_id))
        subject_ref = self.subject_ref(controller, subject_id)
        return free_text.seal(self.vault, subject_ref, text)

    def end_relationship(
        self, controller: str, subject_id: str, ended_at: datetime, at: datetime
    ) -> Subject:
        subject = self.subject_for(controller, subject_id, at)
        subject.end_relationship(ended_at=ended_at, at=at)
        self.save(subject)
        return subject

    def resume_relationship(
        self, controller: str, subject_id: str, resumed_at: datetime, at: datetime
    ) -> Subject:
        subject = self.subject_for(controller, subject_id, at)
        subject.resume_relationship(resumed_at=resumed_at, at=at)
        self.save(subject)
        return subject

    def end_contract(
        self, controller: str, subject_id: str, ended_at: datetime, at: datetime
    ) -> Subject:
        subject = self.subject_for(controller, subject_id, at)
        subject.end_contract(ended_at=ended_at, at=at)
        self.save(subject)
        return subject

    def onboard(
        self, controller: str, subject_id: str, onboarded_at: datetime, at: datetime
    ) -> Subject:
        subject = self.subject_for(controller, subject_id, at)
        subject.onboard(onboarded_at=onboarded_at, at=at)
        self.save(subject)
        return subject

    def record_contact(
        self, controller: str, subject_id: str, contact_at: datetime, at: datetime
    ) -> Subject:
        subject = self.subject_for(controller, subject_id, at)
        subject.record_contact(contact_at, at)
        self.save(subject)
        return subject

    def place_subject_hold(
        self,
        controller: str,
        subject_id: str,
        case_ref: str,
        reason: str,
        by: str,
        at: datetime,
    ) -> bool:
        """Whether anything new was recorded: False when the hold is in force."""
        require(case_ref=case_ref, reason=reason, requested_by=by)
        free_text.refuse_own_id("case ref", case_ref, free_text.names(subject_id))
        reason = self._sealed_text(controller, subject_id, "reason", reason)
        subject = self.subject_for(controller, subject_id, at)
        placed = subject.place_hold(case_ref, reason, by, at)
        if placed:
            self.save(subject)
        return placed

    def release_subject_hold(
        self, controller: str, subject_id: str, case_ref: str, by: str, at: datetime
    ) -> Subject:
        subject = self._recorded(controller, subject_id, NoSuchHoldError, case_ref)
        not_before(subject.holds.get(case_ref), "hold", case_ref, at)
        subject.release_hold(case_ref, by, at)
        self.save(subject)
        return subject

    def restrict_subject(
        self,
        controller: str,
        subject_id: str,
        ticket: str,
        reason: str,
        by: str,
        at: datetime,
    ) -> bool:
        """Whether anything new was recorded: False when it is in force."""
        require(ticket=ticket, reason=reason, requested_by=by)
        free_text.refuse_own_id("ticket", ticket, free_text.names(subject_id))
        reason = self._sealed_text(controller, subject_id, "reason", reason)
        subject = self.subject_for(controller, subject_id, at)
        restricted = subject.restrict(ticket, reason, by, at)
        if restricted:
            self.save(subject)
        return restricted

    def lift_subject_restriction(
        self, controller: str, subject_id: str, ticket: str, by: str, at: datetime
    ) -> Subject:
        subject = self._recorded(controller, subject_id, NoSuchRestrictionError, ticket)
        not_before(subject.restrictions.get(ticket), "restriction", ticket, at)
        subject.lift_restriction(ticket, by, at)
        self.save(subject)
        return subject

    def request_subject_erasure(
        self,
        controller: str,
        subject_id: str,
        command_id: str,
        reason: str,
        requested_by: str,
        ticket: str | None,
        at: datetime,
    ) -> str:
        """GDPR art. 17. Carried out item by item by the subject process."""
        require(command_id=command_id, reason=reason, requested_by=requested_by)
        reason = self._sealed_text(controller, subject_id, "reason", reason)
        ticket = self._sealed_text(controller, subject_id, "ticket", ticket)
        subject = self.subject_for(controller, subject_id, at)
        request_id = identity.request_id(subject.subject_ref, command_id)
        zone = self.policy(controller).zone
        answer_due_at = answer_deadline(at, zone, self.holidays)
        subject.request_erasure(
            request_id, reason, requested_by, ticket, at, answer_due_at
        )
        self.save(subject)
        return request_id

    def extend_erasure_request(
        self,
        controller: str,
        subject_id: str,
        request_id: str,
        reason: str,
        by: str,
        told_on: date,
        at: datetime,
    ) -> bool:
        """GDPR art. 12(3): two further months, if the subject was told in the first.

        Returns False when the request was already extended (nothing recorded).
        """
        require(reason=reason, requested_by=by)
        free_text.refuse_identifiers("reason", reason, free_text.names(subject_id))
        subject = self.find_subject_by_ref(self.subject_ref(controller, subject_id))
        request = subject.requests.get(request_id) if subject else None
        if subject is None or request is None:
            raise NoSuchRequestError(request_id)
        if request.get("extended_due_at") is not None:
            return False
        zone = self.policy(controller).zone
        received_at = request["requested_at"]
        check_extension(received_at, request["answer_due_at"], told_on, at, zone)
        extended = answer_deadline(received_at, zone, self.holidays, EXTENDED_MONTHS)
        reason = free_text.seal(self.vault, subject.subject_ref, reason) or reason
        changed = subject.extend_request(request_id, reason, by, told_on, extended, at)
        self.save(subject)
        return changed


def require(**values: str | None) -> None:
    missing = [
        name.replace("_", " ")
        for name, value in values.items()
        if not (value or "").strip()
    ]
    if missing:
        raise BadCommandError(
            f"missing {', '.join(missing)}: every such change must say it"
        )


def not_before(
    placed: Mapping[str, Any] | None, what: str, handle: str, at: datetime
) -> None:
    """Refuse to end a hold or restriction at an instant before it was placed
    (an unknown one is left to the aggregate, which says it does not exist)."""
    if placed is not None and at < placed["at"]:
        raise EndsBeforeItBeganError(what, handle, placed["at"], at)
