"""The extraction prompt and the embedding input are bounded; short texts pass unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

from companion.memory.documents import MemoryDoc, bounded_embedding_text
from companion.memory.extraction.llm_extractor import CUT_MARK, build_messages, cut_middle
from companion.memory.generation import task_size_error
from companion.models import ChatMessage

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def msg(text: str, seq: int, role: str = "user") -> ChatMessage:
    return ChatMessage(role=role, content=text, timestamp=1795262000.0 + seq, session_id="s", seq=seq)  # type: ignore[arg-type]


def test_cut_middle_keeps_head_and_tail_within_the_limit() -> None:
    text = "开头" + "中" * 10_000 + "结尾"
    cut = cut_middle(text, 100)
    assert len(cut) == 100 and cut.startswith("开头") and cut.endswith("结尾") and CUT_MARK in cut
    assert cut_middle("short", 100) == "short"


def test_prompt_of_two_huge_messages_is_bounded_and_short_ones_are_whole() -> None:
    huge = [msg("我叫小林。" + "x" * 100_000 + "我的猫叫团子。", 1),
            msg("Hello " * 20_000 + "bye Mochi", 2, "assistant")]
    prompt, _ = build_messages(huge, now=NOW, max_turn_chars=4000, max_chars=6000)
    user_part = prompt[1]["content"]
    assert len(user_part) < 6000 + 1000
    assert "我叫小林" in user_part and "我的猫叫团子" in user_part and "bye Mochi" in user_part

    short = [msg("我最喜欢吃火锅", 1), msg("记住啦", 2, "assistant")]
    prompt, _ = build_messages(short, now=NOW)
    assert "我最喜欢吃火锅" in prompt[1]["content"] and CUT_MARK not in prompt[1]["content"]


def turn(content: str, context: str = "") -> MemoryDoc:
    return MemoryDoc(memory_id="t", user_id="u", character_id="c", memory_type="turn", content=content,
                     timestamp=1.0, metadata={"context": context} if context else {})


def test_bounded_embedding_text() -> None:
    assert bounded_embedding_text(turn("是的，上周日！", "你去爬山了吗？"), 512) == "你去爬山了吗？\n是的，上周日！"
    long_turn = turn("我" * 5000, "问" * 400)
    text = bounded_embedding_text(long_turn, 512)
    assert len(text) == 512 and text.startswith("问" * 128 + "\n我")  # context keeps a quarter
    assert bounded_embedding_text(turn("a" * 2000), 512) == "a" * 512
    # A short turn lets the previous turn take the rest of the budget.
    text = bounded_embedding_text(turn("ok", "q" * 600), 512)
    assert len(text) == 512 and text.endswith("\nok")


def test_task_size_error_names_the_limit() -> None:
    msgs = [msg("a" * 600, 1), msg("b" * 600, 2)]
    assert task_size_error(msgs, max_chars=1000, max_messages=10) == (
        "task_too_large: 1200 characters in 2 messages, the limit is 1000")
    assert task_size_error(msgs, max_chars=2000, max_messages=1) == "task_too_large: 2 messages, the limit is 1"
    assert task_size_error(msgs, max_chars=2000, max_messages=10) is None
