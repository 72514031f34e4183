"""Prompt assembly: history budgets, lorebook entries, memory block placement, SillyTavern's order."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from companion.cards import import_card
from companion.cards.lorebook import select_lore
from companion.chat.macros import MacroContext
from companion.chat.prompt import (
    MAX_INSTRUCTION_CHARS,
    build_prompt,
    client_instructions,
    default_main_prompt,
    select_history,
)
from companion.models import Character, ChatMessage

from tests.unit.cards.samples import v2_card, v3_card

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


def _lore(ch: Character, texts: list[str]) -> list[str]:
    return [e.content for e in select_lore(ch, texts)]


def test_lorebook_entries_by_key_zh_and_en_and_constant() -> None:
    assert _lore(CHAR, ["we saw a 龙 yesterday"]) == ["Magic is rare.", "Dragons in this world are extinct."]
    assert _lore(CHAR, ["Where is the CASTLE?", "any dragons?"]) == [
        "Magic is rare.", "The castle lies north of the lake.", "Dragons in this world are extinct."]
    assert _lore(CHAR, ["hello"]) == ["Magic is rare."]


def test_prompt_layout_memory_block_and_lore_in_system() -> None:
    p = build_prompt(CHAR, [_msg("user", "tell me about the castle"), _msg("assistant", "It is old.")],
                     "and dragons?", language="en", memory_block="<memories>x</memories>")
    system = p.messages[0]["content"]
    assert system.startswith("You are Mira.")
    assert system.index("The castle lies north") < system.index("<memories>")
    assert [m["role"] for m in p.messages] == ["system", "user", "assistant", "user"]
    assert p.messages[-1]["content"] == "and dragons?"


def test_client_instructions_follow_the_character_and_precede_the_memories() -> None:
    p = build_prompt(CHAR, [], "any dragons?", language="en", memory_block="<memories>x</memories>",
                     instructions="  Answer in one sentence.  ")
    system = p.messages[0]["content"]
    assert system.startswith("You are Mira.")
    assert system.index("Dragons in this world") < system.index("Answer in one sentence.") < system.index(
        "reply in natural English") < system.index("<memories>")
    assert "do not contradict your character" in system  # the character's prompt wins
    plain = build_prompt(CHAR, [], "any dragons?", language="en").messages[0]["content"]
    assert "chat app" not in plain  # no instructions, no header


def test_client_instructions_are_cut_to_their_budget() -> None:
    long = "x" * (MAX_INSTRUCTION_CHARS + 500)
    assert client_instructions(long) == "x" * MAX_INSTRUCTION_CHARS + " […]"
    system = build_prompt(CHAR, [], "hi", language="en", instructions=long).messages[0]["content"]
    assert "x" * MAX_INSTRUCTION_CHARS + " […]" in system and "x" * (MAX_INSTRUCTION_CHARS + 1) not in system


def test_client_history_stands_in_for_the_window_within_the_same_budgets() -> None:
    window = [_msg("user", "server turn"), _msg("assistant", "server reply")]
    client = [_msg("user", f"client {i}") for i in range(6)]
    p = build_prompt(CHAR, window, "new", language="en", client_history=client, max_history_messages=3)
    assert [m["content"] for m in p.messages[1:]] == ["client 3", "client 4", "client 5", "new"]
    assert [m["content"] for m in p.history] == ["client 3", "client 4", "client 5"]
    # An empty client history is still the client's: the server's window stays out.
    assert [m["content"] for m in build_prompt(CHAR, window, "new", language="en", client_history=[]).messages[1:]] \
        == ["new"]


# -- SillyTavern's order, macros, examples, depth lore and the clock -----------------------------

NOW = datetime(2025, 4, 16, 12, 30, tzinfo=UTC).timestamp()  # Wednesday 20:30 in Shanghai
DAY = 86400.0


def _ctx(ch: Character, user: str, language: str, last: float | None = None) -> MacroContext:
    return MacroContext.at(char=ch.display_name, user=user, when=NOW, zone=ZoneInfo("Asia/Shanghai"),
                           language=language, last_user_message_at=last,
                           values={"original": default_main_prompt(ch)})


def test_a_sillytavern_card_reaches_the_model_in_its_order_en() -> None:
    aria = import_card(v2_card(), character_id="aria", owner_id="u1").character
    history = [ChatMessage(role="assistant", content="Course plotted, Lin."),
               ChatMessage(role="user", content="Is the ship ready?"), ChatMessage(role="assistant", content="Yes.")]
    p = build_prompt(aria, history, "A storm is coming.", language="en", context=_ctx(aria, "Lin", "en", NOW - 3 * DAY),
                     memory_block="<memories>m</memories>", instructions="Be brief.")
    assert p.messages == [
        {"role": "system", "content": "\n\n".join([
            "You are Aria. Never speak for Lin.",  # the card's system_prompt, macros replaced
            "The Aurora is a deep-space cruiser.",  # lore before the character ("ship" matched)
            "Aria navigates the starship Aurora.", "Aria's personality: calm, precise",
            "Scenario: On the bridge with Lin.",
            "Now, for the user: Wednesday, April 16, 2025, 8:30 PM (Asia/Shanghai). "
            "The user's previous message was 3 days ago.",
            "Additional instructions from the user's chat app (follow them where they do not contradict your "
            "character above):\nBe brief.",
            "The user writes in English: reply in natural English.", "<memories>m</memories>"])},
        {"role": "system", "content": "Example dialogues: how Aria talks (examples only, not part of this "
                                      "conversation).\n[Example Chat]\nLin: Status?\nAria: All green.\n"
                                      "[Example Chat]\nLin: ETA?\nAria: Two hours."},
        {"role": "system", "content": "Keep it short."},  # the Character's Note, depth 4: before the 4 messages
        {"role": "assistant", "content": "Course plotted, Lin."},
        {"role": "user", "content": "Is the ship ready?"},
        {"role": "user", "content": "Storms knock out the sensors."},  # "storm" lore: depth 2, role user
        {"role": "assistant", "content": "Yes."},
        {"role": "user", "content": "A storm is coming."},
        {"role": "system", "content": "Stay in character as Aria."},  # post-history instructions come last
    ]
    assert p.character is not None and p.character.first_mes == "Course plotted, Lin."
    assert [m["content"] for m in p.history] == ["Course plotted, Lin.", "Is the ship ready?", "Yes."]


def test_a_v3_card_in_chinese_decorated_lore_nickname_and_the_first_message() -> None:
    yue = import_card(v3_card(), character_id="yue", owner_id="u1").character
    p = build_prompt(yue, [], "要喝茶吗？下雨了", language="zh", context=_ctx(yue, "小林", "zh"))
    assert p.messages == [
        {"role": "system", "content": "\n\n".join([
            "你是小月。", "山里天气多变。", "小月是一位住在山里的画家。", "小月的性格：安静、温柔",
            "场景：小林来到山中小屋。",
            "用户那边现在是：2025年4月16日 星期三 20:30（Asia/Shanghai）。这是用户第一次和你说话。",
            "用户在用中文聊天：请用简体中文自然地回复。"])},
        {"role": "system", "content": "示例对话：小月说话的样子（只是示例，不是这次对话的内容）。\n[示例对话]\n"
                                      "小林: 你在画什么？\n小月: 山上的云。"},  # "小林：" (full-width) parsed too
        {"role": "system", "content": "小屋里总有热茶。"},  # @@depth 4 beyond a one-message chat: first
        {"role": "user", "content": "要喝茶吗？下雨了"},
        {"role": "system", "content": "保持小月的语气。"},
    ]
    assert not any("{{" in m["content"] or "@@" in m["content"] for m in p.messages)


def test_depth_prompts_group_by_depth_and_role_and_depth_zero_follows_the_new_message() -> None:
    ch = Character(character_id="c", name="Mira", post_history_instructions="PHI {{original}}.", character_book=[
        {"keys": [], "constant": True, "content": "@@depth 0\nafter the message", "insertion_order": 1},
        {"keys": [], "constant": True, "content": "@@depth 1\n@@role assistant\nassistant at 1", "insertion_order": 2},
        {"keys": [], "constant": True, "content": "@@depth 1\nsystem at 1, a", "insertion_order": 3},
        {"keys": [], "constant": True, "content": "@@depth 1\nsystem at 1, b", "insertion_order": 4},
        {"keys": [], "constant": True, "content": "@@depth 9\nfar", "insertion_order": 5},
    ], extensions={"depth_prompt": {"prompt": "note for {{char}}", "depth": 1, "role": "system"}})
    p = build_prompt(ch, [_msg("user", "u1"), _msg("assistant", "a1")], "new", language="en")
    assert [(m["role"], m["content"]) for m in p.messages[1:]] == [
        ("system", "far"), ("user", "u1"), ("assistant", "a1"),
        ("system", "system at 1, a\nsystem at 1, b\nnote for Mira"), ("assistant", "assistant at 1"),
        ("user", "new"), ("system", "after the message"), ("system", "PHI .")]  # {{original}}: no default PHI
    assert p.messages[0]["content"].startswith("You are Mira.\n\nNow, for the user: ")


def test_original_in_the_system_prompt_is_the_default_main_prompt() -> None:
    ch = Character(character_id="c", name="Mira", nickname="Mi", system_prompt="{{original}} Speak softly.")
    system = build_prompt(ch, [], "hi", language="en").messages[0]["content"]
    assert system.startswith("You are Mi. Speak softly.\n\n")


def test_the_clock_line_in_the_users_zone_and_language() -> None:
    p = build_prompt(CHAR, [], "hi", language="zh", context=_ctx(CHAR, "小林", "zh", NOW - 5 * 3600))
    assert "用户那边现在是：2025年4月16日 星期三 20:30（Asia/Shanghai）。距离用户上一条消息已经过去5小时。" in \
        p.messages[0]["content"]
    utc = MacroContext.at(char="Mira", user="Lin", when=NOW, zone=UTC, language="en", last_user_message_at=NOW - 40)
    assert "Now, for the user: Wednesday, April 16, 2025, 12:30 PM (UTC). The user's previous message was a few " \
           "seconds ago." in build_prompt(CHAR, [], "hi", language="en", context=utc).messages[0]["content"]
