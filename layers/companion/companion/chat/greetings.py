"""The greeting that opens a conversation: which of the card's greetings, and a date memory knows is near.

``Character.greetings`` holds ``first_mes`` at index 0 and ``alternate_greetings[i - 1]`` at i.
The chosen greeting (macros replaced) is the conversation's first message, an assistant message
like any other, marked ``metadata["greeting"] = index``. When memory knows a dated event close
enough (``Settings.greeting_upcoming_days``: a birthday tomorrow), one short line in the user's
language follows it, as a companion would bring it up.
"""

from __future__ import annotations

from datetime import tzinfo

from ..errors import AppError
from ..memory.recall.prompt_block import relative_future, sanitize, upcoming_events
from ..models import Character, ChatMessage, RecalledMemory
from .macros import Lang, language_of

GREETING = "greeting"  # the metadata key of a greeting message: its index in Character.greetings
MAX_TITLE_CHARS = 60
_OWN_BIRTHDAY_TITLES = frozenset({"生日", "我的生日", "用户的生日", "birthday", "my birthday", "user's birthday",
                                  "the user's birthday", "your birthday"})


def greeting_index(character: Character, requested: int | None) -> int | None:
    """The greeting to open with: ``requested``, else the first the card has; None when it has none.

    A requested index the card has no greeting at is a 400 ``unknown_greeting``.
    """
    greetings = character.greetings
    if requested is None:
        return next((i for i, g in enumerate(greetings) if g.strip()), None)
    if not 0 <= requested < len(greetings) or not greetings[requested].strip():
        have = [i for i, g in enumerate(greetings) if g.strip()]
        which = f"greetings {', '.join(map(str, have))}" if have else "no greeting"
        raise AppError(f"greeting_index {requested} does not exist: {character.name} has {which} "
                       "(0 is first_mes, i is alternate_greetings[i-1])", code="unknown_greeting", status=400)
    return requested


def is_greeting(message: ChatMessage) -> bool:
    return message.role == "assistant" and isinstance(message.metadata.get(GREETING), int)


def upcoming_line(memories: list[RecalledMemory], *, now: float, tz: tzinfo, within_days: int, language: str) -> str:
    """One line about the nearest remembered dated event within ``within_days`` days (today included), or ""."""
    if within_days <= 0:
        return ""
    items = upcoming_events(memories, now=now, within_days=within_days, tz=tz)
    if not items:
        return ""
    item, lang = items[0], language_of(language)
    when = relative_future(item.days_until, lang)
    if _own_birthday(item.memory):
        if item.days_until == 0:
            return ("对了，今天是你的生日吧？生日快乐！" if lang == "zh"
                    else "Isn't it your birthday today? Happy birthday!")
        return (f"对了，{when}是你的生日吧？我记着呢。" if lang == "zh"
                else f"By the way, your birthday is {when}, isn't it? I remembered.")
    return _other_event(sanitize(item.title, MAX_TITLE_CHARS), when, lang)


def _other_event(title: str, when: str, lang: Lang) -> str:
    return f"对了，我记得{when}是「{title}」。" if lang == "zh" else f"By the way, I remember “{title}” is {when}."


def _own_birthday(memory: RecalledMemory) -> bool:
    meta = memory.metadata
    if memory.memory_type == "profile":
        return meta.get("fact_type") == "basic_info" and meta.get("key") == "birthday"
    return meta.get("event_type") == "birthday" and str(meta.get("title", "")).strip().lower() in _OWN_BIRTHDAY_TITLES
