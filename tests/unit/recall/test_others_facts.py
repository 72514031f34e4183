"""A fact about someone else ("豆豆:age") renders and matches by its own key, with its subject."""

from __future__ import annotations

from companion.memory.recall.candidates import fact_search_text, from_fact
from companion.memory.recall.fusion import score_by_overlap
from companion.memory.records import FactRecord


def _fact(key: str, value: str, subject: str = "user") -> FactRecord:
    return FactRecord(user_id="u", character_id="c", type="basic_info", key=key, value=value, confidence=0.9,
                      since=1.0, updated_at=1.0, source_task_id="t", subject=subject)


def test_an_others_fact_renders_as_subject_key_value_and_matches_its_key_words() -> None:
    cat = from_fact(_fact("豆豆:age", "3", subject="豆豆"))
    assert cat.content == "豆豆 age: 3" and cat.metadata["subject"] == "豆豆" and cat.metadata["key"] == "豆豆:age"
    assert "岁" in fact_search_text(_fact("豆豆:age", "3", subject="豆豆"))  # the words of "age", not of "豆豆:age"
    assert score_by_overlap("豆豆几岁了", [cat])[0].score > 0
    own = from_fact(_fact("age", "28"))
    assert own.content == "age: 28" and own.metadata["subject"] == "user"


def test_an_others_birthday_is_a_yearly_date() -> None:
    bday = from_fact(_fact("豆豆:birthday", "2023-05-01", subject="豆豆"))
    assert bday.metadata.get("event_date") == "2023-05-01" and bday.metadata.get("recurring") is True
