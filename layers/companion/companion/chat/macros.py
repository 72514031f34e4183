"""Card macros, replaced as SillyTavern replaces them, and ``mes_example`` as example dialogue.

Macros (names case-insensitive, ``{{ user }}`` spaced too):
    {{char}} {{user}}            the character (its V3 nickname when it has one) and the user
    {{time}} {{date}} {{weekday}} now in the user's zone, in their language: "8:30 PM" / "20:30",
                                 "April 16, 2025" / "2025年4月16日", "Wednesday" / "星期三"
    {{isotime}} {{isodate}}      "20:30", "2025-04-16"
    {{idle_duration}}            time since the user's previous message, as SillyTavern (moment.js)
                                 words it: "a few seconds", "3 days" / "几秒", "3天"; "just now" / "刚刚"
                                 when there is none
    {{newline}} {{noop}} {{trim}} {{// comment}}   a line break, nothing, trim the newlines around, nothing
    {{group}} {{charIfNotGroup}} the character (Companion has no group chats)
    <USER> <BOT> <CHAR> <GROUP> <CHARIFNOTGROUP>   the legacy forms, any case
Any other ``{{…}}`` (``{{original}}``, ``{{random:a,b}}``) is left as written unless the caller
gives it a value (``MacroContext.values``). One pass: a replaced value is never scanned again, so
a user named "{{char}}" stays "{{char}}".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..models import Character

Lang = Literal["zh", "en"]
Role = Literal["user", "assistant"]

DEFAULT_USER_NAME: dict[Lang, str] = {"zh": "用户", "en": "User"}
_WEEKDAYS: dict[Lang, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
# moment.js relativeTime words (en, zh-cn without the spaces).
_DURATION: dict[Lang, dict[str, str]] = {
    "en": {"s": "a few seconds", "m": "a minute", "mm": "{} minutes", "h": "an hour", "hh": "{} hours",
           "d": "a day", "dd": "{} days", "M": "a month", "MM": "{} months", "y": "a year", "yy": "{} years",
           "none": "just now"},
    "zh": {"s": "几秒", "m": "1分钟", "mm": "{}分钟", "h": "1小时", "hh": "{}小时", "d": "1天", "dd": "{}天",
           "M": "1个月", "MM": "{}个月", "y": "1年", "yy": "{}年", "none": "刚刚"},
}
_MACRO = re.compile(
    r"\n*\{\{\s*trim\s*\}\}\n*|\{\{//[\s\S]*?\}\}|\{\{\s*([A-Za-z_][\w\-]*)\s*\}\}|<(USER|BOT|CHAR|CHARIFNOTGROUP|GROUP)>",
    re.IGNORECASE)
_START = re.compile(r"<START>", re.IGNORECASE)


def language_of(lang: str) -> Lang:
    return "zh" if lang.lower().startswith("zh") else "en"


def is_time_zone(name: str) -> bool:
    """An IANA zone name this machine knows (``Asia/Shanghai``, ``UTC``)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def resolve_zone(*candidates: str | None) -> tzinfo:
    """The first valid zone of ``candidates`` (the client's, then the character's), else UTC."""
    for name in candidates:
        if name and is_time_zone(name):
            return ZoneInfo(name)
    return UTC


def user_name(*candidates: str | None, language: str) -> str:
    """The first name given (the profile fact, then the token's display name), else a neutral word."""
    for name in candidates:
        if name and name.strip():
            return name.strip()
    return DEFAULT_USER_NAME[language_of(language)]


@dataclass(frozen=True)
class MacroContext:
    char: str
    user: str
    now: datetime  # aware, in the user's time zone
    language: Lang = "en"
    idle_s: float | None = None  # seconds since the user's previous message; None: there is none
    values: Mapping[str, str] = field(default_factory=dict)  # further macros by lower-case name

    @classmethod
    def at(cls, *, char: str, user: str, when: float | datetime, zone: tzinfo, language: str,
           last_user_message_at: float | datetime | None = None,
           values: Mapping[str, str] | None = None) -> MacroContext:
        """The context at ``when`` (a unix time or an aware datetime) shown in ``zone``.

        ``last_user_message_at``: the user's message before the one being answered (SillyTavern's
        ``{{idle_duration}}`` skips the newest exchange the same way).
        """
        now = (datetime.fromtimestamp(when, zone) if isinstance(when, int | float) else when.astimezone(zone))
        idle = None
        if last_user_message_at is not None:
            last = (last_user_message_at if isinstance(last_user_message_at, int | float)
                    else last_user_message_at.timestamp())
            idle = max(0.0, now.timestamp() - last)
        return cls(char=char, user=user, now=now, language=language_of(language), idle_s=idle,
                   values={k.lower(): v for k, v in (values or {}).items()})

    def builtins(self) -> dict[str, str]:
        n, lang = self.now, self.language
        if lang == "zh":
            time_text, date_text = f"{n.hour:02d}:{n.minute:02d}", f"{n.year}年{n.month}月{n.day}日"
        else:
            time_text = f"{(n.hour % 12) or 12}:{n.minute:02d} {'AM' if n.hour < 12 else 'PM'}"
            date_text = f"{_MONTHS[n.month - 1]} {n.day}, {n.year}"
        return {"char": self.char, "user": self.user, "group": self.char, "charifnotgroup": self.char,
                "time": time_text, "date": date_text, "weekday": _WEEKDAYS[lang][n.weekday()],
                "isotime": f"{n.hour:02d}:{n.minute:02d}", "isodate": n.date().isoformat(),
                "idle_duration": humanize_duration(self.idle_s, lang), "newline": "\n", "noop": ""}


