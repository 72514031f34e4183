"""Rule extraction gets the facts right: subjects, per-event emotion, exams, negation, corrections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from companion.memory.extraction.rules import extract_with_rules
from companion.models import ChatMessage

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # a Tuesday


def run(*texts: str, days_ago: int = 0):
    t0 = (NOW - timedelta(days=days_ago)).timestamp()
    msgs = [ChatMessage(role="user", content=t, timestamp=t0 + i) for i, t in enumerate(texts)]
    return extract_with_rules(msgs, now=NOW).result


def facts(result) -> dict[tuple[str, str], str]:
    return {(f.subject, f.key): f.value for f in result.facts}


ZH_SESSION = ("我叫小林，下个月15号是我生日，我最喜欢吃火锅", "我家的猫叫豆豆，今年三岁了", "今天考试没考好，有点难过")


def test_chinese_session_cat_age_is_the_cats_not_the_users():
    r = run(*ZH_SESSION)
    f = facts(r)
    assert f[("豆豆", "age")] == "3"
    assert ("user", "age") not in f
    assert "今年3岁" not in r.summary and "豆豆3岁" in r.summary


@pytest.mark.parametrize("text", ["我家的猫叫豆豆", "我的猫叫豆豆", "我家猫叫豆豆"])
def test_chinese_pet_name_with_or_without_jia(text):
    assert facts(run(text))[("user", "cat_name")] == "豆豆"


def test_chinese_session_emotion_belongs_to_the_exam_not_the_birthday():
    r = run(*ZH_SESSION)
    by_type = {e.type: e for e in r.events}
    assert by_type["birthday"].emotion != "难过"
    exam = by_type["emotional"]
    assert "考试" in exam.title and exam.emotion == "难过"
    assert exam.date == "2026-12-01" and exam.date_phrase == "今天"
    assert (by_type["birthday"].date, by_type["birthday"].date_phrase) == ("2027-01-15", "下个月15号")


def test_english_pet_age_is_the_pets():
    r = run("My cat is called Mochi, she's 4 years old", "I'm 30")
    f = facts(r)
    assert f[("Mochi", "age")] == "4" and f[("user", "age")] == "30"


def test_english_failed_exam_is_an_emotional_event():
    [ev] = run("I failed my exam today, feeling really sad").events
    assert (ev.type, ev.title, ev.emotion, ev.date) == ("emotional", "I failed my exam", "sad", "2026-12-01")


def test_english_job_interview_is_a_plan_dated_from_the_message():
    [ev] = run("I have a job interview next Tuesday").events
    assert (ev.type, ev.title, ev.date, ev.date_phrase) == ("plan", "Job interview", "2026-12-08", "next Tuesday")
    # Said on Tuesday 24 November, "next Tuesday" is 1 December, not a week after the segment's day.
    [old] = run("I have a job interview next Tuesday", days_ago=7).events
    assert old.date == "2026-12-01"


def test_chinese_interview_plan_dated_from_the_message():
    [ev] = run("下周二有个面试", days_ago=7).events
    assert (ev.type, ev.title, ev.date) == ("plan", "面试", "2026-12-01")


@pytest.mark.parametrize(("texts", "meat"), [
    (("我不吃肉了",), "肉"),
    (("我喜欢吃肉", "我不吃肉了"), "肉"),
    (("I don't eat meat anymore",), "meat"),
    (("I love meat", "I don't eat meat anymore"), "meat"),
])
def test_negation_never_stores_a_like(texts, meat):
    r = run(*texts)
    assert not [f for f in r.facts if f.value == meat and f.key.startswith(("likes", "favorite"))]
    assert facts(r)[("user", "avoids_food")] == meat


@pytest.mark.parametrize(("text", "city"), [("其实我搬到杭州了", "杭州"), ("actually I moved to Porto", "Porto")])
def test_correction_yields_the_city(text, city):
    r = run(text)
    assert facts(r)[("user", "city")] == city
    assert len(r.events) == 1 and not r.events[0].title.lower().startswith(("actually", "其实"))


@pytest.mark.parametrize("text", ["我住在未知", "我的名字是未知", "I live in unknown", "My name is None"])
def test_placeholder_values_are_dropped(text):
    assert run(text).facts == []


def test_placeholder_does_not_overwrite_a_real_value():
    assert facts(run("我住在上海", "我住在未知"))[("user", "city")] == "上海"
