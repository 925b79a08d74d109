"""The public holidays that move a request's deadline, from the `holidays` package."""

from __future__ import annotations

import holidays

from lethe.domain.deadlines import Holidays

# Every shipped controller (Sector Alarm, Hedengren, SensorNordic) answers from
# Norway; Regulation 1182/71 counts the holidays of the state where one acts.
COUNTRY = "NO"


def public_holidays(country: str = COUNTRY) -> Holidays:
    """A lazily filled calendar: any year asked about is computed on first use.

    Sundays are left to the weekday rule: the package would list every one as
    a holiday only when asked to (`include_sundays`).
    """
    return holidays.country_holidays(country)
