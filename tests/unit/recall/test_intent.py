"""Rule-based recall decisions, zh and en."""

from __future__ import annotations

import pytest
from companion.memory.recall.intent import RecallDecision, decide, extract_query, is_small_talk, should_recall

POSITIVES_ZH = [
    ("你还记得我最喜欢吃什么吗？", "mixed"),
    ("上次我们聊的那部电影叫什么来着", "history"),
    ("我之前跟你说过我养了一只猫", "history"),
    ("你记得我们第一次聊天吗", "history"),
    ("记不记得我说过要去日本", "history"),
    ("以前我跟你提过我的工作", "mixed"),
    ("那天我好难过", "history"),
    ("昨天我去看了电影", "history"),
    ("上周我们去爬山了，你还记得吗", "history"),
    ("我叫什么名字？", "profile"),
    ("我多大了你知道吗", "profile"),
    ("我最喜欢的颜色是什么", "profile"),
    ("你知道我是做什么的吗", "profile"),
    ("我住在哪里？", "profile"),
    ("我女朋友叫什么", "profile"),
    ("我的专业是什么来着", "profile"),
    ("我的生日是哪天？", "mixed"),
    ("下个月是我们的纪念日", "event"),
    ("那件事后来怎么样了", "event"),
    ("我下周有个面试，好紧张", "event"),
    ("考试结果出来了", "event"),
]


@pytest.mark.parametrize(("message", "kind"), POSITIVES_ZH)
def test_zh_positives(message: str, kind: str) -> None:
    d = decide(message)
    assert d.need is True, d
    assert d.kind == kind, d
    assert d.language == "zh"
    assert d.reasons and "no_rule" not in d.reasons


POSITIVES_EN = [
    ("Do you remember what I said about my sister's wedding?", "mixed"),
    ("Last time we talked about my trip to Japan", "mixed"),
    ("what did I tell you about my boss", "mixed"),
    ("We talked about this before", "history"),
    ("Yesterday was rough", "history"),
    ("last week I started a new course", "history"),
    ("Do you recall the book I mentioned?", "history"),
    ("What's my name?", "profile"),
    ("how old am I?", "profile"),
    ("where do I live?", "profile"),
    ("What do I do for a living?", "profile"),
    ("Do you know what I like?", "profile"),
    ("what is my favorite movie", "profile"),
    ("my birthday is coming up!", "mixed"),
    ("Our anniversary is next month", "event"),
    ("how did the interview go?", "event"),
    ("I have an exam tomorrow", "event"),
]


@pytest.mark.parametrize(("message", "kind"), POSITIVES_EN)
def test_en_positives(message: str, kind: str) -> None:
    d = decide(message)
    assert d.need is True, d
    assert d.kind == kind, d
    assert d.language == "en"


NEGATIVES = [
    "你好", "您好！", "你好呀~", "哈哈", "哈哈哈哈", "嗯嗯", "好的", "谢谢你", "晚安", "在吗？", "早上好！",
    "ok", "OK!", "okay", "thanks", "Thank you!", "lol", "hahaha", "hi there", "Hello!", "good night",
    "how are you?", "👍", "",
    # Not small talk, but nothing to remember either.
    "今天天气真好", "我在吃饭", "你喜欢什么颜色？", "我喜欢你", "睡觉之前我想听个故事", "你听说过这首歌吗",
    "给我讲个笑话吧", "what should we do today?", "tell me a joke", "I'm so tired today",
    "what's your name?", "do you like music?", "I said no to him",
]


@pytest.mark.parametrize("message", NEGATIVES)
def test_negatives(message: str) -> None:
    d = decide(message)
    assert d.need is False, d
    assert d.kind == "none"


@pytest.mark.parametrize("message", ["你好", "哈哈哈", "ok", "thanks", "Thank you so much!", "嗯", "hi!!"])
def test_small_talk_detected(message: str) -> None:
    assert is_small_talk(message)
    assert decide(message).reasons == ["small_talk"]


@pytest.mark.parametrize(
    "message", ["你好，你还记得我吗", "ok so what's my name", "thanks for remembering my birthday"]
)
def test_greeting_with_question_is_not_small_talk(message: str) -> None:
    assert not is_small_talk(message)
    assert decide(message).need is True


