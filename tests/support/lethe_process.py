"""`lethe run` (or `lethe relay`) as a separate process, as operators start it,
with its JSON log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lethe.consumers.loop import assigned_partitions
from tests.support.leak_scan import lethe_process_log

LETHE = Path(sys.executable).with_name("lethe")


class LetheProcess:
    def __init__(
        self, env: dict[str, str], log_path: Path, command: str = "run"
    ) -> None:
        self.log_path = log_path
        self.command = command
        lethe_process_log(log_path)  # the suite's leak scan reads it at the end
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(LETHE), command],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def lines(self) -> list[dict[str, Any]]:
        """Every JSON line of the log so far (a traceback and such are skipped)."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == name]

    def assigned(self) -> set[str]:
        """The partitions of the latest assignment (empty before the first)."""
        assignments = self.events("partitions assigned")
        return assigned_partitions(assignments[-1]) if assignments else set()

    def wait_for(
        self, what: str, done: Callable[[], bool], timeout: float = 120
    ) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(
                    f"lethe {self.command} exited ({code}):\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout} s:\n{self.tail()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no handler runs, no batch is finished, nothing is flushed."""
        self.process.kill()
        self.process.wait(30)
        self._log.close()

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._log.close()
        return code

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])
