"""Yearly dates (birthdays, anniversaries): the day they fall on in a year, and when they come next.

One rule for 29 February everywhere a yearly date is resolved (extraction reading "2月29日",
the merge and the extractor rolling a yearly date forward, recall's upcoming-events hint and
recency): in a common year it falls on 28 February. It stays in February, where the person
celebrates it, and a companion that brings a birthday up a day early does better than one a
day late.
"""

from __future__ import annotations

import calendar
from datetime import date


def in_year(month: int, day: int, year: int) -> date:
    """The day the yearly ``month``/``day`` falls on in ``year`` (29 February: the 28th in a
    common year). Raises ``ValueError`` for a month/day no year has (13-01, 04-31)."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        day = 28
    return date(year, month, day)


def next_occurrence(month: int, day: int, today: date) -> date:
    """The first day on or after ``today`` the yearly ``month``/``day`` falls on (``in_year``'s rule).
    Raises ``ValueError`` for a month/day no year has."""
    this_year = in_year(month, day, today.year)
    return this_year if this_year >= today else in_year(month, day, today.year + 1)
