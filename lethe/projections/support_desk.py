"""Support staff's use cases with their answers: what each command found and did.

A subject's facts reach its items through the schedule process, so an answer is
read after it has caught up: the items as the store has them before the command
and after it. The CLI (and any other entry point) only renders what this returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lethe.domain.answers import ItemStanding, Outcome, outcome_of, standing_of
from lethe.domain.application import Lethe
from lethe.domain.errors import ItemNotFoundError, SubjectNotFoundError
from lethe.domain.item import Item
from lethe.domain.subject import Subject
from lethe.domain.subject_cases import require
from lethe.projections.bulk import load_items
from lethe.projections.store import SqlViews

ALL_ITEMS_OF_SUBJECT = (
    "SELECT item_ref FROM lethe_schedule WHERE subject_ref = ? ORDER BY item_ref"
)


@dataclass(frozen=True)
class RequestAnswer:
    """An art. 17 request as the store has it after the command."""

    request_id: str
    new: bool  # False: the same request (same ticket) was recorded before
    requested_at: datetime
    answer_due_at: datetime
    extended_due_at: datetime | None
    told_on: str | None
    carried_out_at: datetime | None
    key_destroyed: bool
    outcome: Outcome


@dataclass(frozen=True)
class Extension:
    request_id: str
    new: bool  # False: the request was extended before; nothing recorded
    answer_due_at: datetime
    extended_due_at: datetime
    told_on: str


class SupportDesk:
    def __init__(
        self, app: Lethe, views: SqlViews, catch_up: Callable[[], object]
    ) -> None:
        self.app = app
        self.views = views
        self.catch_up = catch_up

    # -- a subject ------------------------------------------------------------------

    def erase_subject(
        self,
        controller: str,
        subject_id: str,
        command_id: str,
        reason: str,
        by: str,
        ticket: str | None,
        at: datetime,
    ) -> RequestAnswer:
        # A malformed command is refused before anything is looked up.
        require(command_id=command_id, reason=reason, requested_by=by)
        subject_ref = self._known_subject(controller, subject_id)
        before = self._subject_standings(subject_ref)
        known_before = self._subject(subject_ref)
        request_id = self.app.request_subject_erasure(
            controller, subject_id, command_id, reason, by, ticket, at
        )
        new = known_before is None or request_id not in known_before.requests
        self.catch_up()
        subject = self._subject(subject_ref)
        assert subject is not None
        request = subject.requests[request_id]
        return RequestAnswer(
            request_id=request_id,
            new=new,
            requested_at=request["requested_at"],
            answer_due_at=request["answer_due_at"],
            extended_due_at=request.get("extended_due_at"),
            told_on=request.get("told_on"),
            carried_out_at=request["carried_out_at"],
            key_destroyed=self.app.vault.is_shredded(subject_ref),
            outcome=outcome_of(new, before, self._subject_items(subject_ref)),
        )

    def extend_request(
        self,
        controller: str,
        subject_id: str,
        request_id: str,
        reason: str,
        by: str,
        told_on: date,
        at: datetime,
    ) -> Extension:
        new = self.app.extend_erasure_request(
            controller, subject_id, request_id, reason, by, told_on, at
        )
        self.catch_up()
        request = self.app.get_subject(controller, subject_id).requests[request_id]
        return Extension(
            request_id,
            new,
            request["answer_due_at"],
            request["extended_due_at"],
            request["told_on"],
        )

    def on_subject(
        self,
        controller: str,
        subject_id: str,
        change: Callable[[Lethe], Any],
        **required: str | None,
    ) -> Outcome:
        """Apply a hold, release, restriction or lift to a subject known to the
        controller; `change` returns False when nothing new was recorded.

        `required` names the command's texts that must not be blank.
        """
        require(**required)
        subject_ref = self._known_subject(controller, subject_id)
        before = self._subject_standings(subject_ref)
        recorded = change(self.app) is not False
        self.catch_up()
        return outcome_of(recorded, before, self._subject_items(subject_ref))

    # -- one item -------------------------------------------------------------------

    def on_item(
        self,
        controller: str,
        item_ref: str,
        change: Callable[[Lethe], Any],
        **required: str | None,
    ) -> Outcome:
        require(**required)
        self.catch_up()
        item = self._known_item(controller, item_ref)
        before = {item.item_ref: standing_of(item)}
        recorded = change(self.app) is not False
        self.catch_up()
        return outcome_of(recorded, before, [self.app.get_item(item_ref)])

    # -- reading --------------------------------------------------------------------

    def _known_subject(self, controller: str, subject_id: str) -> str:
        """The subject's pseudonym, if the controller has a record or an item of it.

        Nothing is recorded for an unknown one: a typo must not register a subject.
        """
        self.catch_up()  # items ingested but not yet in the index count too
        subject_ref = self.app.subject_ref(controller, subject_id)
        if self._subject(subject_ref) is None and not self._item_refs(subject_ref):
            raise SubjectNotFoundError(controller)
        return subject_ref

    def _known_item(self, controller: str, item_ref: str) -> Item:
        self.app.policy(controller)  # an unknown controller is its own refusal
        item = self.app.find_item(item_ref)
        if item is None or item.controller != controller:
            # The same answer for another controller's item: nothing of it shows.
            raise ItemNotFoundError(item_ref, controller)
        return item

    def _subject(self, subject_ref: str) -> Subject | None:
        return self.app.find_subject_by_ref(subject_ref)

    def _item_refs(self, subject_ref: str) -> list[str]:
        return [r[0] for r in self.views.query(ALL_ITEMS_OF_SUBJECT, (subject_ref,))]

    def _subject_items(self, subject_ref: str) -> list[Item]:
        return load_items(self.app, self.views, self._item_refs(subject_ref))

    def _subject_standings(self, subject_ref: str) -> dict[str, ItemStanding]:
        return {
            item.item_ref: standing_of(item)
            for item in self._subject_items(subject_ref)
        }
