"""Date parsing (mapping ``format``) and date math (``now-7d/d``, ``2024-01-01||+1M``) in epoch millis."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime, timedelta

from .errors import OpenSearchError

DEFAULT_FORMAT = "strict_date_optional_time||epoch_millis"

_PARTIAL_ISO = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_JAVA_TOKENS = [
    ("yyyy", "%Y"),
    ("uuuu", "%Y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSS", "%f"),
    ("XXX", "%z"),
    ("Z", "%z"),
    ("'T'", "T"),
]


def _to_millis(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _parse_iso(text: str) -> int | None:
    m = _PARTIAL_ISO.match(text)
    if m:
        return _to_millis(datetime(int(m.group(1)), int(m.group(2) or 1), 1))
    try:
        return _to_millis(datetime.fromisoformat(text))
    except ValueError:
        return None


def _parse_java_pattern(text: str, pattern: str) -> int | None:
    fmt = pattern
    for java, py in _JAVA_TOKENS:
        fmt = fmt.replace(java, py)
    try:
        return _to_millis(datetime.strptime(text, fmt))
    except ValueError:
        return None


def _parse_one(value: object, fmt: str) -> int | None:
    if fmt in ("epoch_millis", "epoch_second"):
        scale = 1000 if fmt == "epoch_second" else 1
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return int(value * scale)
        if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return int(float(value) * scale)
        return None
    if not isinstance(value, str):
        return None
    if fmt in ("strict_date_optional_time", "date_optional_time", "strict_date_time", "date_time", "date"):
        return _parse_iso(value)
    if fmt in ("strict_date", "yyyy-MM-dd"):
        return _parse_java_pattern(value, "yyyy-MM-dd")
    return _parse_java_pattern(value, fmt)


def parse_date(value: object, fmt: str = DEFAULT_FORMAT) -> int:
    """Epoch millis of ``value`` under a ``||``-separated list of formats, else ValueError."""
    for one in fmt.split("||"):
        millis = _parse_one(value, one.strip())
        if millis is not None:
            return millis
    raise ValueError(f"failed to parse date field [{value}] with format [{fmt}]")


_MATH_RE = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")
_UNIT_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "H": 3_600_000, "m": 60_000, "s": 1000}


def _add(dt: datetime, sign: int, n: int, unit: str) -> datetime:
    if unit in ("y", "M"):
        months = dt.month - 1 + sign * n * (12 if unit == "y" else 1)
        year, month = dt.year + months // 12, months % 12 + 1
        day = min(dt.day, calendar.monthrange(year, month)[1])
        return dt.replace(year=year, month=month, day=day)
    return dt + timedelta(milliseconds=sign * n * _UNIT_MS[unit])


def _round(dt: datetime, unit: str, up: bool) -> datetime:
    if unit == "y":
        start = dt.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "M":
        start = dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "w":
        start = (dt - timedelta(days=dt.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "d":
        start = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit in ("h", "H"):
        start = dt.replace(minute=0, second=0, microsecond=0)
    elif unit == "m":
        start = dt.replace(second=0, microsecond=0)
    else:
        start = dt.replace(microsecond=0)
    if not up:
        return start
    return _add(start, 1, 1, unit) - timedelta(milliseconds=1)


def parse_date_math(value: object, fmt: str = DEFAULT_FORMAT, *, round_up: bool = False) -> int:
    """A range bound: a date, ``now`` or ``<date>||`` followed by ``+1d``, ``-2h``, ``/d`` operations."""
    if not isinstance(value, str):
        return parse_date(value, fmt)
    if value.startswith("now"):
        anchor, expr = datetime.fromtimestamp(time.time(), UTC), value[3:]
    elif "||" in value and not value.endswith("||") and _MATH_RE.match(value.split("||")[-1] or "x"):
        text, expr = value.rsplit("||", 1)
        anchor = datetime.fromtimestamp(parse_date(text, fmt) / 1000, UTC)
    else:
        return parse_date(value, fmt)
    pos = 0
    while pos < len(expr):
        m = _MATH_RE.match(expr, pos)
        if not m:
            raise OpenSearchError(400, "parse_exception", f"operator not supported for date math [{value}]")
        if m.group(4):
            anchor = _round(anchor, m.group(4), round_up)
        else:
            anchor = _add(anchor, 1 if m.group(1) == "+" else -1, int(m.group(2)), m.group(3))
        pos = m.end()
    return _to_millis(anchor)
