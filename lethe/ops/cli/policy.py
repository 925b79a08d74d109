"""`lethe policy what-if FILE` and `apply FILE`: a new version, dry run first."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from lethe.domain.application import Lethe
from lethe.domain.errors import BadCommandError
from lethe.domain.policy import Policy, PolicyFileError, parse_policy
from lethe.domain.policy_change import (
    CategoryMoves,
    read_new_version,
    refuse_dropped_categories,
)
from lethe.ops.cli.store import name_store, open_runtime
from lethe.ops.cli.support import INSTANT
from lethe.projections.policy_change import (
    Applied,
    apply_policy,
    live_categories,
    plan,
)

POLICY_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadCommandError(f"{path}: not a UTF-8 policy file") from None


@click.command("what-if")
@click.argument("file", type=POLICY_FILE)
@click.option("--now", type=INSTANT, default=None, help="Judge as of [default: now].")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def what_if(file: Path, now: datetime | None, as_json: bool) -> None:
    """How a new version of a policy would move the live items; changes nothing."""
    runtime = open_runtime()
    app = runtime.app
    text = _read(file)
    policy = read_new_version(text, file.name, _current(app, text, file.name))
    moves = plan(app, runtime.views, policy, now or datetime.now(UTC))
    in_force = app.policies[policy.id].ref
    if as_json:
        click.echo(json.dumps(_document(in_force, policy, moves), indent=2))
        return
    click.echo(f"{in_force} in force; {file.name} holds {policy.ref}")
    for line in _table(moves):
        click.echo(line)
    click.echo(f"nothing was rescheduled; `lethe policy apply {file}` does it")


def _current(app: Lethe, text: str, source: str) -> Policy | None:
    try:
        policy_id = parse_policy(text, source).id
    except PolicyFileError as error:
        raise BadCommandError(str(error)) from None
    return app.policies.get(policy_id)


def _document(in_force: str, policy: Policy, moves: dict[str, CategoryMoves]) -> Any:
    return {
        "in_force": in_force,
        "new": policy.ref,
        "categories": {
            category: {
                "earlier": m.counts["earlier"],
                "later": m.counts["later"],
                "unchanged": m.counts["unchanged"],
                "due_at_once": m.due_at_once,
                "examples": m.examples,
            }
            for category, m in sorted(moves.items())
        },
    }


def _table(moves: dict[str, CategoryMoves]) -> list[str]:
    head = (
        f"{'category':<30} {'earlier':>8} {'later':>8} {'unchanged':>10} {'due now':>8}"
    )
    lines = [head]
    for category, m in sorted(moves.items()):
        c = m.counts
        lines.append(
            f"{category:<30} {c['earlier']:>8} {c['later']:>8}"
            f" {c['unchanged']:>10} {m.due_at_once:>8}"
        )
        for kind, refs in sorted(m.examples.items()):
            if kind != "unchanged":
                lines.append(f"    {kind.replace('_', ' ')}: {', '.join(refs)}")
    return lines


@click.command("apply")
@click.argument("file", type=POLICY_FILE)
@click.option("--by", required=True, help="Who applies it (recorded).")
@click.option("--now", type=INSTANT, default=None, help="Record as of [default: now].")
def apply(file: Path, by: str, now: datetime | None) -> None:
    """Put a new version in force and reschedule every live item under it."""
    runtime = open_runtime()
    app, at = runtime.app, now or datetime.now(UTC)
    text = _read(file)
    current = _current(app, text, file.name)
    policy = _resumable(app, text, file.name) or read_new_version(
        text, file.name, current
    )
    # Before anything is recorded: a version in force that cannot schedule a
    # live item would refuse that category's arrivals and strand the item.
    refuse_dropped_categories(policy, live_categories(runtime.views, policy.id))
    recorded = app.adopt_policy(policy, text, by, at)
    name_store(runtime.settings)
    click.echo(
        f"{policy.ref} in force"
        + ("" if recorded else " already: finishing what a run before left")
    )
    done = apply_policy(app, runtime.views, policy, at, _progress)
    runtime.catch_up()  # the schedule view follows before we say it is done
    click.echo(
        f"rescheduled {done.moved} live items under {policy.ref}; {done.same_due}"
        f" keep their due time under it; {done.untouched} were under it already"
        " or ordered meanwhile"
    )


def _resumable(app: Lethe, text: str, source: str) -> Policy | None:
    """The version in force, if `text` is exactly what apply adopted: a re-run
    (after a crash, or to bring over items that arrived under the old one)."""
    policy = parse_policy(text, source)
    in_force = app.policies.get(policy.id)
    if in_force is None or in_force.ref != policy.ref:
        return None
    if app.adopted_text(policy) == text:
        return policy
    raise BadCommandError(
        f"{source}: version {policy.version} is the one in force already;"
        " give a changed policy a new version"
    )


def _progress(applied: Applied) -> None:
    click.echo(f"  {applied.seen} items looked at", err=True)
