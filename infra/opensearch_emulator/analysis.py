"""Text analyzers that follow Lucene's: ``standard``, ``cjk``, ``keyword``, ``simple``, ``whitespace``, ``stop``.

The ``standard`` tokenizer approximates Unicode word segmentation (UAX #29) the way Lucene's
StandardTokenizer applies it: letters and digits form words (joined across ``'`` ``.`` between
letters, ``,`` ``.`` between digits, and ``_``), every CJK ideograph and every Hiragana character is
a token of its own, Katakana and Hangul runs are words. ``cjk`` = CJK width folding + lowercase +
CJK bigrams + English stop words, as Lucene's CJKAnalyzer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from .errors import mapper_parsing

MAX_TOKEN_LENGTH = 255

_IDEOGRAPHIC = [
    (0x3006, 0x3007),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
    (0x30000, 0x3134F),
]
_HIRAGANA = [(0x3041, 0x309F)]
_KATAKANA = [(0x30A0, 0x30FF), (0x31F0, 0x31FF), (0x32D0, 0x32FE), (0xFF66, 0xFF9F)]
_HANGUL = [(0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF)]
_CJK_RANGES = _IDEOGRAPHIC + _HIRAGANA + _KATAKANA + _HANGUL


def _in_ranges(cp: int, ranges: list[tuple[int, int]]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def _ranges_to_class(ranges: list[tuple[int, int]]) -> str:
    def esc(cp: int) -> str:
        return f"\\U{cp:08x}"

    return "".join(esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}" for lo, hi in ranges)


def _collect(predicate: Callable[[int], bool]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    start = -1
    for cp in range(0x30000):
        if predicate(cp):
            if start < 0:
                start = cp
        elif start >= 0:
            ranges.append((start, cp - 1))
            start = -1
    if start >= 0:
        ranges.append((start, 0x2FFFF))
    return ranges


def _is_word_letter(cp: int) -> bool:
    if 0xD800 <= cp <= 0xDFFF:
        return False
    cat = unicodedata.category(chr(cp))
    if cat[0] not in "LM":
        return False
    return not _in_ranges(cp, _CJK_RANGES)


def _is_digit(cp: int) -> bool:
    return unicodedata.category(chr(cp)) == "Nd" if not 0xD800 <= cp <= 0xDFFF else False


_AL = _ranges_to_class(_collect(_is_word_letter))
_NU = _ranges_to_class(_collect(_is_digit))
_MID_LETTER = r":\u00b7\u0387\u05f4\u2027\ufe13\ufe55\uff1a"
_MID_NUM_LET = r".'\u2018\u2019\u2024\ufe52\uff07\uff0e"
_MID_NUM = r",;\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b"
_WORD = (
    rf"[{_AL}{_NU}]+(?:(?:_+|(?<=[{_AL}])[{_MID_LETTER}{_MID_NUM_LET}](?=[{_AL}])"
    rf"|(?<=[{_NU}])[{_MID_NUM}{_MID_NUM_LET}](?=[{_NU}]))[{_AL}{_NU}]+)*"
)
_TOKEN_RE = re.compile(
    rf"(?P<word>{_WORD})"
    rf"|(?P<ideo>[{_ranges_to_class(_IDEOGRAPHIC + _HIRAGANA)}])"
    rf"|(?P<kata>[{_ranges_to_class(_KATAKANA)}]+)"
    rf"|(?P<hangul>[{_ranges_to_class(_HANGUL)}]+)"
)

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET.
ENGLISH_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
# Lucene's CJKAnalyzer default stop set (analysis/cjk/stopwords.txt).
CJK_STOP_WORDS = ENGLISH_STOP_WORDS - {"an"} | {"s", "t", "www"}


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int
    kind: str  # "word" | "ideo" | "kata" | "hangul"


def _split_long(text: str) -> list[str]:
    return [text[i : i + MAX_TOKEN_LENGTH] for i in range(0, len(text), MAX_TOKEN_LENGTH)]


def standard_tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup or "word"
        value = m.group()
        if len(value) <= MAX_TOKEN_LENGTH:
            tokens.append(Token(value, m.start(), m.end(), kind))
        else:
            pos = m.start()
            for part in _split_long(value):
                tokens.append(Token(part, pos, pos + len(part), kind))
                pos += len(part)
    return tokens


def analyze_standard(text: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        value = m.group().lower()
        if len(value) <= MAX_TOKEN_LENGTH:
            out.append(value)
        else:
            out.extend(_split_long(value))
    return out


_WIDTH_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {
    cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0xFF65, 0xFFA0)
}
_WIDE_RE = re.compile("[\uff01-\uff5e\uff65-\uff9f]")


def _cjk_width(text: str) -> str:
    """CJKWidthFilter: full-width ASCII to half-width, half-width Katakana to full-width."""
    if _WIDE_RE.search(text) is None:
        return text
    return text.translate(_WIDTH_TABLE)


def analyze_cjk(text: str) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    last_end = -1

    def flush() -> None:
        if len(run) == 1:
            out.append(run[0])
        else:
            out.extend(run[i] + run[i + 1] for i in range(len(run) - 1))
        run.clear()

    # Iterates the tokenizer's matches directly (no Token objects): this is the bulk-ingest hot path.
    for m in _TOKEN_RE.finditer(_cjk_width(text)):
        if m.lastgroup == "word":
            if run:
                flush()
            for value in _split_long(m.group().lower()):
                if value not in CJK_STOP_WORDS:
                    out.append(value)
            continue
        # CJK tokens are split into characters; adjacent characters pair into bigrams.
        if run and m.start() != last_end:
            flush()
        run.extend(m.group().lower())
        last_end = m.end()
    if run:
        flush()
    return out


def analyze_keyword(text: str) -> list[str]:
    return [text]


_LETTERS_RE = re.compile(r"[^\W\d_]+")


def analyze_simple(text: str) -> list[str]:
    return [t.lower() for t in _LETTERS_RE.findall(text)]


def analyze_whitespace(text: str) -> list[str]:
    return text.split()


def analyze_stop(text: str) -> list[str]:
    return [t for t in analyze_simple(text) if t not in ENGLISH_STOP_WORDS]


ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "standard": analyze_standard,
    "default": analyze_standard,
    "cjk": analyze_cjk,
    "keyword": analyze_keyword,
    "simple": analyze_simple,
    "whitespace": analyze_whitespace,
    "stop": analyze_stop,
}


def get_analyzer(name: str) -> Callable[[str], list[str]]:
    try:
        return ANALYZERS[name]
    except KeyError:
        raise mapper_parsing(f"analyzer [{name}] has not been configured in mappings") from None
