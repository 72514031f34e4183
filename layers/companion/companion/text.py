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
