"""The rules every extraction obeys, enforced in code for the rule and the LLM extractor alike.

    result = postprocess(result, messages, now=now, known_facts=known, check_support=True)

* Placeholders are dropped whatever their confidence: a fact whose value is "未知", "不知道",
  "none", "null", "n/a", "unknown", a template slot such as "{city}" or empty; an event whose
  title is one; an emotion, topic or date phrase that is one becomes empty.
* Subjects are normalized (``normalize_subject``); a subject that is the user's own name becomes
  ``"user"``; a role ("猫", "my cat", "cat") whose name the segment or a known fact gives
  (``cat_name = 豆豆``) becomes the name, and an unnamed role one word per role ("我妈" -> "妈妈").
  The user's ``cat_age`` with the cat's name known is the cat's ``age``.
* A liked value the user only ever says in a negation ("我不吃肉了", "I don't eat meat anymore")
  is not stored as a like.
* With ``check_support`` (the LLM path: a model can invent, rules copy the user's words), a fact
  value that the user's messages do not support is dropped (``job = 学生`` never said, a known
  fact copied back, what the assistant said), and so is an event the user's messages do not talk
  about (a known birthday repeated by a segment about an exam). The check compares a value with
  the user's text by character bigrams, numbers by value (3 == 三); a value in another script than
  the user's text (a translation) cannot be checked that way and is kept.
* Dates: an event's ``date_phrase`` is resolved in code (``dates.find_date``) against the date of
  the message the event came from (``source_message`` when the extractor does not say), and that
  date wins over the model's; birthdays and anniversaries are recurring (and only they), pointing
  at their next occurrence.
* Sources: a fact or event the extractor gave no ``source_seqs`` (a model's answer) gets the user
  messages it was taken from: for a fact, each message that supports its value on its own; for an
  event, the message that says its date phrase, else the one that talks most about it. A value
  none supports alone (a translation, words spread over messages) claims no message. With
  ``check_support`` they are always found here, whatever the answer says; the summary's sources
  are the extractor's (none for a model's summary, written in its own words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from ...models import ChatMessage
from ..similarity import normalize, overlap
from .dates import cn_number, find_date, message_date, roll_forward_yearly
from .roles import canonical_role, zh_role
from .schema import USER, ExtractedEvent, ExtractedFact, ExtractionResult, normalize_subject

RECURRING_TYPES = frozenset({"birthday", "anniversary"})

_PLACEHOLDER_WORDS = {
    "unknown", "none", "null", "nil", "n/a", "na", "not specified", "unspecified", "not mentioned",
    "not given", "not provided", "not stated", "tbd", "todo", "?", "??", "-", "--", "...", "…", "xxx",
    "未知", "不知道", "不详", "未提及", "未说明", "未提供", "无", "没有", "暂无", "不清楚", "待定", "空",
}
_SLOT = re.compile(r"^\s*(?:\{\{?[^{}]*\}?\}|<[^<>]*>|\[[^\[\]]*\]|\$\{[^{}]*\})\s*$")
_STRIP = " \t\r\n\"'“”‘’.,;:!?。，；：！？、"


def is_placeholder(value: str | None) -> bool:
    """True for the words models write when they have no value, and for template slots."""
    if value is None:
        return True
    v = value.strip(_STRIP)
    return not v or v.casefold() in _PLACEHOLDER_WORDS or bool(_SLOT.match(value))


# ---------------------------------------------------------------- support in the user's words

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_NUM_RUN = re.compile(r"\d+|[零〇一二两三四五六七八九十廿]+")
SUPPORT_OVERLAP = 0.5  # share of a value's bigrams the user's text must hold
EVENT_OVERLAP = 0.3  # titles paraphrase more than values
_DATE_KEY = re.compile(r"(?:birthday|anniversary|_date|_day)$")
_EVENT_CUES = {"birthday": ("生日", "出生", "birthday", "born"), "anniversary": ("纪念日", "周年", "anniversary")}


def _numbers(text: str) -> set[int]:
    out = set()
    for run in _NUM_RUN.findall(text):
        n = int(run) if run.isdigit() else cn_number(run)
        if n is not None:
            out.add(n)
    return out


def _same_script(value: str, text: str) -> bool:
    if _CJK.search(value):
        return bool(_CJK.search(text))
    return not _LATIN.search(value) or bool(_LATIN.search(text))


def supported(value: str, texts: Sequence[str], *, key: str = "", today: date | None = None) -> bool:
    """Whether the user's ``texts`` support ``value`` (see the module docstring)."""
    joined = "\n".join(texts)
    if not _same_script(value, joined):
        return True  # a translation: a string comparison cannot judge it
    if normalize(value) and normalize(value) in normalize(joined):
        return True
    nums = _numbers(value)
    if nums and nums <= _numbers(joined) and len(normalize(value)) <= 6:
        return True  # "3" for "三岁", "25" for "二十五"
    if _DATE_KEY.search(key):  # a date the model formatted its own way: the user must name a day
        return any(find_date(t, today or date.today()) for t in texts)
    return overlap(value, joined) >= SUPPORT_OVERLAP


