"""The reference eraser and replays (issue 15, part 6): a store restored from a
backup has its deleted files back; a replay for it deletes them again, although
its journal already answered the order. A replay is worked once per number, and
a replay for another store is not this store's."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lethe.ops.eraser.files import STATE_DIR
from tests.unit.test_eraser_paths import CONTENT, blob, eraser, order
from tests.unit.test_eraser_paths import root as root  # noqa: F401 (fixture)

SINCE = datetime(2026, 5, 1, tzinfo=UTC)


def replay(uri: str, number: int = 1, store: str = "images") -> dict[str, Any]:
    return {**order(uri), "replay": {"number": number, "store": store, "since": SINCE}}


def test_a_replay_deletes_a_restored_file_the_journal_had_answered(root: Path) -> None:
    path = blob(root)
    assert eraser(root).answer(order(path.as_uri()))["outcome"] == "DELETED"
    blob(root)  # the backup brought it back
    # The original order, re-sent, is answered from the journal: the file stays.
    assert eraser(root).answer(order(path.as_uri()))["outcome"] == "DELETED"
    assert path.read_bytes() == CONTENT
    answer = eraser(root).answer(replay(path.as_uri()))
    assert (answer["order_id"], answer["outcome"], answer["store"]) == (
        "o-1",
        "DELETED",
        "images",
    )
    assert not path.exists()


def test_a_replay_of_a_file_not_back_is_not_found(root: Path) -> None:
    path = blob(root)
    eraser(root).answer(order(path.as_uri()))
    answer = eraser(root).answer(replay(path.as_uri()))
    assert (answer["outcome"], answer["detail"]) == ("NOT_FOUND", "no file")


def test_a_replay_re_sent_gets_its_first_answer_and_a_new_replay_is_worked(
    root: Path,
) -> None:
    path = blob(root)
    eraser(root).answer(order(path.as_uri()))
    blob(root)
    assert eraser(root).answer(replay(path.as_uri()))["outcome"] == "DELETED"
    blob(root)  # restored once more
    # Replay 1 again (a relay's re-send): its answer, from the journal; the file
    # that came back after it stays until a new replay is asked for.
    assert eraser(root).answer(replay(path.as_uri()))["outcome"] == "DELETED"
    assert path.exists()
    assert eraser(root).answer(replay(path.as_uri(), number=2))["outcome"] == "DELETED"
    assert not path.exists()


def test_a_replay_for_another_store_is_not_this_stores(root: Path) -> None:
    path = blob(root)
    ours = eraser(root)
    assert ours.is_for_another_store(replay(path.as_uri(), store="recordings"))
    assert not ours.is_for_another_store(replay(path.as_uri()))
    assert not ours.is_for_another_store(order(path.as_uri()))


def test_a_restored_journal_does_not_swallow_a_replay(
    root: Path, tmp_path: Path
) -> None:
    """The whole folder restored, journal included: the journal then says the
    order was never answered, and the replay deletes as a fresh order would."""
    path = blob(root)
    backup = tmp_path / "backup"
    shutil.copytree(root, backup)
    eraser(root).answer(order(path.as_uri()))
    shutil.rmtree(root)
    shutil.copytree(backup, root)
    assert not (root / STATE_DIR / "answers.jsonl").exists()
    assert eraser(root).answer(replay(path.as_uri()))["outcome"] == "DELETED"
    assert not path.exists()


def test_a_replay_refused_for_a_changed_file_is_failed_and_worked_again(
    root: Path,
) -> None:
    path = blob(root)
    eraser(root).answer(order(path.as_uri()))
    blob(root, content=b"other bytes")
    assert eraser(root).answer(replay(path.as_uri()))["outcome"] == "FAILED"
    assert path.exists()
    blob(root)
    assert eraser(root).answer(replay(path.as_uri()))["outcome"] == "DELETED"
