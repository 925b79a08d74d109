"""From settings to the vault's keys: where each key comes from, refused or warned.

PostgreSQL is a production store: both the KEK and the pseudonym key must come
from outside its database, or Lethe refuses to start. The embedded SQLite
default makes what is missing (the KEK in a file beside the store, the pseudonym
key in the database) and says so once, when it does.
"""

from __future__ import annotations

import hmac
import os
import sys
from collections.abc import Callable
from pathlib import Path

from lethe.ops.runtime import keystore
from lethe.ops.runtime.kek import (
    KEK_BYTES,
    EnvKek,
    FileKek,
    KekError,
    KekProvider,
    write_key_file,
)
from lethe.ops.runtime.keystore import KEK, LEGACY_TABLE, PSEUDONYM_CHECK, read_state
from lethe.ops.runtime.pseudonyms import PseudonymKeyError, Pseudonyms, check_key
from lethe.ops.settings import Settings
from lethe.projections.store import SqlViews

SECRET_NAME = "pseudonym-key"
PSEUDONYM_HINT = (
    "create one with `lethe keys init --pseudonym-key-file PATH` and set "
    "LETHE_PSEUDONYM_KEY_FILE=PATH (or the hex in LETHE_PSEUDONYM_KEY)"
)
KEK_HINT = (
    "create it with `lethe keys init --kek-file PATH` and set LETHE_KEK_FILE=PATH "
    "(or the hex in LETHE_KEK)"
)
Warn = Callable[[str], None]


def warn_stderr(message: str) -> None:
    print(f"lethe: warning: {message}", file=sys.stderr)


def vault_keys(
    settings: Settings, views: SqlViews, warn: Warn = warn_stderr
) -> tuple[Pseudonyms, KekProvider]:
    views.run_ddl(keystore.DDL)
    pseudonyms = Pseudonyms(views, pseudonym_key(settings, views, warn))
    check_key(views, pseudonyms.key)
    kek = kek_provider(settings, views, warn)
    adopt_kek(views, kek)
    migrate_unwrapped(views, kek)
    return pseudonyms, kek


# -- the pseudonym key ----------------------------------------------------------------


def pseudonym_key(settings: Settings, views: SqlViews, warn: Warn) -> bytes:
    stored = _stored_secret(views)
    given = settings.pseudonym_key
    if given is None and settings.store == "postgres":
        raise PseudonymKeyError(
            "on PostgreSQL the pseudonym key must not be kept in Lethe's own "
            f"database; {PSEUDONYM_HINT}"
        )
    if given is None and stored is None and read_state(views, PSEUDONYM_CHECK):
        raise PseudonymKeyError(
            "this store's pseudonym key is not kept in it and was not given: pass "
            "it in LETHE_PSEUDONYM_KEY_FILE (or LETHE_PSEUDONYM_KEY)"
        )
    if given is None:
        return stored or _generate_secret(views, warn)
    if stored is not None and not hmac.compare_digest(stored, given):
        raise PseudonymKeyError(
            "the pseudonym key given is not the one this store was created with "
            "(kept in its database); pass that one, or re-key with `lethe keys "
            "rotate-pseudonym`"
        )
    if stored is not None and settings.store == "postgres":
        views.execute([("DELETE FROM lethe_secrets WHERE name = ?", (SECRET_NAME,))])
        warn("removed the pseudonym key's copy from the database: it is passed in now")
    return given


def _stored_secret(views: SqlViews) -> bytes | None:
    rows = views.query(
        "SELECT secret FROM lethe_secrets WHERE name = ?", (SECRET_NAME,)
    )
    return bytes(rows[0][0]) if rows else None


def _generate_secret(views: SqlViews, warn: Warn) -> bytes:
    views.execute(
        [
            (
                "INSERT INTO lethe_secrets (name, secret) VALUES (?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (SECRET_NAME, os.urandom(32)),
            )
        ]
    )
    warn(
        "the pseudonym key was generated into the store's own database (embedded "
        f"default): anyone with a copy can re-identify subjects; {PSEUDONYM_HINT}"
    )
    stored = _stored_secret(views)
    assert stored is not None
    return stored


