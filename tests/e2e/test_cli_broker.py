"""`lethe broker`: a trial broker in the foreground, started and stopped by a user."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from lethe.ops.cli.broker import MEMORY_WARNING
from tests.support.ingest import metadata, producer_for, read_topic

pytestmark = pytest.mark.e2e

LETHE = [sys.executable, "-c", "from lethe.ops.cli.main import main; main()"]
TOPIC = "alarm.events.v1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """`lethe broker` as a child process, up once it printed its address."""

    def __init__(self, port: int, log: Path) -> None:
        self.process = subprocess.Popen(
            [*LETHE, "broker", "--port", str(port), "--log", str(log)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.said = [self.process.stdout.readline() for _ in range(2)]
        self.bootstrap = f"127.0.0.1:{port}"

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        _, stderr = self.process.communicate(timeout=30)
        return self.process.returncode, stderr


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def started(port: int, tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(port, tmp_path / "tansu.log")
    yield broker
    if broker.process.poll() is None:
        broker.process.kill()
        broker.process.wait()


def topics_on(bootstrap: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def send_event(bootstrap: str) -> None:
    with producer_for({"LETHE_KAFKA_BOOTSTRAP": bootstrap}) as producer:
        producer.send_event("ev-1", "BA", metadata("cust-1", "alarm-event"))


def test_the_broker_prints_its_address_takes_a_record_and_stops_on_sigterm(
    started: Broker,
) -> None:
    assert started.said == [
        f"broker listening on {started.bootstrap} (storage memory://tansu/)\n",
        f"export LETHE_KAFKA_BOOTSTRAP={started.bootstrap}\n",
    ]
    send_event(started.bootstrap)
    (record,) = read_topic(started.bootstrap, TOPIC, 1, settle=0.5)
    assert record.key == b"ev-1"

    code, stderr = started.stop()

    assert code == 0, stderr
    lines = stderr.splitlines()
    assert lines[0] == f"lethe: {MEMORY_WARNING}"
    assert lines[-1] == "broker stopped; its records are gone"


def test_memory_storage_keeps_nothing_across_a_restart_as_it_warns(
    started: Broker, port: int, tmp_path: Path
) -> None:
    send_event(started.bootstrap)
    assert TOPIC in topics_on(started.bootstrap)
    assert started.stop()[0] == 0

    again = Broker(port, tmp_path / "again.log")
    try:
        assert TOPIC not in topics_on(again.bootstrap)
    finally:
        assert again.stop()[0] == 0


def run_lethe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LETHE, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_storage_engine_this_tansu_lacks_is_refused_in_one_line(port: int) -> None:
    url = "postgres://postgres@127.0.0.1/postgres"
    result = run_lethe("broker", "--port", str(port), "--storage", url)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"lethe: Tansu broker on 127.0.0.1:{port} exited")
    assert line.endswith("this Tansu build has no postgres storage engine "
                         "(it offers memory://tansu/ and s3://)")  # fmt: skip
    assert result.stdout == ""


def test_a_port_in_use_is_refused_in_one_line(started: Broker, port: int) -> None:
    result = run_lethe("broker", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"lethe: {MEMORY_WARNING}",
        f"lethe: port {port} is already in use",
    ]


def test_a_broker_that_dies_ends_lethe_broker_with_exit_1(
    started: Broker, tmp_path: Path
) -> None:
    pid = started.process.pid
    (tansu,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    os.kill(int(tansu), signal.SIGKILL)

    _, stderr = started.process.communicate(timeout=30)

    assert started.process.returncode == 1
    assert stderr.splitlines()[-1] == (
        f"lethe: the broker exited; see {tmp_path / 'tansu.log'}"
    )
