"""`lethe serve` on the SQLite default, and `lethe token` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.http import call, free_port

pytestmark = pytest.mark.e2e
LETHE = [sys.executable, "-m", "lethe.ops.cli.main"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")}


@contextmanager
def serving(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [*LETHE, "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "lethe serve exited"
            assert time.monotonic() < deadline, "lethe serve did not answer"
            try:
                if call(base, "GET", "/openapi.json").status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(30)


def test_serve_prints_a_first_admin_token_once_and_never_again(tmp_path: Path) -> None:
    with serving(tmp_path) as (base, process):
        pass
    assert process.stdout is not None
    printed = process.stdout.read()
    token = next(w for w in printed.split() if w.startswith("lethe_"))
    assert "shown this once" in printed
    assert f"console: {base}/ (sign in with an API token)" in printed.splitlines()
    with serving(tmp_path) as (base, process):
        assert call(base, "GET", "/api/whoami", token).json == {
            "principal": "token:admin",
            "roles": ["admin"],
        }
    assert process.stdout is not None
    again = process.stdout.read()
    assert "lethe_" not in again and f"console: {base}/" in again


def test_token_create_list_revoke(tmp_path: Path) -> None:
    def lethe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*LETHE, "token", *args], env=_env(tmp_path), capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip

    # The first token is made before any `lethe serve`: it starts the store.
    created = subprocess.run(
        [*LETHE, "--create", "token", "create", "--name", "kari", "--role", "support"],
        env=_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    token_id = secret.removeprefix("lethe_").split(".")[0]
    listed = lethe("list").stdout
    assert "kari" in listed and "active" in listed and secret not in listed
    assert lethe("revoke", token_id).returncode == 0
    assert "revoked" in lethe("list").stdout
    bad = lethe("create", "--name", "kari", "--role", "support", "--expires-in", "1y")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "lethe: '1y' is not a lifetime; write e.g. 30d, 12h or 90m"
    )
    unknown = lethe("revoke", "nope")
    assert (unknown.returncode, unknown.stderr.strip()) == (
        2,
        "lethe: no API token 'nope'",
    )
