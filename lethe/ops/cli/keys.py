"""`lethe keys`: create, inspect and rotate the keys that keep subjects apart."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from lethe.ops.cli.store import name_store, open_runtime
from lethe.ops.cli.support import UserError
from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.runtime.kek import KEK_BYTES, kek_id, write_key_file
from lethe.ops.runtime.keysetup import kek_path
from lethe.ops.runtime.pseudonym_rotation import read_subject_ids, rotate_pseudonym
from lethe.ops.runtime.rotation import kek_status, rotate_kek
from lethe.ops.settings import Settings


@click.group()
def keys() -> None:
    """The key-encryption key and the pseudonym key (docs/keys.md)."""


@keys.command("init")
@click.option(
    "--kek-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to create the key-encryption key (mode 0600; never beside the DB).",
)
@click.option(
    "--pseudonym-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to create a pseudonym key for a new store (mode 0600).",
)
def init(kek_file: Path | None, pseudonym_key_file: Path | None) -> None:
    """Create new key files (0600 from the first byte); never overwrites one."""
    if kek_file is None and pseudonym_key_file is None:
        raise UserError("name --kek-file PATH, --pseudonym-key-file PATH, or both")
    for path in (kek_file, pseudonym_key_file):
        if path is not None and path.exists():
            raise UserError(f"{path} exists; a key file is never overwritten")
    if kek_file is not None:
        key = os.urandom(KEK_BYTES)
        _create(kek_file, key)
        click.echo(f"created KEK {kek_id(key)} in {kek_file}; set LETHE_KEK_FILE")
    if pseudonym_key_file is not None:
        _create(pseudonym_key_file, os.urandom(32))
        click.echo(
            f"created a pseudonym key in {pseudonym_key_file}; set "
            "LETHE_PSEUDONYM_KEY_FILE"
        )


def _create(path: Path, key: bytes) -> None:
    try:
        write_key_file(path, key)
    except FileExistsError:
        raise UserError(f"{path} exists; a key file is never overwritten") from None
    except OSError as error:
        raise UserError(f"cannot create {path}: {error.strerror}") from None


@keys.command("status")
def status() -> None:
    """Where each key comes from, when the KEK was rotated, and whether it is due."""
    runtime = open_runtime()
    click.echo(kek_status_line(runtime))
    click.echo(pseudonym_source(runtime.settings))


@keys.command("rotate")
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=500, show_default=True
)
def rotate(batch_size: int) -> None:
    """New KEK; re-wrap every live key under it; destroy the old KEK.

    Safe to kill: a re-run finishes the same rotation.
    """
    runtime = open_runtime()
    vault: Any = runtime.app.vault
    done = rotate_kek(runtime.views, vault.kek, batch_size)
    name_store(runtime.settings)
    click.echo(
        f"KEK {done.old} -> {done.new}: {done.rewrapped} keys re-wrapped; "
        + done.destroyed
    )


@keys.command("rotate-pseudonym")
@click.option(
    "--new-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The new pseudonym key (hex, mode 0600).",
)
@click.option(
    "--subject-ids",
    type=click.File("r"),
    default=None,
    help="controller,subject_id lines naming subjects only items mention.",
)
def rotate_pseudonym_command(new_key_file: Path, subject_ids: IO[str] | None) -> None:
    """Re-key the subject index: every subject is found by the new key.

    Stop every other Lethe process first; start them again with the new key.
    """
    new_key = Settings.from_env(
        {"LETHE_PSEUDONYM_KEY_FILE": str(new_key_file)}
    ).pseudonym_key
    assert new_key is not None
    runtime = open_runtime()
    runtime.catch_up()  # every subject ref the log names is in the views
    pairs = read_subject_ids(subject_ids) if subject_ids is not None else []
    done = rotate_pseudonym(runtime.app, runtime.views, new_key, pairs)
    name_store(runtime.settings)
    click.echo(
        f"re-keyed {done.subjects} subjects ({done.forgotten} erased or "
        f"forgotten ones are not named); start Lethe with "
        f"LETHE_PSEUDONYM_KEY_FILE={new_key_file}"
    )


def kek_status_line(runtime: Runtime, now: datetime | None = None) -> str:
    """One line for `lethe status` and `lethe keys status`."""
    found = kek_status(
        runtime.views, runtime.settings.kek_rotation_days, now or datetime.now(UTC)
    )
    return found.line() if found else "KEK: none recorded"


def pseudonym_source(settings: Settings) -> str:
    env = settings.env or {}
    if env.get("LETHE_PSEUDONYM_KEY", "").strip():
        where = "LETHE_PSEUDONYM_KEY (environment)"
    elif env.get("LETHE_PSEUDONYM_KEY_FILE", "").strip():
        where = f"LETHE_PSEUDONYM_KEY_FILE ({env['LETHE_PSEUDONYM_KEY_FILE']})"
    else:
        where = "the store's own database (embedded default only)"
    kek = "LETHE_KEK (environment)" if settings.kek_in_env else str(kek_path(settings))
    return f"pseudonym key: {where}; KEK from: {kek}"
