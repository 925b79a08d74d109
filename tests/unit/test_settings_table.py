"""The README's settings table is the code's: every LETHE_* variable, its default."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import lethe
from lethe.ops.cli import settings_table
from lethe.ops.settings import HELP, Settings

PACKAGE = Path(lethe.__file__).parent
NAME = re.compile(r"(?<![A-Z0-9_])LETHE_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])")


def test_the_readme_table_is_the_one_the_code_generates() -> None:
    readme = settings_table.README.read_text()
    assert settings_table.with_table(readme) == readme, (
        "README.md's settings table is stale: run "
        "python -m lethe.ops.cli.settings_table --write"
    )


def test_every_variable_lethe_reads_is_in_the_table() -> None:
    documented = {name for name, _default in settings_table.variables()}
    named = {
        (name, str(path.relative_to(PACKAGE)))
        for path in PACKAGE.rglob("*.py")
        for name in _names_in_strings(path)
    }
    missing = sorted((n, where) for n, where in named if n not in documented)
    assert missing == [], f"add these to lethe.ops.settings.HELP: {missing}"


def test_the_names_the_issue_found_missing_are_there() -> None:
    table = settings_table.table()
    for name in (
        "LETHE_DEFAULT_CONTROLLER",
        "LETHE_GROUP_ID",
        "LETHE_ANSWER_WARNING_DAYS",
        "LETHE_KAFKA_BOOTSTRAP",
        "LETHE_KAFKA_SASL_MECHANISM",
        "LETHE_METRICS_PORT",
    ):
        assert f"| `{name}` |" in table


def test_a_default_in_the_table_is_the_one_settings_use() -> None:
    settings = Settings.from_env({})
    table = settings_table.table()
    assert f"| `LETHE_SWEEP_INTERVAL_S` | `{settings.sweep_interval_s:g}` |" in table
    assert f"| `LETHE_DEFAULT_CONTROLLER` | `{settings.default_controller}` |" in table


def test_a_setting_without_help_is_refused_by_name() -> None:
    saved = HELP.pop("LETHE_GROUP_ID")
    try:
        try:
            settings_table.table()
        except settings_table.MissingHelp as error:
            assert "LETHE_GROUP_ID" in str(error)
        else:
            raise AssertionError("a setting without help made a table")
    finally:
        HELP["LETHE_GROUP_ID"] = saved


def _names_in_strings(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= set(NAME.findall(node.value))
    return found
