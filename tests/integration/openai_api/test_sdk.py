"""The OpenAI-compatible routes driven by the real `openai` SDK: models, completions streamed and not."""

from __future__ import annotations

from companion.bootstrap import Container
from companion.models import Character

from infra.fake_llm import FakeLLMServer
from tests.integration.chat.conftest import greeting

from .conftest import MODEL, Served


async def test_models_are_the_characters_the_user_may_talk_to(
        chat_server: Served, user: str, container: Container) -> None:
    await container.character_repo.put(Character(character_id=f"mine-{user}", name="Mine", owner_id=user))
    await container.character_repo.put(Character(character_id=f"theirs-{user}", name="Theirs", owner_id="someone"))
    client = chat_server.sdk(user)

    models = {m.id: m async for m in client.models.list()}

    assert {"xiaoyu", "luna", f"mine-{user}"} <= set(models) and f"theirs-{user}" not in models
    assert models["xiaoyu"].object == "model" and models["xiaoyu"].owned_by == "companion"
    assert models["xiaoyu"].created > 0
    assert models[f"mine-{user}"].owned_by == "user"
    assert (await client.models.retrieve("luna")).model_extra["companion"]["name"] == "Luna"  # type: ignore[index]


async def test_a_streamed_completion_has_openai_chunks_and_is_stored_once(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    fake_llm.configure(MODEL, reply="Nice to meet you, Anna.", chunks=4)
    client = chat_server.sdk(user)

    stream = await client.chat.completions.create(
        model="luna", messages=[{"role": "user", "content": "Hi, I'm Anna"}], stream=True,
        stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]

    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    assert {c.model for c in chunks} == {"luna"}
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Nice to meet you, Anna."
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 3  # as the fake model sent it
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.choices[0].finish_reason == "stop"
    extras = final.model_extra["companion"]  # type: ignore[index]
    assert extras["llm_model"] == MODEL and extras["history"] == "server"
    assert extras["degraded"] == ["recall_embedding"]  # what the served app runs without (no embedding model)
    usage = chunks[-1]
    assert usage.choices == [] and usage.usage is not None and usage.usage.completion_tokens > 0
    assert usage.usage.total_tokens == usage.usage.prompt_tokens + usage.usage.completion_tokens
    assert chat_server.history(user, "luna") == [greeting("luna"), ("user", "Hi, I'm Anna"),
                                                 ("assistant", "Nice to meet you, Anna.")]


async def test_a_completion_without_streaming_is_one_object(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    fake_llm.configure(MODEL, reply="你好呀，小林！")
    client = chat_server.sdk(user)

    completion = await client.chat.completions.create(model="xiaoyu",
                                                      messages=[{"role": "user", "content": "你好，我叫小林"}])

    assert completion.object == "chat.completion" and completion.model == "xiaoyu"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "你好呀，小林！"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    extras = completion.model_extra["companion"]  # type: ignore[index]
    assert extras["memories"] == 0 and extras["session_id"]
    assert chat_server.history(user, "xiaoyu") == [greeting("xiaoyu"), ("user", "你好，我叫小林"),
                                                   ("assistant", "你好呀，小林！")]


async def test_sampling_fields_reach_the_model_within_the_reply_budget(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    client = chat_server.sdk(user)
    await client.chat.completions.create(model="luna", messages=[{"role": "user", "content": "hello"}],
                                         temperature=0.3, max_tokens=64, top_p=0.5, seed=7, stop=["\n"])
    await client.chat.completions.create(model="luna", messages=[{"role": "user", "content": "again"}],
                                         max_completion_tokens=100_000)

    first, second = (r["body"] for r in fake_llm.requests(MODEL))
    assert (first["temperature"], first["max_tokens"]) == (0.3, 64)
    assert "top_p" not in first and "seed" not in first and "stop" not in first  # accepted, not forwarded
    assert second["max_tokens"] == 1024  # a client may lower the budget, never raise it
