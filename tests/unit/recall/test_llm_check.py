"""The optional LLM recall check: parsed answers, and None whenever it cannot be trusted."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from companion.memory.recall.intent import LLM_SCHEMA, decide_with_llm, llm_check


@dataclass
class Reply:
    text: str


class FakeCompleter:
    def __init__(self, text: str = "", *, delay: float = 0.0, error: Exception | None = None) -> None:
        self.text, self.delay, self.error = text, delay, error
        self.calls: list[dict[str, Any]] = []

    async def complete(self, messages: list[dict[str, str]], *, json_schema: dict[str, Any] | None = None,
                       max_tokens: int = 2048, temperature: float = 0.2) -> Reply:
        self.calls.append({"messages": messages, "json_schema": json_schema, "max_tokens": max_tokens,
                           "temperature": temperature})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error:
            raise self.error
        return Reply(self.text)


def answer(need: bool, kind: str, query: str) -> str:
    return json.dumps({"need_recall": need, "kind": kind, "query": query}, ensure_ascii=False)


async def test_positive_answer_is_parsed() -> None:
    llm = FakeCompleter(answer(True, "event", "猫 生病"))
    d = await llm_check(llm, "我家猫最近不太舒服")
    assert d is not None
    assert (d.need, d.kind, d.query, d.language, d.reasons) == (True, "event", "猫 生病", "zh", ["llm"])
    call = llm.calls[0]
    assert call["json_schema"] == LLM_SCHEMA
    assert call["temperature"] == 0.0
    # The user's message travels as JSON data inside the user turn, not in the system prompt.
    assert "我家猫最近不太舒服" in call["messages"][-1]["content"]
    assert "我家猫" not in call["messages"][0]["content"]


async def test_negative_answer_forces_kind_none() -> None:
    d = await llm_check(FakeCompleter(answer(False, "history", "")), "what a nice day")
    assert d is not None and d.need is False and d.kind == "none"
    assert d.query  # falls back to the message's own words


async def test_need_with_kind_none_searches_everything() -> None:
    d = await llm_check(FakeCompleter(answer(True, "none", "")), "how is my cat doing")
    assert d is not None and d.kind == "mixed"
    assert "cat" in d.query


async def test_fenced_json_is_accepted() -> None:
    d = await llm_check(FakeCompleter("```json\n" + answer(True, "profile", "name") + "\n```"), "x")
    assert d is not None and d.kind == "profile"


async def test_timeout_returns_none_quickly() -> None:
    start = time.monotonic()
    assert await llm_check(FakeCompleter(answer(True, "event", "q"), delay=5), "hello there", timeout_s=0.05) is None
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"need_recall": "yes", "kind": "event", "query": ""}',
     '{"need_recall": true, "kind": "weird", "query": ""}', ""],
)
async def test_unusable_answers_return_none(text: str) -> None:
    assert await llm_check(FakeCompleter(text), "message") is None


async def test_provider_error_returns_none() -> None:
    assert await llm_check(FakeCompleter(error=RuntimeError("503")), "message") is None


async def test_decide_with_llm_skips_llm_when_rules_fire() -> None:
    llm = FakeCompleter(answer(False, "none", ""))
    d = await decide_with_llm("你还记得我的生日吗", completer=llm)
    assert d.need and not llm.calls


async def test_decide_with_llm_skips_llm_for_small_talk() -> None:
    llm = FakeCompleter(answer(True, "mixed", "x"))
    d = await decide_with_llm("哈哈哈", completer=llm)
    assert d.need is False and not llm.calls


async def test_decide_with_llm_uses_llm_when_rules_are_silent() -> None:
    llm = FakeCompleter(answer(True, "profile", "cat name"))
    d = await decide_with_llm("feeling kind of down about the whole situation", completer=llm)
    assert d.need and d.kind == "profile" and d.reasons == ["llm"]
    assert len(llm.calls) == 1


async def test_decide_with_llm_falls_back_to_rules_on_failure() -> None:
    d = await decide_with_llm("今天好累", completer=FakeCompleter(error=RuntimeError("down")))
    assert d.need is False
    assert "llm_unavailable" in d.reasons
