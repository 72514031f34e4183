"""Card macros in Chinese and English for a fixed clock, and mes_example as example dialogue."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from companion.chat.macros import (
    ExampleTurn,
    MacroContext,
    apply_to_character,
    example_dialogues,
    humanize_duration,
    resolve_zone,
    split_examples,
    substitute,
    user_name,
)
from companion.models import Character

NOW = datetime(2025, 4, 16, 12, 30, tzinfo=UTC).timestamp()  # a Wednesday: 20:30 in Shanghai, 8:30 in New York
DAY = 86400.0


def _ctx(language: str = "en", zone: str = "Asia/Shanghai", last: float | None = None, **kw: str) -> MacroContext:
    return MacroContext.at(char="Aria", user="Lin", when=NOW, zone=ZoneInfo(zone), language=language,
                           last_user_message_at=last, values=kw or None)


def test_char_and_user_any_case_spaced_and_legacy() -> None:
    text = "{{char}} greets {{User}}; {{ CHAR }} and <USER>, <bot>, <Char>, {{charIfNotGroup}}"
    assert substitute(text, _ctx()) == "Aria greets Lin; Aria and Lin, Aria, Aria, Aria"


def test_unknown_macros_stay_unless_given_a_value() -> None:
    text = "{{original}} then {{random:a,b}} and {{unknown}} <START>"
    assert substitute(text, _ctx()) == text
    assert substitute(text, _ctx(original="BASE")) == "BASE then {{random:a,b}} and {{unknown}} <START>"


def test_one_pass_never_expands_a_replaced_value() -> None:
    ctx = MacroContext.at(char="Aria", user="{{char}}", when=NOW, zone=UTC, language="en")
    assert substitute("hi {{user}}", ctx) == "hi {{char}}"


@pytest.mark.parametrize(("language", "zone", "expected"), [
    ("en", "Asia/Shanghai", "8:30 PM | April 16, 2025 | Wednesday | 20:30 | 2025-04-16"),
    ("zh", "Asia/Shanghai", "20:30 | 2025年4月16日 | 星期三 | 20:30 | 2025-04-16"),
    ("en", "America/New_York", "8:30 AM | April 16, 2025 | Wednesday | 08:30 | 2025-04-16"),
    ("zh-CN", "Pacific/Kiritimati", "02:30 | 2025年4月17日 | 星期四 | 02:30 | 2025-04-17"),
])
def test_time_date_and_weekday_in_the_users_zone_and_language(language: str, zone: str, expected: str) -> None:
    text = "{{time}} | {{date}} | {{weekday}} | {{isotime}} | {{isodate}}"
    assert substitute(text, _ctx(language, zone)) == expected


@pytest.mark.parametrize(("seconds", "en", "zh"), [
    (None, "just now", "刚刚"),
    (30, "a few seconds", "几秒"),
    (50, "a minute", "1分钟"),
    (44 * 60, "44 minutes", "44分钟"),
    (45 * 60, "an hour", "1小时"),
    (5 * 3600, "5 hours", "5小时"),
    (22 * 3600, "a day", "1天"),
    (3 * DAY, "3 days", "3天"),
    (25 * DAY, "25 days", "25天"),
    (26 * DAY, "a month", "1个月"),
    (100 * DAY, "3 months", "3个月"),
    (330 * DAY, "a year", "1年"),
    (800 * DAY, "2 years", "2年"),
])
def test_idle_duration_words_as_moment_js(seconds: float | None, en: str, zh: str) -> None:
    assert (humanize_duration(seconds, "en"), humanize_duration(seconds, "zh")) == (en, zh)


def test_idle_duration_macro_from_the_last_user_message() -> None:
    assert substitute("{{idle_duration}}", _ctx("en", last=NOW - 3 * DAY)) == "3 days"
    assert substitute("已经{{idle_duration}}没见了", _ctx("zh", last=NOW - 3 * DAY)) == "已经3天没见了"
    assert substitute("{{idle_duration}}", _ctx("zh")) == "刚刚"


def test_newline_noop_trim_and_comments() -> None:
    text = "a{{newline}}b{{noop}}\n\n{{trim}}\nc{{// a note for the creator}}d"
    assert substitute(text, _ctx()) == "a\nbcd"


def test_every_prompt_field_of_a_character_is_substituted() -> None:
    ch = Character(
        character_id="c", name="Aria", nickname="Ari", system_prompt="You are {{char}}.", description="{{char}} D",
        personality="{{user}} P", scenario="S {{weekday}}", mes_example="<START>\n{{user}}: hi\n{{char}}: yo",
        first_mes="Hi {{user}}", alternate_greetings=["Yo {{user}}"], group_only_greetings=["All, {{char}}"],
        post_history_instructions="Stay {{char}}", creator_notes="{{char}} by me",
        character_book=[{"keys": ["k"], "content": "{{char}} lore"}, {"keys": ["x"]}])
    ctx = MacroContext.at(char=ch.display_name, user="Lin", when=NOW, zone=UTC, language="en")
    out = apply_to_character(ch, ctx)
    assert (out.system_prompt, out.description, out.personality, out.scenario) == (
        "You are Ari.", "Ari D", "Lin P", "S Wednesday")
    assert (out.mes_example, out.first_mes, out.post_history_instructions) == (
        "<START>\nLin: hi\nAri: yo", "Hi Lin", "Stay Ari")
    assert (out.alternate_greetings, out.group_only_greetings) == (["Yo Lin"], ["All, Ari"])
    assert out.character_book == [{"keys": ["k"], "content": "Ari lore"}, {"keys": ["x"]}]
    assert out.creator_notes == "{{char}} by me" and ch.first_mes == "Hi {{user}}"  # for people; original unchanged


def test_original_only_in_the_system_prompt_and_the_characters_note_substituted() -> None:
    ch = Character(character_id="c", name="Aria", system_prompt="{{original}} More.", description="{{original}}",
                   post_history_instructions="{{original}}Stay {{char}}.",
                   extensions={"depth_prompt": {"prompt": "{{user}} is tired", "depth": 2, "role": "system"}, "x": 1})
    ctx = MacroContext.at(char="Aria", user="Lin", when=NOW, zone=UTC, language="en", values={"original": "BASE"})
    out = apply_to_character(ch, ctx)
    assert (out.system_prompt, out.description, out.post_history_instructions) == (
        "BASE More.", "{{original}}", "Stay Aria.")
    assert out.extensions == {"depth_prompt": {"prompt": "Lin is tired", "depth": 2, "role": "system"}, "x": 1}
    assert ch.extensions["depth_prompt"]["prompt"] == "{{user}} is tired"


def test_examples_split_on_start_as_sillytavern() -> None:
    assert split_examples("") == [] and split_examples("<START>") == []
    assert split_examples("Lin: hi\nAria: yo\n<start>\nLin: again") == ["Lin: hi\nAria: yo", "Lin: again"]
    assert split_examples("<START>\nA\n\n<START>\n\n<START>\nB") == ["A", "B"]


def test_example_dialogues_in_turns_en_and_zh() -> None:
    text = "<START>\nLin: Status?\nAria: All green.\nStill green.\n<START>\nAria: Alone here.\n<START>\njust prose"
    assert example_dialogues(text, user="Lin", char="Aria") == [
        [ExampleTurn("user", "Status?"), ExampleTurn("assistant", "All green.\nStill green.")],
        [ExampleTurn("assistant", "Alone here.")],
    ]
    zh = "<START>\n小林: 你在画什么？\n林月: 山上的云。"
    assert example_dialogues(zh, user="小林", char="林月") == [
        [ExampleTurn("user", "你在画什么？"), ExampleTurn("assistant", "山上的云。")]]
    full_width = "<START>\n小林：你在画什么？\n林月：山上的云。\n小林：真好看"
    assert example_dialogues(full_width, user="小林", char="林月") == [
        [ExampleTurn("user", "你在画什么？"), ExampleTurn("assistant", "山上的云。"), ExampleTurn("user", "真好看")]]


def test_zone_and_user_name_fallbacks() -> None:
    assert resolve_zone("Not/AZone", "Asia/Shanghai") == ZoneInfo("Asia/Shanghai")
    assert resolve_zone(None, "") is UTC
    assert user_name(None, "  ", "Lin", language="en") == "Lin"
    assert (user_name(None, language="en"), user_name("", language="zh-CN")) == ("User", "用户")


def test_user_comes_from_the_profile_then_the_tokens_display_name() -> None:
    from companion.auth import display_name
    from companion.memory.extraction.schema import FactType
    from companion.memory.recall.candidates import from_fact, preferred_name
    from companion.memory.records import FactRecord

    def fact(key: str, value: str, type_: FactType = "basic_info") -> FactRecord:
        return FactRecord(user_id="u", character_id="c", type=type_, key=key, value=value, confidence=0.9,
                          since=NOW, updated_at=NOW, source_task_id="t")

    assert preferred_name([from_fact(fact("name", "林小雨")), from_fact(fact("nickname", "小林"))]) == "小林"
    assert preferred_name([from_fact(fact("name", " Lin ")), from_fact(fact("name", "Max", "relationship"))]) == "Lin"
    assert preferred_name([from_fact(fact("age", "30"))]) is None
    assert display_name({"sub": "u1", "preferred_username": "lin_w", "name": "  Lin   Wei "}) == "Lin Wei"
    assert display_name({"sub": "u1", "name": "\u0000bad", "nickname": "Lin"}) == "Lin"
    assert display_name({"sub": "u1", "email": "lin@example.com"}) is None  # an address is not a name
    assert user_name(None, display_name({"sub": "u1"}), language="zh") == "用户"
