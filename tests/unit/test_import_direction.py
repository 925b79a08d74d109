"""Imports point inward: every module under lethe/ is read with `ast` and checked."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import lethe

PACKAGE_ROOT = Path(lethe.__file__).parent
KAFKA_CLIENTS = {"kafka", "confluent_kafka", "aiokafka"}
# Which lethe layers each layer may import; "lethe" is the package's own __init__.
ALLOWED_LAYERS = {
    "domain": {"domain"},
    "consumers": {"consumers", "domain", "schemas"},
    "projections": {"projections", "domain", "schemas"},
    "schemas": {"schemas", "domain"},
    "policies": {"policies", "domain"},
    "ops": {"ops", "consumers", "projections", "domain", "schemas", "policies"},
    "lethe": set(),
}
# Inside ops/, which rooms each room may import; settings and logging sit at the
# root and every room may use them. The adapters (kafka/) know nothing of the
# processes that use them, and the two entry points for people (cli/, http/)
# never import each other.
ALLOWED_ROOMS = {
    "kafka": {"kafka"},
    "runtime": {"runtime", "kafka"},
    "eraser": {"eraser", "runtime", "kafka"},
    "demo": {"demo", "eraser", "runtime", "kafka", "cli"},
    "bench": {"bench", "demo", "eraser", "runtime", "kafka", "cli"},
    "cli": {"cli", "bench", "demo", "eraser", "runtime", "kafka", "access"},
    "http": {"http", "eraser", "runtime", "kafka", "access"},
    # Identity and roles: what both entry points for people need, below them.
    "access": {"access", "runtime"},
    "deploy": set(),
    "root": set(),
}
ROOT_MODULES = {"settings", "logging"}


@dataclass(frozen=True)
class Import:
    target: str
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool = False) -> list[Import]:
    """Every import in the module, top level or not, with relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            for alias in node.names:
                # `from lethe import ops` names the layer in the alias.
                target = f"{base}.{alias.name}" if base == "lethe" else base
                found.append(Import(target, node.lineno))
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "lethe"


def room_of(module: str) -> str:
    """`lethe.ops.kafka.relay` is in room "kafka"; `lethe.ops.settings` in "root"."""
    parts = module.split(".")
    if len(parts) < 3 or parts[2] in ROOT_MODULES:
        return "root"
    return parts[2]


def _room_allows(module: str, target: str) -> bool:
    if layer_of(module) != "ops" or layer_of(target) != "ops":
        return True
    target_room = room_of(target)
    return target_room == "root" or target_room in ALLOWED_ROOMS.get(
        room_of(module), set()
    )


def violations(module: str, imports: list[Import]) -> list[str]:
    layer = layer_of(module)
    wrong = []
    for imp in imports:
        top = imp.target.split(".")[0]
        if top == "lethe":
            ok = layer_of(imp.target) in ALLOWED_LAYERS.get(layer, set())
            ok = ok and _room_allows(module, imp.target)
        elif top == "__future__" or top in sys.stdlib_module_names:
            ok = True
        elif layer == "domain":
            ok = top == "eventsourcing"
        else:
            ok = not (layer == "projections" and top in KAFKA_CLIENTS)
        if not ok:
            wrong.append(f"{module}:{imp.line} imports {imp.target}")
    return wrong


def check_source(source: str, module: str, is_package: bool = False) -> list[str]:
    return violations(module, imports_of(source, module, is_package))


def all_modules() -> list[Path]:
    return sorted(PACKAGE_ROOT.rglob("*.py"))


# -- the package as it is ------------------------------------------------------------


def test_every_layer_is_known_to_the_checker() -> None:
    layers = {layer_of(module_name(path)) for path in all_modules()}
    assert layers <= set(ALLOWED_LAYERS), sorted(layers - set(ALLOWED_LAYERS))
    assert {"domain", "projections", "ops"} <= layers


def test_every_import_in_lethe_points_inward() -> None:
    wrong = []
    for path in all_modules():
        is_package = path.name == "__init__.py"
        wrong += check_source(
            path.read_text(encoding="utf-8"), module_name(path), is_package
        )
    assert wrong == []


# -- the checker catches what it must --------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("lethe.domain.item", "import lethe.ops.settings"),
        ("lethe.domain.item", "from lethe.projections.store import SqlViews"),
        ("lethe.domain.item", "from lethe.consumers import codec"),
        ("lethe.domain.item", "import psycopg"),
        ("lethe.domain.item", "def f():\n    import structlog\n"),
        ("lethe.domain.item", "from ..ops.settings import Settings"),
        ("lethe.domain.item", "from lethe import ops"),
        ("lethe.projections.schedule", "from lethe.ops.runtime import vault"),
        ("lethe.projections.schedule", "from ..ops import vault"),
        ("lethe.projections.sweeper", "import kafka"),
        ("lethe.projections.sweeper", "from kafka.producer import KafkaProducer"),
        ("lethe.projections.sweeper", "from lethe.consumers.codec import Catalogue"),
        ("lethe.consumers.loop", "from lethe.ops.settings import Settings"),
        (
            "lethe.consumers.loop",
            "from lethe.projections.schedule import ScheduleProcess",
        ),
        ("lethe.schemas", "from lethe.ops import cli"),
        ("lethe.policies", "from lethe.ops.runtime.bootstrap import build_app"),
        ("lethe.ops.kafka.relay", "from lethe.ops.cli.support import UserError"),
        ("lethe.ops.kafka.topics", "from lethe.ops.runtime import bootstrap"),
        ("lethe.ops.runtime.run", "from lethe.ops.cli import main"),
        ("lethe.ops.demo.main", "from lethe.ops.bench.infra import admin"),
        ("lethe.ops.http.app", "from lethe.ops.cli.support import UserError"),
        ("lethe.ops.cli.main", "from lethe.ops.http import app"),
        ("lethe.ops.settings", "from lethe.ops.kafka import settings"),
        ("lethe.ops.access.tokens", "from lethe.ops.http import app"),
        ("lethe.ops.access.roles", "from lethe.ops.cli.support import UserError"),
    ],
)
def test_the_checker_catches_a_planted_violation(module: str, source: str) -> None:
    assert len(check_source(source, module)) == 1


def test_a_relative_import_in_a_package_init_is_resolved_from_the_package() -> None:
    assert check_source("from ..ops import settings", "lethe.domain", is_package=True)
    assert not check_source(
        "from .ops import settings", "lethe.domain", is_package=True
    )
    assert not check_source("from . import item", "lethe.domain", is_package=True)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("lethe.domain.item", "from datetime import datetime\nimport uuid"),
        ("lethe.domain.item", "from eventsourcing.domain import Aggregate"),
        (
            "lethe.domain.item",
            "from lethe.domain import identity\nfrom . import errors",
        ),
        (
            "lethe.projections.sweeper",
            "from lethe.domain.item import Item\nimport psycopg",
        ),
        (
            "lethe.consumers.loop",
            "import kafka\nfrom lethe.domain.application import Lethe",
        ),
        (
            "lethe.ops.runtime.bootstrap",
            "from lethe.projections.schedule import ScheduleProcess",
        ),
        ("lethe.ops.cli.main", "from lethe.ops.cli import support\nimport click"),
        ("lethe.ops.kafka.relay", "from lethe.ops.settings import Settings"),
        ("lethe.ops.runtime.run", "from lethe.ops.kafka.relay import Relay"),
        ("lethe.ops.bench.sweep", "from lethe.ops.demo.workload import DayShape"),
    ],
)
def test_the_checker_lets_inward_imports_through(module: str, source: str) -> None:
    assert check_source(source, module) == []
