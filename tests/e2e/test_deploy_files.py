"""The deployment files in lethe/ops/deploy/ are valid and name only what Lethe has:
its settings, its commands, its probes and the metrics a live /metrics exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from kafka import TopicPartition

import lethe
from lethe.consumers.batch import Taken
from lethe.ops.cli import settings_table
from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.runtime.metrics import Metrics
from lethe.ops.runtime.metrics_server import MetricsServer, observe
from lethe.ops.settings import Settings
from lethe.projections.runner import RunnerBoard
from tests.support.scrape import Scrape

DEPLOY = Path(lethe.__file__).parent / "ops" / "deploy"
LETHE = str(Path(sys.executable).with_name("lethe"))
SETTINGS = {name for name, _default in settings_table.variables()}
METRIC = re.compile(r"\blethe_[a-z_]+\b")
PROBES = {"/healthz", "/readyz"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[set[str]]:
    """Every metric name a live /metrics serves once each kind of work was done."""
    path = tmp_path_factory.mktemp("metrics") / "lethe.db"
    settings = Settings.from_env({"LETHE_SQLITE_PATH": str(path)})
    runtime = build_runtime(settings)
    board = RunnerBoard(runtime.views, "host:1", settings.sweep_interval_s)
    now = datetime.now(UTC)
    board.beat(now)
    board.swept(now, now, 0.25)
    metrics = Metrics()
    metrics.count_taken("alarm.images.v1", Taken(new=1, duplicates=1, dead=1))
    metrics.observe_lag({TopicPartition("alarm.images.v1", 0): 1}, lambda tp: 3)
    metrics.count_sweep(ordered=1, reissued=0)
    readiness = observe(runtime.app, settings, metrics)
    server = MetricsServer("127.0.0.1", 0, metrics.registry, readiness).start()
    try:
        scrape = Scrape.of(f"http://127.0.0.1:{server.port}")
        yield {n.removesuffix("_total") for n in scrape.names()} | scrape.names()
    finally:
        server.close()


def _yaml(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def test_the_compose_file_has_every_part_and_only_lethe_settings() -> None:
    if shutil.which("docker") and _compose_available():
        subprocess.run(
            ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "-q"],
            check=True,
            env={
                **os.environ,
                "POSTGRES_PASSWORD": "x",
                "LETHE_PSEUDONYM_KEY": "ab" * 32,
                "LETHE_KEK": "cd" * 32,
            },
        )
    services = _yaml("compose.yaml")["services"]
    assert {"postgres", "kafka", "lethe-run", "lethe-serve", "lethe-eraser"} <= set(
        services
    )
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert (
        services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    )
    for name, service in services.items():
        assert service.get("image"), f"{name} has no image"
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown {needed}"
        _check_lethe_env(service.get("environment", {}), name)
        if service.get("image") == "lethe:local":
            _check_command(service["command"])
    run_env = services["lethe-run"]["environment"]
    assert run_env["LETHE_METRICS_PORT"] == "9464"
    assert "9464/readyz" in " ".join(services["lethe-run"]["healthcheck"]["test"])


def test_the_kubernetes_manifest_probes_health_and_keeps_secrets_in_a_secret() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "lethe.yaml").read_text()))
    kinds = {doc["kind"]: doc for doc in docs}
    secret, config = kinds["Secret"], kinds["ConfigMap"]
    _check_lethe_env(secret["stringData"], "Secret")
    _check_lethe_env(config["data"], "ConfigMap")
    assert {"LETHE_PSEUDONYM_KEY", "LETHE_KEK", "LETHE_POSTGRES_PASSWORD"} <= set(
        secret["stringData"]
    )
    assert not set(secret["stringData"]) & set(config["data"])  # secrets once
    deployments = [doc for doc in docs if doc["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {"lethe-run", "lethe-serve"}
    for deployment in deployments:
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        _check_command(container["args"])
        probes = {
            container["livenessProbe"]["httpGet"]["path"],
            container["readinessProbe"]["httpGet"]["path"],
        }
        assert probes == PROBES
        assert container["resources"]["limits"]["memory"]
        assert container["resources"]["limits"]["cpu"]
        refs = {list(ref.values())[0]["name"] for ref in container["envFrom"]}
        assert refs == {"lethe-secrets", "lethe-config"}


def test_the_systemd_units_verify() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    names = [u.name for u in units]
    assert names == ["lethe-relay.service", "lethe-run.service", "lethe-serve.service"]
    for unit in units:
        text = unit.read_text()
        assert "Restart=always" in text and "NoNewPrivileges=yes" in text
        assert "ProtectSystem=strict" in text and "DynamicUser=yes" in text
        [start] = re.findall(r"^ExecStart=(\S+) (.+)$", text, re.M)
        _check_command(start[1].split())


def test_systemd_analyze_verifies_the_units_as_installed(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    installed = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        # As installed: the ExecStart path is this checkout's lethe.
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace("/opt/lethe/.venv/bin/lethe", LETHE))
        installed.append(str(copy))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *installed],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_the_alert_rules_name_metrics_lethe_exports(exported: set[str]) -> None:
    rules = _yaml("prometheus/alerts.yaml")
    if shutil.which("promtool"):
        subprocess.run(
            ["promtool", "check", "rules", str(DEPLOY / "prometheus/alerts.yaml")],
            check=True,
        )
    [group] = rules["groups"]
    alerts = {rule["alert"]: rule["expr"] for rule in group["rules"]}
    for needed in (
        "LetheItemsOverdue",
        "LetheConsumerLagGrowing",
        "LetheNoSweep",
        "LetheRequestPastDeadline",
        "LetheRecordsSetAside",
    ):
        assert needed in alerts
    for name, expr in alerts.items():
        named = set(METRIC.findall(expr))
        assert named and named <= exported, f"{name}: {named - exported}"
        assert expr.count("(") == expr.count(")"), name
    assert "3 * lethe_sweep_interval_seconds" in alerts["LetheNoSweep"]


def test_the_dashboard_shows_metrics_lethe_exports(exported: set[str]) -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "lethe-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        named = set(METRIC.findall(expr))
        assert named and named <= exported, f"{expr}: {named - exported}"


def test_the_prometheus_config_scrapes_both_processes() -> None:
    config = _yaml("prometheus/prometheus.yml")
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs == {"lethe-run", "lethe-serve"}
    assert config["rule_files"] == ["/etc/prometheus/alerts.yaml"]


def _check_lethe_env(env: dict[str, Any], where: str) -> None:
    unknown = sorted(k for k in env if k.startswith("LETHE_") and k not in SETTINGS)
    assert unknown == [], f"{where} sets variables Lethe does not read: {unknown}"


def _check_command(args: list[str]) -> None:
    """`args` is a lethe command line that click accepts (its --help answers)."""
    options = [a for a in args if a.startswith("--")]
    words = [a for a in args if not a.startswith("-")][:2]
    command: click.Command = main
    for word in words:
        # get_command, not .commands: the root group may load commands lazily.
        found = getattr(command, "get_command", lambda ctx, name: None)(
            click.Context(command), word
        )
        if found is None:
            break
        command = found
    assert command is not main, f"no lethe command {args}"
    known = {opt for p in command.params for opt in getattr(p, "opts", [])}
    assert set(options) <= known, f"{args}: unknown options {set(options) - known}"


def _compose_available() -> bool:
    done = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return done.returncode == 0
