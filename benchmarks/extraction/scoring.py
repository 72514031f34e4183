"""Scoring of the extraction benchmark: expected, optional and forbidden items against what is stored.

A fact spec is ``{"subject", "key", "value", "exact"}``: ``subject`` "user" (the default) or a list of
names one of which the produced subject must contain (or be contained in); ``key`` a list of keys or
``fnmatch`` patterns (None: any key), compared after ``normalize_key``; ``value`` a list of
alternatives one of which the normalized value must contain (``exact``: equal), None: any value.
An event spec has ``title``: keyword groups, every group (``"面试|interview"``) must occur in the
title; optional ``date`` (month-day for recurring events), ``type`` and ``emotion`` lists. ``{"any":
[spec, ...]}`` is met by any of its specs. Normalization: NFKC (full width to half), case folded,
spaces and punctuation dropped.

A produced item is correct when it meets an expected or optional spec and no forbidden one;
precision = correct / produced, recall = expected specs met / expected specs; every produced
item that meets a forbidden spec counts once in ``forbidden``.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from companion.memory.extraction.schema import normalize_key

_DROP = re.compile(r"[\s\W_]+", re.U)
_USER = {"user", "me", "i", "myself", "theuser", "我", "用户", "自己"}


def norm(text: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", text).casefold())


def subject_of(item: Any) -> str:
    return str(getattr(item, "subject", "") or "user")


def _subject_ok(spec: dict[str, Any], item: Any) -> bool:
    want = spec.get("subject", "user")
    got = norm(subject_of(item))
    if want == "user" or want == ["user"]:
        return got in _USER
    alts = [norm(a) for a in (want if isinstance(want, list) else [want])]
    return got not in _USER and any(a and (a in got or got in a) for a in alts)


def _value_ok(alts: list[str] | None, value: str, exact: bool) -> bool:
    if alts is None:
        return True
    v = norm(value)
    return any((norm(a) == v) if exact else (norm(a) in v) for a in alts)


def fact_matches(spec: dict[str, Any], fact: Any) -> bool:
    if "any" in spec:
        return any(fact_matches(s, fact) for s in spec["any"])
    if not _subject_ok(spec, fact):
        return False
    keys = spec.get("key")
    if keys is not None:
        k = normalize_key(str(getattr(fact, "base_key", fact.key)))  # a stored other's key is "豆豆:age"
        if not any(fnmatch.fnmatchcase(k, normalize_key(p) if "*" not in p else p) for p in keys):
            return False
    return _value_ok(spec.get("value"), str(fact.value), bool(spec.get("exact")))


def event_matches(spec: dict[str, Any], event: Any) -> bool:
    if "any" in spec:
        return any(event_matches(s, event) for s in spec["any"])
    if not _subject_ok(spec, event):
        return False
    title = norm(str(event.title))
    if not all(any(norm(k) in title for k in group.split("|")) for group in spec.get("title", [])):
        return False
    if "date" in spec:
        got = getattr(event, "date", None)
        if not got:
            return False
        if getattr(event, "recurring", False) and got[5:10] == spec["date"][5:10]:
            pass
        elif got != spec["date"]:
            return False
    if "type" in spec and event.type not in spec["type"]:
        return False
    return "emotion" not in spec or _value_ok(spec["emotion"], str(getattr(event, "emotion", "")), False)


@dataclass
class Tally:
    """Counts of one kind (facts or events) over a set of dialogues."""

    produced: int = 0
    correct: int = 0
    expected: int = 0
    found: int = 0
    forbidden: int = 0
    wrong: list[str] = field(default_factory=list)  # what was produced and not expected, for the report
    missed: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.produced += other.produced
        self.correct += other.correct
        self.expected += other.expected
        self.found += other.found
        self.forbidden += other.forbidden
        self.wrong += other.wrong
        self.missed += other.missed

    @property
    def precision(self) -> float | None:
        return self.correct / self.produced if self.produced else None

    @property
    def recall(self) -> float | None:
        return self.found / self.expected if self.expected else None


def score(items: list[Any], expected: list[dict[str, Any]], optional: list[dict[str, Any]],
          forbidden: list[dict[str, Any]], matches: Any, describe: Any) -> Tally:
    t = Tally(produced=len(items), expected=len(expected))
    for item in items:
        bad = any(matches(s, item) for s in forbidden)
        t.forbidden += bad
        if not bad and any(matches(s, item) for s in (*expected, *optional)):
            t.correct += 1
        else:
            t.wrong.append(("FORBIDDEN " if bad else "") + describe(item))
    for spec in expected:
        if any(matches(spec, item) for item in items):
            t.found += 1
        else:
            t.missed.append(str(spec))
    return t


def describe_fact(f: Any) -> str:
    return f"{subject_of(f)}.{getattr(f, 'base_key', f.key)}={f.value}"


def describe_event(e: Any) -> str:
    return f"{subject_of(e)}:{e.title}@{e.date}" + (f" ({e.emotion})" if getattr(e, "emotion", "") else "")
