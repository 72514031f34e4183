"""Calendar helpers for memories: local dates, relative hints, event dates.

Event dates live in ``RecalledMemory.metadata["event_date"]`` (the extraction schema's
``date``). Accepted forms:
    "2026-03-15"   one-off date (recurs yearly only for birthday/anniversary types or
                   when metadata["recurring"] is true: a birthday's year is the birth year)
    "03-15" / "--03-15"   yearly date without a year (recurring; 29 February falls on the
                          28th in a common year, see ``memory.yearly``)
    datetime.date, or a unix timestamp (int/float)
Public API:
    local_date(ts, tz) -> date
    parse_event_date(value) -> EventDate | None
    is_recurring(memory, event_date) -> bool
    next_event_date(event_date, today, recurring) -> date | None   (today counts)
    nearest_occurrence_distance(event_date, today, recurring) -> int  (days, >= 0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from ...models import RecalledMemory
from ..yearly import in_year, next_occurrence

_FULL = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")
_YEARLESS = re.compile(r"^\s*(?:--)?(\d{1,2})-(\d{1,2})\s*$")

# Event types whose date comes back every year even when stored with a year.
RECURRING_TYPES = frozenset({"birthday", "anniversary", "生日", "纪念日"})


@dataclass(frozen=True, slots=True)
class EventDate:
    month: int
    day: int
    year: int | None = None  # None: a yearly date without a year


def local_date(ts: float, tz: tzinfo = UTC) -> date:
    return datetime.fromtimestamp(ts, tz).date()


def parse_event_date(value: Any) -> EventDate | None:
    """Parse the stored event date; None for anything unusable (never raises)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return EventDate(value.month, value.day, value.year)
    if isinstance(value, int | float):
        try:
            d = local_date(float(value))
        except (OverflowError, OSError, ValueError):
            return None
        return EventDate(d.month, d.day, d.year)
    if not isinstance(value, str):
        return None
    if m := _FULL.match(value):
        year, month, day = (int(g) for g in m.groups())
        return _checked(month, day, year)
    if m := _YEARLESS.match(value):
        month, day = (int(g) for g in m.groups())
        return _checked(month, day, None)
    return None


def _checked(month: int, day: int, year: int | None) -> EventDate | None:
    try:
        date(year or 2000, month, day)  # 2000 is a leap year, so 02-29 is accepted
    except ValueError:
        return None
    return EventDate(month, day, year)


def is_recurring(memory: RecalledMemory, ev: EventDate) -> bool:
    if ev.year is None:
        return True
    flag = memory.metadata.get("recurring")
    if flag is not None:
        return bool(flag)
    kind = str(memory.metadata.get("event_type") or "").lower()
    return kind in RECURRING_TYPES


def next_event_date(ev: EventDate, today: date, recurring: bool) -> date | None:
    """The event's next date on or after ``today`` (a yearly one: ``memory.yearly.next_occurrence``);
    None for a past one-off event."""
    if not recurring:
        assert ev.year is not None
        d = date(ev.year, ev.month, ev.day)
        return d if d >= today else None
    return next_occurrence(ev.month, ev.day, today)


def nearest_occurrence_distance(ev: EventDate, today: date, recurring: bool) -> int:
    """Days between ``today`` and the closest occurrence, past or future."""
    if not recurring:
        assert ev.year is not None
        return abs((date(ev.year, ev.month, ev.day) - today).days)
    candidates = (in_year(ev.month, ev.day, today.year + k) for k in (-1, 0, 1))
    return min(abs((d - today).days) for d in candidates)
