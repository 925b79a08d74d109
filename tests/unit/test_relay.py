"""How far the relay reads the log: each stretch once, no order passed over."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lethe.consumers.codec import Catalogue
from lethe.ops.kafka.relay import Relay, RelayError
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record

DUE = T0 + timedelta(days=400)  # every category's retention has run out


class TakingProducer:
    """Takes every record at once (or refuses every one): the relay's reading is
    under test here; the broker's side is in the integration tests."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.keys: list[bytes] = []
        self.sent: list[tuple[str, bytes]] = []  # (topic, key)
        self.values: list[tuple[str, bytes | None]] = []  # (topic, value)

    def send(self, topic: str, key: bytes | None = None, **kw: Any) -> Any:
        if key is not None and not self.refuse:
            self.keys.append(key)
            self.sent.append((topic, key))
            self.values.append((topic, kw.get("value")))
        error = RuntimeError("refused") if self.refuse else None
        return SimpleNamespace(
            is_done=True, failed=lambda: self.refuse, exception=error
        )

    def flush(self, timeout: float | None = None) -> None:
        pass


class ReadsFrom:
    """Wraps the recorder's select_notifications, writing down each start."""

    def __init__(self, runtime: Runtime) -> None:
        recorder = runtime.app.process_recorder
        self.select = recorder.select_notifications
        self.starts: list[int] = []
        recorder.select_notifications = self  # type: ignore[method-assign]

    def __call__(self, start: int, *args: Any, **kwargs: Any) -> Any:
        self.starts.append(start)
        return self.select(start, *args, **kwargs)


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    built = build_runtime(
        Settings.from_env({"LETHE_SQLITE_PATH": str(tmp_path / "db")})
    )
    built.app.ingest(
        [ingest_record(f"img-{i}", "verification-image", "cust-1") for i in range(3)],
        T0,
    )
    built.catch_up()
    return built


def head(runtime: Runtime) -> int:
    return runtime.app.process_recorder.max_notification_id() or 0


def test_a_stretch_of_log_without_orders_is_read_once(runtime: Runtime) -> None:
    relay = Relay(runtime.app, TakingProducer(), Catalogue.shipped())
    reads = ReadsFrom(runtime)
    assert relay.relay_pending() == 0
    assert relay.relay_pending() == 0
    assert reads.starts == [1, head(runtime) + 1]


def test_orders_written_after_a_read_are_sent(runtime: Runtime) -> None:
    producer = TakingProducer()
    relay = Relay(runtime.app, producer, Catalogue.shipped(), page_size=2)
    assert relay.relay_pending() == 0
    assert runtime.sweeper.sweep(DUE).ordered == 3
    assert relay.relay_pending() == 3  # two pages: a full one, then a short one
    assert sorted(set(producer.keys)) == [b"img-0", b"img-1", b"img-2"]
    # At the last order: the sweep's own record (Sweep.Recorded) follows it.
    assert relay.position == head(runtime) - 1


def test_a_refused_page_is_read_again(runtime: Runtime) -> None:
    runtime.sweeper.sweep(DUE)
    relay = Relay(runtime.app, TakingProducer(refuse=True), Catalogue.shipped())
    with pytest.raises(RelayError):
        relay.relay_pending()
    relay.producer = TakingProducer()
    assert relay.relay_pending() == 3
