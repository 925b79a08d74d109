"""The support CLI as a client of `lethe serve`: no database settings at all.

A real uvicorn serves a real store; the CLI, in a directory with no store and
no LETHE_STORE/POSTGRES settings, is given only LETHE_URL and a token.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lethe.ops.access.roles import Role
from lethe.ops.access.settings import AccessSettings
from lethe.ops.access.tokens import TokenStore
from lethe.ops.cli.main import main
from lethe.ops.http.app import build_app
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from tests.support.http import ingest_one, live_server
from tests.support.ingest import lethe_env

pytestmark = pytest.mark.integration

ITEM, SUBJECT = "evt-remote-1", "cust-remote-1"


@pytest.fixture
def server(
    pg_schema_env: dict[str, str],
) -> Iterator[tuple[str, dict[Role, str], Runtime]]:
    env = lethe_env(pg_schema_env, "127.0.0.1:1", "t", "g")
    runtime = build_runtime(Settings.from_env(env))
    ingest_one(runtime.app, ITEM, SUBJECT, "alarm-event")
    runtime.catch_up()
    tokens = TokenStore(runtime.views)
    now = datetime.now(UTC)
    by_role = {
        role: tokens.create(role.value, frozenset({role}), "test", now, None)
        for role in Role
    }
    with live_server(build_app(runtime, AccessSettings.from_env(env))) as base:
        yield base, by_role, runtime


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no store, and a config dir of its own."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


def lethe(base: str, token: str | None, *args: str) -> Result:
    env = {"LETHE_URL": base, **({"LETHE_TOKEN": token} if token else {})}
    return CliRunner().invoke(main, list(args), env=env)


def test_support_commands_go_through_the_api_with_no_database_settings(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, tokens, runtime = server
    legal = tokens[Role.LEGAL]

    placed = lethe(base, legal, "hold", "place", "--item", ITEM, "--case", "POL-9",
                   "--reason", "police case")  # fmt: skip
    assert placed.exit_code == 0, placed.output
    assert placed.output == f"hold POL-9 placed on item {ITEM}\n"
    held = runtime.app.get_item(ITEM).holds["POL-9"]
    assert held["by"] == "token:legal"  # the principal, not a free-text --by
    released = lethe(base, legal, "hold", "release", "--item", ITEM, "--case", "POL-9")
    assert released.output == f"hold POL-9 released from item {ITEM}\n"
    assert runtime.app.get_item(ITEM).holds == {}

    support = tokens[Role.SUPPORT]
    restricted = lethe(base, support, "restrict", "--item", ITEM, "--ticket", "T-1",
                       "--reason", "accuracy contested")  # fmt: skip
    assert restricted.output == f"restriction T-1 recorded on item {ITEM}\n"
    lifted = lethe(base, support, "lift", "--item", ITEM, "--ticket", "T-1")
    assert lifted.output == f"restriction T-1 lifted from item {ITEM}\n"
    assert not (nowhere / "var").exists()  # no store was opened or made here


def test_an_item_looked_up_through_the_api_prints_what_the_store_prints(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, tokens, runtime = server
    lethe(base, tokens[Role.LEGAL], "hold", "place", "--item", ITEM, "--case",
          "POL-3", "--reason", "police case")  # fmt: skip
    remote = lethe(base, tokens[Role.SUPPORT], "item", ITEM)
    assert remote.exit_code == 0, remote.output
    local = CliRunner().invoke(main, ["item", ITEM], env=runtime.settings.env)
    assert local.exit_code == 0, local.output
    assert remote.output == local.output
    assert "hold      POL-3: police case (by token:legal" in remote.output


def test_an_erasure_request_through_the_api_is_recorded_for_the_principal(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, tokens, runtime = server
    asked = lethe(base, tokens[Role.SUPPORT], "erase", "subject", SUBJECT,
                  "--reason", "customer asked", "--ticket", "T-77")  # fmt: skip
    assert asked.exit_code == 0, asked.output
    request, answer_by, *_ = asked.output.splitlines()
    assert request.startswith("request   ")
    assert answer_by.startswith("answer by end of ") and "(Europe/Oslo)" in answer_by
    subject = runtime.app.get_subject("sector-alarm", SUBJECT)
    [recorded] = subject.requests.values()
    # The ticket is sealed under the subject's key (issue 13), and the request,
    # carried out at once (one alarm event), destroyed that key with it.
    assert recorded["ticket"].startswith("sealed:v1:")
    assert runtime.app.open_text(subject.subject_ref, recorded["ticket"]) == (
        "(shredded)"
    )
    [event] = [
        e for e in runtime.app.events.get(subject.id)
        if type(e).__name__ == "ErasureRequested"
    ]  # fmt: skip
    assert event.requested_by == "token:support"


def test_at_is_refused_through_the_api_and_nothing_is_sent(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, tokens, runtime = server
    result = lethe(base, tokens[Role.LEGAL], "hold", "place", "--item", ITEM,
                   "--case", "POL-4", "--reason", "r",
                   "--at", "2026-01-01T00:00Z")  # fmt: skip
    assert result.exit_code == 2
    assert "--at is not available through the API" in result.output
    assert runtime.app.get_item(ITEM).holds == {}


def test_an_items_history_through_the_api_is_the_table_the_store_prints(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, tokens, runtime = server
    lethe(base, tokens[Role.LEGAL], "hold", "place", "--item", ITEM, "--case",
          "POL-5", "--reason", "police case")  # fmt: skip
    remote = lethe(base, tokens[Role.AUDITOR], "audit", "item", ITEM)
    assert remote.exit_code == 0, remote.output
    local = CliRunner().invoke(main, ["audit", "item", ITEM], env=runtime.settings.env)
    assert remote.output == local.output
    assert "HoldPlaced" in remote.output


def test_a_subjects_history_through_the_api_is_the_table_the_store_prints(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, tokens, runtime = server
    lethe(base, tokens[Role.LEGAL], "hold", "place", "--subject", SUBJECT, "--case",
          "POL-6", "--reason", "police case")  # fmt: skip
    remote = lethe(base, tokens[Role.AUDITOR], "audit", "subject", SUBJECT)
    assert remote.exit_code == 0, remote.output
    local = CliRunner().invoke(
        main, ["audit", "subject", SUBJECT], env=runtime.settings.env
    )
    assert local.exit_code == 0, local.output
    assert remote.output == local.output
    assert f"subject   {SUBJECT}" in remote.output and ITEM in remote.output
    refused = lethe(base, tokens[Role.SUPPORT], "audit", "subject", SUBJECT)
    assert refused.exit_code == 2 and "auditor" in refused.output


def test_a_refused_call_prints_the_role_it_needs(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, tokens, runtime = server
    refused = lethe(base, tokens[Role.SUPPORT], "hold", "place", "--item", ITEM,
                    "--case", "POL-1", "--reason", "x")  # fmt: skip
    assert refused.exit_code == 2
    assert refused.output.startswith("lethe: ")
    assert "legal" in refused.output and refused.output.count("\n") == 1
    assert runtime.app.get_item(ITEM).holds == {}


def test_an_unknown_item_exits_3_as_on_the_store(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, tokens, _ = server
    result = lethe(base, tokens[Role.LEGAL], "hold", "place", "--item", "nope",
                   "--case", "POL-1", "--reason", "x")  # fmt: skip
    assert result.exit_code == 3, result.output


def test_lethe_login_keeps_the_token_for_its_owner_only(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, tokens, runtime = server
    logged = CliRunner().invoke(
        main, ["login", "--url", base], input=tokens[Role.LEGAL] + "\n"
    )
    assert logged.exit_code == 0, logged.output
    assert "as token:legal (roles: legal)" in logged.output
    kept = nowhere / "config" / "lethe" / "token"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # Later commands need only LETHE_URL: the kept token is used.
    placed = lethe(base, None, "hold", "place", "--item", ITEM, "--case", "POL-2",
                   "--reason", "police case")  # fmt: skip
    assert placed.exit_code == 0, placed.output
    assert "POL-2" in runtime.app.get_item(ITEM).holds


def test_a_bad_token_is_refused_at_login_and_nothing_is_kept(
    server: tuple[str, dict[Role, str], Any], nowhere: Path
) -> None:
    base, _, _ = server
    logged = CliRunner().invoke(main, ["login", "--url", base], input="lethe_x.y\n")
    assert logged.exit_code == 2
    assert "the API token is not valid; run `lethe login`" in logged.output
    assert not (nowhere / "config" / "lethe" / "token").exists()
