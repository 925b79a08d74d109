"""Calendar periods: parsing, hand-computed examples across DST, and properties."""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.domain.calendar import (
    Period,
    add_period,
    full_accounting_years_after,
    local_to_utc,
    parse_period,
)

OSLO = ZoneInfo("Europe/Oslo")
UTC_ZONE = ZoneInfo("UTC")


def oslo(*fields: int) -> datetime:
    """An aware Oslo instant from wall-clock fields that exist unambiguously."""
    return datetime(*fields, tzinfo=OSLO)  # type: ignore[misc]


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


# --- Periods -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("7 days", Period(7, "days")),
        ("1 day", Period(1, "days")),
        ("3 months", Period(3, "months")),
        ("1 month", Period(1, "months")),
        ("5 years", Period(5, "years")),
        ("1 year", Period(1, "years")),
        ("0 days", Period(0, "days")),
        ("  45 days ", Period(45, "days")),
    ],
)
def test_a_period_is_read_from_its_plain_text(text: str, period: Period) -> None:
    assert parse_period(text) == period


@pytest.mark.parametrize(
    "text", ["3 weeks", "-1 days", "7d", "7", "days", "1.5 months", "7 DAYS", ""]
)
def test_anything_but_days_months_or_years_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a period"):
        parse_period(text)


def test_the_refusal_names_the_text_and_the_units_to_use() -> None:
    with pytest.raises(ValueError) as refused:
        parse_period("3 weeks")
    assert str(refused.value) == "'3 weeks' is not a period (use days, months or years)"


@pytest.mark.parametrize(
    ("period", "text"),
    [
        (Period(7, "days"), "7 days"),
        (Period(1, "days"), "1 day"),
        (Period(1, "months"), "1 month"),
        (Period(5, "years"), "5 years"),
        (Period(0, "days"), "0 days"),
    ],
)
def test_a_period_prints_as_it_is_written(period: Period, text: str) -> None:
    assert str(period) == text
    assert parse_period(str(period)) == period


@pytest.mark.parametrize(
    ("amount", "unit"), [(-1, "days"), (3, "weeks"), (True, "days")]
)
def test_a_period_cannot_be_built_negative_or_in_weeks(amount: int, unit: str) -> None:
    with pytest.raises(ValueError):
        Period(amount, unit)


# --- Hand-computed examples --------------------------------------------------------


def test_31_january_plus_one_month_is_the_end_of_february() -> None:
    # 2025 is not a leap year: 31 Feb does not exist, clamp to 28 Feb, 12:00 CET.
    assert add_period(oslo(2025, 1, 31, 12), Period(1, "months"), OSLO) == utc(
        2025, 2, 28, 11
    )
    # 2024 is a leap year: clamp to 29 Feb, 12:00 CET = 11:00Z.
    assert add_period(oslo(2024, 1, 31, 12), Period(1, "months"), OSLO) == utc(
        2024, 2, 29, 11
    )


def test_29_february_plus_one_year_is_28_february() -> None:
    # 29 Feb 2024 12:00 CET + 1 year: 29 Feb 2025 does not exist -> 28 Feb 2025.
    assert add_period(oslo(2024, 2, 29, 12), Period(1, "years"), OSLO) == utc(
        2025, 2, 28, 11
    )


def test_a_wall_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    # DST starts 2026-03-29 at 02:00 CET: clocks jump to 03:00 CEST, so 02:30
    # does not exist. 02:30 + the one-hour gap = 03:30 CEST = 01:30Z.
    assert local_to_utc(datetime(2026, 3, 29, 2, 30), OSLO) == utc(2026, 3, 29, 1, 30)
    # Captured 2026-03-22 02:30 CET (01:30Z); + 7 days is 2026-03-29 02:30, in
    # the gap -> 03:30 CEST = 01:30Z.
    captured = datetime.fromisoformat("2026-03-22T02:30:00+01:00")
    assert add_period(captured, Period(7, "days"), OSLO) == utc(2026, 3, 29, 1, 30)


def test_an_ambiguous_fall_back_wall_time_takes_the_earlier_instant() -> None:
    # DST ends 2026-10-25 at 03:00 CEST: clocks go back to 02:00 CET, so 02:30
    # happens twice: 02:30 CEST (00:30Z) and 02:30 CET (01:30Z). Earlier: 00:30Z.
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), OSLO) == utc(2026, 10, 25, 0, 30)
    # 2026-10-18 02:30 CEST + 7 days = 2026-10-25 02:30, ambiguous -> 00:30Z.
    captured = datetime.fromisoformat("2026-10-18T02:30:00+02:00")
    assert add_period(captured, Period(7, "days"), OSLO) == utc(2026, 10, 25, 0, 30)


