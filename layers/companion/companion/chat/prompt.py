"""Prompt assembly as SillyTavern's default Chat Completion order, with Companion's memory after the card.

1. one system message: the card's ``system_prompt`` (else "You are {char}."), lore placed before the
   character, the description, the personality, the scenario, lore placed after the character; then
   the time line (now in the user's zone, time since their previous message), the client app's extra
   instructions (ranked below the character's), the language rule and the recalled-memory block last,
   so nothing Companion adds splits the card's own text;
2. one system message of example dialogue (``mes_example``, ``<START>`` blocks), when the card has it;
3. the history (the server's window, or the client's turns) and the new user message, with lore
   entries that have a depth (and the card's Character's Note, ``extensions.depth_prompt``) inserted
   that many messages from the end, in their role (0: after the new message);
4. the card's ``post_history_instructions``, as a system message after everything.

Macros (``chat/macros.py``) are replaced in every card field first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC

from ..cards.lorebook import LoreEntry, LoreRole, select_lore
from ..llm.base import Prompt
from ..models import Character, ChatMessage, RecalledMemory, now_s
from ..text import estimate_tokens
from .macros import DEFAULT_USER_NAME, Lang, MacroContext, apply_to_character, example_dialogues, language_of

REPLY_MAX_TOKENS = 1024  # a reply's budget; a client may ask for less, never more
DEFAULT_TEMPERATURE = 0.8
MAX_INSTRUCTION_CHARS = 4000  # the client's extra instructions beyond this are cut (head kept)
_INSTRUCTIONS_HEADER = ("Additional instructions from the user's chat app (follow them where they do not "
                        "contradict your character above):")

_LANGUAGE_RULE = {
    "zh": "用户在用中文聊天：请用简体中文自然地回复。",
    "en": "The user writes in English: reply in natural English.",
}
_LABELS: dict[Lang, dict[str, str]] = {
    "en": {"personality": "{char}'s personality: {text}", "scenario": "Scenario: {text}",
           "now": "Now, for the user: {weekday}, {date}, {time} ({zone}).",
           "idle": "The user's previous message was {idle} ago.",
           "first": "This is the user's first message to you.",
           "examples": "Example dialogues: how {char} talks (examples only, not part of this conversation).",
           "example": "[Example Chat]"},
    "zh": {"personality": "{char}的性格：{text}", "scenario": "场景：{text}",
           "now": "用户那边现在是：{date} {weekday} {time}（{zone}）。",
           "idle": "距离用户上一条消息已经过去{idle}。",
           "first": "这是用户第一次和你说话。",
           "examples": "示例对话：{char}说话的样子（只是示例，不是这次对话的内容）。",
           "example": "[示例对话]"},
}
_ROLE_ORDER: dict[str, int] = {"system": 0, "user": 1, "assistant": 2}


def default_main_prompt(character: Character) -> str:
    """Companion's main prompt when the card has no ``system_prompt`` (its ``{{original}}`` otherwise)."""
    return f"You are {character.display_name}."


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


def client_instructions(text: str, *, max_chars: int = MAX_INSTRUCTION_CHARS) -> str:
    """The client's instructions within their budget: the head is kept, a cut is marked."""
    text = text.strip()
    return text if len(text) <= max_chars else text[:max_chars].rstrip() + " […]"


def time_line(ctx: MacroContext) -> str:
    """The date, weekday and time in the user's zone, and how long since their previous message."""
    labels, values = _LABELS[ctx.language], ctx.builtins()
    now = labels["now"].format(weekday=values["weekday"], date=values["date"], time=values["time"],
                               zone=getattr(ctx.now.tzinfo, "key", None) or str(ctx.now.tzinfo or UTC))
    since = labels["first"] if ctx.idle_s is None else labels["idle"].format(idle=values["idle_duration"])
    return f"{now} {since}" if ctx.language == "en" else now + since


def character_text(ch: Character, lore: Sequence[LoreEntry], language: Lang) -> str:
    """The card's part of the system message, in SillyTavern's order (macros already replaced)."""
    labels, name = _LABELS[language], ch.display_name
    before = [e.content for e in lore if e.depth is None and e.position == "before_char"]
    after = [e.content for e in lore if e.depth is None and e.position == "after_char"]
    parts = [ch.system_prompt.strip() or default_main_prompt(ch), "\n".join(before), ch.description.strip(),
             labels["personality"].format(char=name, text=ch.personality.strip()) if ch.personality.strip() else "",
             labels["scenario"].format(text=ch.scenario.strip()) if ch.scenario.strip() else "", "\n".join(after)]
    return "\n\n".join(p for p in parts if p)


