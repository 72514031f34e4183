"""How the client's system prompt and history combine with Companion's window and character,
and that every mode stores the new turn exactly once (the history API shows one new pair)."""

from __future__ import annotations

from typing import Any

from companion.characters import BUILTIN_CHARACTERS

from infra.fake_llm import FakeLLMServer
from tests.integration.chat.conftest import greeting

from .conftest import MODEL, Served

LUNA = BUILTIN_CHARACTERS["luna"].system_prompt
FABRICATED = [{"role": "user", "content": "I am a pirate captain."},
              {"role": "assistant", "content": "Arr, welcome aboard, captain!"}]


def _turns(request: dict[str, Any]) -> list[tuple[str, str]]:
    """The user/assistant messages the model was sent (the system messages aside)."""
    return [(m["role"], m["content"]) for m in request["body"]["messages"] if m["role"] != "system"]


def _system(request: dict[str, Any]) -> str:
    return request["body"]["messages"][0]["content"]


async def test_by_default_the_server_window_and_character_win(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    fake_llm.configure(MODEL, reply="Lovely to hear from you.")
    client = chat_server.sdk(user)
    await client.chat.completions.create(model="luna", messages=[{"role": "user", "content": "I live in Porto."}])

    fake_llm.configure(MODEL, reply="You live in Porto!")
    await client.chat.completions.create(model="luna", messages=[
        {"role": "system", "content": "Always answer in exactly one sentence."}, *FABRICATED,
        {"role": "user", "content": "Where do I live?"}])

    sent = fake_llm.requests(MODEL)[-1]
    system = _system(sent)
    assert system.startswith(LUNA) and "Always answer in exactly one sentence." in system
    assert _turns(sent) == [greeting("luna"), ("user", "I live in Porto."), ("assistant", "Lovely to hear from you."),
                            ("user", "Where do I live?")]  # the server's window; the client's turns are ignored
    assert chat_server.history(user, "luna") == [
        greeting("luna"), ("user", "I live in Porto."), ("assistant", "Lovely to hear from you."),
        ("user", "Where do I live?"), ("assistant", "You live in Porto!")]


async def test_client_history_mode_sends_the_clients_turns_and_stores_only_the_new_one(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    fake_llm.configure(MODEL, reply="Noted.")
    client = chat_server.sdk(user)
    await client.chat.completions.create(model="luna", messages=[{"role": "user", "content": "My cat is Miso."}])

    fake_llm.configure(MODEL, reply="Aye, captain.")
    stream = await client.chat.completions.create(
        model="luna", stream=True, extra_body={"companion": {"history": "client"}},
        messages=[{"role": "system", "content": "Stay in the pirate story."}, *FABRICATED,
                  {"role": "user", "content": [{"type": "text", "text": "Where are we sailing?"}]}])
    chunks = [c async for c in stream]

    sent = fake_llm.requests(MODEL)[-1]
    assert _turns(sent) == [("user", "I am a pirate captain."), ("assistant", "Arr, welcome aboard, captain!"),
                            ("user", "Where are we sailing?")]  # the client's history, not the server's window
    assert "Stay in the pirate story." in _system(sent) and _system(sent).startswith(LUNA)
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.model_extra["companion"]["history"] == "client"  # type: ignore[index]
    assert chat_server.history(user, "luna") == [
        greeting("luna"), ("user", "My cat is Miso."), ("assistant", "Noted."),
        ("user", "Where are we sailing?"), ("assistant", "Aye, captain.")]  # the client's turns are not stored


async def test_a_client_history_conversation_gets_no_greeting_and_the_clients_time_zone(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    fake_llm.configure(MODEL, reply="Morning!")
    await chat_server.sdk(user).chat.completions.create(
        model="luna", extra_body={"companion": {"history": "client", "time_zone": "America/New_York"}},
        messages=[{"role": "assistant", "content": "Hi from the front-end's own card."},
                  {"role": "user", "content": "Good morning"}])
    sent = fake_llm.requests(MODEL)[-1]
    assert _turns(sent) == [("assistant", "Hi from the front-end's own card."), ("user", "Good morning")]
    assert "(America/New_York)" in _system(sent)  # the time line in the user's zone, not Luna's default (UTC)
    # the front-end shows its own greeting: the server stores only the new turn
    assert chat_server.history(user, "luna") == [("user", "Good morning"), ("assistant", "Morning!")]


async def test_a_server_history_conversation_opens_with_the_greeting_in_the_models_context(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    await chat_server.sdk(user).chat.completions.create(model="xiaoyu",
                                                        messages=[{"role": "user", "content": "在吗"}])
    sent = fake_llm.requests(MODEL)[-1]
    assert _turns(sent) == [greeting("xiaoyu"), ("user", "在吗")]
    assert "（Asia/Shanghai）" in _system(sent)  # 小雨's own zone when the client sends none
    assert chat_server.history(user, "xiaoyu") == [greeting("xiaoyu"), ("user", "在吗"), ("assistant", "echo: 在吗")]
