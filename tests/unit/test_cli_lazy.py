"""The lazy command map: every entry loads, --help lists it, and nothing heavy loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from lethe.ops.cli.main import COMMANDS, main

TOP_LEVEL = sorted(name for name in COMMANDS if " " not in name)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_lazy_entry_loads_the_command_its_short_help_describes(name: str) -> None:
    entry = COMMANDS[name]
    command = entry.load()
    # The map's help is what --help shows without importing; it must be the
    # command's own first sentence, or the two drift apart.
    assert command.get_short_help_str(limit=1000) == entry.short_help


def test_help_lists_every_command_with_its_short_help() -> None:
    result = CliRunner().invoke(main, ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:", 1)[1]
    rows = dict(line.strip().split(None, 1) for line in listed.strip().splitlines())
    assert sorted(rows) == TOP_LEVEL
    for name in TOP_LEVEL:
        assert rows[name] == COMMANDS[name].short_help


def test_a_subcommand_entry_joins_its_group() -> None:
    audit = main.get_command(click.Context(main), "audit")
    assert isinstance(audit, click.Group)
    assert audit.get_command(click.Context(audit), "report") is not None


def test_an_unknown_command_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["retenton"])
    assert result.exit_code == 2
    assert "No such command 'retenton'" in result.output


HEAVY = ("eventsourcing", "kafka", "fastapi", "fastavro", "cryptography",
         "prometheus_client", "psycopg", "rich")  # fmt: skip


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return {line.partition(".")[0] for line in out.splitlines()}


def test_importing_the_cli_imports_no_heavy_library() -> None:
    loaded = _modules_after("import lethe.ops.cli.main")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_and_retention_due_import_no_heavy_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With no store here, `retention due` answers from the shipped file alone;
    # with one it reads the version in force (tests/e2e/test_cli_policy.py).
    monkeypatch.setenv("LETHE_STORE", "sqlite")
    monkeypatch.setenv("LETHE_SQLITE_PATH", str(tmp_path / "none.db"))
    run = (
        "from lethe.ops.cli.main import main\n"
        "import sys\n"
        "for argv in (['--help'], ['retention', 'due', '--policy', 'sector-alarm',"
        " '--category', 'verification-image', '--captured-at',"
        " '2026-03-25T12:00:00+01:00']):\n"
        "    try:\n"
        "        main(argv, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass"
    )
    loaded = _modules_after(run)
    assert "lethe" in loaded  # the probe ran the commands
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
