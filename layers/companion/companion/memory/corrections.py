"""What a changed profile fact means for the text that stated its old value.

A fact changes when the person corrects it through the memory API (``PATCH``), deletes it, or
the worker supersedes it with a newer value. The fact's record then holds the current value (and
the old ones in ``history``), but summaries and raw turns written earlier still state the old
value. This module answers, deterministically and in Chinese and English alike:

    states(text, value, key) -> bool
        does ``text`` state ``value`` (as a word of its own for Latin/digit values; a number also
        as Chinese numerals, "3" ~ "三"); a short value (a digit, one character) counts only when
        the text also has a word of the fact's key ("今年3岁" states age 3, "3点下班" does not).
    contradicts(text, old, new, key) -> bool
        ``text`` states the old value and not the new one ("最喜欢吃火锅" against 麻辣火锅;
        "最喜欢吃麻辣火锅" does not contradict it although it contains "火锅").
    corrected_text(text, old, new, key) -> str
        ``text`` with every clause that states ``old`` rewritten to say ``new``, or dropped when
        ``new`` is None (a deleted fact); "" when nothing is left. Used on summaries, which are
        derived text; a stored message is never rewritten.
    superseded(fact) -> list[FactVersion]
        the fact's earlier values that differ from the current one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .extraction.dates import cn_number
from .recall.candidates import KEY_WORDS
from .records import FactRecord, FactVersion
from .similarity import normalize

_ZH_NUMERAL_RUN = re.compile(r"(?<![零〇一二两三四五六七八九十廿])[零〇一二两三四五六七八九十廿]{1,4}"
                             r"(?![零〇一二两三四五六七八九十廿])")
# Clause ends: Chinese and English sentence marks, semicolons and commas, a full stop before a space.
_CLAUSE_END = re.compile(r"([；;。！？!?\n，,]|\.(?=\s|$))")
# How the rule extractor's summaries begin ("用户叫小林；…", "User: is 3 years old; …"): kept
# when the clause that carried it goes.
_LEADS = ("User: ", "用户")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=1024)
def _pattern(value: str) -> re.Pattern[str] | None:
    v = " ".join(_nfkc(value).split())
    if not v:
        return None
    body = r"\s+".join(re.escape(part) for part in v.split(" "))
    head = r"(?<![0-9A-Za-z])" if v[0].isascii() and v[0].isalnum() else ""
    tail = r"(?![0-9A-Za-z])" if v[-1].isascii() and v[-1].isalnum() else ""
    return re.compile(head + body + tail, re.IGNORECASE)


def _spans(text: str, value: str) -> list[tuple[int, int]]:
    """Where ``value`` (NFKC-normalised for the pattern) is stated in ``text``."""
    pattern = _pattern(value)
    if pattern is None:
        return []
    spans = [m.span() for m in pattern.finditer(text)]
    v = value.strip()
    if v.isdigit() and int(v) < 100:
        spans += [m.span() for m in _ZH_NUMERAL_RUN.finditer(text) if cn_number(m.group()) == int(v)]
    return sorted(spans)


def _outside(spans: list[tuple[int, int]], masks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [s for s in spans if not any(a <= s[0] and s[1] <= b for a, b in masks)]


@lru_cache(maxsize=256)
def _key_words(key: str) -> tuple[str, ...]:
    parts = [p for p in key.lower().split("_") if p]
    words = [w for p in parts for w in KEY_WORDS.get(p, "").split()]
    return tuple(dict.fromkeys([*parts, *words]))


def _is_short(value: str) -> bool:
    v = normalize(value)
    return len(v) < 2 or v.isdigit()


def _about_key(text: str, key: str) -> bool:
    low = text.casefold()
    return any((re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", low) if w.isascii() else w in low)
               for w in _key_words(key))


def _value_spans(text: str, value: str, key: str, *, besides: str | None = None) -> list[tuple[int, int]]:
    """Spans stating ``value``, not inside a statement of ``besides`` (the other value)."""
    spans = _spans(text, value)
    if besides:
        spans = _outside(spans, _spans(text, besides))
    if spans and _is_short(value) and not _about_key(text, key):
        return []
    return spans


def states(text: str, value: str, key: str) -> bool:
    return bool(_value_spans(text, value, key))


def contradicts(text: str, old: str, new: str, key: str) -> bool:
    if normalize(old) == normalize(new):
        return False
    return bool(_value_spans(text, old, key, besides=new)) and not _value_spans(text, new, key, besides=old)


def corrected_text(text: str, old: str, new: str | None, key: str) -> str:
    pieces = _CLAUSE_END.split(text)
    pairs = [(pieces[i], pieces[i + 1] if i + 1 < len(pieces) else "") for i in range(0, len(pieces), 2)]
    while pairs and not pairs[-1][0].strip() and not pairs[-1][1]:
        pairs.pop()  # what follows the closing mark
    lead = next((p for p in _LEADS if text.startswith(p)), "")
    kept: list[tuple[str, str]] = []
    changed = False
    for clause, sep in pairs:
        spans = _value_spans(clause, old, key, besides=new)
        if not spans:
            kept.append((clause, sep))
            continue
        changed = True
        if new is None:
            continue
        out, last = [], 0
        for a, b in spans:
            out += [clause[last:a], new]
            last = b
        kept.append(("".join([*out, clause[last:]]), sep))
    if not changed:
        return text
    if new is None and kept and pairs[-1][1] and kept[-1] != pairs[-1]:
        kept[-1] = (kept[-1][0], pairs[-1][1])  # the text keeps its closing mark
    body = "".join(c + s for c, s in kept).strip()
    if lead and body and not body.startswith(lead.strip()):
        body = lead + body
    return "" if normalize(body) in ("", normalize(lead)) else body


def superseded(fact: FactRecord) -> list[FactVersion]:
    current = normalize(fact.value)
    return [v for v in fact.history if normalize(v.value) != current]
