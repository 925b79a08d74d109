"""`lethe demo` tells a story that could have happened, and passes its own audit."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lethe.domain.item import Item
from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.settings import Settings
from lethe.projections.audit_replay import replay

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str]:
    workdir = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        main, ["demo", "--customers", "60", "--dir", str(workdir)]
    )
    assert result.exit_code == 0, result.output
    env = {"LETHE_STORE": "sqlite", "LETHE_SQLITE_PATH": str(workdir / "lethe.db")}
    return env, result.output


def test_the_demo_store_passes_audit_verify(
    demo_store: tuple[dict[str, str], str],
) -> None:
    env, output = demo_store
    result = CliRunner(env=env).invoke(main, ["audit", "verify", "--json"])
    document = json.loads(result.output)
    assert result.exit_code == 0, document["violations"]
    assert document["ok"] and document["counts"] == {}
    # Judged against the sweeps it recorded, not the older bound; and it erased.
    assert document["sweeps"] > 0
    assert document["lateness"]["basis"] == "recorded-sweeps"
    assert "erasure orders" in output and " 0 erasure orders" not in output


def test_the_demo_history_is_in_order_and_in_the_past(
    demo_store: tuple[dict[str, str], str],
) -> None:
    env, _ = demo_store
    app = build_app(Settings.from_env(env))
    now = datetime.now(UTC)
    streams: dict[Any, list[tuple[str, datetime]]] = defaultdict(list)
    try:
        for event in replay(app):
            instant = getattr(event, "at", None) or getattr(event, "ingested_at", None)
            if isinstance(event, Item.Event) and instant is not None:
                streams[event.originator_id].append((type(event).__name__, instant))
    finally:
        app.close()
    erased = [s for s in streams.values() if s[-1][0] == "Erased"]
    assert erased  # the story erases images; each one's timeline must read in order
    for stream in streams.values():
        instants = [at for _, at in stream]
        assert instants == sorted(instants), stream
        assert instants[-1] <= now, stream  # nothing written in the future
    for stream in erased:
        kinds = [kind for kind, _ in stream]
        assert kinds.index("ErasureOrdered") < kinds.index("Erased"), stream


def test_the_demo_says_how_to_open_the_console(
    demo_store: tuple[dict[str, str], str],
) -> None:
    env, output = demo_store
    (line,) = [x for x in output.splitlines() if x.startswith("console:")]
    assert line == (
        f"console: LETHE_SQLITE_PATH={env['LETHE_SQLITE_PATH']} .venv/bin/lethe serve,"
        " then open http://127.0.0.1:8080/"
    )


def test_the_demo_does_not_call_a_request_carried_out_while_orders_are_out(
    demo_store: tuple[dict[str, str], str],
) -> None:
    """The request's line agrees with the table printed under it: items still
    `erasure-ordered` await the stores, so the answer waits for them too."""
    _, output = demo_store
    lines = output.splitlines()
    (at,) = [i for i, x in enumerate(lines) if "from the first caller:" in x]
    shown = lines[at + 1 : at + 7]
    out = sum(int(x.split()[-1]) for x in shown if " erasure-ordered " in x)
    if out:
        assert f"orders made: {out}; answered once the stores confirm" in lines[at]
    else:
        assert "no order awaits a store" in lines[at]
    assert "carried out" not in lines[at]


def test_no_customer_id_of_the_demo_reaches_its_log_or_output(
    demo_store: tuple[dict[str, str], str],
) -> None:
    # The workload's customers are cust-<seed>-<n>. Item ids once embedded them,
    # so every log line about an item named its customer.
    env, output = demo_store
    log = Path(env["LETHE_SQLITE_PATH"]).with_name("lethe.log").read_text()
    assert "img-" in log  # the log does name items: by opaque ids
    assert "cust-" not in log
    assert "cust-" not in output
