"""Keyword query expansion for BM25 over English text.

The index analyzes ``content`` without a stemmer (the same ``cjk`` analyzer serves Chinese
and English), so "paint" would not match "painted". Instead of stemming the index, the
query gets the common inflections of each English word: cheap, and the index stays
language-neutral. Chinese (bigram-indexed) needs nothing and is left untouched.

Public API:
    expand_english(query, *, max_terms=40) -> str
"""

from __future__ import annotations

import re

_WORD = re.compile(r"^[a-z][a-z']*$")
_VOWELS = set("aeiou")


def _root(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)] + repl
            # "running" -> "runn" -> "run"; "painted" -> "paint"
            if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in _VOWELS and suffix in ("ing", "ed"):
                base = base[:-1]
            return base
    return word


def _forms(word: str) -> list[str]:
    root = _root(word)
    forms = {word, root}
    if len(root) < 3:
        return sorted(forms)
    if root.endswith("y") and root[-2:-1] not in _VOWELS:
        forms |= {root[:-1] + "ies", root[:-1] + "ied", root + "ing"}
    elif root.endswith("e"):
        forms |= {root + "s", root + "d", root[:-1] + "ing"}
    else:
        forms |= {root + "s", root + "ed", root + "ing"}
        if root.endswith(("s", "x", "z", "ch", "sh")):
            forms.add(root + "es")
    return sorted(forms)


def expand_english(query: str, *, max_terms: int = 40) -> str:
    """``"melanie paint sunrise"`` -> the words plus their inflections (original words first)."""
    words = query.split()
    out: list[str] = []
    seen: set[str] = set()
    extra: list[str] = []
    for w in words:
        lw = w.lower()
        if lw not in seen:
            seen.add(lw)
            out.append(w)
        if _WORD.match(lw) and len(lw) >= 4:
            for form in _forms(lw):
                if form not in seen:
                    seen.add(form)
                    extra.append(form)
    return " ".join((out + extra)[:max(max_terms, len(out))])
