"""Bulk-ingest fast path: parse a top-level vector array with numpy instead of ``json.loads``.

Decoding 384 floats per document with the stdlib JSON parser dominates ingest time. When a source
line holds a mapped top-level vector field exactly once, its array text is parsed by numpy (strtod is
correctly rounded, like Python's float()) and replaced by a sentinel before the rest is decoded. If
anything looks unusual the caller falls back to a plain ``json.loads``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

_SENTINEL = "\u0000vector\u0000"


@dataclass(slots=True)
class ParsedVector:
    values: np.ndarray  # float64
    ints: bool  # every element was written as an integer (kept for the _source round trip)

    def __len__(self) -> int:
        return len(self.values)

    def __str__(self) -> str:
        return str(self.values.tolist())


@lru_cache(maxsize=256)
def _pattern(field: str) -> tuple[bytes, re.Pattern[bytes]]:
    key = json.dumps(field).encode()
    return key, re.compile(re.escape(key) + rb"\s*:\s*\[([^\[\]\"]*)\]")


def loads_source(raw: bytes, vector_fields: tuple[str, ...]) -> Any:
    for field in vector_fields:
        key, pattern = _pattern(field)
        if raw.count(key) != 1:
            continue
        m = pattern.search(raw)
        if m is None:
            continue
        text = m.group(1)
        try:
            values = np.array(text.split(b","), dtype=np.bytes_).astype(np.float64) if text.strip() else None
        except ValueError:
            continue
        if values is None:
            continue
        patched = raw[: m.start()] + key + b":" + json.dumps(_SENTINEL).encode() + raw[m.end() :]
        try:
            doc = json.loads(patched)
        except ValueError:
            break
        if (
            not isinstance(doc, dict)
            or doc.get(field) != _SENTINEL
            or _SENTINEL in json.dumps({k: v for k, v in doc.items() if k != field})
        ):
            break
        ints = not any(c in text for c in b".eE")
        doc[field] = ParsedVector(values, ints)
        return doc
    return json.loads(raw)