def test_adding_days_across_the_dst_change_keeps_the_wall_clock_time() -> None:
    # 2026-03-25 12:00 CET (11:00Z) + 7 days = 2026-04-01 12:00 CEST = 10:00Z:
    # 167 hours, because the week lost an hour.
    captured = datetime.fromisoformat("2026-03-25T12:00:00+01:00")
    assert add_period(captured, Period(7, "days"), OSLO) == utc(2026, 4, 1, 10)


def test_zero_days_leaves_the_second_of_two_ambiguous_instants_alone() -> None:
    # 01:30Z on 2026-10-25 reads 02:30 CET, the second 02:30 of that night.
    # Re-reading the wall clock would pick 00:30Z: before the instant itself.
    second = utc(2026, 10, 25, 1, 30)
    assert add_period(second, Period(0, "days"), OSLO) == second


def test_full_accounting_years_end_on_new_year_in_oslo() -> None:
    # Ended 2026-06-15: 2026 is not full; 2027..2031 are five full years;
    # erased 2032-01-01 00:00 CET = 2031-12-31 23:00Z.
    ended = oslo(2026, 6, 15, 12)
    assert full_accounting_years_after(ended, 5, OSLO) == utc(2031, 12, 31, 23)


def test_the_accounting_year_is_the_year_on_the_oslo_wall_clock() -> None:
    # 2026-12-31 23:30Z is 2027-01-01 00:30 in Oslo: the year is 2027, so the
    # five full years are 2028..2032 -> 2033-01-01 00:00 CET = 2032-12-31 23:00Z.
    ended = utc(2026, 12, 31, 23, 30)
    assert full_accounting_years_after(ended, 5, OSLO) == utc(2032, 12, 31, 23)


def test_the_month_end_clamp_can_order_two_items_the_other_way() -> None:
    # Known, and what the rule says: 30 Jan 23:00 and 31 Jan 00:00 both land on
    # 28 Feb, keeping their times, so the later capture is due 23 hours earlier.
    earlier, later = oslo(2025, 1, 30, 23), oslo(2025, 1, 31, 0)
    month = Period(1, "months")
    assert add_period(later, month, OSLO) < add_period(earlier, month, OSLO)


def test_the_spring_gap_can_order_two_items_the_other_way() -> None:
    # 02:30 CET (01:30Z) + 7 days falls in the gap -> 01:30Z; 03:00 CET (02:00Z)
    # + 7 days is 03:00 CEST -> 01:00Z. The later capture is due 30 minutes earlier.
    earlier, later = oslo(2026, 3, 22, 2, 30), oslo(2026, 3, 22, 3)
    week = Period(7, "days")
    assert add_period(later, week, OSLO) < add_period(earlier, week, OSLO)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_period(datetime(2026, 1, 1), Period(1, "days"), OSLO)
    with pytest.raises(ValueError, match="aware"):
        full_accounting_years_after(datetime(2026, 1, 1), 5, OSLO)


def test_local_to_utc_takes_only_a_naive_wall_clock_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_to_utc(utc(2026, 1, 1), OSLO)


# --- Properties ----------------------------------------------------------------------
# Uniform random instants seldom meet a DST change, so half the cases are built
# to start from one or to land on one (in the gap, or in the repeated hour).


def _last_sunday(year: int, month: int) -> date:
    end = date(year, month, 31)
    return end - timedelta(days=(end.weekday() + 1) % 7)


def _dst_night(year: int, month: int, minutes: int) -> datetime:
    """A naive Oslo wall time within three hours of 02:00 on a DST-change night."""
    start = datetime.combine(_last_sunday(year, month), datetime.min.time())
    return start + timedelta(hours=2, minutes=minutes)


def _months_before(local: datetime, months: int) -> datetime:
    year, index = divmod(local.year * 12 + local.month - 1 - months, 12)
    day = min(local.day, monthrange(year, index + 1)[1])
    return local.replace(year=year, month=index + 1, day=day)


def _landing_on(target: datetime, period: Period) -> tuple[datetime, Period]:
    """The instant from which `period` lands on the wall time `target`."""
    if period.unit == "days":
        source = target - timedelta(days=period.amount)
    else:
        source = _months_before(
            target, period.amount * (12 if period.unit == "years" else 1)
        )
    return local_to_utc(source, OSLO), period


