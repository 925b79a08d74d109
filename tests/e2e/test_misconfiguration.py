"""Every misconfiguration issue 14 lists: one line naming what to fix, exit 2.

Each case runs the installed `lethe` as an operator would, in a directory of
its own, so that nothing of the test process (its environment, its imports)
hides a traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import postgres

LETHE = Path(sys.executable).with_name("lethe")
DUE = ["retention", "due", "--policy", "sector-alarm", "--category", "arming-log"]
POSTGRES = {
    "LETHE_STORE": "postgres",
    "LETHE_POSTGRES_HOST": postgres.HOST,
    "LETHE_POSTGRES_PORT": postgres.PORT,
    "LETHE_POSTGRES_USER": postgres.USER,
}


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def deep_json(depth: int) -> str:
    return (
        json.dumps({"item_id": "x"})[:-1]
        + ', "meta": '
        + "[" * depth
        + "]" * depth
        + "}"
    )


# (case id, environment, arguments, what the one line must name)
CASES: list[tuple[str, dict[str, str], list[str], list[str]]] = [
    ("store-typo", {"LETHE_STORE": "postgress"}, ["status"],
     ["LETHE_STORE", "'sqlite' or 'postgres'"]),
    ("sweep-interval", {"LETHE_SWEEP_INTERVAL_S": "abc"}, ["status"],
     ["LETHE_SWEEP_INTERVAL_S", "number of seconds"]),
    ("sweep-interval-nan", {"LETHE_SWEEP_INTERVAL_S": "nan"}, ["status"],
     ["LETHE_SWEEP_INTERVAL_S", "number of seconds"]),
    ("pseudonym-key", {"LETHE_PSEUDONYM_KEY": "zz"}, ["status"],
     ["LETHE_PSEUDONYM_KEY", "32 hex digits"]),
    ("pseudonym-key-short", {"LETHE_PSEUDONYM_KEY": "abcd"}, ["status"],
     ["LETHE_PSEUDONYM_KEY", "32 hex digits"]),
    ("postgres-port", {"LETHE_POSTGRES_PORT": "70000"}, ["status"],
     ["LETHE_POSTGRES_PORT", "1 to 65535"]),
    ("kafka-unset", {}, ["topics", "ensure"], ["LETHE_KAFKA_BOOTSTRAP", "host:port"]),
    ("zone", {}, ["audit", "report", "--month", "2026-03", "--zone", "Mars/Olympus"],
     ["--zone", "Europe/Oslo"]),
    ("instant-before-year-1", {}, [*DUE, "--captured-at", "0001-01-01T00:00:00+01:00"],
     ["--captured-at", "1970-01-01T00:00:00Z"]),
    ("instant-after-9999", {}, [*DUE, "--captured-at", "9999-12-31T23:00:00-14:00"],
     ["--captured-at", "9000-01-01T00:00:00Z"]),
    ("now-out-of-range", {}, ["status", "--now", "0001-01-01T00:00:00+01:00"],
     ["--now", "1970-01-01T00:00:00Z"]),
    ("relay-on-sqlite", {}, ["relay"],
     ["`lethe relay`", "LETHE_STORE=postgres", "`lethe run` relays itself"]),
    ("relay-without-key", {**POSTGRES, "LETHE_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
     ["relay"], ["LETHE_SIGNING_KEY_FILE", "lethe signer keygen"]),
    ("no-store-here", {}, ["status"],
     ["no Lethe store at", "LETHE_SQLITE_PATH", "--create"]),
    ("no-store-to-erase", {}, ["erase", "subject", "s-1", "--controller", "acme",
                               "--reason", "asked", "--by", "support"],
     ["no Lethe store at", "--create"]),
]  # fmt: skip


def run_lethe(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LETHE_")}
    return subprocess.run(
        [str(LETHE), *args],
        env={**clean, **env},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], names: list[str]) -> None:
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lethe: "), lines[0]
    for name in names:
        assert name in lines[0], lines[0]


@pytest.mark.parametrize(
    ("env", "args", "names"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_misconfiguration_is_one_line(
    tmp_path: Path, env: dict[str, str], args: list[str], names: list[str]
) -> None:
    assert_one_line(run_lethe(args, env, tmp_path), names)
    assert not (tmp_path / "var").exists()  # and no store was made on the way


def test_unreachable_kafka_is_named(tmp_path: Path) -> None:
    bootstrap = f"127.0.0.1:{closed_port()}"
    env = {
        "LETHE_KAFKA_BOOTSTRAP": bootstrap,
        "LETHE_KAFKA_BOOTSTRAP_TIMEOUT_MS": "1500",
    }
    result = run_lethe(["topics", "ensure"], env, tmp_path)
    assert_one_line(
        result, ["Kafka did not answer", bootstrap, "LETHE_KAFKA_BOOTSTRAP"]
    )


def test_deeply_nested_json_is_refused_before_sending(tmp_path: Path) -> None:
    env = {"LETHE_KAFKA_BOOTSTRAP": f"127.0.0.1:{closed_port()}"}
    args = ["produce", "alarm.images.v1", "--json", "-"]
    result = run_lethe(args, env, tmp_path, stdin=deep_json(100_000) + "\n")
    # A refused record, not a misconfiguration: exit 1, as for any refused line.
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "lethe: line 1 refused: JSON nested too deeply "
        "(a record nests a few levels at most)\n"
    )
    assert result.stdout == "sent 0 of 1 records to alarm.images.v1; refused 1\n"


def test_missing_postgres_database_is_named_at_once(tmp_path: Path) -> None:
    env = {**POSTGRES, "LETHE_POSTGRES_DBNAME": "lethe_no_such_database"}
    result = run_lethe(["status"], env, tmp_path)
    assert_one_line(
        result, ["'lethe_no_such_database' does not exist", "LETHE_POSTGRES_DBNAME"]
    )


def test_unreachable_postgres_is_named(tmp_path: Path) -> None:
    env = {**POSTGRES, "LETHE_POSTGRES_PORT": str(closed_port())}
    result = run_lethe(["status"], env, tmp_path)
    assert_one_line(result, ["could not connect to PostgreSQL", "LETHE_POSTGRES_PORT"])


def test_an_empty_postgres_database_is_not_a_store(
    tmp_path: Path, pg_env: dict[str, str]
) -> None:
    env = {**POSTGRES, "LETHE_POSTGRES_DBNAME": pg_env["POSTGRES_DBNAME"],
           "LETHE_POSTGRES_SCHEMA": "nobody_made_this"}  # fmt: skip
    assert_one_line(run_lethe(["status"], env, tmp_path), ["holds no Lethe store"])


def test_create_starts_a_store_and_names_it(tmp_path: Path) -> None:
    created = run_lethe(["--create", "status"], {}, tmp_path)
    store = tmp_path / "var" / "lethe.db"
    # Exit 1: a new store that no `lethe run` has run on needs attention.
    assert created.returncode == 1 and store.exists(), created.stderr
    assert created.stdout.startswith(f"store: sqlite {store.resolve()}\n")
    # Once it is there, a command that changes state needs no --create, and
    # names the store it changed.
    swept = run_lethe(["sweep"], {}, tmp_path)
    assert swept.returncode == 0, swept.stderr
    assert f"store: sqlite {store.resolve()}" in swept.stderr.splitlines()
