"""Bulk-ingest fast path: parse a top-level vector array with numpy instead of ``json.loads``.

Decoding 384 floats per document with the stdlib JSON parser dominates ingest time. When a source
line holds a mapped top-level vector field exactly once, its array text is parsed by numpy (strtod is
correctly rounded, like Python's float()) and replaced by a sentinel before the rest is decoded. If
anything looks unusual the caller falls back to a plain ``json.loads``.
"""

from __future__ import annotations

import json
import warnings
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


_SENTINEL_JSON = json.dumps(_SENTINEL).encode()


@lru_cache(maxsize=256)
def _key(field: str) -> bytes:
    return json.dumps(field).encode()


def _array_span(raw: bytes, key: bytes) -> tuple[int, int, int] | None:
    """(start of key, start of array text, end of array text) when ``key`` is followed by ``: [ ... ]``."""
    at = raw.find(key)
    pos = at + len(key)
    while pos < len(raw) and raw[pos] in b" \t\r\n:":
        pos += 1
    if pos >= len(raw) or raw[pos] != ord("["):
        return None
    end = raw.find(b"]", pos)
    if end < 0:
        return None
    body_start = pos + 1
    if raw.find(b"[", body_start, end) >= 0 or raw.find(b'"', body_start, end) >= 0:
        return None
    return at, body_start, end


def loads_source(raw: bytes, vector_fields: tuple[str, ...]) -> Any:
    if _SENTINEL_JSON in raw:
        return json.loads(raw)
    for field in vector_fields:
        key = _key(field)
        if raw.count(key) != 1:
            continue
        span = _array_span(raw, key)
        if span is None:
            continue
        at, start, end = span
        text = raw[start:end]
        if not text.strip():
            continue
        try:
            with warnings.catch_warnings():
                # numpy reports unparsable text as a warning or an error depending on the version.
                warnings.simplefilter("error")
                values = np.fromstring(text, sep=",")  # C strtod loop, much faster than json for floats
        except (ValueError, DeprecationWarning):
            continue
        if len(values) != text.count(b",") + 1:
            continue
        try:
            doc = json.loads(raw[:at] + key + b":" + _SENTINEL_JSON + raw[end + 1 :])
        except ValueError:
            break
        if not isinstance(doc, dict) or doc.get(field) != _SENTINEL:
            break  # the key sat inside a string or a nested object: decode normally
        doc[field] = ParsedVector(values, not any(c in text for c in b".eE"))
        return doc
    return json.loads(raw)
