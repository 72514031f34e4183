"""``_source`` filtering: includes/excludes with ``*`` wildcards on dotted paths."""

from __future__ import annotations

import fnmatch
from typing import Any


def _matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _could_contain(path: str, patterns: list[str]) -> bool:
    """True if some include pattern may match a field below ``path``."""
    prefix = path + "."
    return any(p.startswith(prefix) or "*" in p for p in patterns)


def filter_source(source: dict[str, Any], includes: list[str], excludes: list[str]) -> dict[str, Any]:
    if not includes and not excludes:
        return source
    return _filter(source, "", includes, excludes)


def _filter(node: dict[str, Any], prefix: str, includes: list[str], excludes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if excludes and _matches(path, excludes):
            continue
        included = not includes or _matches(path, includes)
        if isinstance(value, dict):
            if included:
                sub = _filter(value, f"{path}.", [], excludes) if excludes else value
                out[key] = sub
            elif _could_contain(path, includes):
                sub = _filter(value, f"{path}.", includes, excludes)
                if sub:
                    out[key] = sub
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value) and not included:
            if _could_contain(path, includes):
                items = [_filter(v, f"{path}.", includes, excludes) if isinstance(v, dict) else v for v in value]
                items = [i for i in items if i != {}]
                if items:
                    out[key] = items
        elif included:
            out[key] = value
    return out


def parse_source_spec(spec: Any) -> tuple[bool, list[str], list[str]]:
    """(fetch, includes, excludes) from a body ``_source`` value."""
    if spec is None or spec is True:
        return True, [], []
    if spec is False:
        return False, [], []
    if isinstance(spec, str):
        return True, [spec], []
    if isinstance(spec, list):
        return True, [str(s) for s in spec], []
    if isinstance(spec, dict):
        inc = spec.get("includes", spec.get("include", []))
        exc = spec.get("excludes", spec.get("exclude", []))
        inc = [inc] if isinstance(inc, str) else list(inc or [])
        exc = [exc] if isinstance(exc, str) else list(exc or [])
        return True, inc, exc
    from .errors import parsing

    raise parsing("[_source] must be a boolean, string, array or object")
