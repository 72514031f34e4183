"""The dates a message speaks about (indexed as a turn's ``when``) and the dates a question names."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from companion.memory.documents import spoken_dates, turn_documents
from companion.memory.extraction.dates import find_all_dates, find_date, when_tokens
from companion.memory.recall.when import question_dates
from companion.models import ChatMessage, MemoryTask

MON = date(2026, 11, 23)  # a Monday
SAT = date(2026, 11, 28)  # a Saturday


def spans(text: str, today: date) -> list[tuple[date, date]]:
    return [(s.start, s.end) for s in find_all_dates(text, today)]


@pytest.mark.parametrize(("text", "today", "expected"), [
    # "last Friday" is the latest Friday before the day: it depends on the message's weekday.
    ("I went there last Friday", MON, date(2026, 11, 20)),
    ("I went there last Friday", SAT, date(2026, 11, 27)),
    ("上周五我去了", MON, date(2026, 11, 20)),
    ("上周五我去了", SAT, date(2026, 11, 20)),  # the Friday of last week, whatever the day
    ("next Friday", MON, date(2026, 12, 4)),
    ("下周五", SAT, date(2026, 12, 4)),
    ("yesterday", MON, date(2026, 11, 22)),
    ("昨天", date(2026, 12, 1), date(2026, 11, 30)),
    ("明天", date(2026, 12, 31), date(2027, 1, 1)),
])
def test_a_day_resolves_against_the_message_date(text: str, today: date, expected: date) -> None:
    assert spans(text, today)[0] == (expected, expected)
    assert find_date(text, today) is not None and find_date(text, today).value == expected  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "today", "expected"), [
    ("last weekend", MON, (date(2026, 11, 21), date(2026, 11, 22))),
    ("上周末", MON, (date(2026, 11, 21), date(2026, 11, 22))),
    ("this weekend", MON, (date(2026, 11, 28), date(2026, 11, 29))),
    ("下周末", SAT, (date(2026, 12, 5), date(2026, 12, 6))),
    ("last week", SAT, (date(2026, 11, 16), date(2026, 11, 22))),
    ("上周", SAT, (date(2026, 11, 16), date(2026, 11, 22))),
    ("last month", date(2026, 1, 10), (date(2025, 12, 1), date(2025, 12, 31))),
    ("上个月", date(2026, 1, 10), (date(2025, 12, 1), date(2025, 12, 31))),
    ("next month", MON, (date(2026, 12, 1), date(2026, 12, 31))),
    ("下个月", MON, (date(2026, 12, 1), date(2026, 12, 31))),
    ("去年", MON, (date(2025, 1, 1), date(2025, 12, 31))),
    ("last year", MON, (date(2025, 1, 1), date(2025, 12, 31))),
    ("三天前", MON, (date(2026, 11, 20), date(2026, 11, 20))),
    ("3 days ago", MON, (date(2026, 11, 20), date(2026, 11, 20))),
    ("two weeks ago", MON, (date(2026, 11, 9), date(2026, 11, 15))),
    ("两周前", MON, (date(2026, 11, 9), date(2026, 11, 15))),
    ("last night", MON, (date(2026, 11, 22), date(2026, 11, 22))),
    ("昨晚", MON, (date(2026, 11, 22), date(2026, 11, 22))),
    ("in May 2023", MON, (date(2023, 5, 1), date(2023, 5, 31))),
    ("2023年5月", MON, (date(2023, 5, 1), date(2023, 5, 31))),
])
def test_spans_past_and_future(text: str, today: date, expected: tuple[date, date]) -> None:
    assert spans(text, today) == [expected]


def test_every_expression_is_found_and_the_longest_wins() -> None:
    found = spans("昨天我们聊了下个月15号的事，last Friday too", MON)
    assert found == [(date(2026, 11, 22),) * 2, (date(2026, 12, 15),) * 2, (date(2026, 11, 20),) * 2]


def test_what_needs_the_tense_is_left_out_of_the_spans() -> None:
    # "Friday" alone may be past or next; find_date (the extractor's, for plans) still reads it forward.
    assert find_all_dates("we met on Friday", MON) == []
    assert find_all_dates("周五见", MON) == []
    assert find_all_dates("15号见", MON) == []
    assert find_date("周五见", MON).value == date(2026, 11, 27)  # type: ignore[union-attr]


def test_when_tokens_give_day_month_year_and_the_yearless_day() -> None:
    assert when_tokens(find_all_dates("yesterday", MON)) == ["11-22", "2026", "2026-11", "2026-11-22"]
    assert when_tokens(find_all_dates("上个月", MON)) == ["2026", "2026-10"]
    assert when_tokens(find_all_dates("on 4 December", MON)) == ["12-04"]  # no year said: none guessed
    assert when_tokens(find_all_dates("去年", MON)) == ["2025"]


def test_a_turn_document_carries_the_dates_it_speaks_about() -> None:
    said = datetime(2026, 11, 23, 9, tzinfo=UTC).timestamp()
    messages = [ChatMessage(role="user", content="Yesterday I adopted a cat! 昨天领养了一只猫", timestamp=said, seq=1,
                            session_id="s"),
                ChatMessage(role="assistant", content="How lovely!", timestamp=said + 5, seq=2, session_id="s")]
    task = MemoryTask(task_id="t", user_id="u", character_id="c", session_id="s", trigger="session_end",
                      from_seq=1, to_seq=2, messages=messages)
    docs = turn_documents(task, messages)
    assert "2026-11-22" in docs[0].when and docs[1].when == []
    assert docs[0].source()["when"] == docs[0].when
    assert spoken_dates("yesterday", 0) == []  # no time, nothing to resolve against


NOW = datetime(2026, 12, 10, 12, tzinfo=UTC).timestamp()  # Thursday


def test_question_dates_en_and_zh() -> None:
    q = question_dates("What did I do last weekend?", now=NOW, tz=UTC)
    assert q is not None and q.tokens == ["2026-12-05", "2026-12-06"]
    assert q.ranges == [(datetime(2026, 12, 5, tzinfo=UTC).timestamp(), datetime(2026, 12, 7, tzinfo=UTC).timestamp())]
    zh = question_dates("上周末我做了什么？", now=NOW, tz=UTC)
    assert zh is not None and zh.tokens == q.tokens
    assert question_dates("What did I do?", now=NOW, tz=UTC) is None


def test_a_yearless_day_in_a_question_matches_any_recent_year() -> None:
    q = question_dates("What did Sam do on 4 December?", now=NOW, tz=UTC)
    assert q is not None and q.tokens == ["12-04"]
    assert [datetime.fromtimestamp(a, UTC).date() for a, _ in q.ranges] == [
        date(2024, 12, 4), date(2025, 12, 4), date(2026, 12, 4)]
    assert question_dates("我12月4日做了什么", now=NOW, tz=UTC).tokens == ["12-04"]  # type: ignore[union-attr]


def test_a_relative_expression_anchors_on_the_day_the_question_names() -> None:
    q = question_dates("What did Maria do last weekend before April 10, 2023?", now=NOW, tz=UTC)
    assert q is not None and {"2023-04-08", "2023-04-09"} <= set(q.tokens) and "2026-12-05" not in q.tokens
    month = question_dates("What did she paint in July 2023?", now=NOW, tz=UTC)
    assert month is not None and month.tokens == ["2023-07"]
