"""`lethe signer keygen|add|list|revoke`: the keys Kafka inputs must be signed with."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import click

from lethe.consumers.signatures import SignerRole
from lethe.ops.cli.store import name_store, open_runtime
from lethe.ops.cli.support import UserError, echo_table, format_instant, new_table
from lethe.ops.kafka.signing import (
    KeyFileError,
    load_public_key,
    public_path,
    public_raw,
    write_key_pair,
)
from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.runtime.signers import SignerStore

# Lethe's own key is a file, never registered: only pipelines and stores are.
REGISTERED_ROLES = [SignerRole.PIPELINE.value, SignerRole.STORE.value]


def _store() -> tuple[SignerStore, Runtime]:
    runtime = open_runtime()
    store = SignerStore(runtime.views)
    store.owner = runtime  # keeps the recorder the views read through open
    return store, runtime


def _operator() -> str:
    return f"cli:{getpass.getuser()}"


@click.group()
def signer() -> None:
    """Keys that sign commands (pipelines) and confirmations (stores)."""


@signer.command("keygen")
@click.argument("private_key", type=click.Path(dir_okay=False, path_type=Path))
def signer_keygen(private_key: Path) -> None:
    """Make an Ed25519 key pair: PRIVATE_KEY (0600) and PRIVATE_KEY.pub.

    Give the .pub file to `lethe signer add` (or, for Lethe's own key, to every
    eraser); the private key stays with whoever signs.
    """
    try:
        write_key_pair(private_key)
    except (KeyFileError, OSError) as error:
        raise UserError(str(error)) from None
    click.echo(f"private key {private_key}, public key {public_path(private_key)}")


@signer.command("add")
@click.option("--name", required=True, help="The pipeline, or the store's name.")
@click.option("--role", required=True, type=click.Choice(REGISTERED_ROLES))
@click.option(
    "--public-key",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The signer's public key (PEM, as `lethe signer keygen` writes it).",
)
def signer_add(name: str, role: str, public_key: Path) -> None:
    """Register a public key: records it signs are taken from now on."""
    try:
        raw = public_raw(load_public_key(public_key))
    except KeyFileError as error:
        raise UserError(str(error)) from None
    store, runtime = _store()
    info = store.add(name, SignerRole(role), raw, _operator(), datetime.now(UTC))
    name_store(runtime.settings)
    s = info.signatory
    click.echo(f"signer {s.key_id} ({s.name}, {s.role.value}) added")


@signer.command("revoke")
@click.argument("key_id")
def signer_revoke(key_id: str) -> None:
    """Revoke KEY_ID (see `lethe signer list`): what it signs is dead-lettered."""
    store, runtime = _store()
    info = store.revoke(key_id, _operator(), datetime.now(UTC))
    name_store(runtime.settings)
    when = format_instant(info.revoked_at) if info.revoked_at else "now"
    click.echo(f"signer {key_id} ({info.signatory.name}) revoked at {when}")


@signer.command("list")
def signer_list() -> None:
    """Every registered key: id, name, role, state. Public keys only."""
    table = new_table("key id", "name", "role", "state", "added", "added by")
    for info in _store()[0].list():
        s = info.signatory
        state = "revoked" if s.revoked else "active"
        table.add_row(
            s.key_id, s.name, s.role.value, state, format_instant(info.added_at),
            info.added_by,
        )  # fmt: skip
    echo_table(table)
