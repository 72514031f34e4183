"""Resolve zh/en date expressions against the conversation's date (stdlib only).

``find_date(text, today)`` returns the first date expression it recognises, e.g. on
Saturday 2026-11-21: "下个月15号" -> 2026-12-15, "下周五" -> 2026-11-27, "3月5日" ->
2027-03-05 (yearless: its next occurrence, by ``memory.yearly``'s rule), "the 15th of next
month" -> 2026-12-15, "next Friday" -> 2026-11-27, "May 5th" -> 2027-05-05. Weeks start on
Monday; "下周五"/"next Friday" is the Friday of next week, "周五"/"Friday" the next Friday to come,
"上周五" the Friday of last week and "last Friday" the latest Friday before the day.

``find_all_dates(text, today)`` returns every date expression, also spans ("上周末", "last week",
"上个月", "last year", "三天前", "two weeks ago", "2023年5月", "May 2023"), as ``DateSpan``s; it
leaves out what it cannot place without the tense of the sentence (a bare "Friday" / "周五" /
"15号"), so what it returns can be indexed as the dates a message speaks about
(``when_tokens``).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
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
    ("weekday", re.compile(rf"\b(?:(next|this|coming|last|on) )?({_WD_RE})\b", re.I)),
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
        target = _EN_WEEKDAYS[g[1].lower()]
        if (g[0] or "").lower() == "last":  # the latest one before the day (on a Monday: 3 days ago)
            return today - timedelta(days=(today.weekday() - target) % 7 or 7), False
        mode = {"next": "next", "this": "this"}.get((g[0] or "").lower(), "coming")
        return _weekday(target, today, mode), False
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


# ------------------------------------------------------------------ every date a text speaks about

@dataclass(frozen=True)
class DateSpan:
    """A day or a span of days a text speaks about. ``yearless``: a month/day said without a year
    (``start`` is then its next occurrence and only the month/day is known); ``unit`` is "day",
    "week" (any run of days: a week, a weekend), "month" or "year"."""

    start: date
    end: date
    unit: str
    begin: int
    finish: int
    yearless: bool = False


_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2}
_EN_NUM_RE = "|".join(sorted(_EN_NUMBERS, key=len, reverse=True)) + r"|\d{1,2}"
_EN_SPANS: list[tuple[str, re.Pattern[str]]] = [
    ("rel_span", re.compile(r"\b(last|this|next|coming|past) (week|weekend|month|year)\b", re.I)),
    ("ago", re.compile(rf"\b({_EN_NUM_RE}) (day|week|month|year)s? ago\b", re.I)),
    ("part_of_day", re.compile(r"\b(last night|this morning|this afternoon|this evening|earlier today)\b", re.I)),
    ("month_year", re.compile(rf"\b({_MONTH_RE})\.?,? (\d{{4}})\b", re.I)),
]
_ZH_REL = {"上上": -2, "上": -1, "这": 0, "本": 0, "今": 0, "下": 1, "下下": 2, "去": -1, "前": -2, "明": 1, "后": 2}
_ZH_SPANS: list[tuple[str, re.Pattern[str]]] = [
    ("rel_week", re.compile(r"(上上|下下|上|这|本|下)个?(?:周|星期|礼拜)(末)?")),
    ("rel_month", re.compile(r"(上上|下下|上|这|本|下)个月")),
    ("rel_year", re.compile(rf"(去|前|今|明|后)年(?:\s*({NUM})\s*月(?!\s*{NUM}\s*[日号]))?")),
    ("ym", re.compile(rf"(\d{{4}})\s*年\s*({NUM})\s*月(?!\s*{NUM}\s*[日号])")),
    ("ago", re.compile(rf"({NUM})\s*(天|个?(?:星期|礼拜)|周|个月|年)(?:以前|之前|前)")),
    ("part_of_day", re.compile(r"昨晚|昨天晚上|昨天早上|今早|今天早上|今晚|今天晚上")),
]
# find_date's kinds that depend on the sentence's tense ("Friday", "15号"): left out of the spans.
_TENSE_DEPENDENT = frozenset({"day"})


def _month_span(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    return first, date(year, month, calendar.monthrange(year, month)[1])


def _shift_month(today: date, months: int) -> tuple[date, date]:
    year, month = divmod(today.year * 12 + today.month - 1 + months, 12)
    return _month_span(year, month + 1)


def _week_span(today: date, weeks: int, weekend: bool) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks)
    return (monday + timedelta(days=5), monday + timedelta(days=6)) if weekend else (monday, monday + timedelta(6))


def _ago(n: int, unit: str, today: date) -> tuple[date, date, str]:
    if unit == "day":
        d = today - timedelta(days=n)
        return d, d, "day"
    if unit == "week":
        return (*_week_span(today, -n, False), "week")
    if unit == "month":
        return (*_shift_month(today, -n), "month")
    return date(today.year - n, 1, 1), date(today.year - n, 12, 31), "year"


def _span_en(kind: str, m: re.Match[str], today: date) -> tuple[date, date, str] | None:
    g = m.groups()
    if kind == "rel_span":
        which, unit = g[0].lower(), g[1].lower()
        step = {"last": -1, "past": -1, "this": 0, "next": 1, "coming": 1}[which]
        if unit in ("week", "weekend"):
            if which == "coming" and unit == "weekend":
                step = 0 if today.weekday() < 5 else 1  # the weekend still to come
            return (*_week_span(today, step, unit == "weekend"), "week")
        if unit == "month":
            return (*_shift_month(today, step), "month")
        return date(today.year + step, 1, 1), date(today.year + step, 12, 31), "year"
    if kind == "ago":
        n = _EN_NUMBERS.get(g[0].lower()) or (int(g[0]) if g[0].isdigit() else 0)
        return _ago(n, g[1].lower(), today) if n else None
    if kind == "part_of_day":
        d = today - timedelta(days=1) if g[0].lower() == "last night" else today
        return d, d, "day"
    mo = _EN_MONTHS[g[0].lower().rstrip(".")]
    return (*_month_span(int(g[1]), mo), "month")


def _span_zh(kind: str, m: re.Match[str], today: date) -> tuple[date, date, str] | None:
    g = m.groups()
    if kind == "rel_week":
        return (*_week_span(today, _ZH_REL[g[0]], bool(g[1])), "week")
    if kind == "rel_month":
        return (*_shift_month(today, _ZH_REL[g[0]]), "month")
    if kind == "rel_year":
        year = today.year + _ZH_REL[g[0]]
        mo = cn_number(g[1]) if g[1] else None
        if mo is not None:
            return (*_month_span(year, mo), "month") if 1 <= mo <= 12 else None
        return date(year, 1, 1), date(year, 12, 31), "year"
    if kind == "ym":
        mo = cn_number(g[1])
        return (*_month_span(int(g[0]), mo), "month") if mo is not None and 1 <= mo <= 12 else None
    if kind == "ago":
        n = cn_number(g[0])
        unit = {"天": "day", "周": "week", "个月": "month", "年": "year"}.get(g[1], "week")
        return _ago(n, unit, today) if n else None
    d = today - timedelta(days=1) if m.group(0).startswith("昨") else today
    return d, d, "day"


def find_all_dates(text: str, today: date) -> list[DateSpan]:
    """Every date expression of ``text`` (zh and en), resolved against ``today`` (the day the text was
    written), in text order; overlapping matches keep the longest (at the same start) or the earliest."""
    found: list[DateSpan] = []
    for patterns, resolve in ((_ZH_PATTERNS, _resolve_zh), (_EN_PATTERNS, _resolve_en)):
        for kind, pattern in patterns:
            if kind in _TENSE_DEPENDENT:
                continue
            for m in pattern.finditer(text):
                if kind in ("weekday", "week") and (m.group(1) or "on").lower() == "on":
                    continue  # a bare "Friday" / "周五": past or next, the tense decides
                try:
                    value, yearless = resolve(kind, m, today)
                except (KeyError, OverflowError, ValueError):
                    continue
                if value is not None:
                    found.append(DateSpan(value, value, "day", m.start(), m.end(), yearless))
    for spans, resolve_span in ((_ZH_SPANS, _span_zh), (_EN_SPANS, _span_en)):
        for kind, pattern in spans:
            for m in pattern.finditer(text):
                try:
                    got = resolve_span(kind, m, today)
                except (KeyError, OverflowError, ValueError):
                    continue
                if got is not None:
                    found.append(DateSpan(got[0], got[1], got[2], m.start(), m.end()))
    found.sort(key=lambda s: (s.begin, -s.finish))
    out: list[DateSpan] = []
    for span in found:
        if not out or span.begin >= out[-1].finish:
            out.append(span)
    return out


MAX_SPAN_DAYS = 9  # a span longer than this (a month, a year) is indexed by its month or year only


def when_tokens(spans: Sequence[DateSpan]) -> list[str]:
    """Keyword tokens for the dates of ``spans``: "yyyy-mm-dd" per day of a short span, with its
    "yyyy-mm", "yyyy" and "mm-dd" (a question may name a day without its year); "yyyy-mm" for a
    month, "yyyy" for a year; a yearless day gives "mm-dd" only. Sorted, without repeats."""
    tokens: set[str] = set()
    for s in spans:
        if s.yearless:
            tokens.add(f"{s.start:%m-%d}")
            continue
        if s.unit == "year":
            tokens.add(f"{s.start:%Y}")
            continue
        if s.unit == "month" or (s.end - s.start).days >= MAX_SPAN_DAYS:
            tokens.update({f"{s.start:%Y-%m}", f"{s.end:%Y-%m}", f"{s.start:%Y}"})
            continue
        d = s.start
        while d <= s.end:
            tokens.update({f"{d:%Y-%m-%d}", f"{d:%Y-%m}", f"{d:%Y}", f"{d:%m-%d}"})
            d += timedelta(days=1)
    return sorted(tokens)
