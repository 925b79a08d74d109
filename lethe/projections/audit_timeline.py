"""Audit timelines: an item's or a subject's history as rows and as one document."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

SUBJECT_ERASED = "erased (key destroyed)"
# Closer than this to its instant, an event counts as recorded when it happened.
BACKDATED = timedelta(minutes=1)


@dataclass(frozen=True)
class Row:
    at: datetime  # the domain instant (when it happened, not when it was recorded)
    item: str  # the item id; "" for the subject's own events
    event: str
    details: str
    # When it was really recorded (the event's own timestamp, the clock of the
    # process that wrote it): a back-dated command (`--at`) keeps both.
    recorded: datetime | None = None


def instant_of(event: Any) -> datetime:
    for name in ("at", "requested_at", "ingested_at"):
        value = getattr(event, name, None)
        if isinstance(value, datetime):
            return value
    return event.timestamp


def _when(value: datetime | None) -> str:
    return "not yet (clock not started)" if value is None else value.isoformat()


_DETAILS: dict[str, Callable[[Any], str]] = {
    "Ingested": lambda e: (
        f"from {e.source_topic} partition {e.source_partition}"
        f" offset {e.source_offset};"
        f" {e.controller}/{e.category}; captured {e.captured_at.isoformat()}"
        + (f"; due {_when(e.due_at)}; rule {e.rule} [{e.policy}]" if e.rule else "")
    ),
    "Scheduled": lambda e: (
        f"due {_when(e.due_at)}; rule {e.rule} [{e.policy}]; basis {e.basis}"
    ),
    "Rescheduled": lambda e: (
        f"policy {e.policy}: due {_when(e.due_at)}"
        f" (was {_when(e.previous_due_at)}); rule {e.rule}"
    ),
    "PoliceFlagged": lambda e: f"case {e.case_ref} (by {e.by})",
    "HoldPlaced": lambda e: f"case {e.case_ref}: {e.reason} (by {e.by})",
    "HoldReleased": lambda e: f"case {e.case_ref} (by {e.by})",
    "Restricted": lambda e: f"ticket {e.ticket}: {e.reason} (by {e.by})",
    "RestrictionLifted": lambda e: f"ticket {e.ticket} (by {e.by})",
    "KeptForLegalObligation": lambda e: f"request {e.request_id}",
    "ErasureOrdered": lambda e: (
        f"{e.cause}; order {e.order_id}; rule {e.rule} [{e.policy}];"
        f" due {_when(e.due_at)}"
    ),
    "ErasureReissued": lambda e: f"order {e.order_id}; attempt {e.attempt}",
    "ErasureWithheld": lambda e: (
        f"order {e.order_id} never sent: {', '.join(e.held_by)} came first"
    ),
    "ReissueWithheld": lambda e: (
        f"order {e.order_id} attempt {e.attempt} not re-sent:"
        f" {', '.join(e.held_by)} came first"
    ),
    "ErasureRecalled": lambda e: (
        f"order {e.order_id} recalled: {', '.join(e.held_by)} came after it"
    ),
    "RecallAnswered": lambda e: (
        f"{e.store}: {e.outcome} {e.detail or ''}; recall of order {e.order_id}"
    ).replace("  ", " "),
    "ArrivedAgain": lambda e: (
        f"a record of the erased item arrived again: {e.source_topic}"
        f" partition {e.source_partition} offset {e.source_offset}"
    ),
    "Erased": lambda e: f"{e.store}: {e.outcome}; order {e.order_id}",
    "ErasureReplayed": lambda e: (
        f"order {e.order_id} replayed (#{e.number}) to {e.store}, restored:"
        f" erasures confirmed after {e.since.isoformat()}"
    ),
    "ReplayWithheld": lambda e: (
        f"replay #{e.number} of order {e.order_id} never sent:"
        f" {', '.join(e.held_by)} came first"
    ),
    "ReplayAnswered": lambda e: (
        f"{e.store}: {' '.join(filter(None, (e.outcome, e.detail)))};"
        f" replay #{e.number} of order {e.order_id}"
    ),
    "ErasureFailed": lambda e: (
        f"{e.store}: FAILED {e.detail or ''}; order {e.order_id}".strip()
    ),
    "Registered": lambda e: f"controller {e.controller}; pseudonym {e.subject_ref}",
    "RelationshipEnded": lambda e: f"relationship ended {e.ended_at.isoformat()}",
    "RelationshipResumed": lambda e: f"relationship resumed {e.resumed_at.isoformat()}",
    "ContractEnded": lambda e: f"contract ended {e.ended_at.isoformat()}",
    "Onboarded": lambda e: f"onboarded {e.onboarded_at.isoformat()}",
    "ContactRecorded": lambda e: f"last contact {e.contact_at.isoformat()}",
    "ErasureRequested": lambda e: (
        f"request {e.request_id}: {e.reason}"
        f" (by {e.requested_by}, ticket {e.ticket or '-'});"
        f" answer due {e.answer_due_at.isoformat()}"
    ),
    "RequestExtended": lambda e: (
        f"request {e.request_id}: extended to {e.extended_due_at.isoformat()};"
        f" subject told on {e.told_on}: {e.reason} (by {e.by})"
    ),
    "ErasureCarriedOut": lambda e: (
        f"request {e.request_id}: {e.ordered} ordered, {e.kept} kept by law,"
        f" {e.waiting_on_holds} waiting on holds"
    ),
}


def backdated(recorded: datetime | None, at: datetime) -> bool:
    """Whether an event was recorded apart from its instant (`--at`, or a
    process that took it in later)."""
    return recorded is not None and abs(recorded - at) >= BACKDATED


def recorded_marks(events: Iterable[Any]) -> dict[str, datetime]:
    """When each hold ("hold:<case>") and restriction ("restriction:<ticket>")
    in the history was really recorded: its last placing's timestamp."""
    found: dict[str, datetime] = {}
    for e in events:
        name = type(e).__name__
        if name == "HoldPlaced":
            found[f"hold:{e.case_ref}"] = e.timestamp
        elif name == "Restricted":
            found[f"restriction:{e.ticket}"] = e.timestamp
    return found


