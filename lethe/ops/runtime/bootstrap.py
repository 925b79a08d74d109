"""Wiring: the one place that turns settings into a running application."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from lethe.domain.application import Lethe
from lethe.domain.policy import Policy
from lethe.ops.runtime.holidays import public_holidays
from lethe.ops.runtime.keysetup import vault_keys
from lethe.ops.runtime.vault import SqlSubjectVault
from lethe.ops.settings import Settings
from lethe.policies import load_previous, load_shipped, shipped_ids
from lethe.projections.schedule import ScheduleProcess
from lethe.projections.store import SqlViews
from lethe.projections.support_desk import SupportDesk
from lethe.projections.sweeper import Sweeper


def shipped_policies() -> dict[str, Policy]:
    return {policy_id: load_shipped(policy_id) for policy_id in shipped_ids()}


def build_app(
    settings: Settings, policies: Mapping[str, Policy] | None = None
) -> Lethe:
    app = Lethe(
        env=settings.eventsourcing_env(),
        policies=policies or shipped_policies(),
        vault=None,
        holidays=public_holidays(),
        previous=load_previous(),
    )
    # The vault shares the event store's database but not its tables; its keys
    # come from outside it (lethe/ops/runtime/keysetup.py).
    views = SqlViews(app.process_recorder)
    pseudonyms, kek = vault_keys(settings, views)
    app.vault = SqlSubjectVault(views, pseudonyms, kek)
    app.load_adopted_policies()  # `lethe policy apply`'s versions, kept in the store
    return app


@dataclass
class Runtime:
    """The application and the processes that follow its log, built once per process."""

    settings: Settings
    app: Lethe
    views: SqlViews
    schedule: ScheduleProcess
    sweeper: Sweeper

    def catch_up(self) -> int:
        return self.schedule.run_until_idle()

    @property
    def desk(self) -> SupportDesk:
        """Support staff's use cases, answered after the schedule has caught up."""
        return SupportDesk(self.app, self.views, self.catch_up)


def build_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or Settings.from_env()
    app = build_app(settings)
    views = SqlViews(app.process_recorder)
    return Runtime(
        settings=settings,
        app=app,
        views=views,
        schedule=ScheduleProcess(app, views, page_size=settings.batch_size),
        sweeper=Sweeper(
            app,
            views,
            settings.batch_size,
            settings.confirm_timeout_s,
            clock=lambda: datetime.now(UTC),
        ),
    )
