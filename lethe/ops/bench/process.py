"""`lethe run` as a child process, as an operator starts it, and its JSON log."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lethe.consumers.loop import assigned_partitions


def vm_kb(pid: int, key: str) -> int:
    """A /proc/PID/status figure in kB (0 once the process is gone).

    A peak is VmHWM, never getrusage's ru_maxrss: Linux carries ru_maxrss
    across exec, so a child of a large parent (the bench, after writing a
    million events) reports the parent's peak as its own.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


class ChildrenPeak:
    """The largest VmHWM of this process's children while the block runs.

    Sampled every `interval_s` from /proc (a child's own figure, which it
    cannot report once it has exited); the peak of a worker that grows to
    its end is read at most `interval_s` before it exits.
    """

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildrenPeak:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval_s):
            for pid in _children(me):
                self.peak_kb = max(self.peak_kb, vm_kb(pid, "VmHWM"))


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid ...: comm may hold spaces, so split after ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def lethe_binary() -> str:
    beside = Path(sys.executable).with_name("lethe")
    return str(beside) if beside.exists() else shutil.which("lethe") or "lethe"


class RunProcess:
    """One `lethe run` (or `lethe relay`); its log goes to a temporary file."""

    def __init__(
        self, env: dict[str, str], log_level: str = "INFO", command: str = "run"
    ) -> None:
        self.command = command
        # Closed in stop(): the log outlives this constructor on purpose.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"lethe-{command}-", suffix=".log"
        )
        self.process = subprocess.Popen(
            [lethe_binary(), command, "--log-level", log_level],
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

    def wait_until(
        self,
        what: str,
        done: Callable[[], bool],
        timeout_s: float = 300,
        poll_s: float = 0.1,
    ) -> None:
        """Poll `done` until true; RuntimeError with the log's tail if this
        process exits first or `timeout_s` passes."""
        deadline = time.monotonic() + timeout_s
        while not done():
            if not self.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"lethe {self.command}: no {what}:\n{self.tail()}")
            time.sleep(poll_s)

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
            raise RuntimeError(f"lethe {self.command} exited {code}:\n{self.tail()}")
        self.log.close()

    def tail(self, chars: int = 3000) -> str:
        return Path(self.log.name).read_text(errors="replace")[-chars:]