def rows_of(events: Iterable[Any], item: str = "") -> list[Row]:
    """One row per event; the subject's seal is never shown."""
    rows = []
    for e in events:
        name = type(e).__name__
        details = _DETAILS.get(name, lambda _e: "")(e)
        recorded = getattr(e, "timestamp", None)
        rows.append(Row(instant_of(e), item, name, details, recorded))
    return rows


def opened_rows(rows: Iterable[Row], open_text: Callable[[str], str]) -> list[Row]:
    """The rows with their sealed free text opened by `open_text`."""
    return [replace(row, details=open_text(row.details)) for row in rows]


def item_document(events: list[Any]) -> dict[str, Any]:
    """An item's history as one JSON-ready document (instants stay datetimes)."""
    first = events[0]
    doc: dict[str, Any] = {
        "item": first.item_ref,
        "kind": first.kind,
        "controller": first.controller,
        "category": first.category,
        "ingested": {
            "at": first.ingested_at,
            "captured_at": first.captured_at,
            "topic": first.source_topic,
            "partition": first.source_partition,
            "offset": first.source_offset,
        },
        # A version-2 Ingested carries the first schedule; version 1 had none.
        "scheduled": (
            [_schedule(first.ingested_at, first, "ingested")] if first.rule else []
        ),
        "police_flags": [],
        "holds": [],
        "restrictions": [],
        "kept_for_legal_obligation": None,
        "erasure": {
            "ordered": None,
            "reissued": [],
            "withheld": [],
            "recalls": [],
            "confirmations": [],
            "replays": [],
        },
    }
    for e in events[1:]:
        _fold(doc, type(e).__name__, e)
    doc["timeline"] = [_row_dict(r) for r in rows_of(events)]
    return doc


def _schedule(at: datetime, e: Any, basis: str) -> dict[str, Any]:
    return {
        "at": at,
        "due_at": e.due_at,
        "rule": e.rule,
        "policy": e.policy,
        "basis": basis,
    }


