"""Language detection and token estimates for Chinese and English text.

No tokenizer files are downloaded: counts are estimates calibrated on BPE tokenizers
(a CJK character is about one token, English about four characters per token).
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_WORD = re.compile(r"[A-Za-z0-9]+")


def cjk_ratio(text: str) -> float:
    letters = sum(1 for ch in text if not ch.isspace())
    return len(_CJK.findall(text)) / letters if letters else 0.0


def detect_language(text: str, default: str = "en") -> str:
    """'zh' when the text is mostly CJK, 'en' when it has Latin words, else ``default``."""
    if not text.strip():
        return default
    cjk = len(_CJK.findall(text))
    if cjk and cjk * 2 >= len(_WORD.findall(text)):
        return "zh"
    if _WORD.search(text):
        return "en"
    return default


def estimate_tokens(text: str) -> int:
    """Rough BPE token count: CJK characters ~1 token each, other text ~4 chars a token."""
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    rest = len(text) - cjk
    return max(1, cjk + (rest + 3) // 4)


# Characters that show nothing: zero-width spaces and joiners, word joiners and invisible
# operators, direction marks, the BOM, soft hyphen, Hangul fillers, variation selectors and
# the Braille blank (a common "invisible" filler).
_INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
              "\u2060-\u2064\u2066-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0")
_BLANK = re.compile(f"[\\s{_INVISIBLE}]*")


def is_blank(text: str) -> bool:
    """True when ``text`` holds nothing visible: only whitespace and invisible characters."""
    return _BLANK.fullmatch(text) is not None
