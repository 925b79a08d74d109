"""The reference eraser's journal: the answers it gave, in an append-only file.

JSON lines, each written and fsynced before its answer is sent (or, for a
deletion, before the file is unlinked), so a crash repeats an answer but never
changes one. Four kinds of line: an order's final answer, a recall's answer
(`"recall": true`), a replay's answer (`"replay": N`, the replay's number), and
a deletion about to be done (`"deleting": path`).

A replay (`lethe erasures replay`, after this store was restored from a
backup) carries its original's order id: it is journaled under the order id
and its number, so the original's answer does not swallow it, and a replay
re-sent is answered once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class Journal:
    """Final answers already given, by order id, in an append-only JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.answers: dict[str, dict[str, Any]] = {}
        self.recalls: dict[str, dict[str, Any]] = {}
        self.replays: dict[tuple[str, int], dict[str, Any]] = {}
        self.deleting: dict[str, str] = {}  # order id -> the path being deleted
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            for line in path.read_text("utf-8").splitlines():
                self._load(line)

    def _load(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            return  # a line torn by a crash: that order is simply worked again
        if "deleting" in entry:
            self.deleting[entry["order_id"]] = entry["deleting"]
        elif (number := entry.pop("replay", None)) is not None:
            self.replays[entry["order_id"], number] = entry
        elif entry.pop("recall", False):
            self.recalls[entry["order_id"]] = entry
        else:
            self.answers[entry["order_id"]] = entry

    def get(self, order_id: str, recall: bool = False) -> dict[str, Any] | None:
        """The answer given to the order (or to its recall), if any."""
        entry = (self.recalls if recall else self.answers).get(order_id)
        return None if entry is None else _revived(entry)

    def add(self, confirmation: Mapping[str, Any], recall: bool = False) -> None:
        entry = {**confirmation, "confirmed_at": _ms(confirmation["confirmed_at"])}
        self._append({**entry, "recall": True} if recall else entry)
        (self.recalls if recall else self.answers)[entry["order_id"]] = entry

    def replay_answer(self, order_id: str, number: int) -> dict[str, Any] | None:
        """The answer given to replay `number` of the order, if any."""
        entry = self.replays.get((order_id, number))
        return None if entry is None else _revived(entry)

    def add_replay(self, confirmation: Mapping[str, Any], number: int) -> None:
        entry = {**confirmation, "confirmed_at": _ms(confirmation["confirmed_at"])}
        self._append({**entry, "replay": number})
        self.replays[entry["order_id"], number] = entry

    def note_deleting(self, order_id: str, path: Path) -> None:
        self._append({"order_id": order_id, "deleting": str(path)})
        self.deleting[order_id] = str(path)

    def deleted_unanswered(self, order_id: str) -> bool:
        """A deletion was begun for the order and its file is gone: a crash came
        between the deletion and its answer."""
        path = self.deleting.get(order_id)
        return path is not None and not os.path.lexists(path)

    def _append(self, entry: Mapping[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())  # written before it is acted on, or not at all


def _revived(entry: Mapping[str, Any]) -> dict[str, Any]:
    at = datetime.fromtimestamp(entry["confirmed_at"] / 1000, UTC)
    return {**entry, "confirmed_at": at}


def whole_ms(instant: datetime) -> datetime:
    # Avro keeps milliseconds, and so does the journal: a repeated answer is identical.
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)
