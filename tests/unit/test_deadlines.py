"""Request deadlines on real dates: GDPR art. 12(3) counted by Regulation 1182/71,
with the Norwegian public holidays of the `holidays` package."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.domain.deadlines import (
    EXTENDED_MONTHS,
    answer_deadline,
    check_extension,
    is_working_day,
    last_day,
    months_after,
)
from lethe.domain.errors import BadCommandError, ExtensionTooLateError
from lethe.ops.runtime.holidays import public_holidays

OSLO = ZoneInfo("Europe/Oslo")
NORWAY = public_holidays()


def _received(day: str, clock: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=OSLO)


def _ends_with(received: datetime, months: int = 1) -> date:
    return last_day(answer_deadline(received, OSLO, NORWAY, months), OSLO)


def test_a_request_on_1_december_2026_is_due_at_the_end_of_4_january_2027() -> None:
    # 1 January is New Year's Day, then a Saturday and a Sunday.
    deadline = answer_deadline(_received("2026-12-01"), OSLO, NORWAY)
    assert deadline == datetime(2027, 1, 4, 23, 0, tzinfo=UTC)  # 00:00 CET on the 5th
    assert last_day(deadline, OSLO) == date(2027, 1, 4)


@pytest.mark.parametrize(
    ("received", "ends"),
    [
        ("2028-01-31", date(2028, 2, 29)),  # a leap year's last day of February
        ("2027-01-31", date(2027, 3, 1)),  # 28 February 2027 is a Sunday
        ("2026-01-31", date(2026, 3, 2)),  # 28 February 2026 is a Saturday
    ],
)
def test_a_request_on_31_january_is_due_with_the_last_day_of_february(
    received: str, ends: date
) -> None:
    assert _ends_with(_received(received)) == ends


def test_easter_moves_the_deadline_past_all_its_holidays() -> None:
    # 25 March 2027 is Maundy Thursday; Good Friday, Saturday, Easter Sunday
    # and Easter Monday follow: the first working day is Tuesday 30 March.
    assert _ends_with(_received("2027-02-25")) == date(2027, 3, 30)
    # 2026: 2 April is Maundy Thursday, Easter Monday 6 April.
    assert _ends_with(_received("2026-03-02")) == date(2026, 4, 7)


def test_17_may_moves_the_deadline_to_the_next_working_day() -> None:
    # Constitution Day 2027 is a Monday (and Whit Monday): Tuesday 18 May.
    assert _ends_with(_received("2027-04-17")) == date(2027, 5, 18)
    # 2028: 17 May is a Wednesday; the 18th is a working day.
    assert _ends_with(_received("2028-04-17")) == date(2028, 5, 18)


def test_the_day_counts_in_the_controllers_zone_not_in_utc() -> None:
    # 23:30 UTC on 30 November is already 1 December in Oslo.
    late_evening = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert _ends_with(late_evening) == date(2027, 1, 4)


def test_a_summer_deadline_ends_at_midnight_summer_time() -> None:
    deadline = answer_deadline(_received("2026-06-10"), OSLO, NORWAY)
    assert deadline == datetime(2026, 7, 10, 22, 0, tzinfo=UTC)  # Friday, 00:00 CEST


def test_the_extension_runs_three_months_from_receipt() -> None:
    # 1 March 2027 is a Monday: the extended period ends with it.
    assert _ends_with(_received("2026-12-01"), EXTENDED_MONTHS) == date(2027, 3, 1)


def _check(received: datetime, told_on: date, at: datetime | None = None) -> None:
    first = answer_deadline(received, OSLO, NORWAY)
    check_extension(received, first, told_on, at or first + timedelta(days=30), OSLO)


def test_an_extension_told_on_day_29_is_allowed_and_on_day_32_refused() -> None:
    received = _received("2026-06-10")  # the first month ends with Friday 10 July
    _check(received, date(2026, 6, 10) + timedelta(days=29))
    with pytest.raises(ExtensionTooLateError) as refused:
        _check(received, date(2026, 6, 10) + timedelta(days=32))
    assert str(refused.value) == (
        "too late to extend: the first month ended with 2026-07-10 and the subject"
        " was told on 2026-07-12; GDPR art. 12(3) allows the extension only if the"
        " subject is told within the first month"
    )


def test_an_extension_told_on_the_moved_last_day_is_in_time() -> None:
    # Received 1 December: the month ends with 4 January, not 1 January.
    _check(_received("2026-12-01"), date(2027, 1, 4))


def test_an_extension_cannot_be_told_before_receipt_or_in_the_future() -> None:
    received = _received("2026-06-10")
    with pytest.raises(BadCommandError, match="before the request was received"):
        _check(received, date(2026, 6, 9))
    with pytest.raises(BadCommandError, match="is in the future"):
        _check(received, date(2026, 6, 20), at=_received("2026-06-15"))


# -- properties ------------------------------------------------------------------

INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2040, 12, 31),
    timezones=st.just(UTC),
)


@given(INSTANTS)
def test_a_deadline_ends_a_working_day_at_local_midnight(received: datetime) -> None:
    deadline = answer_deadline(received, OSLO, NORWAY)
    local = deadline.astimezone(OSLO)
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert is_working_day(last_day(deadline, OSLO), NORWAY)


@given(INSTANTS)
def test_a_deadline_moves_only_past_days_off(received: datetime) -> None:
    """Between the date one month on and the last day, no working day is skipped."""
    nominal = months_after(received.astimezone(OSLO).date(), 1)
    ends = last_day(answer_deadline(received, OSLO, NORWAY), OSLO)
    assert ends >= nominal
    skipped = [nominal + timedelta(days=n) for n in range((ends - nominal).days)]
    assert not any(is_working_day(day, NORWAY) for day in skipped)
    assert (ends - nominal).days <= 5  # Easter is the longest run of days off


@given(INSTANTS)
def test_the_extended_deadline_is_never_before_the_first(received: datetime) -> None:
    first = answer_deadline(received, OSLO, NORWAY)
    extended = answer_deadline(received, OSLO, NORWAY, EXTENDED_MONTHS)
    # Two months on (at least 59 days) less the longest move of the first (5 days).
    assert extended - first >= timedelta(days=53)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_months_after_keeps_the_date_or_takes_the_months_last_day(day: date) -> None:
    later = months_after(day, 1)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == 1
    assert later.day == day.day or (
        later.day < day.day and (later + timedelta(1)).day == 1
    )
