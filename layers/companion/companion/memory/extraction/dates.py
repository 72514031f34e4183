"""Resolve zh/en date expressions against the conversation's date (stdlib only).

``find_date(text, today)`` returns the first date expression it recognises, e.g. on
Saturday 2026-11-21: "下个月15号" -> 2026-12-15, "下周五" -> 2026-11-27, "3月5日" ->
2027-03-05 (yearless: its next occurrence, by ``memory.yearly``'s rule), "the 15th of next
month" -> 2026-12-15, "next Friday" -> 2026-11-27, "May 5th" -> 2027-05-05. Weeks start on
Monday; "下周五"/"next Friday" is the Friday of next week, "周五"/"Friday" the next Friday to come.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ..yearly import next_occurrence

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
NUM = r"(?:\d{1,4}|[零〇一二两三四五六七八九十廿]{1,4})"


def cn_number(text: str) -> int | None:
    """'15' / '十五' / '二十五' / '廿三' -> int; None when not a number below 100."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch not in "十廿" for ch in text):
        return None
    text = text.replace("廿", "二十")
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _CN_DIGITS.get(tens) if tens else 1
        o = _CN_DIGITS.get(ones) if ones else 0
        return None if t is None or o is None else t * 10 + o
    if len(text) == 1:
        return _CN_DIGITS[text]
    return None


@dataclass(frozen=True)
class DateMatch:
    value: date
    start: int
    end: int
    yearless: bool  # month/day given without a year: ``value`` is the next occurrence

    def surface(self, text: str) -> str:
        return text[self.start:self.end]


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _yearly(month: int, day: int, today: date) -> date | None:
    """The next occurrence of a month/day said without a year; None when no year has it."""
    try:
        return next_occurrence(month, day, today)
    except ValueError:
        return None


def _add_months(today: date, months: int, day: int) -> date | None:
    idx = today.year * 12 + today.month - 1 + months
    year, month = divmod(idx, 12)
    return _safe(year, month + 1, day)


def _day_this_or_next_month(day: int, today: date) -> date | None:
    d = _safe(today.year, today.month, day)
    if d and d >= today:
        return d
    return _add_months(today, 1, day)


def _weekday(target: int, today: date, mode: str) -> date:
    """mode 'next': that day of next week; 'this': of this week; 'coming': next to come."""
    monday = today - timedelta(days=today.weekday())
    if mode == "next":
        return monday + timedelta(days=7 + target)
    if mode == "this":
        return monday + timedelta(days=target)
    ahead = (target - today.weekday()) % 7
    return today + timedelta(days=ahead or 7)


_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
               "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_ZH_REL_DAY = {"大后天": 3, "后天": 2, "明天": 1, "明日": 1, "今天": 0, "今日": 0, "昨天": -1, "前天": -2}
_EN_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_EN_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_EN_MONTHS["sept"] = 9
_EN_WEEKDAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}
_MONTH_RE = "|".join(sorted(_EN_MONTHS, key=len, reverse=True))
_WD_RE = "|".join(_EN_WEEKDAYS)
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"

_ZH_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(rf"({NUM})\s*[年\-/.]\s*({NUM})\s*[月\-/.]\s*({NUM})\s*[日号]?")),
    ("month_rel_day", re.compile(rf"(下下个?月|下个?月|这个?月|本月|上个?月)\s*的?({NUM})\s*[号日]")),
    ("md", re.compile(rf"({NUM})\s*月\s*({NUM})\s*[日号]")),
    ("week", re.compile(r"(下下个?|下个?|这个?|本|上个?)?(?:周|星期|礼拜)([一二三四五六日天1-7])")),
    ("rel_day", re.compile("|".join(_ZH_REL_DAY))),
    ("in_days", re.compile(rf"({NUM})\s*天(?:以后|之后|后)")),
    ("day", re.compile(rf"(?<![\d月年])({NUM})\s*[号](?![线楼房院机])")),
]
_EN_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("rel_month_day", re.compile(rf"\bthe {_ORD} of (next|this) month\b", re.I)),
    ("rel_month_day2", re.compile(rf"\b(next|this) month on the {_ORD}\b", re.I)),
    ("month_day", re.compile(rf"\b({_MONTH_RE})\.? (?:the )?{_ORD}\b(?:,? (\d{{4}}))?", re.I)),
    ("day_month", re.compile(rf"\b(?:the )?{_ORD} (?:of )?({_MONTH_RE})\b(?:,? (\d{{4}}))?", re.I)),
    ("weekday", re.compile(rf"\b(?:(next|this|coming|on) )?({_WD_RE})\b", re.I)),
    ("rel_day", re.compile(r"\b(the day after tomorrow|tomorrow|today|tonight|yesterday)\b", re.I)),
    ("in_days", re.compile(r"\bin (\d{1,3}) days\b", re.I)),
    ("day", re.compile(rf"\bon the {_ORD}\b", re.I)),
]


