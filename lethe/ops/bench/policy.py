"""Policy change: `what-if` and `apply` of a new version over a store of live items.

The store is filled as for the RSS figure (real events copied by COPY, not
timed), its schedule view caught up (not timed); then, on a copy per run, the
what-if (one query and the arithmetic) and the apply (items loaded, moved and
saved a chunk at a time, the schedule view following) are timed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from lethe.domain.policy import Policy, parse_policy
from lethe.ops.bench.fill import CONTROLLER, fill_live_items
from lethe.ops.bench.infra import BenchContext, Stopwatch
from lethe.ops.bench.stats import Figure, Say
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from lethe.projections.policy_change import apply_policy, plan

NEW_VERSION = "2099-01-01.1"


def new_version(current: Policy) -> tuple[Policy, str]:
    """The shipped policy with images kept 14 days and arming logs 1 day: every
    filled item moves (images later, arming logs earlier and due at once)."""
    text = (files("lethe.policies") / f"{current.id}.toml").read_text("utf-8")
    text = text.replace(f'version = "{current.version}"', f'version = "{NEW_VERSION}"')
    text = text.replace('due = "captured + 7 days"', 'due = "captured + 14 days"')
    text = text.replace('due = "captured + 3 months"', 'due = "captured + 1 days"')
    return parse_policy(text, "bench"), text


def run_once(settings: Settings) -> dict[str, Any]:
    runtime = build_runtime(settings)
    try:
        app, views = runtime.app, runtime.views
        policy, text = new_version(app.policies[CONTROLLER])
        now = datetime.now(UTC)
        watch = Stopwatch()
        moves = plan(app, views, policy, now)
        what_if_s = watch.split()[0]
        app.adopt_policy(policy, text, "bench", now)
        applied = apply_policy(app, views, policy, now)
        runtime.catch_up()
        apply_s = watch.split()[0] - what_if_s
    finally:
        runtime.app.close()
    planned = sum(m.counts["earlier"] + m.counts["later"] for m in moves.values())
    return {
        "what_if_s": round(what_if_s, 2),
        "apply_s": round(apply_s, 2),
        "planned_moves": planned,
        "moved": applied.moved,
    }


def measure(
    bench: BenchContext, items: int, runs: int, quick: bool, say: Say
) -> tuple[list[Figure], dict[str, Any]]:
    """One store of `items` live items; each run on a copy of its own."""
    with bench.database() as template:
        watch = Stopwatch()
        filled = fill_live_items(template, items)
        runtime = build_runtime(template)
        runtime.catch_up()
        runtime.app.close()
        say(
            f"policy: {filled:,} live items, view caught up in {watch.split()[0]:.0f} s"
        )
        results = []
        for r in range(runs):
            with bench.copy_of(template.postgres_dbname) as settings:
                results.append(run_once(settings))
            say(f"policy run {r + 1}: {results[-1]}")
    size = f"{filled:,} live items, every one moved"
    figures = [
        Figure(
            "policy_what_if_s",
            "policy what-if: a new version over the live items",
            "s",
            size,
            [run["what_if_s"] for run in results],
            None,
            quick,
        ),
        Figure(
            "policy_apply_items_per_s",
            "policy apply: items rescheduled and the schedule view caught up",
            "items/s",
            size,
            [run["moved"] / run["apply_s"] for run in results],
            None,
            quick,
        ),
    ]
    return figures, {"runs": results, "live_items": filled}
