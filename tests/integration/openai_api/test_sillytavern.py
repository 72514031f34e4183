"""A request shaped as SillyTavern's "Custom (OpenAI-compatible)" source sends it, over plain HTTP:
its system prompts, the alternating chat history, `stream: true` and the sampling fields it adds."""

from __future__ import annotations

import json

import httpx
from companion.characters import BUILTIN_CHARACTERS

from infra.fake_llm import FakeLLMServer
from tests.integration.chat.conftest import greeting

from .conftest import MODEL, Served


def sillytavern_body(character_id: str) -> dict[str, object]:
    return {
        "messages": [
            {"role": "system", "content": "Write 小雨's next reply in a fictional chat between 小雨 and 小林."},
            {"role": "system", "content": "[Start a new Chat]"},
            {"role": "assistant", "content": "嗨～今天过得怎么样？"},
            {"role": "user", "content": "还不错，刚下班。"},
            {"role": "assistant", "content": "辛苦啦！晚饭吃了吗？"},
            {"role": "user", "content": "还没呢，想吃火锅。"},
        ],
        "model": character_id, "temperature": 1, "max_tokens": 300, "stream": True,
        "presence_penalty": 0, "frequency_penalty": 0, "top_p": 1, "top_k": 0, "min_p": 0,
        "repetition_penalty": 1, "stop": [], "logit_bias": {}, "seed": -1, "n": 1,
        "include_reasoning": False, "user_name": "小林", "char_name": "小雨",
    }


def test_a_sillytavern_request_streams_and_stores_the_turn_once(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    fake_llm.configure(MODEL, reply="火锅！好主意，要不要加一份毛肚？", chunks=5)

    with httpx.stream("POST", f"{chat_server.url}/v1/chat/completions", json=sillytavern_body("xiaoyu"),
                      headers={"Authorization": f"Bearer {chat_server.token(user)}"}, timeout=30) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line]

    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "火锅！好主意，要不要加一份毛肚？"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in chunks[-1]  # only with stream_options.include_usage

    sent = fake_llm.requests(MODEL)[-1]["body"]
    system = sent["messages"][0]["content"]
    assert system.startswith(BUILTIN_CHARACTERS["xiaoyu"].system_prompt)
    assert "Write 小雨's next reply" in system and "[Start a new Chat]" in system
    assert (sent["temperature"], sent["max_tokens"]) == (1, 300)
    assert chat_server.history(user, "xiaoyu") == [greeting("xiaoyu"), ("user", "还没呢，想吃火锅。"),
                                                   ("assistant", "火锅！好主意，要不要加一份毛肚？")]
