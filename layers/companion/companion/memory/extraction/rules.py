"""Rule-based memory extraction (zh + en) for the offline provider: no model, no network.

    outcome = extract_with_rules(messages, now=datetime(2026, 11, 21))
    # "我叫小林，下个月15号是我生日，我最喜欢吃火锅" ->
    #   facts: basic_info/name=小林, basic_info/birthday=12月15日, preference/favorite_food=火锅
    #   events: birthday "生日" 2026-12-15 (recurring)

Same ``ExtractionOutcome`` shape as the LLM extractor (``llm_calls=0``, ``method="rules"``).
Only the user's messages are mined (what the assistant says is not a fact about the
user). Values are copied from the user's words, so they stay in the user's language;
generated text (summary, titles, emotion, topics) uses the conversation's language.
Patterns are precise rather than exhaustive: a missed fact costs less than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...models import ChatMessage
from ...text import detect_language
from .dates import message_date
from .postprocess import postprocess
from .roles import PETS
from .rules_common import (
    _EN_REL,
    _EN_ROLE_MENTION,
    _TOPICS,
    _ZH_REL,
    _ZH_ROLE_MENTION,
    _Found,
    _role_subject,
    detect_emotion,
)
from .rules_en import (
    _EN_MATCHERS,
)
from .rules_zh import (
    _ZH_MATCHERS,
)
from .schema import ExtractionOutcome, ExtractionResult

_ZH_IMPLICIT_I = re.compile(r"(?:是|在|住|最|很|超|特别|喜欢|不喜欢|讨厌|今年|来自|有|打算|准备|计划|想|刚|已经"
                            r"|老家|也|还|现在|目前|开始|养|做|当|正在|最近)")
_ZH_SPLIT = re.compile(r"[。！？!?；;\n，,]+")
_EN_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+|,\s*(?:and\s+|but\s+)?(?=(?:i|i'm|i've|my|it's|and)\b)"
                       r"|\s+and\s+(?=(?:i|my)\b)",
                       re.I)


def clauses(text: str, lang: str) -> list[str]:
    """Split a message into clauses the matchers read one at a time."""
    parts = _ZH_SPLIT.split(text) if lang == "zh" else _EN_SPLIT.split(text)
    return [p.strip(" \t.!?;") for p in parts if p and p.strip(" \t.!?;")]


def detect_topics(texts: Sequence[str], lang: str, limit: int = 5) -> list[str]:
    joined = " ".join(texts).lower()
    counts: dict[str, int] = {}
    for zh, en, cues in _TOPICS:
        count = sum(len(re.findall(re.escape(c) if not c.isascii() else rf"\b{re.escape(c)}\b", joined))
                    for c in cues)
        if count:
            label = zh if lang == "zh" else en
            counts[label] = counts.get(label, 0) + count
    ranked = sorted(counts, key=lambda t: -counts[t])  # stable: ties keep lexicon order
    return ranked[:limit]


def _summary(found: _Found, user_msgs: Sequence[ChatMessage]) -> tuple[str, list[int]]:
    """The segment's summary and the messages its clauses were taken from: those of the facts and
    events it states, or, without any, the messages its quoted opening shows (whole, or the first)."""
    zh = found.lang == "zh"
    if found.phrases:
        parts = []
        shown = found.phrases[:8]
        for p in shown:
            p = p.rstrip("。.")
            if zh:
                p = p.removeprefix("用户")
            elif p.startswith(("The user", "The user's")):
                p = p[0].lower() + p[1:]
            parts.append(p)
        text = ("用户" + "；".join(parts) + "。") if zh else ("User: " + "; ".join(parts) + ".")
        return text, found.summary_seqs(shown)
    first = " ".join(m.content for m in user_msgs).strip()
    if not first:
        return "", []
    limit = 80 if zh else 200
    clipped = first if len(first) <= limit else first[:limit].rstrip() + "…"
    return (f"用户聊到：{clipped}" if zh else f"The user talked about: {clipped}"), _quoted(user_msgs, limit)


def _quoted(user_msgs: Sequence[ChatMessage], limit: int) -> list[int]:
    """The messages a quote of the first ``limit`` characters of their joined text shows: the first
    (the quote starts with it) and every later one it shows whole."""
    seqs, start = [], 0
    for i, m in enumerate(user_msgs):
        if (i == 0 or start + len(m.content) <= limit) and m.seq > 0:
            seqs.append(m.seq)
        start += len(m.content) + 1
        if start >= limit:
            break
    return seqs


def _track_topic(clause: str, lang: str, f: _Found) -> None:
    """After "我哥哥是律师" the clauses without a subject ("在上海工作") are the brother's, not the
    user's; after "my sister…" a "she" is the sister."""
    if lang == "zh":
        for m in _ZH_ROLE_MENTION.finditer(clause):
            if _ZH_REL[m.group("rel")] not in PETS:
                f.topic = _role_subject(m.group("rel"), None, f, "zh")
                if m.start() == 0:
                    f.other = f.other or f.topic
        return
    for m in _EN_ROLE_MENTION.finditer(clause):
        if _EN_REL[m.group("rel").lower()] not in PETS:
            f.topic = _role_subject(m.group("rel"), None, f, "en")


