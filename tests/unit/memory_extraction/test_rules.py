from __future__ import annotations

from datetime import datetime

import pytest
from companion.memory.extraction.dates import find_date
from companion.memory.extraction.rules import extract_with_rules
from companion.models import ChatMessage

NOW = datetime(2026, 11, 21, 20, 0)  # a Saturday


def run(*texts: str, assistant: str | None = None):
    msgs = []
    for t in texts:
        msgs.append(ChatMessage(role="user", content=t))
        if assistant:
            msgs.append(ChatMessage(role="assistant", content=assistant))
    return extract_with_rules(msgs, now=NOW)


def facts(outcome) -> dict[tuple[str, str], str]:
    return {(f.type, f.key): f.value for f in outcome.result.facts}


def test_canonical_chinese_example():
    out = run("我叫小林，下个月15号是我生日，我最喜欢吃火锅")
    f = facts(out)
    assert f[("basic_info", "name")] == "小林"
    assert f[("preference", "favorite_food")] == "火锅"
    assert f[("basic_info", "birthday")] == "12月15日"
    [ev] = out.result.events
    assert (ev.type, ev.date, ev.recurring) == ("birthday", "2026-12-15", True)
    assert out.llm_calls == 0 and out.method == "rules" and out.language == "zh"
    # Everything generated stays Chinese.
    assert "小林" in out.result.summary and "火锅" in out.result.summary
    assert not any(c.isascii() and c.isalpha() for c in out.result.summary + ev.title + ev.summary)
    assert out.result.emotion == "平静"
    assert "美食" in out.result.topics and "生日" in out.result.topics


def test_canonical_english_example():
    out = run("My name is Lin, my birthday is on the 15th of next month, and my favorite food is hotpot")
    f = facts(out)
    assert f[("basic_info", "name")] == "Lin"
    assert f[("preference", "favorite_food")] == "hotpot"
    [ev] = out.result.events
    assert (ev.type, ev.date, ev.recurring) == ("birthday", "2026-12-15", True)
    assert out.language == "en" and out.result.emotion == "neutral"
    assert "Lin" in out.result.summary and "hotpot" in out.result.summary


@pytest.mark.parametrize(("text", "expected"), [
    ("我今年25岁，是一名程序员，在腾讯工作，住在深圳",
     {("basic_info", "age"): "25", ("basic_info", "job"): "程序员", ("basic_info", "workplace"): "腾讯",
      ("basic_info", "city"): "深圳"}),
    ("我的名字是王小明", {("basic_info", "name"): "王小明"}),
    ("我住在上海", {("basic_info", "city"): "上海"}),
    ("我在北京", {("basic_info", "city"): "北京"}),
    ("我是四川人，我不喜欢吃香菜，我讨厌下雨天",
     {("basic_info", "hometown"): "四川", ("preference", "dislikes_food"): "香菜",
      ("preference", "dislikes"): "下雨天"}),
    ("我喜欢听周杰伦", {("preference", "likes_music"): "周杰伦"}),
    ("我最喜欢的颜色是蓝色", {("preference", "favorite_color"): "蓝色"}),
    ("我女朋友叫小美", {("relationship", "girlfriend_name"): "小美"}),
    ("我有一个妹妹", {("relationship", "sister"): "有一个妹妹"}),
    ("I'm Anna. I'm 25 years old and I work as a nurse.",
     {("basic_info", "name"): "Anna", ("basic_info", "age"): "25", ("basic_info", "job"): "nurse"}),
    ("I live in Berlin but I'm from Madrid.", {("basic_info", "city"): "Berlin", ("basic_info", "hometown"): "Madrid"}),
    ("I love pizza and I hate cilantro", {("preference", "likes_food"): "pizza",
                                          ("preference", "dislikes_food"): "cilantro"}),
    ("I don't like horror movies", {("preference", "dislikes"): "horror movies"}),
    ("Call me Max", {("basic_info", "nickname"): "Max"}),
    ("I'm a software engineer", {("basic_info", "job"): "software engineer"}),
    ("My sister Emma lives in Paris", {("relationship", "sister_name"): "Emma"}),
])
def test_facts(text, expected):
    got = facts(run(text))
    for k, v in expected.items():
        assert got.get(k) == v, (k, got)


@pytest.mark.parametrize("text", ["我叫外卖了", "I'm tired", "I'm a bit sad", "我爱你", "I love you", "I'm Fine"])
def test_no_false_facts(text):
    assert run(text).result.facts == []


def test_only_user_messages_are_mined():
    out = extract_with_rules([ChatMessage(role="assistant", content="我叫小助手，我最喜欢吃寿司"),
                              ChatMessage(role="user", content="你好呀")], now=NOW)
    assert out.result.facts == [] and out.result.events == []


@pytest.mark.parametrize(("text", "etype", "iso"), [
    ("下周五要去面试，好紧张", "plan", "2026-11-27"),
    ("我打算明天去爬山", "plan", "2026-11-22"),
    ("我妈妈的生日是3月5日", "birthday", "2027-03-05"),
    ("I'm going to visit my sister next Friday", "plan", "2026-11-27"),
    ("I have a job interview tomorrow", "plan", "2026-11-22"),
    ("my birthday is on May 5th", "birthday", "2027-05-05"),
    ("我下个月要结婚了", "life_event", None),
    ("I just got promoted!", "achievement", None),
])
def test_events(text, etype, iso):
    events = run(text).result.events
    assert events, text
    assert events[0].type == etype
    if iso:
        assert events[0].date == iso


def test_plan_title_drops_relative_date_and_is_third_person():
    [ev] = run("I'm going to visit my sister next Friday").result.events
    assert "Friday" not in ev.title and "their sister" in ev.summary
    [zh] = run("下周五要去面试").result.events
    assert "下周" not in zh.title and "面试" in zh.title


@pytest.mark.parametrize(("text", "emotion"), [
    ("今天好累啊", "疲惫"), ("我好焦虑，明天考试", "焦虑"), ("今天很开心！", "开心"), ("我不开心", "难过"),
    ("I'm so tired today", "tired"), ("I'm really happy", "happy"), ("I feel anxious", "anxious"),
])
def test_emotion(text, emotion):
    assert run(text).result.emotion == emotion


def test_later_mention_wins_and_is_deterministic():
    a = run("我住在上海", "我搬到北京了")
    assert facts(a)[("basic_info", "city")] == "北京"
    assert any(e.type == "life_event" for e in a.result.events)
    assert a == run("我住在上海", "我搬到北京了")


def test_fallback_summary_in_language():
    assert run("今天天气不错").result.summary.startswith("用户聊到")
    assert run("The weather is nice").result.summary.startswith("The user talked about")


@pytest.mark.parametrize(("text", "iso"), [
    ("下个月15号", "2026-12-15"), ("下周五", "2026-11-27"), ("后天", "2026-11-23"), ("三月五号", "2027-03-05"),
    ("2027年1月2日", "2027-01-02"), ("the 15th of next month", "2026-12-15"), ("next Friday", "2026-11-27"),
    ("5 May 2027", "2027-05-05"), ("in 3 days", "2026-11-24"), ("这周日", "2026-11-22"), ("2026-12-01", "2026-12-01"),
])
def test_dates(text, iso):
    m = find_date(text, NOW.date())
    assert m is not None and m.value.isoformat() == iso


def test_not_a_date():
    assert find_date("坐3号线回家", NOW.date()) is None
