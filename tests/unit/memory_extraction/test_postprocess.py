"""The shared post-processing (placeholders, support, negations, subjects, dates) and subject-aware merge."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from companion.memory.extraction import parse_extraction
from companion.memory.extraction.postprocess import is_placeholder, postprocess
from companion.memory.extraction.schema import ExtractedEvent, ExtractedFact, normalize_subject
from companion.memory.merge import merge_events, merge_facts
from companion.models import ChatMessage

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # a Tuesday
IDS = {"user_id": "u1", "character_id": "c1"}


def answer(facts=(), events=()) -> str:
    return json.dumps({"summary": "s", "topics": [], "emotion": "平静", "facts": list(facts), "events": list(events)},
                      ensure_ascii=False)


def fact(key, value, subject="user", type_="basic_info", conf=0.9):
    return {"subject": subject, "type": type_, "key": key, "value": value, "confidence": conf}


def event(title, type_="plan", phrase="", date=None, recurring=False, subject="user", emotion=""):
    return {"subject": subject, "type": type_, "title": title, "summary": title, "date_phrase": phrase, "date": date,
            "recurring": recurring, "emotion": emotion, "importance": 5}


def run(texts, raw, check_support=True):
    msgs = [ChatMessage(role="user", content=t, timestamp=NOW.timestamp()) for t in texts]
    return postprocess(parse_extraction(raw), msgs, now=NOW, check_support=check_support)


@pytest.mark.parametrize("v", ["未知", "不知道", "none", "NULL", "n/a", "Unknown", "{city}", "<name>", "无"])
def test_placeholders(v):
    assert is_placeholder(v)
    assert run(["我住在上海"], answer([fact("city", v)]), check_support=False).facts == []


@pytest.mark.parametrize("v", ["上海", "Porto", "3", "学生会主席"])
def test_real_values_are_not_placeholders(v):
    assert not is_placeholder(v)


def test_values_never_said_are_dropped_on_the_llm_path_zh_en():
    out = run(["我叫小林，我住在上海"], answer([fact("name", "小林"), fact("job", "学生"), fact("city", "上海")]))
    assert [(f.key, f.value) for f in out.facts] == [("name", "小林"), ("city", "上海")]
    out = run(["I'm Sam and I live in Porto"], answer([fact("name", "Sam"), fact("job", "student")]))
    assert [f.key for f in out.facts] == ["name"]


def test_numbers_match_chinese_numerals_and_subject_is_kept():
    out = run(["我家的猫叫豆豆，今年三岁了"], answer([fact("age", "3", subject="豆豆"), fact("cat_name", "豆豆",
                                                                                     type_="relationship")]))
    assert {(f.subject, f.key, f.value) for f in out.facts} == {("豆豆", "age", "3"), ("user", "cat_name", "豆豆")}


def test_negated_likes_are_dropped_zh_en():
    assert run(["我不吃肉了"], answer([fact("likes_food", "肉", type_="preference")])).facts == []
    assert run(["I don't eat meat anymore"], answer([fact("favorite_food", "meat", type_="preference")])).facts == []
    kept = run(["I don't eat meat anymore"], answer([fact("dislikes_food", "meat", type_="preference")]))
    assert [f.key for f in kept.facts] == ["dislikes_food"]


def test_subjects_normalize_and_user_name_and_role_map():
    assert normalize_subject("我家的猫") == "猫" and normalize_subject("my sister") == "sister"
    assert normalize_subject("Me") == normalize_subject("我") == normalize_subject("") == "user"
    out = run(["I'm Sam. My dog is called Mochi, he is 4"],
              answer([fact("name", "Sam"), fact("dog_name", "Mochi", type_="relationship"),
                      fact("age", "4", subject="dog"), fact("city", "Sam", subject="Sam")]), check_support=False)
    assert {(f.subject, f.key) for f in out.facts} == {("user", "name"), ("user", "dog_name"), ("Mochi", "age"),
                                                       ("user", "city")}


def test_relative_dates_resolve_in_code_against_the_message_date():
    # "next Tuesday" said on Tuesday 1 December is 8 December, whatever the model wrote.
    out = run(["I have a job interview next Tuesday"], answer(events=[event("Job interview", phrase="next Tuesday",
                                                                             date="2026-12-02")]))
    [ev] = out.events
    assert (ev.date, ev.date_phrase, ev.recurring) == ("2026-12-08", "next Tuesday", False)
    zh = run(["下周二我要面试"], answer(events=[event("面试", phrase="下周二", date="2026-12-02")]))
    assert zh.events[0].date == "2026-12-08"


def test_recurring_is_set_by_type_not_by_the_model():
    out = run(["下个月15号是我生日，下周二面试"],
              answer(events=[event("生日", type_="birthday", date="2025-12-15", recurring=False),
                             event("面试", phrase="下周二", recurring=True)]))
    assert [(e.type, e.recurring, e.date) for e in out.events] == [("birthday", True, "2026-12-15"),
                                                                    ("plan", False, "2026-12-08")]


def test_events_the_segment_does_not_talk_about_are_dropped():
    # The known birthday repeated by a segment about the cat; the assistant's suggestion.
    out = run(["我家的猫叫豆豆"], answer(events=[event("生日", type_="birthday", date="2026-12-15", emotion="难过")]))
    assert out.events == []
    out = run(["I feel a bit bored"], answer(events=[event("Go hiking this weekend")]))
    assert out.events == []


def test_facts_of_different_subjects_never_merge_and_user_ids_are_unchanged():
    user_age = ExtractedFact(type="basic_info", key="age", value="25", confidence=0.9)
    cat_age = ExtractedFact(subject="豆豆", type="basic_info", key="age", value="3", confidence=0.9)
    [mine] = merge_facts({}, [user_age], task_id="t1", now=1.0, **IDS)
    changed = merge_facts({(mine.type, mine.key): mine}, [cat_age], task_id="t2", now=2.0, **IDS)
    [cat] = changed
    assert (cat.key, cat.subject, cat.base_key, cat.content) == ("豆豆:age", "豆豆", "age", "豆豆 age: 3")
    assert cat.fact_id != mine.fact_id and mine.value == "25"
    legacy = merge_facts({}, [ExtractedFact(type="basic_info", key="age", value="25", confidence=0.9)],
                         task_id="t1", now=1.0, **IDS)
    assert legacy[0].fact_id == mine.fact_id and mine.key == "age"  # the user's ids do not change


def test_events_of_different_subjects_never_merge():
    mine = ExtractedEvent(type="birthday", title="生日", summary="用户的生日", date="2026-12-15", recurring=True,
                          importance=8)
    cat = mine.model_copy(update={"subject": "豆豆", "title": "豆豆的生日"})
    [a] = merge_events([], [mine], task_id="t1", now=1.0, **IDS)
    [b] = merge_events([a], [cat], task_id="t2", now=2.0, **IDS)
    assert b.event_id != a.event_id and b.subject == "豆豆" and a.subject == "user"
