"""Trial signing keys on the embedded default: `lethe produce` and the demo sign
commands and confirmations with them, made and registered on first use.

Never on PostgreSQL: there every pipeline and store has its own key, made with
`lethe signer keygen` and registered with `lethe signer add`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from lethe.consumers.codec import Catalogue
from lethe.consumers.records import KIND_BY_TOPIC
from lethe.consumers.signatures import ROLE_FOR_TOPIC, Signer, SignerRole
from lethe.ops.cli.store import open_runtime
from lethe.ops.cli.support import UserError
from lethe.ops.kafka.signing import (
    Keyring,
    OneSigner,
    RecordSigners,
    load_signer,
    public_raw,
    write_key_pair,
)
from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.runtime.signers import SignerStore
from lethe.ops.settings import Settings

TRIAL_PIPELINE = "trial-pipeline"


def trial_signer(runtime: Runtime, name: str, role: SignerRole) -> Signer:
    """The trial key registered for `name`, made (and registered) if missing."""
    settings = runtime.settings
    if settings.store != "sqlite":
        raise UserError(
            "trial keys are for the embedded default only: sign with --key FILE "
            "(a key registered with `lethe signer add`)"
        )
    path = settings.sqlite_path.with_name(f"trial-{role.value}-{name}.key")
    if not path.exists():
        write_key_pair(path)
    signer = load_signer(name, path)
    store = SignerStore(runtime.views)
    if store.signatory(signer.key_id) is None:
        raw = public_raw(signer.private_key.public_key())
        store.add(name, role, raw, "trial key", datetime.now(UTC))
        click.echo(
            f"lethe: signing with a trial key for {role.value} {name} ({path}), "
            "registered now; in production each signer has its own key",
            err=True,
        )
    return signer


def keyring_for(
    settings: Settings,
    topic: str,
    key_file: Path | None,
    catalogue: Catalogue,
    values: list[bytes],
) -> RecordSigners | None:
    """What signs `lethe produce`'s records: --key, else trial keys on the
    embedded default (one per store the confirmations name)."""
    role = ROLE_FOR_TOPIC.get(topic)
    if role is None:
        return None
    if key_file is not None:
        try:
            return OneSigner(load_signer(role.value, key_file))
        except ValueError as error:
            raise UserError(str(error)) from None
    runtime = open_runtime(settings)
    if role == SignerRole.PIPELINE:
        return Keyring(trial_signer(runtime, TRIAL_PIPELINE, role))
    record = KIND_BY_TOPIC[topic].record
    stores = {str(catalogue.decode_as(data, record)["store"]) for data in values}
    return Keyring(stores=tuple(trial_signer(runtime, s, role) for s in sorted(stores)))