def _resolve_zh(kind: str, m: re.Match[str], today: date) -> tuple[date | None, bool]:
    g = m.groups()
    if kind == "ymd":
        y, mo, d = (cn_number(x) for x in g)
        if y is not None and y < 100:
            y += 2000
        return (_safe(y, mo, d) if y is not None and mo is not None and d is not None else None), False
    if kind == "month_rel_day":
        offset = {"下下": 2, "下": 1, "这": 0, "本": 0, "上": -1}[g[0][:2] if g[0].startswith("下下") else g[0][0]]
        d = cn_number(g[1])
        return (_add_months(today, offset, d) if d else None), False
    if kind == "md":
        mo, d = cn_number(g[0]), cn_number(g[1])
        return (_yearly(mo, d, today) if mo and d else None), True
    if kind == "week":
        prefix = g[0] or ""
        target = _ZH_WEEKDAY[g[1]]
        if prefix.startswith("下下"):
            return _weekday(target, today, "next") + timedelta(days=7), False
        mode = {"下": "next", "这": "this", "本": "this", "上": "last"}.get(prefix[:1], "coming")
        if mode == "last":
            return _weekday(target, today, "this") - timedelta(days=7), False
        return _weekday(target, today, mode), False
    if kind == "rel_day":
        return today + timedelta(days=_ZH_REL_DAY[m.group(0)]), False
    if kind == "in_days":
        n = cn_number(g[0])
        return (today + timedelta(days=n) if n is not None else None), False
    d = cn_number(g[0])
    return (_day_this_or_next_month(d, today) if d else None), False


def _resolve_en(kind: str, m: re.Match[str], today: date) -> tuple[date | None, bool]:
    g = m.groups()
    if kind == "iso":
        return _safe(int(g[0]), int(g[1]), int(g[2])), False
    if kind in ("rel_month_day", "rel_month_day2"):
        day, which = (g[0], g[1]) if kind == "rel_month_day" else (g[1], g[0])
        return _add_months(today, 1 if which.lower() == "next" else 0, int(day)), False
    if kind in ("month_day", "day_month"):
        mon, day = (g[0], g[1]) if kind == "month_day" else (g[1], g[0])
        mo = _EN_MONTHS[mon.lower().rstrip(".")]
        if g[2]:
            return _safe(int(g[2]), mo, int(day)), False
        return _yearly(mo, int(day), today), True
    if kind == "weekday":
        mode = {"next": "next", "this": "this"}.get((g[0] or "").lower(), "coming")
        return _weekday(_EN_WEEKDAYS[g[1].lower()], today, mode), False
    if kind == "rel_day":
        word = g[0].lower()
        delta = {"the day after tomorrow": 2, "tomorrow": 1, "today": 0, "tonight": 0, "yesterday": -1}[word]
        return today + timedelta(days=delta), False
    if kind == "in_days":
        return today + timedelta(days=int(g[0])), False
    return _day_this_or_next_month(int(g[0]), today), False


def find_date(text: str, today: date) -> DateMatch | None:
    """The earliest-starting date expression in ``text`` (zh or en), resolved; else None."""
    best: DateMatch | None = None
    for patterns, resolve in ((_ZH_PATTERNS, _resolve_zh), (_EN_PATTERNS, _resolve_en)):
        for kind, pattern in patterns:
            for m in pattern.finditer(text):
                value, yearless = resolve(kind, m, today)
                if value is None:
                    continue
                cand = DateMatch(value, m.start(), m.end(), yearless)
                # Earliest wins; at the same start the longer (more specific) match wins.
                if best is None or (cand.start, -cand.end) < (best.start, -best.end):
                    best = cand
                break
    return best


def roll_forward_yearly(value: date, today: date) -> date:
    """A yearly date (birthday) moved to its next occurrence on or after ``today`` (``yearly``'s rule
    for 29 February); a date still to come stays as it is."""
    return value if value >= today else next_occurrence(value.month, value.day, today)


def message_date(timestamp: float, now: datetime) -> date:
    """The day a message was written, the reference of its relative dates ("明天", "next Tuesday").
    ``now`` is the segment's time (its last message): a timestamp after it, or none, means the
    message carries no usable time of its own, and ``now``'s day is used."""
    tz = now.tzinfo or UTC
    ref = now if now.tzinfo else now.replace(tzinfo=UTC)
    if timestamp <= 0 or timestamp > ref.timestamp():
        return now.date()
    return datetime.fromtimestamp(timestamp, tz).date()