DST_NIGHTS = st.builds(
    _dst_night,
    st.integers(2001, 2099),
    st.sampled_from([3, 10]),
    st.integers(-180, 180),
)
INSTANTS = st.one_of(
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 12, 31), timezones=st.just(UTC)),
    DST_NIGHTS.map(lambda local: local_to_utc(local, OSLO)),
    # The second of the two instants of a repeated fall-back hour.
    DST_NIGHTS.map(lambda local: local.replace(tzinfo=OSLO, fold=1).astimezone(UTC)),
)
DAYS = st.builds(Period, st.integers(0, 800), st.just("days"))
MONTHS = st.builds(Period, st.integers(0, 240), st.just("months"))
YEARS = st.builds(Period, st.integers(0, 30), st.just("years"))
PERIODS = st.one_of(DAYS, MONTHS, YEARS)


def cases(
    periods: st.SearchStrategy[Period],
) -> st.SearchStrategy[tuple[datetime, Period]]:
    """(instant, period) pairs: random ones, and ones that land on a DST night."""
    return st.one_of(
        st.tuples(INSTANTS, periods), st.builds(_landing_on, DST_NIGHTS, periods)
    )


def pairs(periods: st.SearchStrategy[Period]) -> st.SearchStrategy[tuple]:
    """(a, b, period) with a <= b, often close together so they straddle an edge."""
    return st.one_of(
        st.builds(lambda a, b, p: (*sorted((a, b)), p), INSTANTS, INSTANTS, periods),
        st.builds(
            lambda case, minutes: (
                case[0],
                case[0] + timedelta(minutes=minutes),
                case[1],
            ),
            cases(periods),
            st.integers(0, 36 * 60),
        ),
    )


def wall(instant: datetime) -> datetime:
    return instant.astimezone(OSLO).replace(tzinfo=None)


def exists_in_oslo(local: datetime) -> bool:
    # Through UTC: astimezone() to the zone a datetime already has is a no-op.
    return wall(local.replace(tzinfo=OSLO).astimezone(UTC)) == local


@given(cases(PERIODS))
def test_the_result_is_an_aware_utc_instant(case: tuple[datetime, Period]) -> None:
    assert add_period(*case, OSLO).tzinfo is UTC


@given(cases(PERIODS))
def test_the_result_is_never_before_the_instant(case: tuple[datetime, Period]) -> None:
    instant, period = case
    assert add_period(instant, period, OSLO) >= instant


@given(INSTANTS, st.sampled_from(["days", "months", "years"]))
def test_adding_nothing_changes_nothing(instant: datetime, unit: str) -> None:
    assert add_period(instant, Period(0, unit), OSLO) == instant


@given(pairs(DAYS))
def test_adding_days_is_monotone_where_the_clock_never_shifts(
    case: tuple[datetime, datetime, Period],
) -> None:
    a, b, period = case
    assert add_period(a, period, UTC_ZONE) <= add_period(b, period, UTC_ZONE)


@given(pairs(PERIODS))
def test_adding_a_period_in_oslo_is_monotone_up_to_the_dst_hour_and_month_end(
    case: tuple[datetime, datetime, Period],
) -> None:
    # Wall-clock arithmetic cannot be strictly monotone (see the two examples
    # above). The local date never goes backwards; an inversion is at most the
    # one-hour DST shift for days, and less than a day from the month-end clamp.
    a, b, period = case
    due_a, due_b = add_period(a, period, OSLO), add_period(b, period, OSLO)
    assert wall(due_a).date() <= wall(due_b).date()
    slack = timedelta(hours=1) if period.unit == "days" else timedelta(days=1)
    assert due_a <= due_b + slack


@given(cases(DAYS))
def test_days_keep_the_wall_clock_time_unless_it_falls_in_the_gap(
    case: tuple[datetime, Period],
) -> None:
    instant, period = case
    intended = wall(instant) + timedelta(days=period.amount)
    landed = wall(add_period(instant, period, OSLO))
    if exists_in_oslo(intended):
        assert landed == intended
    else:
        # Moved forward by the gap, which is one hour in Oslo throughout 2000-2100.
        assert landed == intended + timedelta(hours=1)


@given(cases(st.one_of(MONTHS, YEARS)))
def test_months_clamp_the_day_to_the_end_of_the_target_month(
    case: tuple[datetime, Period],
) -> None:
    instant, period = case
    start, landed = wall(instant), wall(add_period(instant, period, OSLO))
    months = period.amount * (12 if period.unit == "years" else 1)
    assert (landed.year - start.year) * 12 + landed.month - start.month == months
    assert landed.day == min(start.day, monthrange(landed.year, landed.month)[1])


@given(INSTANTS, st.integers(0, 10))
def test_full_accounting_years_end_at_a_new_year_midnight_after_the_instant(
    instant: datetime, years: int
) -> None:
    result = full_accounting_years_after(instant, years, OSLO)
    assert result > instant
    assert wall(result) == datetime(wall(instant).year + years + 1, 1, 1)
