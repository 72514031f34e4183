"""Index settings: flattening to ``index.*`` keys (as OpenSearch stores them) and reading typed values."""

from __future__ import annotations

import re
from typing import Any

from .errors import illegal_argument

_TIME_RE = re.compile(r"^(-?\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)$")
_TIME_SCALE = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def flatten_settings(body: dict[str, Any] | None) -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            key = prefix if prefix.startswith("index.") else f"index.{prefix}"
            flat[key] = str(node).lower() if isinstance(node, bool) else str(node)

    walk("", body or {})
    return flat


def nest_settings(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                break
            node = nxt
        else:
            node[parts[-1]] = value
    return out


def parse_time_seconds(value: str, setting: str) -> float:
    """``1s``/``500ms``/``-1`` as seconds (-1 means never)."""
    if value in ("-1", "-1s"):
        return -1.0
    m = _TIME_RE.match(value.strip())
    if not m:
        raise illegal_argument(
            f"failed to parse setting [{setting}] with value [{value}] as a time value: unit is missing or unrecognized"
        )
    return float(m.group(1)) * _TIME_SCALE[m.group(2)]


def bool_setting(flat: dict[str, str], key: str, default: bool = False) -> bool:
    value = flat.get(key)
    return default if value is None else value.lower() == "true"
