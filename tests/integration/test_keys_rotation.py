"""KEK rotation that survives a crash, and the migration of a store made before
envelope encryption (keys in clear in lethe_subject_keys)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.runtime.keystore import has_table
from lethe.ops.runtime.rotation import kek_status, rotate_kek
from lethe.ops.settings import Settings
from tests.support import T0
from tests.support.keys import kek_files, key_env

CONTROLLER = "sector-alarm"
LETHE = Path(sys.executable).with_name("lethe")


def sqlite_settings(tmp_path: Path, keys: dict[str, str]) -> Settings:
    return Settings.from_env(
        {"LETHE_SQLITE_PATH": str(tmp_path / "store" / "lethe.db"), **keys}
    )


def sealed_subjects(app: Any, count: int) -> dict[str, tuple[str, bytes]]:
    """ref -> (subject id, seal) for `count` new subjects."""
    sealed = {}
    for n in range(count):
        subject = app.subject_for(CONTROLLER, f"customer-{n:05d}", T0)
        app.save(subject)
        sealed[subject.subject_ref] = (f"customer-{n:05d}", subject.subject_seal)
    return sealed


def all_open(app: Any, sealed: dict[str, tuple[str, bytes]]) -> bool:
    return all(
        app.vault.unseal(ref, seal) == sid for ref, (sid, seal) in sealed.items()
    )


def all_open_anew(settings: Settings, sealed: dict[str, tuple[str, bytes]]) -> bool:
    """As a new process would find them (its own connections, its KEK files)."""
    app = build_app(settings)
    try:
        return all_open(app, sealed)
    finally:
        app.close()


class Interrupted(Exception):
    """Stands for the process dying between two batches."""


def test_an_interrupted_rotation_leaves_every_key_open_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    keys = key_env(tmp_path)
    settings = sqlite_settings(tmp_path, keys)
    app = build_app(settings)
    sealed = sealed_subjects(app, 12)

    def die(done: int) -> None:
        raise Interrupted(done)

    with pytest.raises(Interrupted):
        rotate_kek(app.vault.views, app.vault.kek, batch_size=5, after_batch=die)
    fresh = build_app(settings)  # a new process: old and new KEK files both read
    assert all_open(fresh, sealed)
    status = kek_status(fresh.vault.views, 30, T0)
    assert status is not None and status.unfinished
    assert "unfinished" in status.line()
    # A subject registered mid-rotation is wrapped by the new KEK, so not missed.
    late = sealed_subjects(fresh, 13)
    rotate_kek(fresh.vault.views, fresh.vault.kek, batch_size=5)
    assert len(kek_files(Path(keys["LETHE_KEK_FILE"]))) == 1
    again = build_app(settings)
    assert all_open(again, sealed) and all_open(again, late)
    status = kek_status(again.vault.views, 30, T0)
    assert status is not None and not status.unfinished


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """LETHE_* settings of a store of each kind, with its keys."""
    keys = key_env(tmp_path)
    if request.param == "sqlite":
        return {"LETHE_SQLITE_PATH": str(tmp_path / "store" / "lethe.db"), **keys}
    pg = request.getfixturevalue("pg_schema_env")
    return {
        "LETHE_STORE": "postgres",
        "LETHE_POSTGRES_DBNAME": pg["POSTGRES_DBNAME"],
        "LETHE_POSTGRES_SCHEMA": pg["POSTGRES_SCHEMA"],
        **keys,
    }


def test_kill_9_mid_rotation_leaves_every_key_open(store_env: dict[str, str]) -> None:
    settings = Settings.from_env(store_env)
    app = build_app(settings)
    sealed = sealed_subjects(app, 400)
    old = app.vault.current_kek()
    env = {**os.environ, **store_env}
    rotating = subprocess.Popen(
        [str(LETHE), "keys", "rotate", "--batch-size", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    moved = wait_for_rewrapped(app, old)
    os.kill(rotating.pid, signal.SIGKILL)
    rotating.wait()
    left = count_under(app, old)
    assert moved > 0 and left > 0, "the rotation was not caught mid-way"
    assert all_open_anew(settings, sealed)
    finished = subprocess.run(
        [str(LETHE), "keys", "rotate"], env=env, capture_output=True, text=True
    )
    assert finished.returncode == 0, finished.stderr
    assert count_under(app, old) == 0
    assert all_open_anew(settings, sealed)
    assert len(kek_files(Path(store_env["LETHE_KEK_FILE"]))) == 1
    app.close()


def count_under(app: Any, kek_id: str) -> int:
    rows = app.vault.views.query(
        "SELECT count(*) FROM lethe_wrapped_keys WHERE kek_id = ?", (kek_id,)
    )
    return int(rows[0][0])


def wait_for_rewrapped(app: Any, old: str, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    total = count_under(app, old)
    while time.monotonic() < deadline:
        moved = total - count_under(app, old)
        if moved > 0:
            return moved
        time.sleep(0.005)
    return 0


# -- a store made before envelope encryption ------------------------------------------


def make_legacy_store(app: Any) -> tuple[str, str, bytes, bytes]:
    """Turn the store into one as Lethe kept it before: a key in clear."""
    views = app.vault.views
    subject = app.subject_for(CONTROLLER, "legacy-subject", T0)
    raw_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    seal = nonce + AESGCM(raw_key).encrypt(
        nonce, b"legacy-subject", subject.subject_ref.encode()
    )
    subject.subject_seal = seal  # what the old vault sealed it with
    views.execute(
        [
            ("DROP TABLE lethe_wrapped_keys", ()),
            ("DROP TABLE lethe_shredded_subjects", ()),
            ("DROP TABLE lethe_key_state", ()),
            (
                "CREATE TABLE lethe_subject_keys (subject_ref TEXT PRIMARY KEY,"
                " subject_key BYTEA, shredded_at BIGINT)",
                (),
            ),
            (
                "INSERT INTO lethe_subject_keys VALUES (?, ?, NULL), ('gone', NULL, 5)",
                (subject.subject_ref, raw_key),
            ),
        ]
    )
    return subject.subject_ref, "gone", seal, raw_key


def test_a_store_with_keys_in_clear_is_migrated_on_first_start(tmp_path: Path) -> None:
    """SQLite, the embedded default: a KEK is made beside the store for it."""
    keys = key_env(tmp_path)
    settings = sqlite_settings(tmp_path, keys)
    ref, shredded_ref, seal, raw_key = make_legacy_store(build_app(settings))
    Path(keys["LETHE_KEK_FILE"]).unlink()  # old stores had no KEK: make one
    with pytest.raises(Exception, match="does not exist"):
        build_app(settings)  # a named KEK file that is missing is never invented
    settings = sqlite_settings(
        tmp_path, {"LETHE_PSEUDONYM_KEY": keys["LETHE_PSEUDONYM_KEY"]}
    )
    app = build_app(settings)  # the embedded default generates one beside the store
    assert app.vault.unseal(ref, seal) == "legacy-subject"
    assert app.vault.is_shredded(shredded_ref)
    views = app.vault.views
    assert not views.query(
        "SELECT 1 FROM sqlite_master WHERE name = 'lethe_subject_keys'"
    )
    ((kek_id, wrapped),) = views.query(
        "SELECT kek_id, wrapped_key FROM lethe_wrapped_keys"
    )
    assert kek_id == app.vault.current_kek() and bytes(wrapped) != raw_key
    db = settings.sqlite_path  # while the store is open, its WAL is there too
    for copy in (db, db.with_name(db.name + "-wal")):
        assert raw_key not in copy.read_bytes()  # secure_delete, checkpointed
    app.close()


def test_status_says_when_the_kek_was_rotated_and_whether_it_is_overdue(
    tmp_path: Path,
) -> None:
    keys = key_env(tmp_path)
    settings = sqlite_settings(tmp_path, keys)
    views = build_app(settings).vault.views
    now = datetime.now(UTC)
    fresh = kek_status(views, 30, now)
    assert fresh is not None and "never rotated" in fresh.line()
    assert not fresh.overdue and kek_status(views, 30, now + timedelta(days=31)).overdue
    env = {"LETHE_SQLITE_PATH": str(settings.sqlite_path), **keys}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LETHE_")}
    rotated = subprocess.run(
        [str(LETHE), "keys", "rotate"],
        env={**clean, **env},
        capture_output=True,
        text=True,
    )
    assert rotated.returncode == 0, rotated.stderr
    shown = subprocess.run(
        [str(LETHE), "status"], env={**clean, **env}, capture_output=True, text=True
    )
    (line,) = [x for x in shown.stdout.splitlines() if x.startswith("KEK ")]
    assert "last rotated" in line and line.endswith("not due"), line
    later = kek_status(views, 30, now + timedelta(days=31))
    assert later is not None and "overdue" in later.line()


def test_a_postgres_store_with_keys_in_clear_is_migrated_with_its_kek(
    tmp_path: Path, pg_schema_env: dict[str, str]
) -> None:
    keys = key_env(tmp_path)
    settings = Settings.from_env(
        {
            "LETHE_STORE": "postgres",
            "LETHE_POSTGRES_DBNAME": pg_schema_env["POSTGRES_DBNAME"],
            "LETHE_POSTGRES_SCHEMA": pg_schema_env["POSTGRES_SCHEMA"],
            **keys,
        }
    )
    first = build_app(settings)
    ref, shredded_ref, seal, raw_key = make_legacy_store(first)
    first.close()
    app = build_app(settings)
    assert app.vault.unseal(ref, seal) == "legacy-subject"
    assert app.vault.is_shredded(shredded_ref)
    views = app.vault.views
    assert not has_table(views, "lethe_subject_keys")
    rows = views.query("SELECT kek_id, wrapped_key FROM lethe_wrapped_keys")
    assert [(r[0], bytes(r[1]) != raw_key) for r in rows] == [
        (app.vault.current_kek(), True)
    ]
    app.close()


def test_a_kek_from_the_environment_rotates_to_lethe_kek_next(tmp_path: Path) -> None:
    old, new = os.urandom(32).hex(), os.urandom(32).hex()
    base = {
        "LETHE_SQLITE_PATH": str(tmp_path / "lethe.db"),
        "LETHE_PSEUDONYM_KEY": "22" * 32,
    }
    app = build_app(Settings.from_env({**base, "LETHE_KEK": old}))
    sealed = sealed_subjects(app, 3)
    with pytest.raises(Exception, match="LETHE_KEK_NEXT"):
        rotate_kek(app.vault.views, app.vault.kek)  # no next key given: nothing moves
    rotating = build_app(
        Settings.from_env({**base, "LETHE_KEK": old, "LETHE_KEK_NEXT": new})
    )
    done = rotate_kek(rotating.vault.views, rotating.vault.kek)
    assert done.rewrapped == 3 and "delete the old value" in done.destroyed
    assert all_open(build_app(Settings.from_env({**base, "LETHE_KEK": new})), sealed)
    with pytest.raises(Exception, match="wrapped by KEK"):
        build_app(Settings.from_env({**base, "LETHE_KEK": old}))
    with pytest.raises(Exception, match="not both"):
        kek_file = key_env(tmp_path)["LETHE_KEK_FILE"]
        build_app(
            Settings.from_env({**base, "LETHE_KEK_FILE": kek_file, "LETHE_KEK": new})
        )
