"""Dates a question names or implies, as a search for the memories about them.

    q = question_dates("What did Sam do on 4 December?", now=ts, tz=UTC)
    q.tokens   -> ["12-04"]                  (matched against a turn's ``when``, see memory.documents)
    q.ranges   -> [(start_ts, end_ts), ...]  (turns written on that day: the session's date)

"上周末我做了什么" / "what did I do last weekend?" resolve against ``now`` (the day the question is
asked); "4 December" without a year is matched by its month and day in any year, and by the days of
the recent years it can mean. The search itself is the index's ``date_search`` (``DateIndex``): the
memories of those dates, ordered by the question's words, become one more list for fusion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from ..extraction.dates import MAX_SPAN_DAYS, DateSpan, find_all_dates
from .dates import local_date

# A yearless day ("4 December") may mean any recent year: the years searched before the present one.
YEARS_BACK = 2


@dataclass(frozen=True)
class DateQuery:
    tokens: list[str]
    ranges: list[tuple[float, float]]  # epoch seconds, end excluded


def _start_ts(day: date, tz: tzinfo) -> float:
    return datetime.combine(day, time(), tz).timestamp()


def _days(span: DateSpan) -> list[date]:
    return [span.start + timedelta(days=i) for i in range((span.end - span.start).days + 1)]


def _anchored(text: str, today: date) -> list[DateSpan]:
    """The spans of ``text``; relative ones ("last weekend before 10 April 2023") resolved against
    the day the question names, when it names one with its year, else against ``today``."""
    spans = find_all_dates(text, today)
    later = {(s.begin, s.start) for s in find_all_dates(text, today + timedelta(days=1000))}
    absolute = [s for s in spans if (s.begin, s.start) in later and s.unit == "day" and not s.yearless]
    if not absolute or len(absolute) == len(spans):
        return spans
    anchor = absolute[0].start
    return [s if s in absolute else next((a for a in find_all_dates(text, anchor) if a.begin == s.begin), s)
            for s in spans]


def question_dates(text: str, *, now: float, tz: tzinfo) -> DateQuery | None:
    """The dates ``text`` names or implies, resolved against ``now``; None when it names none."""
    today = local_date(now, tz)
    spans = _anchored(text, today)
    if not spans:
        return None
    tokens: list[str] = []
    ranges: list[tuple[float, float]] = []
    for s in spans:
        if s.yearless:
            tokens.append(f"{s.start:%m-%d}")
            for year in range(today.year - YEARS_BACK, today.year + 1):
                try:
                    day = s.start.replace(year=year)
                except ValueError:  # 29 February in a common year
                    continue
                ranges.append((_start_ts(day, tz), _start_ts(day + timedelta(days=1), tz)))
            continue
        # A question about a span asks for the span's own token: a day's date, a month's "yyyy-mm".
        if s.unit == "year":
            tokens.append(f"{s.start:%Y}")
        elif s.unit == "month" or (s.end - s.start).days >= MAX_SPAN_DAYS:
            tokens.append(f"{s.start:%Y-%m}")
        else:
            tokens.extend(f"{d:%Y-%m-%d}" for d in _days(s))
        ranges.append((_start_ts(s.start, tz), _start_ts(s.end + timedelta(days=1), tz)))
    return DateQuery(sorted(set(tokens)), ranges)
