"""The policy versions in force in a store: the shipped files, then what
`lethe policy apply` adopted there (the newest adopted version wins)."""

from __future__ import annotations

from lethe.domain.application import Lethe
from lethe.domain.policy import Policy
from lethe.ops.runtime.bootstrap import shipped_policies
from lethe.ops.runtime.preflight import store_exists
from lethe.ops.settings import Settings


def policies_in_force(settings: Settings) -> dict[str, Policy] | None:
    """Each policy id's version in force in the store; None when there is no
    store to ask (a missing one is not made: this only reads)."""
    if not store_exists(settings):
        return None
    # No vault and no CREATE TABLE: reading the policy records needs neither.
    env = settings.eventsourcing_env() | {"CREATE_TABLE": "false"}
    app = Lethe(env=env, policies=shipped_policies(), vault=None)
    try:
        app.load_adopted_policies()
        return dict(app.policies)
    finally:
        app.close()
