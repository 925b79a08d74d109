"""`lethe signer`: keys made, registered once, listed, revoked; public keys only."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner, Result

from lethe.ops.cli.main import main
from lethe.ops.kafka.signing import load_private_key
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings


def lethe(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_a_key_is_registered_once_listed_and_revoked(tmp_path: Path) -> None:
    env = {"LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")}
    key = tmp_path / "pipeline-a.key"
    assert lethe(env, "signer", "keygen", str(key)).exit_code == 0
    public = f"{key}.pub"
    added = lethe(env, "--create", "signer", "add", "--name", "pipeline-a",
                  "--role", "pipeline", "--public-key", public)  # fmt: skip
    assert added.exit_code == 0, added.output
    [key_id] = re.findall(r"^signer (\w+) \(pipeline-a, pipeline\) added$",
                          added.output, re.M)  # fmt: skip
    again = lethe(env, "signer", "add", "--name", "other", "--role", "store",
                  "--public-key", public)  # fmt: skip
    assert again.exit_code == 2
    assert f"key {key_id} is already registered, as pipeline-a" in again.output
    private = lethe(env, "signer", "add", "--name", "x", "--role", "store",
                    "--public-key", str(key))  # fmt: skip
    assert private.exit_code == 2 and "not an Ed25519 public key" in private.output

    listed = lethe(env, "signer", "list")
    assert key_id in listed.output and "active" in listed.output
    revoked = lethe(env, "signer", "revoke", key_id)
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in lethe(env, "signer", "list").output

    # The table holds the public key only: the private one is nowhere in the store.
    runtime = build_runtime(Settings.from_env(env))
    rows = runtime.views.query("SELECT public_key FROM lethe_signers")
    private_raw = load_private_key(key).private_bytes_raw().hex()
    assert rows and all(private_raw not in str(row) for row in rows)
    assert private_raw not in (tmp_path / "lethe.db").read_bytes().hex()


def test_only_pipelines_and_stores_are_registered(tmp_path: Path) -> None:
    env = {"LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")}
    key = tmp_path / "k.key"
    lethe(env, "signer", "keygen", str(key))
    result = lethe(env, "--create", "signer", "add", "--name", "lethe",
                   "--role", "lethe", "--public-key", f"{key}.pub")  # fmt: skip
    assert result.exit_code == 2
    assert "'lethe' is not one of 'pipeline', 'store'" in result.output
