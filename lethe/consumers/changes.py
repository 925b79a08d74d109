"""What a lifecycle record, a command or a confirmation asks of the application."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lethe.domain.application import Lethe
from lethe.domain.errors import BadCommandError
from lethe.domain.item import Outcome


@dataclass(frozen=True)
class LifecycleChange:
    """customer.lifecycle.v1: an end, a resumption, an onboarding or a contact."""

    controller: str
    subject_id: str
    # RELATIONSHIP_ENDED, RELATIONSHIP_RESUMED, CONTRACT_ENDED, ONBOARDED,
    # LAST_CONTACT (records.py refuses UNKNOWN before it gets here)
    kind: str
    occurred_at: datetime

    def apply(self, app: Lethe, at: datetime) -> None:
        if self.kind == "CONTRACT_ENDED":
            app.end_contract(self.controller, self.subject_id, self.occurred_at, at)
        elif self.kind == "ONBOARDED":
            app.onboard(self.controller, self.subject_id, self.occurred_at, at)
        elif self.kind == "RELATIONSHIP_ENDED":
            app.end_relationship(self.controller, self.subject_id, self.occurred_at, at)
        elif self.kind == "RELATIONSHIP_RESUMED":
            app.resume_relationship(
                self.controller, self.subject_id, self.occurred_at, at
            )
        elif self.kind == "LAST_CONTACT":
            app.record_contact(self.controller, self.subject_id, self.occurred_at, at)
        else:
            raise BadCommandError(f"{self.kind} is not a lifecycle kind Lethe knows")

    def describe(self) -> str:
        # For logs: never the subject id.
        return f"{self.kind} ({self.controller})"


@dataclass(frozen=True)
class Command:
    """lethe.commands.v1: about one item or one subject, never both."""

    command_id: str
    kind: str  # ERASE_SUBJECT, PLACE_HOLD, RELEASE_HOLD, RESTRICT, LIFT_RESTRICTION
    controller: str
    subject_id: str | None
    item_ref: str | None
    reason: str
    case_ref: str | None
    requested_by: str
    requested_at: datetime

    def apply(self, app: Lethe, at: datetime) -> None:
        # The request's own instant, not the time it reached us: a hold holds, and
        # the GDPR answer period runs, from when support staff asked.
        if self.item_ref is not None:
            self._apply_to_item(app, self.item_ref)
        else:
            assert self.subject_id is not None
            self._apply_to_subject(app, self.subject_id)

    def _apply_to_item(self, app: Lethe, item_ref: str) -> None:
        controller = app.get_item(item_ref).controller
        if controller != self.controller:
            raise BadCommandError(
                f"item {item_ref} belongs to controller {controller!r}, "
                f"not {self.controller!r}"
            )
        case, by, at = self.case_ref or "", self.requested_by, self.requested_at
        if self.kind == "PLACE_HOLD":
            app.place_hold(item_ref, case, self.reason, by, at)
        elif self.kind == "RELEASE_HOLD":
            app.release_hold(item_ref, case, by, at)
        elif self.kind == "RESTRICT":
            app.restrict(item_ref, case, self.reason, by, at)
        elif self.kind == "LIFT_RESTRICTION":
            app.lift_restriction(item_ref, case, by, at)
        else:
            raise BadCommandError(f"{self.kind} names a subject, not an item")

    def _apply_to_subject(self, app: Lethe, subject_id: str) -> None:
        controller, by, at = self.controller, self.requested_by, self.requested_at
        case = self.case_ref or ""
        if self.kind == "ERASE_SUBJECT":
            app.request_subject_erasure(
                controller, subject_id, self.command_id, self.reason, by,
                self.case_ref, at,
            )  # fmt: skip
        elif self.kind == "PLACE_HOLD":
            app.place_subject_hold(controller, subject_id, case, self.reason, by, at)
        elif self.kind == "RELEASE_HOLD":
            app.release_subject_hold(controller, subject_id, case, by, at)
        elif self.kind == "RESTRICT":
            app.restrict_subject(controller, subject_id, case, self.reason, by, at)
        else:
            app.lift_subject_restriction(controller, subject_id, case, by, at)

    def describe(self) -> str:
        target = f"item {self.item_ref}" if self.item_ref else "a subject"
        return f"{self.kind} {self.command_id} on {target}"


@dataclass(frozen=True)
class Confirmation:
    """lethe.erasure-confirmations.v1: a store's answer to an erasure order."""

    item_ref: str
    order_id: str
    store: str
    outcome: str  # DELETED, NOT_FOUND, FAILED; to a recall RECALLED, TOO_LATE
    detail: str | None
    confirmed_at: datetime

    def apply(self, app: Lethe, at: datetime) -> None:
        app.confirm_erasure(
            self.item_ref,
            self.order_id,
            self.store,
            Outcome(self.outcome),
            self.detail,
            self.confirmed_at,
        )

    def describe(self) -> str:
        return f"{self.outcome} from {self.store} for item {self.item_ref}"


Change = LifecycleChange | Command | Confirmation
