"""The file KEK's rotation leaves every key openable at each step it can die at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lethe.ops.runtime.kek import FileKek, KekError, kek_id, write_key_file

DATA_KEY = os.urandom(32)


def fresh(tmp_path: Path) -> tuple[FileKek, str, bytes]:
    path = tmp_path / "lethe.kek"
    write_key_file(path, os.urandom(32))
    kek = FileKek(path)
    old = kek.primary()
    return kek, old, kek.wrap(old, DATA_KEY)


def crash_states(tmp_path: Path) -> list[str]:
    """Run a rotation step by step; after each step, what a new process can open."""
    kek, old, wrapped_old = fresh(tmp_path)
    new = kek.begin_rotation()
    wrapped_new = kek.wrap(new, DATA_KEY)
    path = kek.path
    opened = []

    def reopen() -> None:
        again = FileKek(path)
        # Before the store re-wraps, keys are under the old KEK; after, the new.
        assert again.unwrap(new, wrapped_new) == DATA_KEY
        if old in again.ids():
            assert again.unwrap(old, wrapped_old) == DATA_KEY
        opened.append(",".join(sorted(p.name for p in tmp_path.iterdir())))

    reopen()  # PATH and PATH.next
    os.replace(path, kek.old_path)
    reopen()  # PATH.next and PATH.old, no PATH
    os.replace(kek.next_path, path)
    reopen()  # PATH (new) and PATH.old
    kek.old_path.write_bytes(b"\0" * 65)
    reopen()  # PATH.old overwritten, not yet unlinked
    FileKek(path).finish_rotation(new)  # a re-run unlinks the zeroed file
    reopen()
    return opened


def test_every_step_of_a_file_rotation_leaves_the_keys_openable(tmp_path: Path) -> None:
    states = crash_states(tmp_path)
    assert states[-1] == "lethe.kek"  # and at the end only the new KEK is left


def test_a_rerun_after_each_step_finishes_with_only_the_new_kek(tmp_path: Path) -> None:
    kek, old, _ = fresh(tmp_path)
    new = kek.begin_rotation()
    assert FileKek(kek.path).begin_rotation() == new  # a re-run takes the same
    os.replace(kek.path, kek.old_path)  # died after the first rename
    said = FileKek(kek.path).finish_rotation(new)
    assert "overwritten and unlinked" in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lethe.kek"]
    assert kek_id(bytes.fromhex(kek.path.read_text())) == new != old


def test_finishing_towards_a_kek_the_files_do_not_hold_is_refused(
    tmp_path: Path,
) -> None:
    kek, _, _ = fresh(tmp_path)
    kek.begin_rotation()
    with pytest.raises(KekError, match="is not the store's KEK"):
        kek.finish_rotation("0" * 16)
    assert kek.next_path.exists()  # nothing destroyed


def test_a_wrapped_key_does_not_open_under_another_kek(tmp_path: Path) -> None:
    kek, old, wrapped = fresh(tmp_path)
    new = kek.begin_rotation()
    with pytest.raises(KekError, match="does not open"):
        kek.unwrap(new, wrapped)
    with pytest.raises(KekError, match="not available"):
        kek.unwrap("feedfacefeedface", wrapped)
    assert kek.unwrap(old, wrapped) == DATA_KEY


def test_a_key_file_made_twice_keeps_the_first_and_leaves_no_copy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lethe.kek"
    first = os.urandom(32)
    write_key_file(path, first)
    with pytest.raises(FileExistsError):
        write_key_file(path, os.urandom(32))
    assert bytes.fromhex(path.read_text()) == first
    assert [p.name for p in tmp_path.iterdir()] == ["lethe.kek"]
    assert path.stat().st_mode & 0o777 == 0o600
