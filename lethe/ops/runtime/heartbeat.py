"""What the projector tells the world while it runs: the runner row and metrics.

The projector calls these at the points where its state changes (each tick,
after each sweep, when it stops); the row is what `lethe status` and /readyz
read from other processes, the metrics what this process exports.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

import structlog

from lethe.ops.runtime.metrics import Metrics
from lethe.projections.runner import RunnerBoard
from lethe.projections.store import SqlViews
from lethe.projections.sweeper import SweepReport

log = structlog.get_logger("lethe.projector")


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    def __init__(self, sweep_interval_s: float, metrics: Metrics | None) -> None:
        self.sweep_interval_s = sweep_interval_s
        self.metrics = metrics
        self.board: RunnerBoard | None = None
        self.was_held = False

    def setup(self, views: SqlViews) -> None:
        """In the projector's thread, on its own Application's views."""
        self.board = RunnerBoard(views, holder_name(), self.sweep_interval_s)

    def tick(self, held: bool, at: datetime) -> None:
        if self.metrics is not None:
            self.metrics.lease_held.set(int(held))
        if held and self.board is not None:
            self.board.beat(at)
        self.was_held = held

    def swept(
        self, report: SweepReport, now: datetime, finished: datetime, took_s: float
    ) -> None:
        if self.metrics is not None:
            self.metrics.count_sweep(report.ordered, report.reissued)
        if self.board is not None:
            self.board.swept(now, finished, took_s)

    def stopped(self, at: datetime) -> None:
        """A clean stop lets go of the lease at once, in the row as in the lock."""
        if self.was_held and self.board is not None:
            try:
                self.board.released(at)
            except Exception as error:  # noqa: BLE001 - the heartbeat goes stale
                log.warning("could not record the lease released", error=str(error))
        if self.metrics is not None:
            self.metrics.lease_held.set(0)
