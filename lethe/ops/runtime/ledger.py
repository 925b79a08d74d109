"""Before `lethe run` or `lethe serve` serves: destroy again what the ledger names.

A database restored from a backup taken before a shred holds the subject's
wrapped key again. The shred ledger (lethe/ops/kafka/shred_ledger.py) is
outside that backup; every start reads it to its end and shreds each key it
names that is present, before a record is consumed or a request answered.

A ledger that cannot be read stops the start in one line: starting anyway
could open a key whose subject asked to be forgotten. LETHE_START_WITHOUT_
SHRED_LEDGER=true overrides that (a first start before `lethe topics ensure`,
a broker known to be down), with a warning. On the embedded default with no
broker named at all (LETHE_KAFKA_BOOTSTRAP unset, as `lethe serve` on a demo
store) there is no ledger to read: a warning says so and the start goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from lethe.domain import identity
from lethe.domain.application import Lethe
from lethe.ops import logging as lethe_logging
from lethe.ops.kafka.settings import KafkaClientSettings, KafkaSettingsError
from lethe.ops.kafka.shred_ledger import (
    READ_TIMEOUT_S,
    SHRED_LEDGER_TOPIC,
    LedgerError,
    read_ledger,
)
from lethe.ops.kafka.topics import TopicSettings, TopicSettingsError
from lethe.ops.runtime.vault import SqlSubjectVault
from lethe.ops.settings import Settings, SettingsError

OVERRIDE = "LETHE_START_WITHOUT_SHRED_LEDGER"
LIVE_KEYS = "SELECT subject_ref FROM lethe_wrapped_keys"

log = lethe_logging.get_logger("lethe.ledger")


class LedgerUnreadable(SettingsError):
    """The shred ledger could not be read, and no override lets Lethe start."""


@dataclass(frozen=True)
class Reapplied:
    """What a start did with the ledger (None fields: it was not read)."""

    subjects: int | None  # subjects the ledger names
    destroyed: int  # keys present in the vault and destroyed again
    records: int = 0  # records read (repeats included, until compaction)
    skipped: str | None = None  # why the ledger was not read

    def log(self) -> None:
        """The one log line of a start that has no console (`lethe run`)."""
        if self.skipped is not None:
            log.warning("shred ledger not read", reason=self.skipped)
            return
        log.info(
            "shred ledger re-applied",
            subjects=self.subjects,
            records=self.records,
            keys_destroyed_again=self.destroyed,
        )

    def line(self) -> str:
        if self.skipped is not None:
            return (
                f"shred ledger NOT read ({self.skipped}): a key restored from a "
                "copy of this store is not destroyed again"
            )
        again = "key" if self.destroyed == 1 else "keys"
        return (
            f"shred ledger read: {self.subjects} subjects shredded; "
            f"{self.destroyed} {again} found in the store destroyed again"
        )


def destroy_named(vault: SqlSubjectVault, subjects: Iterable[UUID]) -> int:
    """Shred each live key whose subject the ledger names; how many there were."""
    named = frozenset(subjects)
    if not named:
        return 0
    refs = [
        str(ref)
        for (ref,) in vault.views.query(LIVE_KEYS)
        if identity.subject_id(str(ref)) in named
    ]
    for ref in refs:
        vault.shred(ref)
    if refs:
        vault.scrub()
    return len(refs)


def reapply_ledger(
    settings: Settings, vault: SqlSubjectVault, timeout_s: float = READ_TIMEOUT_S
) -> Reapplied:
    """Read the ledger and destroy the keys it names; LedgerUnreadable if it
    cannot be read and nothing allows a start without it."""
    env = settings.env or {}
    if not env.get("LETHE_KAFKA_BOOTSTRAP", "").strip():
        reason = "LETHE_KAFKA_BOOTSTRAP is not set"
        if settings.store == "sqlite":
            return _skipped(reason)
        return _unreadable(settings, reason)
    try:
        kafka = KafkaClientSettings.from_mapping(env)
        topic = TopicSettings.from_env(env).name(SHRED_LEDGER_TOPIC)
        read = read_ledger(kafka.consumer_config(), topic, timeout_s)
    except (LedgerError, KafkaSettingsError, TopicSettingsError) as error:
        return _unreadable(settings, str(error))
    return Reapplied(
        len(read.subjects), destroy_named(vault, read.subjects), read.records
    )


def reapply_before_serving(settings: Settings, app: Lethe) -> Reapplied:
    """The shared start of `lethe run` and `lethe serve`: the ledger re-applied."""
    vault = app.vault
    if not isinstance(vault, SqlSubjectVault):
        raise TypeError("the shred ledger is re-applied to Lethe's SQL vault only")
    return reapply_ledger(settings, vault)


def _unreadable(settings: Settings, reason: str) -> Reapplied:
    if settings.start_without_shred_ledger:
        return _skipped(f"{reason}; {OVERRIDE}=true")
    raise LedgerUnreadable(
        f"the shred ledger cannot be read ({reason}): Lethe does not start without "
        f"it, or a key restored from a backup would open again. Fix it, or set "
        f"{OVERRIDE}=true for a first start"
    )


def _skipped(reason: str) -> Reapplied:
    return Reapplied(None, 0, skipped=reason)