def test_forgot_is_history() -> None:
    d = decide("你是不是忘了我跟你说过的事")
    assert d.need and d.kind in {"history", "mixed"}
    assert "zh.told_before" in d.reasons


def test_query_keeps_content_words_zh() -> None:
    q = decide("你还记得我最喜欢吃什么吗？").query
    assert "喜欢" in q and "吃" in q
    for filler in ("还记得", "吗", "？", "你", "什么"):
        assert filler not in q


def test_query_keeps_content_words_en() -> None:
    q = decide("Do you remember what I said about my sister's wedding?").query
    assert q.split() == ["sister", "wedding"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("你知道我是做什么的吗", "工作"),
        ("我叫什么", "名字"),
        ("我几岁了", "年龄"),
        ("where do I live?", "city"),
        ("what do I do for a living?", "job"),
        ("What's my name again", "name"),
    ],
)
def test_query_expansion_for_personal_questions(message: str, expected: str) -> None:
    assert expected in decide(message).query.split()


def test_query_time_words_removed() -> None:
    q = decide("上周我们去爬山了，你还记得吗").query
    assert "爬山" in q
    assert "上周" not in q and "记得" not in q


def test_query_never_empty_for_non_empty_message() -> None:
    d = decide("你还记得吗？")
    assert d.need and d.query  # falls back to the message
    assert decide("hi").query == "hi"


def test_query_dedupes_and_is_bounded() -> None:
    q = extract_query("wedding wedding wedding " + "火锅" * 200)
    assert q.split().count("wedding") == 1
    assert len(q) <= 100


def test_follow_up_inherits_previous_turn() -> None:
    d = decide("后来呢？", recent_user_messages=["今天天气不错", "我明天要去面试"])
    assert d.need and d.kind == "event"
    assert "follow_up" in d.reasons
    assert "面试" in d.query


def test_follow_up_en_inherits_kind_and_query() -> None:
    d = decide("and then?", recent_user_messages=["Do you remember my trip to Japan?"])
    assert d.need
    assert "japan" in d.query


def test_follow_up_without_context_is_not_recall_en() -> None:
    assert decide("and then?").need is False


def test_short_recall_question_borrows_context_words() -> None:
    d = decide("你还记得吗？", recent_user_messages=["我上个月去了西藏旅行"])
    assert d.need
    assert "西藏" in d.query
    assert "context_query" in d.reasons


def test_unrelated_context_does_not_force_recall() -> None:
    d = decide("今天吃什么好呢", recent_user_messages=["你还记得我的生日吗"])
    assert d.need is False


def test_language_falls_back_to_recent_messages() -> None:
    assert decide("👍👍", recent_user_messages=["你好呀"]).language == "zh"
    assert decide("👍👍").language == "en"
    assert decide("你还记得我吗").language == "zh"


def test_curly_apostrophes() -> None:
    assert decide("What\u2019s my dog\u2019s name?").need


def test_should_recall_policies() -> None:
    yes = RecallDecision(True, "profile", "名字", "zh", ["zh.name"])
    no = RecallDecision(False, "none", "你好", "zh", ["small_talk"])
    empty = RecallDecision(False, "none", "", "en", ["small_talk"])
    assert should_recall(yes, "intent") is True
    assert should_recall(no, "intent") is False
    assert should_recall(no, "always") is True
    assert should_recall(empty, "always") is False
    with pytest.raises(ValueError):
        should_recall(yes, "sometimes")


@pytest.mark.parametrize("message", ["哈" * 39 + "x", "haha " * 8 + "x", "嗯" * 39 + "?", "哈" * 5000, "hi " * 3000])
def test_pathological_inputs_are_fast(message: str) -> None:
    import time

    start = time.perf_counter()
    decide(message)
    assert time.perf_counter() - start < 0.5


def test_needs_context_only_for_follow_ups_and_empty_memory_questions() -> None:
    from companion.memory.recall.intent import needs_context

    for msg in ("后来呢？", "and then?", "What happened next?", "还记得吗？", "do you remember?"):
        assert needs_context(msg), msg
    for msg in ("你还记得我是做什么工作的吗？", "Do you remember my trip to Lisbon?", "今天好累", "hello"):
        assert not needs_context(msg), msg