# -- the key-encryption key -----------------------------------------------------------


def kek_path(settings: Settings) -> Path | None:
    if settings.kek_file is not None:
        return settings.kek_file
    if settings.store == "sqlite" and not settings.kek_in_env:
        return settings.sqlite_path.with_name(settings.sqlite_path.name + ".kek")
    return None


def kek_provider(settings: Settings, views: SqlViews, warn: Warn) -> KekProvider:
    if settings.kek_in_env and settings.kek_file is not None:
        raise KekError("set LETHE_KEK_FILE or LETHE_KEK, not both")
    if settings.kek_in_env:
        return EnvKek(settings.env or {})
    path = kek_path(settings)
    if path is None:
        raise KekError(
            "on PostgreSQL the key-encryption key must live outside the database; "
            + KEK_HINT
        )
    if settings.kek_file is None and not path.exists() and _new_to_keys(views):
        try:
            write_key_file(path, os.urandom(KEK_BYTES))
            warn(
                f"generated the key-encryption key {path} beside the store: back "
                "it up apart from the store's backups (docs/keys.md)"
            )
        except FileExistsError:
            pass  # a process starting beside this one made it: use that one
    if not path.exists():
        if read_state(views, KEK) is not None:
            raise KekError(
                f"the KEK file {path} does not exist, and this store's keys are "
                "wrapped by it: restore it from its backup"
            )
        raise KekError(f"the KEK file {path} does not exist; {KEK_HINT}")
    return FileKek(path)


def _new_to_keys(views: SqlViews) -> bool:
    """No KEK recorded and no wrapped key: a KEK made now hides nothing earlier."""
    return read_state(views, KEK) is None and not views.query(
        "SELECT 1 FROM lethe_wrapped_keys LIMIT 1"
    )


def adopt_kek(views: SqlViews, kek: KekProvider) -> None:
    """A store without a recorded KEK starts wrapping with the provider's own;
    one with a recorded KEK must be given it."""
    views.execute(
        [
            (
                "INSERT INTO lethe_key_state (name, value, at_ms) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (KEK, kek.primary(), keystore.now_ms()),
            )
        ]
    )
    state = read_state(views, KEK)
    assert state is not None
    if state[0] not in kek.ids():
        raise KekError(
            f"this store's keys are wrapped by KEK {state[0]}, and the KEK given is "
            f"{', '.join(kek.ids())}; pass the store's KEK file (or restore it)"
        )


def migrate_unwrapped(views: SqlViews, kek: KekProvider) -> int:
    """A store made before envelope encryption: wrap its keys, drop the old table.

    One transaction, so a crash leaves either the old table or the new rows.
    Copies of the store taken before this still hold the keys in clear.
    """
    if not keystore.has_table(views, LEGACY_TABLE):
        return 0
    rows = views.query(
        f"SELECT subject_ref, subject_key, shredded_at FROM {LEGACY_TABLE}"
    )
    current = read_state(views, KEK)
    assert current is not None
    statements: list[keystore.Statement] = []
    for subject_ref, subject_key, shredded_at in rows:
        if subject_key is None:
            statements.append(
                (
                    "INSERT INTO lethe_shredded_subjects (subject_ref, shredded_at)"
                    " VALUES (?, ?) ON CONFLICT (subject_ref) DO NOTHING",
                    (subject_ref, shredded_at or keystore.now_ms()),
                )
            )
            continue
        wrapped = kek.wrap(current[0], bytes(subject_key))
        statements.append(
            (
                "INSERT INTO lethe_wrapped_keys (subject_ref, kek_id, wrapped_key)"
                " VALUES (?, ?, ?) ON CONFLICT (subject_ref) DO NOTHING",
                (subject_ref, current[0], wrapped),
            )
        )
    if not views.is_postgres:
        statements.insert(0, (keystore.SECURE_DELETE, ()))
    statements.append((f"DROP TABLE IF EXISTS {LEGACY_TABLE}", ()))
    views.execute(statements)
    keystore.scrub(views, "lethe_wrapped_keys")
    return len(rows)
