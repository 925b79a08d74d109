"""Render what a support command found and did (lethe/domain/answers.py) as lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from lethe.domain.answers import ItemChange, Outcome, Standing
from lethe.domain.deadlines import last_day
from lethe.ops.cli.support import format_instant

EXAMPLES = 3  # item ids shown per line; a subject may have thousands


def deadline_text(deadline: datetime, zone: ZoneInfo) -> str:
    """`end of 2027-01-04 (Europe/Oslo)`: a deadline is a day, as the law counts."""
    return f"end of {last_day(deadline, zone).isoformat()} ({zone.key})"


def outcome_lines(outcome: Outcome) -> Iterator[str]:
    """One line per way the items stand, with a count and a few item ids."""
    ordered = outcome.standing(Standing.ORDERED)
    yield from _line("erasure ordered now", [c for c in ordered if c.newly])
    yield from _line("erasure ordered before", [c for c in ordered if not c.newly])
    yield from _line("already erased", outcome.standing(Standing.ERASED))
    recalled = outcome.standing(Standing.RECALL_SENT)
    yield from _line("order recalled", recalled)
    for case, changes in outcome.by_case().items():
        yield from _line(f"held ({case})", changes)
    for ticket, changes in outcome.by_ticket().items():
        yield from _line(f"restricted ({ticket})", changes)
    yield from _line("kept by law", outcome.standing(Standing.KEPT_BY_LAW), until=True)
    yield from _line("scheduled", outcome.standing(Standing.SCHEDULED), until=True)
    yield from _line("waiting", outcome.standing(Standing.WAITING), until=True)


def _line(label: str, changes: list[ItemChange], until: bool = False) -> Iterator[str]:
    if not changes:
        return
    shown = [_example(c, until) for c in changes[:EXAMPLES]]
    more = len(changes) - len(shown)
    tail = f" and {more} more" if more else ""
    yield f"  {label:<24} {len(changes):>5}  {', '.join(shown)}{tail}"


def _example(change: ItemChange, until: bool) -> str:
    after = change.after
    if not until:
        return after.item_ref
    if after.due_at is None:
        return f"{after.item_ref} (clock not started)"
    return f"{after.item_ref} until {format_instant(after.due_at)}"


def items_found(outcome: Outcome, controller: str) -> str:
    count = len(outcome.items)
    noun = "item" if count == 1 else "items"
    return f"{count} {noun} of this subject ({controller})"


def erasure_summary(outcome: Outcome) -> str:
    """The request's result in one phrase: erased now, or what stands in the way."""
    if not outcome.items:
        return "no items to erase"
    now = [c for c in outcome.standing(Standing.ORDERED) if c.newly]
    held = outcome.standing(Standing.HELD) + outcome.standing(Standing.RESTRICTED)
    kept = outcome.standing(Standing.KEPT_BY_LAW)
    if not now and held and len(held) + _gone(outcome) == len(outcome.items):
        return "nothing erased now: every item left is held or restricted"
    parts = [f"{len(now)} ordered for erasure now"]
    if kept:
        parts.append(f"{len(kept)} kept by law")
    if held:
        parts.append(f"{len(held)} held or restricted")
    return ", ".join(parts)


def awaits_stores(outcome: Outcome) -> bool:
    """Orders went out now: the subject is answered once the stores confirm them."""
    return any(c.newly for c in outcome.standing(Standing.ORDERED))


def _gone(outcome: Outcome) -> int:
    before = [c for c in outcome.standing(Standing.ORDERED) if not c.newly]
    return len(before) + len(outcome.standing(Standing.ERASED))
