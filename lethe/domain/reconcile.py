"""What a subject's facts mean for one item: schedule, holds, restriction, erasure.

One pure function, used on arrival of an item and whenever its subject changes,
so the same facts always give the same answer whichever came first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from lethe.domain.item import ErasureCause, Item, ItemState
from lethe.domain.policy import Due, ItemFacts, Policy
from lethe.domain.subject import Subject

SUBJECT_HOLD_PREFIX = "subject:"


def facts_of(item: Item, subject: Subject | None) -> ItemFacts:
    return ItemFacts(
        captured_at=item.captured_at,
        police_relevant=item.police_relevant,
        relationship_ended_at=subject.relationship_ended_at if subject else None,
        last_contact_at=subject.last_contact_at if subject else None,
        contract_ended_at=subject.contract_ended_at if subject else None,
        onboarded_at=subject.onboarded_at if subject else None,
    )


def first_due(
    policy: Policy, category: str, captured_at: datetime, police_relevant: bool
) -> Due:
    """The schedule an item arrives with: its own facts, no subject known yet.

    Equal to what `reschedule` gives a new item with no subject, so an item's
    first due instant does not depend on whether its subject came first.
    """
    return policy.due(
        category,
        ItemFacts(
            captured_at=captured_at,
            police_relevant=police_relevant,
            relationship_ended_at=None,
            last_contact_at=None,
        ),
    )


def reschedule(
    item: Item, subject: Subject | None, policy: Policy, basis: str, at: datetime
) -> bool:
    """Recompute the due instant from the policy; returns whether it changed."""
    if item.order is not None:
        return False
    due = policy.due(item.category, facts_of(item, subject))
    due_at = due.at
    if due_at is not None and item.released_at is not None:
        # DESIGN "Overrides of the clock": after a hold, due at max(due, release).
        due_at = max(due_at, item.released_at)
    return item.schedule(due_at, due.rule, due.policy, basis, at)


def apply_subject(
    item: Item, subject: Subject, policy: Policy, basis: str, at: datetime
) -> bool:
    """Bring one item in line with its subject; returns whether the item changed."""
    if item.state == ItemState.ERASED:
        return False
    if item.order is not None:
        # A subject's hold or restriction that came after the order still
        # reaches the item: it is recorded there and recalls the order
        # (issue 11, part 2). Nothing else changes an ordered item.
        changed = _mirror_subject_holds(item, subject, at)
        return _mirror_subject_restrictions(item, subject, at) or changed
    changed = reschedule(item, subject, policy, basis, at)
    changed |= _mirror_subject_holds(item, subject, at)
    changed |= _mirror_subject_restrictions(item, subject, at)
    for request_id, request in subject.requests.items():
        if covers(request["requested_at"], item):
            changed |= _answer_erasure_request(item, policy, request_id, at)
    return changed


def covers(requested_at: datetime, item: Item) -> bool:
    """An art. 17 request covers what the subject had when it was made: items
    already taken, and items that arrive late but were captured before it.

    An item captured after the request (the customer came back: RELATIONSHIP_
    RESUMED, new alarms) follows its own rules; a request is not for ever.
    """
    return item.captured_at <= requested_at or item.ingested_at <= requested_at


def _mirror_subject_holds(item: Item, subject: Subject, at: datetime) -> bool:
    return _mirror(
        subject.holds,
        item.holds,
        item.place_hold,
        lambda ref: item.release_hold(ref, "subject hold released", at),
        at,
    )


def _mirror_subject_restrictions(item: Item, subject: Subject, at: datetime) -> bool:
    return _mirror(
        subject.restrictions,
        item.restrictions,
        item.restrict,
        lambda ref: item.lift_restriction(ref, "subject restriction lifted", at),
        at,
    )


def _mirror(
    on_subject: Mapping[str, Mapping[str, Any]],
    on_item: Mapping[str, Any],
    place: Callable[[str, str, str, datetime], bool],
    remove: Callable[[str], None],
    at: datetime,
) -> bool:
    """Copy the subject's holds (or restrictions) onto the item, and drop gone ones.

    Copies carry the SUBJECT_HOLD_PREFIX, so a hold placed on the item itself is
    never removed by the subject's release.
    """
    changed = False
    for ref, mark in on_subject.items():
        changed |= place(SUBJECT_HOLD_PREFIX + ref, mark["reason"], mark["by"], at)
    for ref in [r for r in on_item if r.startswith(SUBJECT_HOLD_PREFIX)]:
        if ref.removeprefix(SUBJECT_HOLD_PREFIX) not in on_subject:
            remove(ref)
            changed = True
    return changed


def _answer_erasure_request(
    item: Item, policy: Policy, request_id: str, at: datetime
) -> bool:
    """Erase now, or keep until due when a legal obligation requires it."""
    if item.order is not None:
        return False  # an earlier request (or the clock) already ordered it
    if policy.rule_for(item.category).legal_obligation:
        return item.keep_for_legal_obligation(request_id, at)
    if item.is_held or item.is_restricted:
        return False  # erased when the last hold or restriction goes
    item.order_erasure(ErasureCause.SUBJECT_ERASURE, at)
    return True
