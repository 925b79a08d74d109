"""The reference eraser's decisions: which file, whether it may go, what it answers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lethe.domain.item import Outcome
from lethe.ops.eraser.files import (
    STATE_DIR,
    Answer,
    Delete,
    FileEraser,
    Journal,
    decide,
    locate,
)

CONTENT = b"not a real image"
SHA = hashlib.sha256(CONTENT).hexdigest()
NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "store" / "images").mkdir(parents=True)
    return tmp_path / "store"


def blob(root: Path, name: str = "images/img-1.jpg", content: bytes = CONTENT) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def order(
    uri: str | None, sha256: str | None = SHA, order_id: str = "o-1"
) -> dict[str, Any]:
    return {"order_id": order_id, "item_id": "img-1", "blob_uri": uri, "sha256": sha256}


def state(root: Path) -> Path:
    return root / STATE_DIR


def refused(result: object, words: str) -> bool:
    return (
        isinstance(result, Answer)
        and result.outcome == Outcome.FAILED
        and words in (result.detail or "")
        and "nothing deleted" in (result.detail or "")
    )


def test_a_file_inside_the_root_with_the_ordered_sha_may_go(root: Path) -> None:
    path = blob(root)
    assert decide(order(path.as_uri()), root, state(root)) == Delete(path.resolve())


def test_percent_encoded_names_are_decoded(root: Path) -> None:
    path = blob(root, "images/img 1 æ.jpg")
    assert decide(order(path.as_uri()), root, state(root)) == Delete(path.resolve())


def test_localhost_is_the_same_as_no_host(root: Path) -> None:
    path = blob(root)
    uri = "file://localhost" + path.as_uri().removeprefix("file://")
    assert decide(order(uri), root, state(root)) == Delete(path.resolve())


@pytest.mark.parametrize(
    "uri",
    ["s3://arc-media/img-1.jpg", "https://example.org/img-1.jpg", "/store/img-1.jpg"],
)
def test_other_schemes_are_refused(root: Path, uri: str) -> None:
    assert refused(decide(order(uri), root, state(root)), "not a file:// URI")


def test_a_file_outside_the_root_is_refused_and_kept(
    tmp_path: Path, root: Path
) -> None:
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(CONTENT)
    assert refused(decide(order(outside.as_uri()), root, state(root)), "outside")
    assert outside.exists()


def test_dot_dot_cannot_climb_out_of_the_root(tmp_path: Path, root: Path) -> None:
    (tmp_path / "secret").write_bytes(CONTENT)
    uri = (root / "images").as_uri() + "/../../secret"
    assert refused(decide(order(uri), root, state(root)), "not absolute and plain")


def test_a_sibling_whose_name_starts_like_the_root_is_outside(
    tmp_path: Path, root: Path
) -> None:
    sibling = tmp_path / "store-other" / "img.jpg"
    sibling.parent.mkdir()
    sibling.write_bytes(CONTENT)
    assert refused(decide(order(sibling.as_uri()), root, state(root)), "outside")


def test_the_root_itself_is_not_a_blob(root: Path) -> None:
    assert refused(decide(order(root.as_uri()), root, state(root)), "outside")


def test_a_directory_link_out_of_the_root_is_refused(
    tmp_path: Path, root: Path
) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "img.jpg").write_bytes(CONTENT)
    (root / "link").symlink_to(tmp_path / "other")
    uri = (root / "link" / "img.jpg").as_uri()
    assert refused(decide(order(uri), root, state(root)), "outside")


def test_a_linked_file_is_not_followed(tmp_path: Path, root: Path) -> None:
    target = blob(root, "images/real.jpg")
    (root / "images" / "alias.jpg").symlink_to(target)
    uri = (root / "images" / "alias.jpg").as_uri()
    assert refused(decide(order(uri), root, state(root)), "symbolic link")


def test_the_eraser_never_deletes_its_own_journal(root: Path) -> None:
    journal = blob(root, f"{STATE_DIR}/answers.jsonl")
    assert refused(decide(order(journal.as_uri()), root, state(root)), "own state")


def test_a_directory_is_not_a_blob(root: Path) -> None:
    uri = (root / "images").as_uri()
    assert refused(decide(order(uri), root, state(root)), "not a regular file")


def test_a_sha_mismatch_is_refused(root: Path) -> None:
    path = blob(root, content=b"different bytes")
    result = decide(order(path.as_uri()), root, state(root))
    assert refused(result, "sha256 mismatch")
    assert path.exists()


def test_an_order_without_a_sha_is_refused(root: Path) -> None:
    path = blob(root)
    assert refused(
        decide(order(path.as_uri(), None), root, state(root)), "no valid sha256"
    )


def test_an_uppercase_sha_still_matches(root: Path) -> None:
    path = blob(root)
    assert decide(order(path.as_uri(), SHA.upper()), root, state(root)) == Delete(
        path.resolve()
    )


def test_a_missing_file_is_not_found(root: Path) -> None:
    uri = (root / "images" / "gone.jpg").as_uri()
    assert decide(order(uri), root, state(root)) == Answer(Outcome.NOT_FOUND, "no file")


def test_an_order_without_a_blob_is_not_found_no_blob(root: Path) -> None:
    assert decide(order(None, None), root, state(root)) == Answer(
        Outcome.NOT_FOUND, "no blob"
    )


def test_locate_is_silent_about_the_path_in_its_reason(
    tmp_path: Path, root: Path
) -> None:
    result = locate((tmp_path / "customer-name.jpg").as_uri(), root, state(root))
    assert isinstance(result, Answer) and "customer-name" not in (result.detail or "")


# -- answering, with the journal -----------------------------------------------


def eraser(root: Path) -> FileEraser:
    return FileEraser(root, "images", clock=lambda: NOW)


def test_deleting_answers_deleted_and_the_file_is_gone(root: Path) -> None:
    path = blob(root)
    answer = eraser(root).answer(order(path.as_uri()))
    assert (answer["outcome"], answer["detail"], answer["store"]) == (
        "DELETED",
        None,
        "images",
    )
    assert answer["confirmed_at"] == NOW.replace(microsecond=123000)
    assert not path.exists()


def test_a_resent_order_gets_the_same_answer_again(root: Path) -> None:
    path = blob(root)
    first = eraser(root).answer(order(path.as_uri()))
    blob(root)  # even if a file reappeared, the order was answered already
    again = eraser(root).answer(order(path.as_uri()))  # a new process: the journal
    assert again == first
    assert path.exists()


def test_without_a_journal_entry_a_resent_order_is_not_found(root: Path) -> None:
    path = blob(root)
    eraser(root).answer(order(path.as_uri(), order_id="o-1"))
    answer = eraser(root).answer(order(path.as_uri(), order_id="o-2"))
    assert (answer["outcome"], answer["detail"]) == ("NOT_FOUND", "no file")


def test_a_failed_order_is_worked_again_when_resent(root: Path) -> None:
    path = blob(root, content=b"tampered")
    assert eraser(root).answer(order(path.as_uri()))["outcome"] == "FAILED"
    blob(root)  # the store put the right bytes back
    assert eraser(root).answer(order(path.as_uri()))["outcome"] == "DELETED"


def test_a_torn_journal_line_is_skipped(root: Path) -> None:
    path = blob(root)
    eraser(root).answer(order(path.as_uri()))
    journal = state(root) / "answers.jsonl"
    journal.write_text(journal.read_text() + '{"order_id": "o-2", "outc')
    assert Journal(journal).get("o-1") is not None
    assert Journal(journal).get("o-2") is None
