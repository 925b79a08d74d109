"""The reference eraser for file:// blobs: check, delete, confirm (`lethe eraser`).

Decisions are made before anything is touched: a blob outside the root, a
symbolic link, or a file whose sha256 is not the order's is refused (FAILED,
nothing deleted). Final answers (DELETED, NOT_FOUND, RECALLED) go into a journal
before they are sent, so a re-sent order gets the same answer again instead of
being worked twice; a FAILED order is worked again when re-sent, since the store
may have been fixed. Offsets are committed only after the confirmations are
acknowledged: a crash re-reads orders, and the journal answers them.

Replays (an ErasureOrder with `replay` set, `lethe erasures replay`): this
store was restored from a backup, so a file it deleted may be back. A replay
for this store is worked afresh, whatever the journal says of its order:
deleted again (DELETED) if the file is there, NOT_FOUND if not; its answer is
journaled under the replay's number, so a re-sent replay is answered the same.
A replay for another store is skipped, unanswered: it is not this store's.

Recalls (ErasureRecall, on the orders' topic): the recalls of a poll are
answered before its orders, so an order and its recall read together keep the
file. A recall of an order not carried out is journaled RECALLED, and the order,
read then or later, is answered RECALLED and never worked; a recall of one
already carried out is TOO_LATE. The journal notes each deletion before it is
done, so a crash between the deletion and its answer still answers TOO_LATE.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from lethe.consumers.codec import Catalogue, PoisonRecord
from lethe.consumers.signatures import Signatories
from lethe.consumers.signatures import verify as verify_signature
from lethe.domain.item import Outcome
from lethe.ops import logging as lethe_logging
from lethe.ops.eraser.journal import Journal, whole_ms
from lethe.ops.kafka.relay import ORDER_ID_HEADER, ORDERS_TOPIC, Producer

STATE_DIR = ".lethe-eraser"
CONFIRMATIONS_TOPIC = "lethe.erasure-confirmations.v1"
SEND_TIMEOUT_S = 60.0

log = lethe_logging.get_logger("lethe.eraser")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Answer:
    """What the store tells Lethe about one order."""

    outcome: Outcome
    detail: str | None = None


@dataclass(frozen=True)
class Delete:
    """The order checks out: this file is the blob Lethe knows, and may go."""

    path: Path


def refuse(reason: str) -> Answer:
    return Answer(Outcome.FAILED, f"{reason}; nothing deleted")


def locate(blob_uri: str, root: Path, state_dir: Path) -> Path | Answer:
    """The file a blob URI names, if it lies inside `root`; else a refusal."""
    parts = urlsplit(blob_uri)
    if parts.scheme != "file":
        return refuse(f"not a file:// URI (scheme {parts.scheme or 'none'!r})")
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        return refuse("file URI names a host, a query or a fragment")
    raw = unquote(parts.path)
    path = Path(raw)
    if "\x00" in raw or not path.is_absolute() or ".." in path.parts:
        return refuse("file URI path is not absolute and plain")
    # Resolve the directories (following links) but not the file itself: a link
    # is refused below rather than followed out of the root.
    where = path.parent.resolve() / path.name
    real_root = root.resolve()
    if where == real_root or not where.is_relative_to(real_root):
        return refuse("blob is outside the eraser's root")
    if where.is_relative_to(state_dir.resolve()):
        return refuse("blob is inside the eraser's own state directory")
    return where


def verify(path: Path, sha256: str | None) -> Delete | Answer:
    """Delete only the bytes Lethe knows about."""
    if path.is_symlink():
        return refuse("blob is a symbolic link, not followed")
    if not path.exists():
        return Answer(Outcome.NOT_FOUND, "no file")
    if not path.is_file():
        return refuse("blob is not a regular file")
    expected = (sha256 or "").lower()
    if not SHA256_HEX.fullmatch(expected):
        return refuse("order has no valid sha256 to check the file against")
    actual = file_sha256(path)
    if actual != expected:
        return refuse(f"sha256 mismatch: file {actual[:12]}…, order {expected[:12]}…")
    return Delete(path)


def decide(order: Mapping[str, Any], root: Path, state_dir: Path) -> Delete | Answer:
    """What to do with an order, without touching anything."""
    blob_uri = order.get("blob_uri")
    if not blob_uri:
        return Answer(Outcome.NOT_FOUND, "no blob")
    where = locate(blob_uri, root, state_dir)
    return where if isinstance(where, Answer) else verify(where, order.get("sha256"))


def carry_out(decision: Delete | Answer) -> Answer:
    if isinstance(decision, Answer):
        return decision
    try:
        decision.path.unlink()
    except FileNotFoundError:
        return Answer(Outcome.NOT_FOUND, "no file")  # gone since we looked
    except OSError as error:
        return refuse(f"delete failed: {error.strerror}")
    return Answer(Outcome.DELETED)


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class FileEraser:
    """Answers orders for one root: the journal's answer, or a fresh one."""

    def __init__(
        self,
        root: Path,
        store: str,
        state_dir: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.root = root
        self.store = store
        self.state_dir = state_dir or root / STATE_DIR
        self.journal = Journal(self.state_dir / "answers.jsonl")
        self.clock = clock

    def is_for_another_store(self, order: Mapping[str, Any]) -> bool:
        """A replay restoring another store: not this store's to work or answer."""
        replay = order.get("replay")
        return replay is not None and replay["store"] != self.store

    def answer(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """The ErasureConfirmation value for an ErasureOrder value (a replay
        must be for this store: `is_for_another_store`)."""
        replay = order.get("replay")
        if replay is not None:
            return self._replay(order, replay)
        known = self.journal.get(order["order_id"])
        if known is not None:
            return known  # a re-sent order, or one recalled before it came
        decision = decide(order, self.root, self.state_dir)
        if isinstance(decision, Delete):
            self.journal.note_deleting(order["order_id"], decision.path)
        result = carry_out(decision)
        confirmation = self._confirmation(order, result)
        if result.outcome != Outcome.FAILED:
            self.journal.add(confirmation)
        return confirmation

    def _replay(
        self, order: Mapping[str, Any], replay: Mapping[str, Any]
    ) -> dict[str, Any]:
        if replay["store"] != self.store:
            raise ValueError(f"a replay for store {replay['store']}, not {self.store}")
        order_id, number = order["order_id"], replay["number"]
        known = self.journal.replay_answer(order_id, number)
        if known is not None:
            return known  # this replay, re-sent
        decision = decide(order, self.root, self.state_dir)
        if isinstance(decision, Delete):
            self.journal.note_deleting(order_id, decision.path)
        result = carry_out(decision)
        confirmation = self._confirmation(order, result)
        if result.outcome != Outcome.FAILED:
            self.journal.add_replay(confirmation, number)
        return confirmation

    def recall(self, recall: Mapping[str, Any]) -> dict[str, Any]:
        """The ErasureConfirmation value for an ErasureRecall value."""
        order_id = recall["order_id"]
        known = self.journal.get(order_id, recall=True)
        if known is not None:
            return known
        answered = self.journal.get(order_id)
        if answered is not None and answered["outcome"] != Outcome.RECALLED:
            result = Answer(
                Outcome.TOO_LATE, f"order already answered {answered['outcome']}"
            )
        elif self.journal.deleted_unanswered(order_id):
            result = Answer(Outcome.TOO_LATE, "deleted before the recall came")
        else:
            result = Answer(Outcome.RECALLED, "order not carried out; file kept")
            if answered is None:  # the order, whenever it comes, is not worked
                self.journal.add(self._confirmation(recall, result))
        confirmation = self._confirmation(recall, result)
        self.journal.add(confirmation, recall=True)
        return confirmation

    def _confirmation(self, order: Mapping[str, Any], result: Answer) -> dict[str, Any]:
        return {
            "order_id": order["order_id"],
            "item_id": order["item_id"],
            "store": self.store,
            "outcome": result.outcome.value,
            "confirmed_at": whole_ms(self.clock()),
            "detail": result.detail,
        }


class EraserLoop:
    """Polls orders, answers each, and commits offsets once Kafka has the answers."""

    def __init__(
        self,
        consumer: Any,
        producer: Producer,
        catalogue: Catalogue,
        eraser: FileEraser,
        confirmations_topic: str = CONFIRMATIONS_TOPIC,
        *,
        lethe_key: Signatories,
    ) -> None:
        self.consumer = consumer
        # Only orders signed with Lethe's key are worked; `producer` signs the
        # answers with this store's key (ops/kafka/signing.py).
        self.lethe_key = lethe_key
        self.producer = producer
        self.catalogue = catalogue
        self.eraser = eraser
        self.confirmations_topic = confirmations_topic

    def run_once(self, timeout_ms: int = 500) -> int:
        """One poll; how many records it brought."""
        polled = self.consumer.poll(timeout_ms=timeout_ms)
        records = [record for batch in polled.values() for record in batch]
        if not records:
            return 0
        decoded = [(r, self._decode(r)) for r in records]
        # Recalls first: an order read with its recall is never carried out.
        recalls = [(r, v) for r, (name, v) in decoded if name == "ErasureRecall"]
        orders = [(r, v) for r, (name, v) in decoded if name == "ErasureOrder"]
        futures = [self._confirm(r, v, self.eraser.recall(v)) for r, v in recalls]
        for record, value in orders:
            if self.eraser.is_for_another_store(value):
                log.info(
                    "a replay for another store, skipped",
                    order_id=value["order_id"],
                    **_where(record),
                )
            else:
                futures.append(self._confirm(record, value, self.eraser.answer(value)))
        self.producer.flush(timeout=SEND_TIMEOUT_S)
        for future in futures:
            future.get(timeout=SEND_TIMEOUT_S)  # raises: no commit, orders come again
        self.consumer.commit()
        return len(records)

    def _decode(self, record: Any) -> tuple[str, dict[str, Any]]:
        where = _where(record)
        try:
            # Only what Lethe's key signed is worked. A forged order or recall
            # is neither carried out nor answered: an answer could tell Lethe
            # that its real order of that id had failed.
            verified(record, self.lethe_key)
            name, value = self.catalogue.decode(record.value)
        except PoisonRecord as error:
            log.warning("not an erasure order, skipped", reason=error.reason, **where)
            return "", {}
        if name not in ("ErasureOrder", "ErasureRecall"):
            log.warning("not an erasure order, skipped", record=name, **where)
            return "", {}
        return name, value

    def _confirm(
        self, record: Any, value: Mapping[str, Any], answer: Mapping[str, Any]
    ) -> Any:
        log.info(
            "answered",
            order_id=value["order_id"],
            item_id=value["item_id"],
            outcome=answer["outcome"],
            detail=answer["detail"],
            **_where(record),
        )
        return self.producer.send(
            self.confirmations_topic,
            value=self.catalogue.encode("ErasureConfirmation", answer),
            key=value["item_id"].encode(),
            headers=[(ORDER_ID_HEADER, value["order_id"].encode())],
        )

    def run(self, stop: threading.Event, idle_exit_s: float | None = None) -> None:
        """Until `stop`, or until nothing arrived for `idle_exit_s` once assigned."""
        quiet_since = time.monotonic()
        while not stop.is_set():
            if self.run_once() or not self.consumer.assignment():
                quiet_since = time.monotonic()
            elif (
                idle_exit_s is not None and time.monotonic() - quiet_since > idle_exit_s
            ):
                return


def _where(record: Any) -> dict[str, Any]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
    }


def verified(record: Any, lethe_key: Signatories) -> None:
    """PoisonRecord unless Lethe's key signed this record of lethe.erasures.v1."""
    if record.value is None:
        raise PoisonRecord("a null value is not an erasure order")
    headers = getattr(record, "headers", None)
    verify_signature(headers, ORDERS_TOPIC, record.key, record.value, lethe_key)


def signed_order(
    record: Any, catalogue: Catalogue, lethe_key: Signatories
) -> dict[str, Any]:
    """The ErasureOrder a record carries, if Lethe's key signed it."""
    verified(record, lethe_key)
    return catalogue.decode_as(record.value, "ErasureOrder")