_ZH_NEG = re.compile(r"(?:不|没|別|别|戒|不再|不能)[^，,。！!？?]{0,3}$")
_EN_NEG = re.compile(r"\b(?:not|no longer|never|don't|dont|doesn't|didn't|won't|can't|cannot|stopped|quit|"
                     r"gave up)\b(?:\s+\w+){0,3}\s*$", re.I)


def only_negated(value: str, texts: Sequence[str]) -> bool:
    """True when ``value`` occurs in the user's texts and every occurrence is negated
    ("我不吃肉了", "I don't eat meat anymore"): such a value is no like."""
    v = value.strip()
    if not v:
        return False
    seen = False
    for text in texts:
        for m in re.finditer(re.escape(v), text, re.I):
            seen = True
            before = text[max(0, m.start() - 40):m.start()]
            if not (_ZH_NEG.search(before) or _EN_NEG.search(before)):
                return False
    return seen


_POSITIVE = re.compile(r"^(?:likes?|loves?|favou?rite|enjoys?|fav)(?:_|$)")


# ---------------------------------------------------------------- subjects


def _user_names(facts: Iterable[Any]) -> set[str]:
    return {normalize(f.value) for f in facts
            if getattr(f, "subject", USER) == USER and f.key in ("name", "nickname") and f.value}


def _role_names(facts: Iterable[Any]) -> dict[str, str]:
    """``cat_name = 豆豆`` -> {"cat": "豆豆"}: a subject said as the role ("猫", "my cat") becomes the
    name; the last name given for a role wins (facts come oldest first)."""
    out = {}
    for f in facts:
        if getattr(f, "subject", USER) == USER and f.key.endswith("_name") and f.value:
            role = f.key.removesuffix("_name")
            out[canonical_role(role) or role] = f.value
    return out


def _subject(raw: str, user_names: set[str], roles: dict[str, str]) -> str:
    s = normalize_subject(raw)
    if s == USER or normalize(s) in user_names:
        return USER
    role = canonical_role(s)
    if role is None or (s[:1].isupper() and not _OWNED.match(raw or "")):
        return s  # "Buddy" the dog is a name, "my buddy" a role
    if role in roles:
        return roles[role]
    return zh_role(role) if _CJK.search(s) else role.replace("_", " ")  # "我妈"/"妈妈": one subject


_OWNED = re.compile(r"^\s*(?:my|our|the|user's|the user's)\s", re.I)


def _split_role_key(fact: ExtractedFact, roles: dict[str, str]) -> ExtractedFact:
    """The user's ``cat_age = 3`` with ``cat_name = 豆豆`` known is 豆豆's ``age``."""
    if fact.subject != USER or fact.key.endswith("_name"):
        return fact
    for role, name in roles.items():
        attr = fact.key[len(role) + 1:]
        if fact.key.startswith(role + "_") and (attr in _OTHERS_ATTRS or attr.startswith(("favorite", "likes"))):
            return fact.model_copy(update={"subject": name, "key": attr})
    return fact


# What a role-prefixed key may say of the other ("cat_age"); "pet_peeve" stays the user's.
_OTHERS_ATTRS = frozenset({"age", "birthday", "breed", "species", "job", "city", "school", "hometown", "color",
                           "weight", "allergy", "diet", "trait", "health", "dislikes"})


# ---------------------------------------------------------------- dates


def source_message(ev: ExtractedEvent, phrase: str, messages: Sequence[ChatMessage]) -> ChatMessage | None:
    """The user message an event's ``phrase`` was said in: of those that say it, the one that talks
    most about the event (its title and summary), the first on a tie; None when none says it."""
    said = [m for m in messages if m.role == "user" and phrase in m.content]
    if len(said) <= 1:
        return said[0] if said else None
    about = f"{ev.title} {ev.summary}"
    return max(said, key=lambda m: overlap(about, m.content))  # max keeps the first of equals


def _reference_day(phrase: str, ev: ExtractedEvent, messages: Sequence[ChatMessage], now: datetime,
                   source: ChatMessage | None) -> date:
    """The date of the message the event came from (``source``, when the extractor knows it and it
    says ``phrase``), else of the user message that says ``phrase``; the segment's day otherwise."""
    if source is None or phrase not in source.content:
        source = source_message(ev, phrase, messages)
    return message_date(source.timestamp, now) if source is not None else now.date()


# ---------------------------------------------------------------- sources