def examples_text(ch: Character, *, user: str, language: Lang) -> str:
    """``mes_example`` as one block of example chats, each speaker named; "" when the card has none."""
    dialogues = example_dialogues(ch.mes_example, user=user, char=ch.display_name)
    if not dialogues:
        return ""
    labels = _LABELS[language]
    lines = [labels["examples"].format(char=ch.display_name)]
    for turns in dialogues:
        lines.append(labels["example"])
        lines += [f"{user if t.role == 'user' else ch.display_name}: {t.content}" for t in turns]
    return "\n".join(lines)


def with_depth_prompts(chat: list[dict[str, str]], ch: Character,
                       lore: Sequence[LoreEntry]) -> list[dict[str, str]]:
    """``chat`` with the depth lore entries and the Character's Note inserted ``depth`` messages from its end.

    Prompts of one depth and role become one message (entries in insertion order, then the note);
    at one depth the roles go system, user, assistant; a depth beyond the chat puts them first.
    """
    grouped: dict[tuple[int, str], list[str]] = {}
    for entry in lore:
        if entry.depth is not None:
            grouped.setdefault((max(0, entry.depth), entry.role), []).append(entry.content)
    note = _characters_note(ch.extensions)
    if note is not None:
        grouped.setdefault((note[0], note[1]), []).append(note[2])
    if not grouped:
        return chat
    places: dict[int, list[tuple[int, int, str, str]]] = {}
    for (depth, role), texts in grouped.items():
        places.setdefault(max(0, len(chat) - depth), []).append((-depth, _ROLE_ORDER[role], role, "\n".join(texts)))
    out: list[dict[str, str]] = []
    for i in range(len(chat) + 1):
        out += [{"role": role, "content": text} for _, _, role, text in sorted(places.get(i, []))]
        if i < len(chat):
            out.append(chat[i])
    return out


def _characters_note(extensions: Mapping[str, object]) -> tuple[int, LoreRole, str] | None:
    """SillyTavern's Character's Note (``extensions.depth_prompt``: prompt, depth 4, role system)."""
    note = extensions.get("depth_prompt")
    if not isinstance(note, Mapping) or not isinstance(note.get("prompt"), str) or not note["prompt"].strip():
        return None
    depth = note.get("depth")
    role = note.get("role")
    return (depth if isinstance(depth, int) and not isinstance(depth, bool) and depth >= 0 else 4,
            role if role in ("system", "user", "assistant") else "system",
            note["prompt"].strip())


def build_prompt(character: Character, history: Sequence[ChatMessage], user_message: str, *,
                 language: str, context: MacroContext | None = None, memories: Sequence[RecalledMemory] = (),
                 memory_block: str = "", instructions: str = "", client_history: Sequence[ChatMessage] | None = None,
                 max_history_messages: int = 50, max_history_tokens: int = 20000,
                 max_tokens: int = REPLY_MAX_TOKENS, temperature: float = DEFAULT_TEMPERATURE) -> Prompt:
    """``context``: the macros' values (names, the user's clock, the idle time); without one, the
    neutral user name, UTC and no previous message. ``instructions``: the client app's extra
    instructions. ``client_history``: when given, the turns the client sent stand in for ``history``
    (the server's window), within the same budgets."""
    lang = language_of(language)
    ctx = context or MacroContext.at(char=character.display_name, user=DEFAULT_USER_NAME[lang], when=now_s(),
                                     zone=UTC, language=lang, values={"original": default_main_prompt(character)})
    ch = apply_to_character(character, ctx)
    source = history if client_history is None else client_history
    kept = [m for m in select_history(source, max_messages=max_history_messages, max_tokens=max_history_tokens)
            if m.role in ("user", "assistant")]
    lore = select_lore(ch, [*(m.content for m in kept), user_message])
    extra = client_instructions(instructions)
    system = [character_text(ch, lore, lang), time_line(ctx), f"{_INSTRUCTIONS_HEADER}\n{extra}" if extra else "",
              _LANGUAGE_RULE[lang], memory_block]
    messages = [{"role": "system", "content": "\n\n".join(p for p in system if p)}]
    examples = examples_text(ch, user=ctx.user, language=lang)
    if examples:
        messages.append({"role": "system", "content": examples})
    turns = [{"role": m.role, "content": m.content} for m in kept]
    messages += with_depth_prompts([*turns, {"role": "user", "content": user_message}], ch, lore)
    if ch.post_history_instructions.strip():
        messages.append({"role": "system", "content": ch.post_history_instructions.strip()})
    return Prompt(messages=messages, language=language, character=ch, memories=list(memories),
                  history=turns, user_message=user_message, max_tokens=max_tokens, temperature=temperature)
