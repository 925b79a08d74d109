"""`lethe run` as a child process, as an operator starts it, and its JSON log."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from lethe.consumers.loop import assigned_partitions


def lethe_binary() -> str:
    beside = Path(sys.executable).with_name("lethe")
    return str(beside) if beside.exists() else shutil.which("lethe") or "lethe"


class RunProcess:
    """One `lethe run`; its log goes to a temporary file we can read."""

    def __init__(self, env: dict[str, str], log_level: str = "INFO") -> None:
        # Closed in stop(): the log outlives this constructor on purpose.
        self.log = tempfile.NamedTemporaryFile(prefix="lethe-run-", suffix=".log")  # noqa: SIM115
        self.process = subprocess.Popen(
            [lethe_binary(), "run", "--log-level", log_level],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def lines(self, event: str) -> list[dict[str, Any]]:
        """The JSON log lines of one event name so far."""
        found = []
        for line in Path(self.log.name).read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"{event}"' in line:
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return [line for line in found if line.get("event") == event]

    def assigned(self) -> set[str]:
        """The partitions of the latest assignment (empty before the first)."""
        assignments = self.lines("partitions assigned")
        return assigned_partitions(assignments[-1]) if assignments else set()

    def stop(self, timeout: float = 120) -> None:
        """SIGTERM and wait; RuntimeError with the log's tail on a bad exit."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        if code != 0:
            raise RuntimeError(f"lethe run exited {code}:\n{self.tail()}")
        self.log.close()

    def tail(self, chars: int = 3000) -> str:
        return Path(self.log.name).read_text(errors="replace")[-chars:]
