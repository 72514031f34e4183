"""One rule for 29 February wherever a yearly date is resolved: in a common year it falls on the 28th."""

from __future__ import annotations

from datetime import date

import pytest
from companion.memory.extraction.dates import find_date, roll_forward_yearly
from companion.memory.recall.dates import EventDate, next_event_date
from companion.memory.yearly import in_year, next_occurrence

AUTUMN_2026 = date(2026, 11, 21)


def test_29_february_falls_on_the_28th_in_a_common_year() -> None:
    assert in_year(2, 29, 2027) == date(2027, 2, 28)
    assert in_year(2, 29, 2028) == date(2028, 2, 29)
    assert in_year(2, 29, 2100) == date(2100, 2, 28)  # a century is a common year unless divisible by 400
    assert in_year(2, 29, 2000) == date(2000, 2, 29)


def test_next_occurrence_counts_today_and_moves_to_next_year() -> None:
    assert next_occurrence(2, 29, AUTUMN_2026) == date(2027, 2, 28)
    assert next_occurrence(2, 29, date(2027, 2, 28)) == date(2027, 2, 28)  # today counts
    assert next_occurrence(2, 29, date(2027, 3, 1)) == date(2028, 2, 29)
    assert next_occurrence(11, 20, AUTUMN_2026) == date(2027, 11, 20)
    with pytest.raises(ValueError):
        next_occurrence(4, 31, AUTUMN_2026)


def test_extraction_and_recall_resolve_29_february_alike() -> None:
    said = find_date("我的生日是2月29日", AUTUMN_2026)
    assert said is not None and said.yearless and said.value == date(2027, 2, 28)
    assert roll_forward_yearly(date(2024, 2, 29), AUTUMN_2026) == date(2027, 2, 28)
    assert roll_forward_yearly(date(2028, 2, 29), AUTUMN_2026) == date(2028, 2, 29)  # still to come: kept
    assert next_event_date(EventDate(2, 29), AUTUMN_2026, recurring=True) == said.value


def test_a_day_no_year_has_is_not_a_date() -> None:
    assert find_date("2月30日", AUTUMN_2026) is None
    assert find_date("February 30th", AUTUMN_2026) is None
