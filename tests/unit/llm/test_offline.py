"""The offline model: deterministic, bilingual, in character, and shows its memory."""

from __future__ import annotations

import json

from companion.llm.base import Prompt
from companion.llm.offline import OfflineProvider, offline_reply
from companion.models import Character, RecalledMemory

LUNA = Character(character_id="luna", name="Luna", personality="warm, curious, a little teasing",
                 first_mes="Hi, I'm Luna!")
XIAOMEI = Character(character_id="xm", name="小美", personality="温柔体贴", first_mes="你好呀，我是小美～")


def _prompt(text: str, lang: str, character: Character, **kw) -> Prompt:
    history = kw.pop("history", [])
    return Prompt(messages=[*history, {"role": "user", "content": text}], language=lang, character=character,
                  history=history, user_message=text, **kw)


async def _collect(provider: OfflineProvider, prompt: Prompt) -> tuple[list[str], object]:
    pieces, usage = [], None
    async for chunk in provider.stream(prompt):
        if chunk.text:
            pieces.append(chunk.text)
        if chunk.usage:
            usage = chunk.usage
    return pieces, usage


async def test_same_prompt_same_reply_and_small_pieces() -> None:
    provider = OfflineProvider()
    prompt = _prompt("I adopted a cat today", "en", LUNA)
    first, usage = await _collect(provider, prompt)
    second, _ = await _collect(OfflineProvider(), prompt)
    assert first == second
    assert len(first) > 5 and all(len(p.split()) <= 1 for p in first)  # one word per piece
    assert "".join(first) == offline_reply(prompt)
    assert usage is not None and usage.estimated and usage.completion_tokens > 0


async def test_english_reply_in_character_and_marked_offline() -> None:
    text = offline_reply(_prompt("I adopted a cat today", "en", LUNA))
    assert "(offline model)" in text
    assert "Luna" in text and "warm, curious" in text
    assert "I adopted a cat today" in text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_chinese_reply_in_character_and_streamed_in_two_char_pieces() -> None:
    prompt = _prompt("今天我养了一只猫", "zh", XIAOMEI)
    pieces, _ = await _collect(OfflineProvider(), prompt)
    text = "".join(pieces)
    assert text.startswith("（离线模型）我是小美")
    assert "温柔体贴" in text and "今天我养了一只猫" in text
    assert all(len(p) <= 2 for p in pieces)


async def test_memories_and_previous_message_are_shown() -> None:
    memories = [RecalledMemory(memory_id="m1", memory_type="profile", content="用户养了一只叫团子的猫",
                               timestamp=1714521600.0),  # 2024-05-01 UTC
                RecalledMemory(memory_id="m2", memory_type="event", content="下周三要面试",
                               timestamp=1717200000.0)]
    history = [{"role": "user", "content": "我最近有点累"}, {"role": "assistant", "content": "辛苦啦"}]
    text = offline_reply(_prompt("你还记得我的猫吗", "zh", XIAOMEI, memories=memories, history=history))
    assert "2024-05-01：用户养了一只叫团子的猫" in text
    assert "下周三要面试" in text and "2024-06-01" in text
    assert "你刚才说过：「我最近有点累」" in text


async def test_previous_message_skips_the_current_one_already_in_history() -> None:
    history = [{"role": "user", "content": "first thing"}, {"role": "assistant", "content": "ok"},
               {"role": "user", "content": "second thing"}]
    prompt = Prompt(messages=history, language="en", character=LUNA, history=history, user_message="second thing")
    assert 'You said earlier: "first thing"' in offline_reply(prompt)


async def test_different_messages_can_differ_and_first_mes_greets_new_chat() -> None:
    a = offline_reply(_prompt("hello", "en", LUNA))
    assert "Hi, I'm Luna!" in a
    replies = {offline_reply(_prompt(f"message {i}", "en", LUNA)).splitlines()[-1].split(": ", 1)[1]
               for i in range(12)}
    assert len(replies) > 1  # not one constant sentence


async def test_complete_returns_deterministic_json() -> None:
    messages = [{"role": "system", "content": "extract"}, {"role": "user", "content": "我叫小王"}]
    one = await OfflineProvider().complete(messages, json_schema={"type": "object"})
    two = await OfflineProvider().complete(messages)
    assert one.text == two.text
    data = json.loads(one.text)
    assert data["offline"] is True and data["summary"] == "我叫小王" and data["facts"] == []
    assert one.model == "offline" and one.usage.estimated
