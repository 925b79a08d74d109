"""Calendar periods (days, months, years) added in a policy's local time zone."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

UNITS = ("days", "months", "years")
_PERIOD = re.compile(r"(\d+)\s+(days?|months?|years?)")


@dataclass(frozen=True)
class Period:
    """A calendar length: whole days, months or years, never negative."""

    amount: int
    unit: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise ValueError(f"a period counts whole units, not {self.amount!r}")
        if self.amount < 0:
            raise ValueError(f"a period cannot be negative: {self.amount}")
        if self.unit not in UNITS:
            raise ValueError(f"{self.unit!r} is not a unit (use days, months or years)")

    def __str__(self) -> str:
        unit = self.unit.removesuffix("s") if self.amount == 1 else self.unit
        return f"{self.amount} {unit}"


def parse_period(text: str) -> Period:
    """Read "7 days", "1 month", "5 years"; refuse weeks, signs and abbreviations."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a period (use days, months or years)")
    unit = match.group(2)
    return Period(int(match.group(1)), unit if unit.endswith("s") else unit + "s")


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Resolve a naive wall-clock time in `zone` to an aware UTC instant."""
    if local.tzinfo is not None:
        raise ValueError(f"expected a naive wall-clock time, got {local.isoformat()}")
    # PEP 495, fold=0 takes the UTC offset in force before a transition. In a
    # fall-back overlap that is the earlier of the two instants; in a
    # spring-forward gap it yields the instant whose wall time is the requested
    # one moved forward by the gap (02:30 in a one-hour gap reads 03:30).
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def add_period(instant: datetime, period: Period, zone: ZoneInfo) -> datetime:
    """Add a calendar period to an aware instant, reckoned on `zone`'s wall clock."""
    _require_aware(instant)
    if period.amount == 0:
        # Going through the wall clock would move an instant in the repeated
        # fall-back hour to its earlier twin: before the instant itself.
        return instant.astimezone(UTC)
    local = instant.astimezone(zone).replace(tzinfo=None)
    if period.unit == "days":
        return local_to_utc(local + timedelta(days=period.amount), zone)
    months = period.amount * (12 if period.unit == "years" else 1)
    return local_to_utc(_add_months(local, months), zone)


def full_accounting_years_after(
    instant: datetime, years: int, zone: ZoneInfo
) -> datetime:
    """The end of the N-th full accounting (calendar) year after `instant`."""
    _require_aware(instant)
    if years < 0:
        raise ValueError(f"a number of accounting years cannot be negative: {years}")
    # The year `instant` falls in is not full; the N full years follow it, and
    # they end as year(instant) + N + 1 begins on the local wall clock.
    year = instant.astimezone(zone).year + years + 1
    return local_to_utc(datetime(year, 1, 1), zone)


def _add_months(local: datetime, months: int) -> datetime:
    # Count months from year 0 so that carrying into the year is one divmod.
    year, month_index = divmod(local.year * 12 + local.month - 1 + months, 12)
    month = month_index + 1
    # The day is clamped to the month's end: 31 Jan + 1 month = 28 (or 29) Feb.
    day = min(local.day, monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"expected an aware instant, got naive {instant.isoformat()}")
