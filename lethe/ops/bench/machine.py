"""What the figures were measured on: cores, memory, versions, load."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import version
from typing import Any

from lethe.ops.bench.infra import admin
from lethe.ops.settings import Settings

LIBRARIES = ("eventsourcing", "kafka-python", "crc32c", "fastavro", "psycopg")


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def describe(settings: Settings) -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": round(_mem_kb("MemTotal") / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": _postgres_version(settings),
        "libraries": {name: version(name) for name in LIBRARIES},
        "commit": _commit(),
        "load_at_start": load(),
    }


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _mem_kb(key: str) -> int:
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _postgres_version(settings: Settings) -> str:
    with admin(settings) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(__file__),
        )
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return out.stdout.strip()
