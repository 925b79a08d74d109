"""The month's disposal report as `lethe audit report` and the HTTP API make it."""

from __future__ import annotations

from datetime import datetime, timedelta

from lethe.ops.kafka.relay import TRACKING_NAME as RELAY_TRACKING
from lethe.ops.runtime.bootstrap import Runtime
from lethe.projections.audit_report import Report, ReportClock, build_report


def disposal_report(runtime: Runtime, month: str, zone: str, now: datetime) -> Report:
    """The report of `month` judged at `now`, with the store's own sweep settings."""
    settings = runtime.settings
    clock = ReportClock(
        now,
        timedelta(seconds=settings.sweep_interval_s),
        timedelta(seconds=settings.confirm_timeout_s),
    )
    # Only orders the relay has sent count as tombstones sent.
    relayed = runtime.app.process_recorder.max_tracking_id(RELAY_TRACKING) or 0
    return build_report(runtime.app, month, zone, clock, relayed)
