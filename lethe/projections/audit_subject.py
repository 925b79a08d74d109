"""A subject's whole history: its own events and those of every item Lethe held of it.

Shared by `lethe audit subject` and the API's audit endpoint, so both show the
same history and the subject id only as the vault unseals it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lethe.domain import identity
from lethe.domain.application import Lethe
from lethe.domain.errors import SubjectNotFoundError
from lethe.projections.audit_timeline import SUBJECT_ERASED
from lethe.projections.store import SqlViews

ITEMS_OF_SUBJECT = (
    "SELECT item_ref FROM lethe_schedule WHERE subject_ref = ?"
    " ORDER BY ingested_at, item_ref"
)


@dataclass(frozen=True)
class SubjectHistory:
    subject_ref: str
    shown_as: str  # the unsealed id, or SUBJECT_ERASED once its key is shredded
    subject_events: list[Any]
    item_refs: list[str]
    item_events: list[list[Any]]


def subject_history(
    app: Lethe, views: SqlViews, controller: str, subject_id: str
) -> SubjectHistory:
    """The history; the schedule view must be caught up (items are found through it)."""
    subject_ref = app.subject_ref(controller, subject_id)
    subject_events = list(app.events.get(identity.subject_id(subject_ref)))
    item_refs = [str(r[0]) for r in views.query(ITEMS_OF_SUBJECT, (subject_ref,))]
    if not subject_events and not item_refs:
        raise SubjectNotFoundError(controller)
    return SubjectHistory(
        subject_ref,
        _shown_as(app, subject_ref, subject_events),
        subject_events,
        item_refs,
        [list(app.events.get(identity.item_id(ref))) for ref in item_refs],
    )


def _shown_as(app: Lethe, subject_ref: str, events: list[Any]) -> str:
    """The subject id only as the vault unseals it; a destroyed key says so."""
    if not events:
        return (
            SUBJECT_ERASED if app.vault.is_shredded(subject_ref) else "not registered"
        )
    seal = getattr(events[0], "subject_seal", b"")
    return app.vault.unseal(subject_ref, seal) or SUBJECT_ERASED
