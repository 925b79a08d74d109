"""`lethe run`'s projection thread: follows the log between sweeps, relays early."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from lethe.domain.item import ItemState
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.runtime.projector import SCHEDULE_CHUNK, Projector
from lethe.ops.settings import Settings
from lethe.projections.sweeper import SweepReport
from tests.support import T0, ingest_record


def test_a_subject_request_reaches_its_items_long_before_the_next_sweep(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")})
    app = build_app(settings)
    app.ingest([ingest_record("img-1", "verification-image", "cust-1")], T0)
    stop = threading.Event()
    projector = Projector(
        lambda: build_app(settings),
        lambda _app: None,
        interval_s=3600.0,  # a sweep an hour: the request must not wait for it
        stop=stop,
        clock=lambda: T0,
    )
    projector.start()
    try:
        app.request_subject_erasure(
            "sector-alarm", "cust-1", "cmd-1", "asked", "support:kari", None, T0
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if app.get_item("img-1").state == ItemState.ERASURE_ORDERED:
                break
            time.sleep(0.2)
        assert app.get_item("img-1").state == ItemState.ERASURE_ORDERED
        assert projector.failed is None
    finally:
        stop.set()
        projector.join(timeout=10)


class Journal:
    """The schedule, sweeper and relay of one tick, writing down what was called."""

    def __init__(self, chunks: list[int], stop: threading.Event | None = None) -> None:
        self.chunks = chunks  # what each schedule chunk processes
        self.stop_after_chunk = stop
        self.calls: list[str] = []

    def run_until_idle(self, at_most: int = 1_000_000) -> int:
        self.calls.append("schedule")
        if self.stop_after_chunk is not None:
            self.stop_after_chunk.set()
        return self.chunks.pop(0) if self.chunks else 0

    def sweep(self, now: datetime) -> SweepReport:
        self.calls.append("sweep")
        return SweepReport()

    def relay_pending(self, limit: int | None = None) -> int:
        self.calls.append("relay")
        return 0


def projector(stop: threading.Event) -> Projector:
    return Projector(
        lambda: None,  # type: ignore[arg-type, return-value]
        lambda _app: None,
        interval_s=3600.0,
        stop=stop,
        clock=lambda: T0,
    )


def tick(journal: Journal, stop: threading.Event, sweep: bool = True) -> list[str]:
    projector(stop).tick(journal, journal, journal, sweep=sweep)  # type: ignore[arg-type]
    return journal.calls


def test_the_relay_follows_every_schedule_chunk_then_the_sweep() -> None:
    journal = Journal([SCHEDULE_CHUNK, SCHEDULE_CHUNK + 1, 7])
    assert tick(journal, threading.Event()) == [
        "schedule",
        "relay",
        "schedule",
        "relay",
        "schedule",
        "relay",
        "sweep",
        "relay",
    ]


def test_without_a_sweep_due_the_schedule_and_relay_still_run() -> None:
    journal = Journal([3])
    assert tick(journal, threading.Event(), sweep=False) == ["schedule", "relay"]


def test_a_stop_request_ends_the_tick_after_the_chunk_in_hand() -> None:
    stop = threading.Event()
    journal = Journal([SCHEDULE_CHUNK, SCHEDULE_CHUNK], stop=stop)
    assert tick(journal, stop) == ["schedule"]