_PRONOUN_START = re.compile(r"^\s*(?:(?P<it>它)|(?P<zh>他|她)|(?P<en>(?:he|she|it)(?:'s|\s+is|\s+was|\s+turns?)\b))",
                            re.I)


def _pronoun_other(text: str, f: _Found) -> str:
    """The other a message that opens with a pronoun is about: "它今年三岁了" after "我家的猫叫豆豆"
    is about 豆豆 (它: the pet named last; 他/她: the person; he/she/it: whoever was named last)."""
    m = _PRONOUN_START.match(text)
    if not m:
        return ""
    return f.last_named(pets=True if m.group("it") else False if m.group("zh") else None)


def extract_with_rules(messages: Sequence[ChatMessage], *, now: datetime,
                       known_facts: Sequence[Any] | None = None) -> ExtractionOutcome:
    """Rule-based extraction of a conversation segment; deterministic for the same input.

    ``now`` is the conversation's date: relative dates resolve against ``now.date()``.
    ``known_facts`` only lets the shared ``postprocess`` recognise the user's name as a subject.
    """
    user_msgs = [m for m in messages if m.role == "user" and m.content.strip()]
    user_texts = [m.content for m in user_msgs]
    lang = detect_language(" ".join(user_texts), default="en")
    found = _Found(lang=lang, today=now.date())
    for msg in messages:
        text = msg.content
        if msg.role != "user" or not text.strip():
            continue
        found.today, found.message, found.source = message_date(msg.timestamp, now), text, msg
        found.correcting, found.topic = False, ""
        msg_lang = detect_language(text, default=lang)
        matchers = _ZH_MATCHERS if msg_lang == "zh" else _EN_MATCHERS
        first_person = "我" in text
        found.other = _pronoun_other(text, found)
        for clause in clauses(text, msg_lang):
            if (msg_lang == "zh" and first_person and not found.other and _ZH_IMPLICIT_I.match(clause)
                    and "我" not in clause):
                clause = "我" + clause  # "我叫小林，今年25岁": the later clauses drop the subject
            if re.search(r"我|\b(?:i|i'm|i've|im)\b", clause, re.I):
                found.other = ""  # the user speaks of themself again; a named other is set anew
            found.clause = clause
            _track_topic(clause, msg_lang, found)
            for match in matchers:
                match(clause, found)
    emotion = detect_emotion(user_texts, lang)
    summary, summary_seqs = _summary(found, user_msgs)
    result = ExtractionResult(summary=summary, topics=detect_topics(user_texts, lang),
                              emotion=emotion, facts=[fact for fact, _ in found.facts.values()],
                              events=found.events, summary_source_seqs=summary_seqs)
    result = postprocess(result, messages, now=now, known_facts=known_facts, event_sources=found.sources)
    return ExtractionOutcome(result=result, llm_calls=0, method="rules", model="rules", language=lang)
