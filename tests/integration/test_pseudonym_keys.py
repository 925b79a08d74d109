"""The pseudonym key kept apart from the store, checked against it, and re-keyed."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lethe.ops.runtime.bootstrap import build_app, build_runtime
from lethe.ops.runtime.pseudonym_rotation import rotate_pseudonym
from lethe.ops.runtime.pseudonyms import PseudonymKeyError
from lethe.ops.settings import Settings
from tests.e2e.test_misconfiguration import POSTGRES, assert_one_line, run_lethe
from tests.support import T0, ingest_record
from tests.support.keys import key_env

CONTROLLER = "sector-alarm"
NATIONAL_ID = "12057312345"


def pg_lethe_env(pg_schema_env: dict[str, str]) -> dict[str, str]:
    return {
        **POSTGRES,
        "LETHE_POSTGRES_DBNAME": pg_schema_env["POSTGRES_DBNAME"],
        "LETHE_POSTGRES_SCHEMA": pg_schema_env["POSTGRES_SCHEMA"],
    }


# -- refused in one line ---------------------------------------------------------------


def test_postgres_refuses_a_pseudonym_key_kept_in_its_own_database(
    tmp_path: Path, pg_schema_env: dict[str, str]
) -> None:
    keys = key_env(tmp_path)
    env = {**pg_lethe_env(pg_schema_env), "LETHE_KEK_FILE": keys["LETHE_KEK_FILE"]}
    result = run_lethe(["--create", "status"], env, tmp_path)
    names = ["must not be kept", "--pseudonym-key-file", "LETHE_PSEUDONYM_KEY_FILE"]
    assert_one_line(result, names)


def test_postgres_refuses_to_start_without_a_kek(
    tmp_path: Path, pg_schema_env: dict[str, str]
) -> None:
    env = {**pg_lethe_env(pg_schema_env), "LETHE_PSEUDONYM_KEY": "11" * 32}
    result = run_lethe(["--create", "status"], env, tmp_path)
    assert_one_line(result, ["lethe keys init --kek-file PATH", "LETHE_KEK_FILE"])


def test_a_key_that_is_not_the_stores_is_refused_in_one_line(tmp_path: Path) -> None:
    keys = key_env(tmp_path)
    assert_store_read(run_lethe(["--create", "status"], keys, tmp_path))
    wrong = {**keys, "LETHE_PSEUDONYM_KEY": os.urandom(32).hex()}
    erase = ["erase", "subject", "CUST-777", "--controller", CONTROLLER,
             "--reason", "asked", "--by", "support"]  # fmt: skip
    for args in (["status"], erase):
        assert_one_line(run_lethe(args, wrong, tmp_path), ["does not match"])


def test_an_embedded_key_is_not_replaced_by_another_given_later(tmp_path: Path) -> None:
    kek = {"LETHE_KEK_FILE": key_env(tmp_path)["LETHE_KEK_FILE"]}
    created = run_lethe(["--create", "status"], kek, tmp_path)
    assert "generated into the store's own database" in created.stderr
    given = {**kek, "LETHE_PSEUDONYM_KEY": os.urandom(32).hex()}
    assert_one_line(run_lethe(["status"], given, tmp_path), ["not the one"])


def test_a_pseudonym_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("ab" * 32)
    key_file.chmod(0o644)
    env = {"LETHE_PSEUDONYM_KEY_FILE": str(key_file)}
    assert_one_line(run_lethe(["status"], env, tmp_path), ["chmod 600"])


# -- re-identification ---------------------------------------------------------------


def test_guessing_100000_national_ids_fails_without_the_key(
    tmp_path: Path, pg_schema_env: dict[str, str]
) -> None:
    keys = key_env(tmp_path)
    env = {**pg_lethe_env(pg_schema_env), **keys}
    app = build_app(Settings.from_env(env))
    app.ingest(
        [
            ingest_record(f"img-{n}", "verification-image", NATIONAL_ID)
            for n in range(6)
        ],
        T0,
    )
    app.close()
    dump = subprocess.run(
        ["pg_dump", "-h", POSTGRES["LETHE_POSTGRES_HOST"], "-U", "postgres",
         "-n", pg_schema_env["POSTGRES_SCHEMA"], pg_schema_env["POSTGRES_DBNAME"]],
        capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    key = bytes.fromhex(keys["LETHE_PSEUDONYM_KEY"])
    assert key.hex().encode() not in dump and key not in dump
    assert NATIONAL_ID.encode() not in dump
    # bytea columns (the events' state) print as hex: read them as the adversary would.
    bytea = re.findall(rb"\\\\x((?:[0-9a-f]{2})+)", dump)
    dump += b"".join(bytes.fromhex(run.decode()) for run in bytea)
    assert NATIONAL_ID.encode() not in dump
    stored_refs = set(re.findall(rb"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", dump))
    candidates = [f"{n:011d}" for n in range(12057300000, 12057400000)]
    assert NATIONAL_ID in candidates and len(candidates) == 100_000
    # The adversary's keys: none, and every secret-sized value the dump holds.
    guesses = [b""] + [
        bytes.fromhex(h.decode()) for h in re.findall(rb"\\\\x([0-9a-f]{64})", dump)
    ]
    for guess in guesses:
        assert not stored_refs & set(_refs(guess, candidates))
    assert stored_refs & set(_refs(key, candidates))  # with the key it would work


def _refs(key: bytes, candidates: list[str]) -> list[bytes]:
    return [
        hmac.new(key, f"{CONTROLLER}\x1f{c}".encode(), hashlib.sha256)
        .hexdigest()[:32]
        .encode()
        for c in candidates
    ]


# -- rotation ------------------------------------------------------------------------


def sqlite_env(tmp_path: Path, keys: dict[str, str]) -> dict[str, str]:
    return {"LETHE_SQLITE_PATH": str(tmp_path / "store" / "lethe.db"), **keys}


def items_of(runtime: Any, subject_id: str) -> list[tuple[str, str]]:
    ref = runtime.app.vault.pseudonym(CONTROLLER, subject_id)
    rows = runtime.views.query(
        "SELECT item_ref, state FROM lethe_schedule WHERE subject_ref = ?"
        " ORDER BY item_ref",
        (ref,),
    )
    return [(r[0], r[1]) for r in rows]


def test_rotating_the_pseudonym_key_loses_no_subject(tmp_path: Path) -> None:
    keys = key_env(tmp_path)
    env = sqlite_env(tmp_path, keys)
    runtime = build_runtime(Settings.from_env(env))
    subjects = ("CUST-777", "CUST-778", "CUST-779")
    records = [
        ingest_record(f"r-{s}-{n}", "arming-log", s, offset=n)
        for s in subjects
        for n in range(3)
    ]
    runtime.app.ingest(records, T0)
    app = runtime.app
    app.save(app.subject_for(CONTROLLER, "CUST-777", T0))  # sealed; the others not
    runtime.catch_up()
    new_key = os.urandom(32)
    with pytest.raises(PseudonymKeyError, match="2 subjects"):
        rotate_pseudonym(app, runtime.views, new_key)  # CUST-778/779 unnamed
    assert items_of(build_runtime(Settings.from_env(env)), "CUST-778")  # unchanged

    ids = [(CONTROLLER, "CUST-778"), (CONTROLLER, "CUST-779"), (CONTROLLER, "nobody")]
    done = rotate_pseudonym(app, runtime.views, new_key, ids)
    assert done.subjects == 3
    with pytest.raises(PseudonymKeyError, match="does not match"):
        build_app(Settings.from_env(env))  # the old key is refused now

    rekeyed = build_runtime(
        Settings.from_env({**env, "LETHE_PSEUDONYM_KEY": new_key.hex()})
    )
    for subject_id in ("CUST-777", "CUST-778", "CUST-779"):
        assert len(items_of(rekeyed, subject_id)) == 3, subject_id
        rekeyed.desk.erase_subject(
            CONTROLLER, subject_id, f"cmd-{subject_id}", "asked", "support", None,
            T0 + timedelta(days=1),
        )  # fmt: skip
        states = {state for _, state in items_of(rekeyed, subject_id)}
        assert states == {"erasure-ordered"}, (subject_id, states)
    # A subject first seen after the rotation gets a ref under the new key.
    fresh = rekeyed.app.vault.pseudonym(CONTROLLER, "CUST-900")
    assert (
        fresh
        == hmac.new(
            new_key, f"{CONTROLLER}\x1fCUST-900".encode(), hashlib.sha256
        ).hexdigest()[:32]
    )


def test_rotate_pseudonym_on_the_command_line(tmp_path: Path) -> None:
    # The embedded default: the old key was generated into the database.
    keys = {"LETHE_KEK_FILE": key_env(tmp_path)["LETHE_KEK_FILE"]}
    env = sqlite_env(tmp_path, keys)
    assert_store_read(run_lethe(["--create", "status"], env, tmp_path))
    new_key = tmp_path / "new.key"
    new_key.write_text(os.urandom(32).hex())
    new_key.chmod(0o600)
    done = run_lethe(
        ["keys", "rotate-pseudonym", "--new-key-file", str(new_key)], env, tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "re-keyed 0 subjects" in done.stdout
    after = {**sqlite_env(tmp_path, {"LETHE_KEK_FILE": keys["LETHE_KEK_FILE"]}),
             "LETHE_PSEUDONYM_KEY_FILE": str(new_key)}  # fmt: skip
    assert_store_read(run_lethe(["status"], after, tmp_path))
    # The old key is gone from the database: a process without the new is refused.
    assert_one_line(run_lethe(["status"], env, tmp_path), ["was not given"])
    old_key = {**env, "LETHE_PSEUDONYM_KEY": new_key.read_text()[::-1]}
    assert_one_line(run_lethe(["status"], old_key, tmp_path), ["does not match"])


def test_keys_init_makes_private_key_files_and_never_overwrites(tmp_path: Path) -> None:
    kek, pseudonym = tmp_path / "keys" / "kek", tmp_path / "keys" / "pseudonym.key"
    args = [
        "keys",
        "init",
        "--kek-file",
        str(kek),
        "--pseudonym-key-file",
        str(pseudonym),
    ]
    made = run_lethe(args, {}, tmp_path)
    assert made.returncode == 0, made.stderr
    assert {kek.stat().st_mode & 0o777, pseudonym.stat().st_mode & 0o777} == {0o600}
    before = kek.read_text()
    assert_one_line(run_lethe(args, {}, tmp_path), ["exists", "never overwritten"])
    assert kek.read_text() == before
    env = {"LETHE_KEK_FILE": str(kek), "LETHE_PSEUDONYM_KEY_FILE": str(pseudonym)}
    started = run_lethe(["--create", "status"], env, tmp_path)
    assert_store_read(started)
    assert "warning" not in started.stderr, started.stderr


def assert_store_read(result: Any) -> None:
    """`lethe status` opened and read the store: exit 0 (all well) or 1 (needs
    attention: a new store has never had a `lethe run`), never 2 or a refusal."""
    assert result.returncode in (0, 1), result.stderr
    assert result.stdout.startswith("store: "), result.stdout
    refusals = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("lethe:") and not line.startswith("lethe: warning:")
    ]
    assert refusals == [], result.stderr