def _positioned(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    return [m for m in messages if m.role == "user" and m.content.strip() and m.seq > 0]


def fact_sources(fact: ExtractedFact, messages: Sequence[ChatMessage], now: datetime) -> list[int]:
    """The positions of the user messages that each support ``fact.value`` alone (see
    ``supported``); a message in another script than the value cannot be judged and is not one."""
    seqs = []
    for m in _positioned(messages):
        if not _same_script(fact.value, m.content):
            continue
        day = message_date(m.timestamp, now)
        if _DATE_KEY.search(fact.key):  # a date as the model wrote it: the message must name a day
            cues = _EVENT_CUES.get(fact.key.rsplit("_", 1)[-1], ())
            ok = find_date(m.content, day) is not None and (not cues or any(c in m.content.casefold() for c in cues))
        else:
            ok = supported(fact.value, [m.content], key=fact.key, today=day)
        if ok:
            seqs.append(m.seq)
    return seqs


def event_source_seqs(ev: ExtractedEvent, messages: Sequence[ChatMessage]) -> list[int]:
    """The position of the user message ``ev`` was taken from: the one that says its date phrase,
    else the one that talks most about it (and enough: ``_event_supported`` alone); none otherwise."""
    users = _positioned(messages)
    if ev.date_phrase and (said := source_message(ev, ev.date_phrase, users)) is not None:
        return [said.seq]
    fits = [m for m in users if _same_script(ev.title, m.content) and _event_supported(ev, [m.content])]
    if not fits:
        return []
    about = f"{ev.title} {ev.summary}"
    return [max(fits, key=lambda m: overlap(about, m.content)).seq]


def _resolve_dates(ev: ExtractedEvent, messages: Sequence[ChatMessage], now: datetime,
                   source: ChatMessage | None = None) -> ExtractedEvent:
    phrase = "" if is_placeholder(ev.date_phrase) else ev.date_phrase
    update: dict[str, Any] = {"date_phrase": phrase, "recurring": ev.type in RECURRING_TYPES}
    if phrase and (found := find_date(phrase, _reference_day(phrase, ev, messages, now, source))):
        update["date"] = found.value.isoformat()
    when = update.get("date", ev.date)
    if update["recurring"] and when:
        update["date"] = roll_forward_yearly(date.fromisoformat(when), now.date()).isoformat()
    return ev.model_copy(update=update)


# ---------------------------------------------------------------- the pass


def postprocess(result: ExtractionResult, messages: Sequence[ChatMessage], *, now: datetime,
                known_facts: Sequence[Any] | None = None, check_support: bool = False,
                event_sources: Sequence[ChatMessage | None] | None = None) -> ExtractionResult:
    """``result`` with the rules above applied; a new object, ``result`` is not changed.
    ``event_sources``: the message each event came from, when the extractor knows it (rules do)."""
    texts = [m.content for m in messages if m.role == "user" and m.content.strip()]
    known = list(known_facts or [])
    user_names = _user_names([*result.facts, *known])
    roles = _role_names([*known, *result.facts])

    facts: list[ExtractedFact] = []
    for f in result.facts:
        if is_placeholder(f.value) or is_placeholder(f.key):
            continue
        if check_support and not supported(f.value, texts, key=f.key, today=now.date()):
            continue
        if _POSITIVE.match(f.key) and only_negated(f.value, texts):
            continue
        update: dict[str, Any] = {"subject": _subject(f.subject, user_names, roles)}
        if check_support or not f.source_seqs:  # a model's answer: found in code, whatever it says
            update["source_seqs"] = fact_sources(f, messages, now)
        facts.append(_split_role_key(f.model_copy(update=update), roles))

    events: list[ExtractedEvent] = []
    sources = list(event_sources or [])
    for i, ev in enumerate(result.events):
        if is_placeholder(ev.title):
            continue
        if check_support and not _event_supported(ev, texts):
            continue
        ev = ev.model_copy(update={"subject": _subject(ev.subject, user_names, roles),
                                   "emotion": "" if is_placeholder(ev.emotion) else ev.emotion})
        ev = _resolve_dates(ev, messages, now, sources[i] if i < len(sources) else None)
        if check_support or not ev.source_seqs:
            ev = ev.model_copy(update={"source_seqs": event_source_seqs(ev, messages)})
        events.append(ev)

    return result.model_copy(update={
        "facts": facts, "events": events,
        "emotion": "" if is_placeholder(result.emotion) else result.emotion,
        "topics": [t for t in result.topics if not is_placeholder(t)],
        "summary": "" if is_placeholder(result.summary) else result.summary,
        "summary_source_seqs": [] if check_support or is_placeholder(result.summary) else result.summary_source_seqs,
    })


def _event_supported(ev: ExtractedEvent, texts: Sequence[str]) -> bool:
    joined = "\n".join(texts)
    cues = _EVENT_CUES.get(ev.type)
    if cues:  # a birthday is one only if the segment talks of one
        return any(c in joined.casefold() for c in cues)
    if not _same_script(ev.title, joined):
        return True
    return max(overlap(ev.title, joined), overlap(ev.summary, joined) if ev.summary else 0.0) >= EVENT_OVERLAP
