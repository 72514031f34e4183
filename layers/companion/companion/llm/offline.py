"""The offline model: used when no LLM is configured (local runs, demos, tests).

It is deterministic (same prompt → same reply), answers in the user's language in the
character's voice, says plainly that it is the offline model, and shows the memory it
was given — the recalled long-term memories and the previous user message of the
short-term window — so a person trying the service can see memory working end to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from .base import Completion, LLMProvider, Prompt, StreamChunk, Usage

OFFLINE_MODEL_NAME = "offline"

_ZH_REPLIES = (
    "我在认真听呢，多和我说说吧。",
    "嗯，我明白你的意思，然后呢？",
    "谢谢你愿意告诉我这些，我会记住的。",
    "听起来很有意思，你当时是什么感觉？",
)
_EN_REPLIES = (
    "I'm listening, tell me more.",
    "I see what you mean. What happened next?",
    "Thank you for telling me, I'll remember that.",
    "That sounds interesting. How did it make you feel?",
)
_CHUNK = re.compile(r"\S+\s*|\s+")


def _digest(*parts: str) -> int:
    # hashlib, not hash(): hash() of str is salted per process, and replies must be stable.
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _user_message(prompt: Prompt) -> str:
    if prompt.user_message:
        return prompt.user_message
    for message in reversed(prompt.messages):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def _previous_user_message(prompt: Prompt, current: str) -> str:
    """The user's message before the current one, from the short-term history."""
    users = [str(m.get("content", "")) for m in prompt.history if m.get("role") == "user"]
    # Callers may or may not have put the new message into history already.
    if users and users[-1] == current:
        users.pop()
    return users[-1] if users else ""


def offline_reply(prompt: Prompt) -> str:
    """The full reply text for ``prompt`` (what ``stream`` sends in pieces)."""
    zh = prompt.language == "zh"
    character = prompt.character
    name = character.name if character else ("助手" if zh else "Assistant")
    current = _user_message(prompt)
    previous = _previous_user_message(prompt, current)
    lines: list[str] = []
    if zh:
        lines.append(f"（离线模型）我是{name}。")
        if character and character.personality:
            lines.append(f"（性格：{_clip(character.personality, 40)}）")
        if prompt.memories:
            lines.append("我记得这些关于你的事：")
            lines += [f"- {_date(m.timestamp)}：{_clip(m.content, 80)}" for m in prompt.memories]
        if previous:
            lines.append(f"你刚才说过：「{_clip(previous, 60)}」")
        elif character and character.first_mes and not prompt.history:
            lines.append(_clip(character.first_mes, 80))
        pick = _ZH_REPLIES[_digest(name, current, json.dumps(prompt.messages)) % len(_ZH_REPLIES)]
        lines.append(f"关于你说的「{_clip(current, 60)}」，{pick}" if current else pick)
    else:
        lines.append(f"(offline model) I'm {name}.")
        if character and character.personality:
            lines.append(f"(personality: {_clip(character.personality, 60)})")
        if prompt.memories:
            lines.append("Here is what I remember about you:")
            lines += [f"- {_date(m.timestamp)}: {_clip(m.content, 100)}" for m in prompt.memories]
        if previous:
            lines.append(f'You said earlier: "{_clip(previous, 80)}"')
        elif character and character.first_mes and not prompt.history:
            lines.append(_clip(character.first_mes, 100))
        pick = _EN_REPLIES[_digest(name, current, json.dumps(prompt.messages)) % len(_EN_REPLIES)]
        lines.append(f'About "{_clip(current, 80)}": {pick}' if current else pick)
    return "\n".join(lines)


def _pieces(text: str, zh: bool) -> list[str]:
    """Small stream pieces: two characters for Chinese, one word (with its space) for English."""
    if zh:
        return [text[i:i + 2] for i in range(0, len(text), 2)]
    return _CHUNK.findall(text)


class OfflineProvider(LLMProvider):
    def __init__(self, name: str = OFFLINE_MODEL_NAME) -> None:
        self.name = name

    async def stream(self, prompt: Prompt) -> AsyncIterator[StreamChunk]:
        text = offline_reply(prompt)
        for piece in _pieces(text, prompt.language == "zh"):
            yield StreamChunk(text=piece)
            await asyncio.sleep(0)  # let other tasks run between pieces; no real delay
        yield StreamChunk(usage=Usage.estimate(prompt.messages, text))

    async def complete(self, messages: list[dict[str, str]], *, json_schema: dict[str, Any] | None = None,
                       max_tokens: int = 2048, temperature: float = 0.2) -> Completion:
        """A fixed-shape JSON object, the same for the same messages.

        ``{"offline": true, "summary": <first 200 chars of the last user message>,
        "topics": [], "emotion": "neutral", "facts": [], "events": []}``. Memory extraction
        uses its rule-based extractor with this model; the object only keeps callers that
        parse JSON working.
        """
        last_user = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
        text = json.dumps({"offline": True, "summary": _clip(last_user, 200), "topics": [],
                           "emotion": "neutral", "facts": [], "events": []}, ensure_ascii=False)
        usage = Usage.estimate(messages, text)
        return Completion(text=text, usage=usage, model=self.name)
