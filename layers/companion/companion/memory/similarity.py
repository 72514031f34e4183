"""Character-bigram similarity that works the same for Chinese and English.

Chinese has no spaces and English has inflections, so word tokens would need two
tokenizers; character bigrams of the normalized text are good enough to spot the same
sentence stored twice ("用户喜欢吃火锅。" / "用户喜欢吃火锅", "Likes hot pot" /
"likes hot pot!") and cheap to compute in a Lambda.

Used by recall (ranking's near-duplicates, lexical overlap) and by the merge (same fact value,
similar event titles, an event's natural key).

Public API:
    normalize(text) -> str                    casefolded NFKC, letters/digits/CJK only
    bigrams(text) -> frozenset[str]           character bigrams within each word / CJK run
    jaccard(a, b) -> float                    |A∩B| / |A∪B| of the bigram sets, 0..1
    overlap(query, text) -> float             share of the query's bigrams found in text, 0..1
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPLIT = re.compile(r"[^\w]+|_")


def normalize(text: str) -> str:
    """NFKC, casefolded, only letters and digits: '火锅！' == '火锅', 'Hot pot' == 'hotpot'. Event ids
    derive from it (``merge``), so it must not change."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


@lru_cache(maxsize=4096)
def bigrams(text: str) -> frozenset[str]:
    """Bigrams inside each word/CJK run; a one-character run counts as itself."""
    grams: set[str] = set()
    # Bigrams never span a space or punctuation: "最喜欢 吃" must not invent "欢吃".
    for run in _SPLIT.split(unicodedata.normalize("NFKC", text).lower()):
        if len(run) == 1:
            grams.add(run)
        else:
            grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(grams)


def jaccard(a: str, b: str) -> float:
    sa, sb = bigrams(a), bigrams(b)
    if not sa or not sb:
        return 1.0 if sa == sb else 0.0
    return len(sa & sb) / len(sa | sb)


def overlap(query: str, text: str) -> float:
    """How much of ``query`` the text covers (asymmetric: a long text is not penalized)."""
    sq, st = bigrams(query), bigrams(text)
    if not sq or not st:
        return 0.0
    return len(sq & st) / len(sq)
