"""Prompt assembly: persona, recalled memories (as quoted data), budgeted history, new message."""

from __future__ import annotations

from collections.abc import Sequence

from ..llm.base import Prompt
from ..models import Character, ChatMessage, RecalledMemory
from ..text import estimate_tokens

_LANGUAGE_RULE = {
    "zh": "用户在用中文聊天：请用简体中文自然地回复。",
    "en": "The user writes in English: reply in natural English.",
}


def persona_text(character: Character) -> str:
    parts = [character.system_prompt or f"You are {character.name}."]
    if character.description:
        parts.append(f"Character: {character.description}")
    if character.personality:
        parts.append(f"Personality: {character.personality}")
    if character.scenario:
        parts.append(f"Scenario: {character.scenario}")
    if character.mes_example:
        parts.append(f"Example dialogue:\n{character.mes_example}")
    return "\n".join(parts)


def lore_entries(character: Character, texts: Sequence[str], *, max_tokens: int = 1500) -> list[str]:
    """Character Card V2 lorebook: constant entries and those whose keys occur in the recent text.

    Keys match case-insensitively as substrings, which works for Chinese (no word boundaries)
    and English alike; entries keep the card's insertion order within a token budget.
    """
    scan = "\n".join(texts).lower()
    hits = [e for e in character.character_book
            if e.get("constant") or any(str(k).strip() and str(k).lower() in scan for k in e.get("keys") or [])]
    out: list[str] = []
    used = 0
    for entry in sorted(hits, key=lambda e: e.get("insertion_order", 0)):
        content = str(entry.get("content", "")).strip()
        cost = estimate_tokens(content)
        if content and used + cost <= max_tokens:
            out.append(content)
            used += cost
    return out


def select_history(history: Sequence[ChatMessage], *, max_messages: int, max_tokens: int) -> list[ChatMessage]:
    """The newest messages that fit both budgets, oldest first (seed 003: 50 messages / 20k tokens)."""
    chosen: list[ChatMessage] = []
    used = 0
    for msg in reversed(history):
        cost = msg.token_count or estimate_tokens(msg.content)
        if len(chosen) >= max_messages or used + cost > max_tokens:
            break
        chosen.append(msg)
        used += cost
    chosen.reverse()
    return chosen


def build_prompt(character: Character, history: Sequence[ChatMessage], user_message: str, *,
                 language: str, memories: Sequence[RecalledMemory] = (), memory_block: str = "",
                 max_history_messages: int = 50, max_history_tokens: int = 20000,
                 max_tokens: int = 1024, temperature: float = 0.8) -> Prompt:
    kept = select_history(history, max_messages=max_history_messages, max_tokens=max_history_tokens)
    system = persona_text(character)
    lore = lore_entries(character, [*(m.content for m in kept[-4:]), user_message])
    if lore:
        system += "\n\nWorld info:\n" + "\n".join(f"- {entry}" for entry in lore)
    system += "\n\n" + _LANGUAGE_RULE.get(language, _LANGUAGE_RULE["en"])
    if memory_block:
        system += "\n\n" + memory_block
    turns = [{"role": m.role, "content": m.content} for m in kept if m.role in ("user", "assistant")]
    messages = [{"role": "system", "content": system}, *turns]
    if character.post_history_instructions:
        messages.append({"role": "system", "content": character.post_history_instructions})
    messages.append({"role": "user", "content": user_message})
    return Prompt(messages=messages, language=language, character=character, memories=list(memories),
                  history=turns, user_message=user_message, max_tokens=max_tokens, temperature=temperature)
