"""The reference eraser and recalls: kept if the recall comes before the
deletion (RECALLED), TOO_LATE after; the same answer however often asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lethe.ops.eraser.files import FileEraser
from tests.unit.test_eraser_paths import blob, eraser, order
from tests.unit.test_eraser_paths import root as root  # noqa: F401 (fixture)


def recall(uri: str, order_id: str = "o-1") -> dict[str, Any]:
    return {"order_id": order_id, "item_id": "img-1", "blob_uri": uri}


def outcome(answer: dict[str, Any]) -> str:
    return str(answer["outcome"])


def test_a_recall_before_the_order_keeps_the_file_and_answers_the_order_too(
    root: Path,
) -> None:
    path = blob(root)
    assert outcome(eraser(root).recall(recall(path.as_uri()))) == "RECALLED"
    # A new process (the journal) reads the order afterwards: not carried out.
    assert outcome(eraser(root).answer(order(path.as_uri()))) == "RECALLED"
    assert path.exists()


def test_a_recall_after_the_deletion_is_too_late(root: Path) -> None:
    path = blob(root)
    assert outcome(eraser(root).answer(order(path.as_uri()))) == "DELETED"
    answer = eraser(root).recall(recall(path.as_uri()))
    assert (outcome(answer), answer["detail"]) == (
        "TOO_LATE",
        "order already answered DELETED",
    )


def test_a_redelivered_recall_gets_the_same_answer(root: Path) -> None:
    path = blob(root)
    first = eraser(root).recall(recall(path.as_uri()))
    assert eraser(root).recall(recall(path.as_uri())) == first
    eraser(root).answer(order(path.as_uri()))
    assert eraser(root).recall(recall(path.as_uri())) == first
    assert path.exists()


def test_a_crash_between_deleting_and_answering_still_answers_too_late(
    root: Path,
) -> None:
    path = blob(root)
    crashed = eraser(root)
    crashed.journal.note_deleting("o-1", path)  # as answer() does, then kill -9
    path.unlink()
    assert outcome(eraser(root).recall(recall(path.as_uri()))) == "TOO_LATE"


def test_a_deletion_noted_but_not_done_is_still_recalled(root: Path) -> None:
    path = blob(root)
    eraser(root).journal.note_deleting("o-1", path)  # killed before the unlink
    assert outcome(eraser(root).recall(recall(path.as_uri()))) == "RECALLED"
    assert outcome(eraser(root).answer(order(path.as_uri()))) == "RECALLED"
    assert path.exists()


def test_a_recall_of_a_failed_order_keeps_the_file(root: Path) -> None:
    path = blob(root, content=b"tampered")
    assert outcome(eraser(root).answer(order(path.as_uri()))) == "FAILED"
    blob(root)
    assert outcome(eraser(root).recall(recall(path.as_uri()))) == "RECALLED"
    assert outcome(FileEraser(root, "images").answer(order(path.as_uri()))) == (
        "RECALLED"
    )
    assert path.exists()
