"""When a data subject must have an answer: GDPR art. 12(3) as Regulation 1182/71
counts it.

Art. 12(3): one month from receipt, extendable by two further months if the
subject is told within the first. Regulation 1182/71 (which the EEA applies):
the day of receipt does not count (art. 3(1)); a period in months ends with the
last hour of the day with the same date as the day of receipt, or of the
month's last day when that date does not exist (art. 3(2)(c)); and when that
day is a Saturday, Sunday or public holiday, with the last hour of the next
working day (art. 3(4)). Days are the controller's calendar days.

Pure: the public holidays are passed in (any container of dates).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Container
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lethe.domain.calendar import local_to_utc
from lethe.domain.errors import BadCommandError, ExtensionTooLateError

Holidays = Container[date]
NO_HOLIDAYS: Holidays = frozenset()

ANSWER_MONTHS = 1
# "extended by two further months": three months from receipt in all, one
# period whose last day alone moves past a weekend or holiday (art. 3(4)).
EXTENDED_MONTHS = ANSWER_MONTHS + 2
SATURDAY = 5


def is_working_day(day: date, holidays: Holidays) -> bool:
    return day.weekday() < SATURDAY and day not in holidays


def answer_deadline(
    received_at: datetime,
    zone: ZoneInfo,
    holidays: Holidays,
    months: int = ANSWER_MONTHS,
) -> datetime:
    """The instant the period expires: the end of its last day, in UTC.

    An answer is in time when it is given before this instant.
    """
    received = received_at.astimezone(zone).date()
    last = months_after(received, months)
    while not is_working_day(last, holidays):
        last += timedelta(days=1)
    return local_to_utc(datetime.combine(last + timedelta(days=1), time()), zone)


def last_day(deadline: datetime, zone: ZoneInfo) -> date:
    """The calendar day a deadline ends with (it expires as the next one begins)."""
    return (deadline.astimezone(zone) - timedelta(microseconds=1)).date()


def months_after(day: date, months: int) -> date:
    """The same date `months` later; the month's last day when it has no such date."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def check_extension(
    received_at: datetime,
    first_deadline: datetime,
    told_on: date,
    at: datetime,
    zone: ZoneInfo,
) -> None:
    """Refuse an extension art. 12(3) does not allow; the message says why."""
    received = received_at.astimezone(zone).date()
    today = at.astimezone(zone).date()
    if told_on < received:
        raise BadCommandError(
            f"the subject cannot have been told on {told_on}, before the request"
            f" was received ({received})"
        )
    if told_on > today:
        raise BadCommandError(
            f"the subject cannot have been told on {told_on}: that is in the future"
            f" (today is {today} in {zone.key})"
        )
    ends = last_day(first_deadline, zone)
    if told_on > ends:
        raise ExtensionTooLateError(told_on, ends)
