"""Wiring: the one place that turns settings into a running application."""

from __future__ import annotations

from collections.abc import Mapping

from lethe.domain.application import Lethe
from lethe.domain.policy import Policy
from lethe.ops.settings import Settings
from lethe.ops.vault import SqlSubjectVault
from lethe.policies import load_shipped, shipped_ids
from lethe.projections.store import SqlViews


def shipped_policies() -> dict[str, Policy]:
    return {policy_id: load_shipped(policy_id) for policy_id in shipped_ids()}


def build_app(settings: Settings, policies: Mapping[str, Policy] | None = None) -> Lethe:
    app = Lethe(
        env=settings.eventsourcing_env(),
        policies=policies or shipped_policies(),
        vault=None,
    )
    # The vault shares the event store's database but not its tables.
    app.vault = SqlSubjectVault(SqlViews(app.process_recorder), settings.pseudonym_key)
    return app
