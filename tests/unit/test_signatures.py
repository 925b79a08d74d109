"""Record signatures: what they cover, and every way a record fails them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from lethe.consumers.codec import PoisonRecord
from lethe.consumers.signatures import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    SIGNED_AT_HEADER,
    KnownKeys,
    Signatory,
    Signer,
    SignerRole,
    may_sign,
    signed_message,
    verify,
)
from lethe.ops.cli.main import main
from lethe.ops.kafka.signing import KeyFileError, load_private_key, write_key_pair
from lethe.ops.runtime.lethe_key import lethe_signer
from lethe.ops.settings import Settings, SettingsError

AT = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
COMMANDS = "lethe.commands.v1"
SIGNER = Signer("pipeline-a", Ed25519PrivateKey.generate())
PIPELINE = Signatory(
    SIGNER.key_id, "pipeline-a", SignerRole.PIPELINE, SIGNER.private_key.public_key()
)
KEYS = KnownKeys(PIPELINE)


def check(headers: list[tuple[str, bytes]], key: bytes, value: bytes) -> Signatory:
    return verify(headers, COMMANDS, key, value, KEYS)


def test_a_signed_record_verifies_as_its_signer() -> None:
    headers = SIGNER.headers(COMMANDS, b"k", b"v", AT)
    assert check(headers, b"k", b"v") == PIPELINE
    assert PIPELINE.principal == "pipeline:pipeline-a"


@given(
    part=st.sampled_from(["topic", "key", "value", "signed_at"]),
    extra=st.binary(min_size=1, max_size=8),
)
def test_changing_any_signed_part_breaks_the_signature(part: str, extra: bytes) -> None:
    headers = dict(SIGNER.headers(COMMANDS, b"key", b"value", AT))
    topic, key, value = COMMANDS, b"key", b"value"
    if part == "topic":
        topic = "lethe.erasure-confirmations.v1"
    elif part == "key":
        key += extra
    elif part == "value":
        value += extra
    else:
        headers[SIGNED_AT_HEADER] = b"2026-03-25T12:00:00.001+00:00"
    with pytest.raises(PoisonRecord, match="bad signature"):
        verify(list(headers.items()), topic, key, value, KEYS)


def test_moving_bytes_between_key_and_value_breaks_the_signature() -> None:
    # Length prefixes: ("ab", "c") and ("a", "bc") are different messages.
    headers = SIGNER.headers(COMMANDS, b"ab", b"c", AT)
    with pytest.raises(PoisonRecord, match="bad signature"):
        check(headers, b"a", b"bc")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([], "unsigned"),
        ([(KEY_ID_HEADER, b"x" * 65), (SIGNATURE_HEADER, b"s")], "longer than 64"),
        ([(KEY_ID_HEADER, "nøkkel".encode()), (SIGNATURE_HEADER, b"s")], "not ASCII"),
        (
            [(KEY_ID_HEADER, b"feedfacefeedface"), (SIGNATURE_HEADER, b"s")],
            "unknown key",
        ),
    ],
)
def test_a_record_without_a_usable_signature_is_refused(
    headers: list[tuple[str, bytes]], reason: str
) -> None:
    with pytest.raises(PoisonRecord, match=reason):
        check(headers, b"k", b"v")


def test_a_revoked_key_signs_nothing() -> None:
    revoked = Signatory(
        PIPELINE.key_id, PIPELINE.name, PIPELINE.role, PIPELINE.public_key, True
    )
    with pytest.raises(PoisonRecord, match="revoked key"):
        verify(SIGNER.headers(COMMANDS, b"k", b"v", AT), COMMANDS, b"k", b"v",
               KnownKeys(revoked))  # fmt: skip


def test_a_signing_instant_that_is_not_one_is_refused() -> None:
    headers = dict(SIGNER.headers(COMMANDS, b"k", b"v", AT))
    headers[SIGNED_AT_HEADER] = b"yesterday"
    message = signed_message(COMMANDS, b"k", b"v", SIGNER.key_id, "yesterday")
    headers[SIGNATURE_HEADER] = SIGNER.private_key.sign(message)
    with pytest.raises(PoisonRecord, match="not an ISO 8601 instant"):
        check(list(headers.items()), b"k", b"v")


def test_a_store_confirms_only_for_itself_and_gives_no_commands() -> None:
    store = Signatory("id", "images", SignerRole.STORE, PIPELINE.public_key)
    confirmations = "lethe.erasure-confirmations.v1"
    may_sign(store, confirmations, {"store": "images"})
    with pytest.raises(PoisonRecord, match="only its own erasures"):
        may_sign(store, confirmations, {"store": "backup"})
    with pytest.raises(PoisonRecord, match="needs role pipeline"):
        may_sign(store, COMMANDS, {})
    with pytest.raises(PoisonRecord, match="needs role store"):
        may_sign(PIPELINE, confirmations, {"store": "pipeline-a"})


# -- key files and Lethe's own key --------------------------------------------------


def test_a_key_pair_is_written_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    write_key_pair(path)
    assert path.stat().st_mode & 0o777 == 0o600
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="never overwritten"):
        write_key_pair(path)
    assert path.read_bytes() == before
    with pytest.raises(KeyFileError, match="not an Ed25519 private key"):
        load_private_key(tmp_path / "k.key.pub")


def test_on_postgres_lethe_refuses_to_sign_without_a_key_file(tmp_path: Path) -> None:
    settings = Settings.from_env({"LETHE_STORE": "postgres"})
    with pytest.raises(SettingsError, match="LETHE_SIGNING_KEY_FILE is not set"):
        lethe_signer(settings, create=True)
    missing = Settings.from_env(
        {"LETHE_STORE": "postgres", "LETHE_SIGNING_KEY_FILE": str(tmp_path / "no")}
    )
    with pytest.raises(SettingsError, match="does not exist"):
        lethe_signer(missing, create=True)
    assert not (tmp_path / "no").exists()


def test_on_the_embedded_default_a_key_is_made_once_beside_the_store(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")})
    with pytest.raises(SettingsError, match="does not exist"):
        lethe_signer(settings)  # only `run` (create=True) makes one
    made = lethe_signer(settings, create=True)
    assert (tmp_path / "lethe-signing.key.pub").exists()
    assert lethe_signer(settings).key_id == made.key_id


def test_lethe_run_on_postgres_without_a_key_says_so_in_one_line() -> None:
    env = {
        "LETHE_STORE": "postgres",
        "LETHE_KAFKA_BOOTSTRAP": "127.0.0.1:9",
        "LETHE_POSTGRES_PORT": "9",
    }
    result = CliRunner().invoke(main, ["run"], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert "LETHE_SIGNING_KEY_FILE is not set" in result.output
