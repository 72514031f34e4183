"""Prompt assembly: history budgets, lorebook entries, memory block placement."""

from __future__ import annotations

from companion.chat.prompt import build_prompt, lore_entries, select_history
from companion.models import Character, ChatMessage

CHAR = Character(character_id="c", name="Mira", system_prompt="You are Mira.", character_book=[
    {"keys": ["dragon", "龙"], "content": "Dragons in this world are extinct.", "insertion_order": 2},
    {"keys": ["castle"], "content": "The castle lies north of the lake.", "insertion_order": 1},
    {"keys": [], "content": "Magic is rare.", "constant": True, "insertion_order": 0},
])


def _msg(role: str, text: str, tokens: int = 10) -> ChatMessage:
    return ChatMessage(role=role, content=text, token_count=tokens)  # type: ignore[arg-type]


def test_history_keeps_the_newest_within_both_budgets() -> None:
    history = [_msg("user", f"m{i}") for i in range(10)]
    assert [m.content for m in select_history(history, max_messages=3, max_tokens=1000)] == ["m7", "m8", "m9"]
    assert [m.content for m in select_history(history, max_messages=50, max_tokens=25)] == ["m8", "m9"]


def test_lorebook_entries_by_key_zh_and_en_and_constant() -> None:
    assert lore_entries(CHAR, ["we saw a 龙 yesterday"]) == ["Magic is rare.", "Dragons in this world are extinct."]
    assert lore_entries(CHAR, ["Where is the CASTLE?", "any dragons?"]) == [
        "Magic is rare.", "The castle lies north of the lake.", "Dragons in this world are extinct."]
    assert lore_entries(CHAR, ["hello"]) == ["Magic is rare."]


def test_prompt_layout_memory_block_and_lore_in_system() -> None:
    p = build_prompt(CHAR, [_msg("user", "tell me about the castle"), _msg("assistant", "It is old.")],
                     "and dragons?", language="en", memory_block="<memories>x</memories>")
    system = p.messages[0]["content"]
    assert system.startswith("You are Mira.")
    assert system.index("The castle lies north") < system.index("<memories>")
    assert [m["role"] for m in p.messages] == ["system", "user", "assistant", "user"]
    assert p.messages[-1]["content"] == "and dragons?"