def _fold(doc: dict[str, Any], name: str, e: Any) -> None:
    if name == "Scheduled":
        doc["scheduled"].append(_schedule(e.at, e, e.basis))
    elif name == "Rescheduled":
        doc["scheduled"].append(_schedule(e.at, e, f"policy {e.policy}"))
    elif name == "PoliceFlagged":
        doc["police_flags"].append({"at": e.at, "case_ref": e.case_ref, "by": e.by})
    elif name in ("HoldPlaced", "Restricted"):
        key, ref = (
            ("holds", "case_ref")
            if name == "HoldPlaced"
            else ("restrictions", "ticket")
        )
        doc[key].append(
            {
                ref: getattr(e, ref),
                "reason": e.reason,
                "placed_by": e.by,
                "placed_at": e.at,
                "released_by": None,
                "released_at": None,
            }
        )
    elif name in ("HoldReleased", "RestrictionLifted"):
        key, ref = (
            ("holds", "case_ref")
            if name == "HoldReleased"
            else ("restrictions", "ticket")
        )
        for entry in doc[key]:
            if entry[ref] == getattr(e, ref) and entry["released_at"] is None:
                entry.update(released_by=e.by, released_at=e.at)
    elif name == "KeptForLegalObligation":
        doc["kept_for_legal_obligation"] = {"at": e.at, "request_id": e.request_id}
    elif name == "ErasureOrdered":
        doc["erasure"]["ordered"] = {
            "at": e.at,
            "cause": e.cause,
            "order_id": e.order_id,
            "rule": e.rule,
            "policy": e.policy,
            "due_at": e.due_at,
        }
    elif name == "ErasureWithheld":
        doc["erasure"]["withheld"].append(
            {"at": e.at, "order_id": e.order_id, "held_by": list(e.held_by)}
        )
        doc["erasure"]["ordered"] = None  # never left Lethe
    elif name == "ErasureReissued":
        doc["erasure"]["reissued"].append({"at": e.at, "attempt": e.attempt})
    elif name == "ErasureRecalled":
        doc["erasure"]["recalls"].append(
            {
                "at": e.at,
                "order_id": e.order_id,
                "held_by": list(e.held_by),
                "answer": None,
            }
        )
    elif name == "RecallAnswered":
        _answer_recall(doc, e)
    elif name in ("ErasureReplayed", "ReplayWithheld", "ReplayAnswered"):
        _fold_replay(doc, name, e)
    elif name in ("Erased", "ErasureFailed"):
        doc["erasure"]["confirmations"].append(
            {
                "at": e.at,
                "store": e.store,
                "outcome": getattr(e, "outcome", "FAILED"),
                "detail": getattr(e, "detail", None),
            }
        )


def _fold_replay(doc: dict[str, Any], name: str, e: Any) -> None:
    """A replay and what became of it: withheld, or the store's answer."""
    replays = doc["erasure"]["replays"]
    if name == "ErasureReplayed":
        replays.append(
            {
                "at": e.at,
                "order_id": e.order_id,
                "number": e.number,
                "store": e.store,
                "since": e.since,
                "withheld_by": None,
                "answer": None,
            }
        )
        return
    for replay in replays:
        if (replay["order_id"], replay["number"]) != (e.order_id, e.number):
            continue
        if name == "ReplayWithheld":
            replay["withheld_by"] = list(e.held_by)
        else:
            replay["answer"] = {
                "at": e.at,
                "store": e.store,
                "outcome": e.outcome,
                "detail": e.detail,
            }


def _answer_recall(doc: dict[str, Any], e: Any) -> None:
    answer = {"at": e.at, "store": e.store, "outcome": e.outcome, "detail": e.detail}
    for recall in doc["erasure"]["recalls"]:
        if recall["order_id"] == e.order_id and recall["answer"] is None:
            recall["answer"] = answer
    if e.outcome == "RECALLED":
        doc["erasure"]["ordered"] = None  # kept: the order is void


def subject_document(
    subject_events: list[Any], shown_as: str, item_docs: list[dict[str, Any]]
) -> dict[str, Any]:
    """A subject's history and its items; `shown_as` is the unsealed id or 'erased'."""
    first = subject_events[0] if subject_events else None
    requests: dict[str, dict[str, Any]] = {}
    for e in subject_events:
        name = type(e).__name__
        if name == "ErasureRequested":
            requests[e.request_id] = {
                "request_id": e.request_id,
                "requested_at": e.requested_at,
                "answer_due_at": e.answer_due_at,
                "carried_out_at": None,
                "ticket": e.ticket,
                "requested_by": e.requested_by,
            }
        elif name == "ErasureCarriedOut" and e.request_id in requests:
            requests[e.request_id]["carried_out_at"] = e.at
    return {
        "subject": shown_as,
        "pseudonym": first.subject_ref if first is not None else None,
        "controller": first.controller if first is not None else None,
        "requests": list(requests.values()),
        "timeline": [_row_dict(r) for r in rows_of(subject_events)],
        "items": item_docs,
    }


def _row_dict(row: Row) -> dict[str, Any]:
    return {
        "at": row.at,
        "recorded": row.recorded,
        "event": row.event,
        "details": row.details,
    }
