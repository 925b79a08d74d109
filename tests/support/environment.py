"""Keeps stray persistence settings in os.environ out of a test's Applications."""

from __future__ import annotations

import os

import pytest

# eventsourcing reads each of these, and "<APPNAME>_<KEY>" before it, from
# os.environ merged under the Application's own env.
EVENTSOURCING_KEYS = (
    "PERSISTENCE_MODULE", "INFRASTRUCTURE_FACTORY", "TRANSCODER_TOPIC",
    "MAPPER_TOPIC", "CIPHER_TOPIC", "CIPHER_KEY", "COMPRESSOR_TOPIC",
    "IS_SNAPSHOTTING_ENABLED", "APPLICATION_RECORDER_TOPIC",
    "TRACKING_RECORDER_TOPIC", "PROCESS_RECORDER_TOPIC", "CREATE_TABLE",
    "SINGLE_ROW_TRACKING", "AGGREGATE_CACHE_MAXSIZE", "AGGREGATE_CACHE_FASTFORWARD",
    "AGGREGATE_CACHE_FASTFORWARD_SKIPPING", "DEEPCOPY_FROM_AGGREGATE_CACHE",
)  # fmt: skip
PREFIXES = ("POSTGRES_", "SQLITE_", "LETHE_")


def is_stray(key: str) -> bool:
    """True for a variable that would change how a test's Application persists."""
    if key.startswith(PREFIXES) or any(f"_{p}" in key for p in PREFIXES):
        return True
    return any(key == k or key.endswith(f"_{k}") for k in EVENTSOURCING_KEYS)


def scrub_persistence_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every stray variable for the duration of one test."""
    for key in [k for k in os.environ if is_stray(k)]:
        monkeypatch.delenv(key)
