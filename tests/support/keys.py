"""Test support for the vault's keys: key settings, and an adversary's attack.

The attack is what someone holding copies of the database (heap pages, WAL
segments, dumps, file copies) and whatever KEKs still exist would try: take
every byte string near a subject ref that could be a wrapped key (and every
hex string a wrapped key would print as), unwrap it with every KEK, and open
every subject's seal with what comes out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from lethe.ops.runtime.kek import write_key_file

WRAPPED_BYTES = 40  # AES key wrap of a 256-bit data key
NEAR = 160  # bytes after a subject ref searched for its wrapped key
NONCE_BYTES = 12
HEX_RUN = re.compile(rb"(?<![0-9a-f])[0-9a-f]{80}(?![0-9a-f])")


def key_env(directory: Path) -> dict[str, str]:
    """A KEK file (0600, outside the store's directory) and a pseudonym key."""
    kek = directory / "secrets" / "lethe.kek"
    write_key_file(kek, os.urandom(32))
    return {"LETHE_KEK_FILE": str(kek), "LETHE_PSEUDONYM_KEY": os.urandom(32).hex()}


def candidates(copy: bytes, refs: Iterable[str]) -> set[bytes]:
    found = {bytes.fromhex(run.decode()) for run in HEX_RUN.findall(copy)}
    for ref in refs:
        needle = ref.encode()
        start = copy.find(needle)
        while start != -1:
            tail = copy[start + len(needle) : start + len(needle) + NEAR]
            found.update(
                tail[i : i + WRAPPED_BYTES]
                for i in range(len(tail) - WRAPPED_BYTES + 1)
            )
            start = copy.find(needle, start + 1)
    return found


def recover_subject_ids(
    copies: Iterable[bytes], seals: dict[str, bytes], keks: Iterable[bytes]
) -> set[str]:
    """Every subject id the copies give up to the KEKs (seals: ref -> seal)."""
    data_keys = set()
    keks = list(keks)
    for copy in copies:
        for candidate in candidates(copy, seals):
            for kek in keks:
                try:
                    data_keys.add(aes_key_unwrap(kek, candidate))
                except (InvalidUnwrap, ValueError):
                    continue
    recovered = set()
    for data_key in data_keys:
        for ref, seal in seals.items():
            nonce, body = seal[:NONCE_BYTES], seal[NONCE_BYTES:]
            try:
                plain = AESGCM(data_key).decrypt(nonce, body, ref.encode())
            except InvalidTag:
                continue
            recovered.add(plain.decode())
    return recovered


def kek_files(kek_file: Path) -> list[bytes]:
    """The KEKs that still exist beside (and as) the KEK file."""
    keys = []
    for path in kek_file.parent.iterdir():
        if path.name.startswith(kek_file.name):
            keys.append(bytes.fromhex(path.read_text().strip()))
    return keys
