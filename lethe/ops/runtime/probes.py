"""/healthz and /readyz: alive, and able to do its work.

Ready means all three of:

- the store answers: the same check every command makes before it opens the
  store (the SQLite file is there; PostgreSQL accepts a connection within
  5 s and holds Lethe's tables);
- the broker answers: one bootstrap server replies to ApiVersions within 2 s
  (skipped where no LETHE_KAFKA_BOOTSTRAP is set);
- the projector is not stuck. Stuck means: the log holds notifications the
  schedule view has not read (head > position), and the position has not moved
  for STUCK_INTERVALS sweep intervals plus STUCK_SLACK, as seen by this
  process's successive probes. A projector that has read everything is never
  stuck, however long nothing happens; one that reads slowly but moves is not
  stuck either (its lag is a metric, and an alert).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lethe.domain.application import Lethe
from lethe.ops.kafka.probe import BrokerUnreachable, broker_answers
from lethe.ops.kafka.settings import KafkaClientSettings, KafkaSettingsError
from lethe.ops.runtime.metrics import HealthCache
from lethe.ops.runtime.preflight import StoreError, check_store
from lethe.ops.settings import Settings
from lethe.projections.health import Health, read_health
from lethe.projections.store import SqlViews

STUCK_INTERVALS = 3
STUCK_SLACK = timedelta(seconds=30)


def health_reader(app: Lethe, settings: Settings) -> Callable[[], Health]:
    views = SqlViews(app.process_recorder)

    def read() -> Health:
        return read_health(
            views,
            app.process_recorder.max_notification_id() or 0,
            datetime.now(UTC),
            settings.sweep_interval_s,
            settings.confirm_timeout_s,
            settings.answer_warning_days,
        )

    return read


@dataclass
class ProgressWatch:
    """Whether the projector's position has stopped moving while behind."""

    stuck_after: timedelta
    _position: int | None = None
    _since: float = 0.0  # monotonic: when the position last moved (or caught up)

    def stuck(self, health: Health, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if health.projector_lag == 0 or health.projector_position != self._position:
            self._position, self._since = health.projector_position, now
            return False
        return now - self._since > self.stuck_after.total_seconds()


class Readiness:
    def __init__(self, settings: Settings, cache: HealthCache) -> None:
        self.settings = settings
        self.cache = cache
        self.kafka = _kafka(settings)
        self.watch = ProgressWatch(
            STUCK_INTERVALS * timedelta(seconds=settings.sweep_interval_s) + STUCK_SLACK
        )
        self._lock = threading.Lock()

    def problems(self) -> list[str]:
        """What stands in the way of readiness; empty when ready."""
        found = []
        try:
            check_store(self.settings, create=False)
        except StoreError as error:
            found.append(f"store: {error}")
        if self.kafka is not None:
            try:
                broker_answers(self.kafka)
            except BrokerUnreachable as error:
                found.append(f"broker: {error}")
        if not found:
            found.extend(self._projector())
        return found

    def _projector(self) -> list[str]:
        try:
            health = self.cache.get()
        except Exception as error:  # noqa: BLE001 - not ready, and why
            return [f"store: not readable ({error})"]
        with self._lock:
            if self.watch.stuck(health):
                return [
                    f"projector stuck at {health.projector_position} of"
                    f" {health.log_head} for over {self.watch.stuck_after}"
                ]
        return []


def _kafka(settings: Settings) -> KafkaClientSettings | None:
    env = settings.env or {}
    if not env.get("LETHE_KAFKA_BOOTSTRAP", "").strip():
        return None
    try:
        return KafkaClientSettings.from_mapping(env)
    except KafkaSettingsError:
        return None  # `lethe run` refused it at start; serve has no broker to judge
