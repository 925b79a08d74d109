"""Key-encryption keys (KEKs): kept outside the database, behind a small port.

Every subject's data key is stored only wrapped (AES key wrap, RFC 3394) by a
KEK. The database never holds a KEK, so a copy of the database (a WAL segment,
a replica, a backup) holds nothing that opens a wrapped key once the KEK that
wrapped it is destroyed by a rotation.

`KekProvider` is the port: a KMS adapter implements it by wrapping and
unwrapping remotely (the key bytes need never leave the KMS) and by scheduling
the old key's deletion in `finish_rotation`. The two adapters here hold the
keys themselves: a file (`LETHE_KEK_FILE`) and the environment (`LETHE_KEK`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from lethe.ops.settings import SettingsError

KEK_BYTES = 32
CREATE_HINT = "create one with `lethe keys init --kek-file PATH` and set LETHE_KEK_FILE"


class KekError(SettingsError):
    """A key-encryption key that is missing, exposed or does not open a key."""


class KekProvider(Protocol):
    """The KEKs that still exist, by id; wraps and unwraps data keys with them."""

    def ids(self) -> list[str]: ...

    def primary(self) -> str:
        """The id of the KEK a store with none recorded yet starts wrapping with."""
        ...

    def wrap(self, kek_id: str, data_key: bytes) -> bytes: ...

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes: ...

    def begin_rotation(self) -> str:
        """Create the next KEK (or return the one a crashed rotation created)."""
        ...

    def finish_rotation(self, current_id: str) -> str:
        """Destroy every KEK but `current_id`; say what destroying meant."""
        ...


def kek_id(key: bytes) -> str:
    # Derived from the key, so a file and its backup can never disagree on it;
    # a hash of a 256-bit random key reveals nothing of the key.
    return hashlib.sha256(b"lethe kek id\x00" + key).hexdigest()[:16]


def parse_key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise KekError(f"{where} is not hex; write 64 hex digits") from None
    if len(key) != KEK_BYTES:
        raise KekError(f"{where} holds {len(key)} bytes; a KEK is {KEK_BYTES}")
    return key


class _HeldKeys:
    """Wrapping with keys held in this process (the file and env adapters)."""

    keys: dict[str, bytes]

    def ids(self) -> list[str]:
        return list(self.keys)

    def wrap(self, kek_id: str, data_key: bytes) -> bytes:
        return aes_key_wrap(self._key(kek_id), data_key)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        try:
            return aes_key_unwrap(self._key(kek_id), wrapped)
        except InvalidUnwrap:
            raise KekError(f"KEK {kek_id} does not open a key wrapped by it") from None

    def _key(self, kek_id: str) -> bytes:
        key = self.keys.get(kek_id)
        if key is None:
            raise KekError(
                f"this store's keys are wrapped by KEK {kek_id}, which is not "
                f"available (have: {', '.join(self.keys) or 'none'}); restore it"
            )
        return key


class FileKek(_HeldKeys):
    """KEKs in files: PATH (current), PATH.next (being rotated to), PATH.old.

    Rotation creates PATH.next, the store re-wraps every key under it, then
    PATH becomes PATH.old and PATH.next becomes PATH (two atomic renames), and
    PATH.old is overwritten and unlinked. A crash at any step leaves every key
    openable, because the files are read together whatever their names.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keys = {}
        self.reload()

    @property
    def next_path(self) -> Path:
        return self.path.with_name(self.path.name + ".next")

    @property
    def old_path(self) -> Path:
        return self.path.with_name(self.path.name + ".old")

    def reload(self) -> None:
        self.keys = {}
        for candidate in (self.path, self.next_path, self.old_path):
            if candidate.exists() and not _destroyed(candidate):
                key = read_key_file(candidate)
                self.keys[kek_id(key)] = key
        if not self.keys:
            raise KekError(f"the KEK file {self.path} does not exist; {CREATE_HINT}")

    def primary(self) -> str:
        return kek_id(read_key_file(self.path))

    def begin_rotation(self) -> str:
        if not self.next_path.exists():
            with contextlib.suppress(FileExistsError):  # a rotation beside this one
                write_key_file(self.next_path, os.urandom(KEK_BYTES))
        self.reload()
        return kek_id(read_key_file(self.next_path))

    def finish_rotation(self, current_id: str) -> str:
        if self.next_path.exists():
            if kek_id(read_key_file(self.next_path)) != current_id:
                raise KekError(f"{self.next_path} is not the store's KEK {current_id}")
            if self.path.exists():
                os.replace(self.path, self.old_path)
            os.replace(self.next_path, self.path)
            _sync_directory(self.path.parent)
        if self.old_path.exists():
            destroy_file(self.old_path)
        self.reload()
        return f"the old KEK file was overwritten and unlinked; {self.path} is the new"


class EnvKek(_HeldKeys):
    """KEKs given in LETHE_KEK (and LETHE_KEK_NEXT while rotating).

    Lethe cannot destroy a key it was given: "destroy" is the operator's
    deleting every copy of the old value from the secret store it came from.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self.current_key = parse_key(env.get("LETHE_KEK", ""), "LETHE_KEK")
        self.keys = {kek_id(self.current_key): self.current_key}
        self.next_key: bytes | None = None
        if env.get("LETHE_KEK_NEXT", "").strip():
            self.next_key = parse_key(env["LETHE_KEK_NEXT"], "LETHE_KEK_NEXT")
            self.keys[kek_id(self.next_key)] = self.next_key

    def primary(self) -> str:
        return kek_id(self.current_key)

    def begin_rotation(self) -> str:
        if self.next_key is None:
            raise KekError(
                "set LETHE_KEK_NEXT to a new key (openssl rand -hex 32) to rotate "
                "a KEK given in LETHE_KEK"
            )
        return kek_id(self.next_key)

    def finish_rotation(self, current_id: str) -> str:
        return (
            "every key is now wrapped by LETHE_KEK_NEXT's key: set LETHE_KEK to that "
            "value, unset LETHE_KEK_NEXT, and delete the old value from the secret "
            "store and its backups (Lethe cannot destroy a key given to it)"
        )


def read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KekError(
                f"{path} can be read by others (mode {stat.filemode(mode)}); "
                "chmod 600 it"
            )
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise KekError(f"the KEK file {path} cannot be read: {error}") from None
    return parse_key(text, str(path))


def write_key_file(path: Path, key: bytes) -> None:
    """A new key file, 0600 from its first byte, on disk before this returns.

    Written aside and linked into place, so no reader sees half a key; raises
    FileExistsError if another process made `path` first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (key.hex() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(aside, path)
    except FileExistsError:
        destroy_file(aside)  # never linked: the key in it is no one's
        raise
    aside.unlink()  # the same inode as `path` now: unlink, never overwrite
    _sync_directory(path.parent)


def destroy_file(path: Path) -> None:
    # Overwrite before unlinking, so the blocks do not keep the key on a plain
    # filesystem; copy-on-write filesystems and SSDs may still: docs/keys.md.
    size = path.stat().st_size
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, b"\0" * size)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
    _sync_directory(path.parent)


def _destroyed(path: Path) -> bool:
    # A crash between overwriting and unlinking leaves zeros: a key no more.
    try:
        return path.read_bytes().strip(b"\0") == b""
    except OSError:
        return False  # read_key_file names the problem


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
