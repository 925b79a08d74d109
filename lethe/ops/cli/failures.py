"""Failures that are the operator's to fix, and the one line that says so.

A misconfiguration or an unreachable service is not a bug in Lethe: it gets
one `lethe: ...` line naming the setting and what it accepts, exit 2. Anything
not listed here keeps its traceback, so that it is reported, not shrugged off.
"""

from __future__ import annotations

import os

import click
from kafka.errors import KafkaConnectionError, KafkaTimeoutError

from lethe.domain.errors import LetheError
from lethe.domain.policy import PolicyError
from lethe.ops.kafka.settings import KafkaSettingsError
from lethe.ops.kafka.topics import TopicSettingsError
from lethe.ops.settings import SettingsError

USER_ERRORS: tuple[type[Exception], ...] = (
    click.UsageError,
    PolicyError,
    LetheError,
    SettingsError,
    KafkaSettingsError,
    TopicSettingsError,
)
UNREACHABLE_KAFKA = (KafkaTimeoutError, KafkaConnectionError)


def environment_problem(error: Exception) -> str | None:
    """The one line for a service Lethe cannot reach; None for anything else."""
    if isinstance(error, UNREACHABLE_KAFKA):
        reason = str(error).removeprefix(f"{type(error).__name__}: ")
        bootstrap = os.environ.get("LETHE_KAFKA_BOOTSTRAP", "")
        return (
            f"Kafka did not answer at LETHE_KAFKA_BOOTSTRAP={bootstrap!r} "
            f"({reason or type(error).__name__}): "
            "check that the broker runs and the address is host:port[,host:port]"
        )
    return None
