"""Lorebook entries as the prompt reads them: decorators, placement, and which entries a chat activates.

Entries are stored as the card has them (``Character.character_book``, plain dicts); ``LoreEntry.of``
reads one. Placement comes from either source a card may use:

- V3 decorators at the top of ``content`` (``@@depth 4``, ``@@role system``; ``@@@name`` lines are
  fallbacks for the decorator above them), removed from the text the prompt gets;
- SillyTavern's own fields in the entry's ``extensions``: ``position`` 4 means "at depth", with
  ``depth`` and ``role`` (0 system, 1 user, 2 assistant); ``case_sensitive``, ``match_whole_words``,
  ``selectiveLogic`` and ``scan_depth`` likewise.

Honoured decorators: ``@@depth``, ``@@role``, ``@@scan_depth``, ``@@activate``, ``@@dont_activate``,
``@@additional_keys``, ``@@exclude_keys``. Any other is listed in ``LoreEntry.unsupported`` (import
reports it as a warning) and has no effect. An entry with a depth goes into the chat history that
many messages from the end, as the role given (system by default); the others go into the system
prompt before or after the character's definition (``position``).

Keys match case-insensitively as substrings unless the entry says otherwise, which works for Chinese
(no word boundaries) and English alike. A key written ``/pattern/flags`` is a regular expression, as
in SillyTavern; with ``use_regex`` (V3) every key is one, except in entries SillyTavern wrote (their
``extensions`` carry its fields): it sets ``use_regex: true`` on plain keys. A pattern that does not
compile never matches (V3 spec), and neither does one with a quantified group that itself repeats
(``(a+)+``): the standard ``re`` has no time limit. Python's ``re`` stands in for JavaScript's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from ..models import Character
from ..text import estimate_tokens
from .limits import MAX_KEY_CHARS

LoreRole = Literal["system", "user", "assistant"]
LorePosition = Literal["before_char", "after_char"]

DEFAULT_SCAN_DEPTH = 5  # the new message and the four before it
MAX_SCAN_CHARS = 20_000  # of the scanned messages, the newest
SUPPORTED_DECORATORS = frozenset(
    {"depth", "role", "scan_depth", "activate", "dont_activate", "additional_keys", "exclude_keys"})
_ST_ROLES: dict[int, LoreRole] = {0: "system", 1: "user", 2: "assistant"}
_ST_AT_DEPTH = 4  # SillyTavern's world_info_position.atDepth
_ST_APPROXIMATED = frozenset({2, 3, 5, 6})  # author's note / example-message anchors Companion has not
_ST_ENTRY_FIELDS = frozenset({"display_index", "selectiveLogic", "useProbability", "exclude_recursion"})
_SLASH_REGEX = re.compile(r"^/(.+)/([a-z]*)$", re.DOTALL)
# A group holding a quantifier, itself quantified: the shape of catastrophic backtracking.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")


@dataclass(frozen=True)
class LoreEntry:
    index: int  # position in Character.character_book
    content: str  # without its decorators
    keys: tuple[str, ...] = ()
    secondary_keys: tuple[str, ...] = ()
    selective: bool = False
    selective_logic: int = 0  # SillyTavern: 0 AND ANY, 1 NOT ALL, 2 NOT ANY, 3 AND ALL
    enabled: bool = True
    constant: bool = False
    insertion_order: float = 0
    priority: float | None = None
    case_sensitive: bool = False
    match_whole_words: bool = False
    use_regex: bool = False
    position: LorePosition = "before_char"
    depth: int | None = None  # None: in the system prompt; n: n messages from the end of the history
    role: LoreRole = "system"
    scan_depth: int | None = None
    activate: bool = False
    dont_activate: bool = False
    additional_keys: tuple[str, ...] = ()
    exclude_keys: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()  # decorators read but not honoured
    position_approximated: bool = False  # a SillyTavern anchor Companion places after the character

    @classmethod
    def of(cls, entry: Mapping[str, Any], index: int = 0) -> LoreEntry:
        """Read one stored entry; tolerant of any shape (characters made through the API are not checked as cards)."""
        ext = entry.get("extensions") if isinstance(entry.get("extensions"), Mapping) else {}
        assert isinstance(ext, Mapping)
        decorators, unsupported, body = parse_decorators(str(entry.get("content") or ""))
        position: LorePosition = "after_char" if entry.get("position") == "after_char" else "before_char"
        depth: int | None = None
        role: LoreRole = "system"
        st_position = _int(ext.get("position"))
        if st_position == _ST_AT_DEPTH:
            depth = _int(ext.get("depth"))
            depth = 4 if depth is None else depth
            role = _ST_ROLES.get(_int(ext.get("role")) or 0, "system")
        elif st_position is not None:
            position = "before_char" if st_position == 0 else "after_char"
        if "depth" in decorators:
            depth = int(decorators["depth"])
        if "role" in decorators:
            role = decorators["role"]  # type: ignore[assignment]  # parse_decorators checked the value
        scan_depth = int(decorators["scan_depth"]) if "scan_depth" in decorators else _int(ext.get("scan_depth"))
        case = entry.get("case_sensitive")
        case = ext.get("case_sensitive") if case is None else case
        return cls(
            index=index, content=body.strip(), keys=_strs(entry.get("keys")),
            secondary_keys=_strs(entry.get("secondary_keys")), selective=entry.get("selective") is True,
            selective_logic=_int(ext.get("selectiveLogic")) or 0, enabled=entry.get("enabled") is not False,
            constant=entry.get("constant") is True, insertion_order=_num(entry.get("insertion_order")) or 0,
            priority=_num(entry.get("priority")), case_sensitive=case is True,
            match_whole_words=ext.get("match_whole_words") is True,
            use_regex=entry.get("use_regex") is True and not _ST_ENTRY_FIELDS & set(ext),
            position=position, depth=depth, role=role, scan_depth=scan_depth,
            activate="activate" in decorators, dont_activate="dont_activate" in decorators,
            additional_keys=_split(decorators.get("additional_keys")),
            exclude_keys=_split(decorators.get("exclude_keys")), unsupported=tuple(unsupported),
            position_approximated=st_position in _ST_APPROXIMATED and "depth" not in decorators)

    def regex_problems(self) -> list[tuple[str, str]]:
        """``(code, key)`` for each regex key that will never match: ``invalid_regex_key`` or ``unsafe_regex_key``."""
        out: list[tuple[str, str]] = []
        for key in (*self.keys, *self.secondary_keys, *self.additional_keys, *self.exclude_keys):
            pattern, _, _ = _regex_of(key, self.use_regex)
            if pattern is None:
                continue
            if _NESTED_QUANTIFIER.search(pattern):
                out.append(("unsafe_regex_key", key))
            elif _compile(pattern, 0) is None:
                out.append(("invalid_regex_key", key))
        return out


def parse_decorators(content: str) -> tuple[dict[str, str], list[str], str]:
    """``(honoured decorators by name, names not honoured, the content without decorator lines)``.

    Decorators are the lines starting with ``@@`` at the top; the first of a name counts; a
    ``@@@`` line stands in for the decorator above it when that one is not honoured.
    """
    lines = content.replace("\r\n", "\n").split("\n")
    honoured: dict[str, str] = {}
    unsupported: list[str] = []
    waiting = False  # the last primary decorator was not honoured: its fallbacks may be
    i = 0
    while i < len(lines) and lines[i].lstrip().startswith("@@"):
        line = lines[i].strip()
        fallback = line.startswith("@@@")
        name, _, value = line.lstrip("@").partition(" ")
        name, value = name.strip().lower(), value.strip()
        i += 1
        if fallback and not waiting:
            continue
        if _valid_decorator(name, value):
            honoured.setdefault(name, value)
            if fallback and unsupported:
                unsupported.pop()
            waiting = False
        elif not fallback:
            unsupported.append(name)
            waiting = True
    return honoured, unsupported, "\n".join(lines[i:]).strip("\n")


def _valid_decorator(name: str, value: str) -> bool:
    if name not in SUPPORTED_DECORATORS:
        return False
    if name == "depth":
        return re.fullmatch(r"-?\d{1,4}", value) is not None
    if name == "scan_depth":
        return re.fullmatch(r"\d{1,4}", value) is not None
    if name == "role":
        return value in ("system", "user", "assistant")
    if name in ("additional_keys", "exclude_keys"):
        return bool(_split(value))
    return True  # activate / dont_activate take no value


def entries(character: Character) -> list[LoreEntry]:
    return [LoreEntry.of(e, i) for i, e in enumerate(character.character_book) if isinstance(e, Mapping)]


def select_lore(character: Character, recent: Sequence[str], *, max_tokens: int = 1500) -> list[LoreEntry]:
    """The entries the chat activates, in insertion order, within the token budget.

    ``recent``: message texts, oldest first, the new user message last. The book's
    ``token_budget`` lowers ``max_tokens`` when it is smaller.
    """
    book = character.lorebook
    book_depth = int(book.scan_depth) if book and book.scan_depth is not None else DEFAULT_SCAN_DEPTH
    budget = min(max_tokens, int(book.token_budget)) if book and book.token_budget else max_tokens
    hits = [e for e in entries(character) if e.content and _active(e, recent, book_depth)]
    out: list[LoreEntry] = []
    used = 0
    for entry in sorted(hits, key=lambda e: (e.insertion_order, e.index)):
        cost = estimate_tokens(entry.content)
        if used + cost <= budget:
            out.append(entry)
            used += cost
    return out


def _active(entry: LoreEntry, recent: Sequence[str], book_depth: int) -> bool:
    if not entry.enabled or (entry.dont_activate and not entry.activate):
        return False
    if entry.activate or entry.constant:
        return True
    depth = entry.scan_depth if entry.scan_depth is not None else book_depth
    text = "\n".join(recent[-depth:] if depth > 0 else [])[-MAX_SCAN_CHARS:]
    if not text or not any(key_matches(entry, k, text) for k in entry.keys):
        return False
    if entry.selective and entry.secondary_keys:
        found = [key_matches(entry, k, text) for k in entry.secondary_keys]
        ok = {0: any(found), 1: not all(found), 2: not any(found), 3: all(found)}.get(entry.selective_logic, any(found))
        if not ok:
            return False
    if entry.additional_keys and not any(key_matches(entry, k, text) for k in entry.additional_keys):
        return False
    return not any(key_matches(entry, k, text) for k in entry.exclude_keys)


def key_matches(entry: LoreEntry, key: str, text: str) -> bool:
    if not key.strip():
        return False
    pattern, flags, slash = _regex_of(key, entry.use_regex)
    if pattern is not None:
        if _NESTED_QUANTIFIER.search(pattern):
            return False
        if not entry.case_sensitive and not slash:
            flags |= re.IGNORECASE  # a /…/ key says its own case rule
        compiled = _compile(pattern, flags)
        return compiled is not None and compiled.search(text) is not None
    needle, haystack = (key, text) if entry.case_sensitive else (key.lower(), text.lower())
    if entry.match_whole_words and len(needle.split()) == 1:
        # ASCII word characters, as JavaScript's \W: a CJK neighbour still counts as a boundary.
        return re.search(rf"(?:^|\W){re.escape(needle)}(?:$|\W)", haystack, re.ASCII) is not None
    return needle in haystack


def _regex_of(key: str, use_regex: bool) -> tuple[str | None, int, bool]:
    """``(pattern, flags, written as /…/)``; pattern None for a plain key."""
    if len(key) > MAX_KEY_CHARS:
        return None, 0, False
    m = _SLASH_REGEX.match(key)
    if m:
        flags = 0
        for f in m.group(2):
            flags |= {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE}.get(f, 0)
        return m.group(1), flags, True
    return (key, 0, False) if use_regex else (None, 0, False)


@lru_cache(maxsize=2048)
def _compile(pattern: str, flags: int) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, flags)
    except (re.error, RecursionError, OverflowError):
        return None


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(k.strip() for k in value.split(",") if k.strip())  # spec: "separated by a comma"
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value if isinstance(v, str | int | float) and str(v).strip())
    return ()


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