def substitute(text: str, ctx: MacroContext) -> str:
    if not text or ("{{" not in text and "<" not in text):
        return text
    table = {**ctx.values, **ctx.builtins()}

    def one(m: re.Match[str]) -> str:
        name, legacy = m.group(1), m.group(2)
        if legacy:
            return ctx.user if legacy.upper() == "USER" else ctx.char
        if name is None:  # {{trim}} with its newlines, or a {{// comment}}
            return ""
        return table.get(name.lower(), m.group(0))

    return _MACRO.sub(one, text)


def apply_to_character(character: Character, ctx: MacroContext) -> Character:
    """A copy with macros replaced in every field that reaches the prompt or the chat.

    System prompt, description, personality, scenario, examples, greetings (first and alternate,
    group-only too), post-history instructions, each lore entry's content and SillyTavern's
    Character's Note (``extensions.depth_prompt.prompt``); the card's other fields (creator notes,
    tags…) are for people and stay as written. ``{{original}}`` (``ctx.values["original"]``, the
    default main prompt) is replaced in the system prompt only, and is empty in the post-history
    instructions (Companion has no default for them), as in SillyTavern.
    """
    ch = character
    plain = replace(ctx, values={k: v for k, v in ctx.values.items() if k != "original"})
    fields = ("description", "personality", "scenario", "mes_example", "first_mes")
    update: dict[str, object] = {f: substitute(getattr(ch, f), plain) for f in fields}
    update["system_prompt"] = substitute(ch.system_prompt, ctx)
    update["post_history_instructions"] = substitute(
        ch.post_history_instructions, replace(ctx, values={**plain.values, "original": ""}))
    update["alternate_greetings"] = [substitute(g, plain) for g in ch.alternate_greetings]
    update["group_only_greetings"] = [substitute(g, plain) for g in ch.group_only_greetings]
    update["character_book"] = [
        {**e, "content": substitute(e["content"], plain)} if isinstance(e.get("content"), str) else e
        for e in ch.character_book]
    note = ch.extensions.get("depth_prompt")
    if isinstance(note, Mapping) and isinstance(note.get("prompt"), str):
        update["extensions"] = {**ch.extensions, "depth_prompt": {**note, "prompt": substitute(note["prompt"], plain)}}
    return ch.model_copy(update=update)


def humanize_duration(seconds: float | None, language: str) -> str:
    """A duration in words, with moment.js's thresholds (45 s → "a minute", 22 h → "a day", 26 d → "a month")."""
    words = _DURATION[language_of(language)]
    if seconds is None:
        return words["none"]
    s = abs(seconds)
    days = s / 86400
    months = days * 4800 / 146097  # moment's days-to-months
    n = {"s": _round(s), "m": _round(s / 60), "h": _round(s / 3600), "d": _round(days), "M": _round(months),
         "y": _round(months / 12)}
    if n["s"] <= 44:
        return words["s"]
    for unit, limit in (("m", 45), ("h", 22), ("d", 26), ("M", 11)):
        if n[unit] <= 1:
            return words[unit]
        if n[unit] < limit:
            return words[unit * 2].format(n[unit])
    return words["y"] if n["y"] <= 1 else words["yy"].format(n["y"])


def _round(x: float) -> int:
    return math.floor(x + 0.5)  # JavaScript's Math.round (half up), not Python's half-to-even


# ---------------------------------------------------------------------------- examples

@dataclass(frozen=True)
class ExampleTurn:
    role: Role
    content: str


def split_examples(mes_example: str) -> list[str]:
    """The example blocks of ``mes_example``, split on ``<START>`` (any case) as SillyTavern's parseMesExamples.

    Text before the first ``<START>`` is a block when the field does not begin with one; empty blocks go.
    """
    text = mes_example.strip()
    if not text:
        return []
    if not _START.match(text):
        text = "<START>\n" + text
    return [b.strip() for b in _START.split(text)[1:] if b.strip()]


def example_dialogues(mes_example: str, *, user: str, char: str) -> list[list[ExampleTurn]]:
    """Each block as turns (SillyTavern's parseExampleIntoIndividual), macros already replaced.

    A line starting ``{user}:`` begins a user turn and ``{char}:`` an assistant turn (the full-width
    colon of Chinese text, ``{user}：``, too); other lines continue the turn (lines before the first
    speaker open it); the speaker's prefix goes.
    """
    dialogues = [_turns(block, user, char) for block in split_examples(mes_example)]
    return [turns for turns in dialogues if turns]


def _turns(block: str, user: str, char: str) -> list[ExampleTurn]:
    turns: list[ExampleTurn] = []
    speaker: Role | None = None
    lines: list[str] = []
    for line in [*block.split("\n"), None]:  # None: the end of the block closes the last turn
        starts: Role | None = None
        if line is not None:
            starts = ("user" if _speaks(line, user) else "assistant" if _speaks(line, char) else None)
        if line is None or (starts is not None and starts != speaker):
            if speaker is not None:
                name = user if speaker == "user" else char
                turns.append(ExampleTurn(role=speaker, content=_drop_speaker("\n".join(lines), name)))
                lines = []
            speaker = starts or speaker
        if line is not None:
            lines.append(line)
    return turns


def _speaks(line: str, name: str) -> bool:
    return bool(name) and line.startswith(name) and line[len(name):len(name) + 1] in (":", "：")


def _drop_speaker(text: str, name: str) -> str:
    """``text`` without its first ``name:`` (or ``name：``), as SillyTavern removes the speaker's prefix."""
    found = [i for i in (text.find(f"{name}:"), text.find(f"{name}：")) if i >= 0]
    if found:
        i = min(found)
        text = text[:i] + text[i + len(name) + 1:]
    return text.strip()
