"""Per-field search structures over document ordinals: inverted indexes, numeric columns, vector arenas.

Only documents made visible by a refresh are in these structures. Every array is indexed by ordinal
and grown by the owning index (``grow``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from . import bm25
from .analysis import get_analyzer
from .hits import EMPTY_ORDS, Hits, match_positions
from .mapping import FieldDef


def _grow(arr: np.ndarray, cap: int, fill: Any) -> np.ndarray:
    if len(arr) >= cap:
        return arr
    out = np.full((cap, *arr.shape[1:]), fill, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


class FieldIndex:
    def __init__(self, fd: FieldDef) -> None:
        self.fd = fd
        self.has = np.zeros(0, dtype=bool)

    def grow(self, cap: int) -> None:
        self.has = _grow(self.has, cap, False)

    def exists(self) -> np.ndarray:
        return np.flatnonzero(self.has)

    def add(self, ord_: int, parsed: Any) -> None:
        raise NotImplementedError

    def remove(self, ord_: int, parsed: Any) -> None:
        raise NotImplementedError


class TextIndex(FieldIndex):
    """Inverted index with term frequencies and Lucene one-byte length norms (for BM25)."""

    def __init__(self, fd: FieldDef) -> None:
        super().__init__(fd)
        self.postings: dict[str, dict[int, int]] = {}
        self.norms = np.zeros(0, dtype=np.uint8)
        self.doc_count = 0  # documents with at least one term, as Lucene's CollectionStatistics
        self.sum_total_term_freq = 0
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.analyze = get_analyzer(fd.analyzer)

    def grow(self, cap: int) -> None:
        super().grow(cap)
        self.norms = _grow(self.norms, cap, 0)

    def parse(self, values: list[Any]) -> list[str]:
        tokens: list[str] = []
        for v in values:
            tokens.extend(self.analyze(v if isinstance(v, str) else _to_text(v)))
        return tokens

    def add(self, ord_: int, tokens: list[str]) -> None:
        self.has[ord_] = True
        if not tokens:
            return
        freqs: dict[str, int] = {}
        for t in tokens:
            freqs[t] = freqs.get(t, 0) + 1
        for t, f in freqs.items():
            self.postings.setdefault(t, {})[ord_] = f
            self._cache.pop(t, None)
        self.norms[ord_] = bm25.encode_norm(len(tokens))
        self.doc_count += 1
        self.sum_total_term_freq += len(tokens)

    def remove(self, ord_: int, tokens: list[str]) -> None:
        self.has[ord_] = False
        if not tokens:
            return
        for t in set(tokens):
            p = self.postings.get(t)
            if p is not None:
                p.pop(ord_, None)
                if not p:
                    del self.postings[t]
            self._cache.pop(t, None)
        self.doc_count -= 1
        self.sum_total_term_freq -= len(tokens)

    def _arrays(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        cached = self._cache.get(term)
        if cached is None:
            p = self.postings.get(term) or {}
            ords = np.fromiter(sorted(p), dtype=np.int64, count=len(p))
            freqs = np.fromiter((p[o] for o in ords.tolist()), dtype=np.int64, count=len(p))
            cached = self._cache[term] = (ords, freqs)
        return cached

    def doc_freq(self, term: str) -> int:
        return len(self.postings.get(term) or ())

    def term_hits(self, term: str, within: np.ndarray | None, boost: float) -> Hits:
        p = self.postings.get(term)
        if not p:
            return Hits.empty()
        if within is not None and len(within) * 8 < len(p):
            # Few candidates: probe the posting dict instead of materialising the whole list.
            wl = within.tolist()
            sel = [o for o in wl if o in p]
            ords = np.array(sel, dtype=np.int64)
            freqs = np.array([p[o] for o in sel], dtype=np.int64)
        else:
            ords, freqs = self._arrays(term)
            if within is not None:
                ia, _ = match_positions(ords, within)
                ords, freqs = ords[ia], freqs[ia]
        scores = bm25.score(
            freqs,
            self.norms[ords],
            doc_count=self.doc_count,
            doc_freq=len(p),
            sum_total_term_freq=self.sum_total_term_freq,
            boost=boost,
        )
        return Hits(ords, scores)


class KeywordIndex(FieldIndex):
    """Exact-value inverted index; norms are off so BM25 sees a length of 1 (as keyword fields do)."""

    def __init__(self, fd: FieldDef) -> None:
        super().__init__(fd)
        self.postings: dict[str, set[int]] = {}
        self.doc_count = 0
        self.sum_doc_freq = 0
        self._cache: dict[str, np.ndarray] = {}

    def parse(self, values: list[Any]) -> list[str]:
        out = []
        for v in values:
            s = _to_text(v)
            if self.fd.ignore_above is None or len(s) <= self.fd.ignore_above:
                out.append(s)
        return out

    def add(self, ord_: int, terms: list[str]) -> None:
        self.has[ord_] = True
        uniq = set(terms)
        for t in uniq:
            self.postings.setdefault(t, set()).add(ord_)
            self._cache.pop(t, None)
        if uniq:
            self.doc_count += 1
            self.sum_doc_freq += len(uniq)

    def remove(self, ord_: int, terms: list[str]) -> None:
        self.has[ord_] = False
        uniq = set(terms)
        for t in uniq:
            p = self.postings.get(t)
            if p is not None:
                p.discard(ord_)
                if not p:
                    del self.postings[t]
            self._cache.pop(t, None)
        if uniq:
            self.doc_count -= 1
            self.sum_doc_freq -= len(uniq)

    def term_ords(self, term: str) -> np.ndarray:
        cached = self._cache.get(term)
        if cached is None:
            p = self.postings.get(term)
            if not p:
                return EMPTY_ORDS
            cached = self._cache[term] = np.fromiter(sorted(p), dtype=np.int64, count=len(p))
        return cached

    def term_hits(self, term: str, within: np.ndarray | None, boost: float) -> Hits:
        ords = self.term_ords(term)
        if within is not None:
            ia, _ = match_positions(ords, within)
            ords = ords[ia]
        if not len(ords):
            return Hits.empty()
        scores = bm25.score(
            np.ones(len(ords), dtype=np.int64),
            np.ones(len(ords), dtype=np.int64),
            doc_count=self.doc_count,
            doc_freq=len(self.postings[term]),
            sum_total_term_freq=self.sum_doc_freq,
            boost=boost,
        )
        return Hits(ords, scores)

    def terms_between(self, lo: str | None, hi: str | None, lo_inc: bool, hi_inc: bool) -> list[str]:
        out = []
        for t in self.postings:
            if lo is not None and (t < lo or (t == lo and not lo_inc)):
                continue
            if hi is not None and (t > hi or (t == hi and not hi_inc)):
                continue
            out.append(t)
        return out

    def terms_matching(self, predicate: Any) -> list[str]:
        return [t for t in self.postings if predicate(t)]


class NumericIndex(FieldIndex):
    """Numbers, dates (epoch millis) and booleans (0/1) as a float64 column; extra values of arrays aside."""

    def __init__(self, fd: FieldDef) -> None:
        super().__init__(fd)
        self.col = np.zeros(0, dtype=np.float64)
        self.multi: dict[int, list[float]] = {}

    def grow(self, cap: int) -> None:
        super().grow(cap)
        self.col = _grow(self.col, cap, np.nan)

    def add(self, ord_: int, values: list[float]) -> None:
        if not values:
            return
        self.has[ord_] = True
        self.col[ord_] = values[0]
        if len(values) > 1:
            self.multi[ord_] = values

    def remove(self, ord_: int, values: list[float]) -> None:
        self.has[ord_] = False
        self.col[ord_] = np.nan
        self.multi.pop(ord_, None)

    def match(self, predicate: Any, within: np.ndarray | None) -> np.ndarray:
        """Ordinals with any value satisfying ``predicate`` (a vectorised function on float arrays)."""
        if within is None:
            with np.errstate(invalid="ignore"):
                hit = np.flatnonzero(predicate(self.col))
        else:
            with np.errstate(invalid="ignore"):
                hit = within[predicate(self.col[within])]
        if self.multi:
            extra = [o for o, vs in self.multi.items() if predicate(np.array(vs)).any()]
            if within is not None:
                ws = set(within.tolist())
                extra = [o for o in extra if o in ws]
            if extra:
                hit = np.union1d(hit, np.array(extra, dtype=np.int64))
        return hit.astype(np.int64, copy=False)

    def sort_value(self, ord_: int, descending: bool) -> float | None:
        vs = self.multi.get(ord_)
        if vs is not None:
            return max(vs) if descending else min(vs)
        v = self.col[ord_]
        return None if np.isnan(v) else float(v)


class VectorIndex(FieldIndex):
    """A float64 arena of vectors by ordinal (float64 keeps ``_source`` round trips exact)."""

    def __init__(self, fd: FieldDef) -> None:
        super().__init__(fd)
        self.arena = np.zeros((0, fd.dimension), dtype=np.float64)
        self.searchable = np.zeros(0, dtype=bool)

    def grow(self, cap: int) -> None:
        super().grow(cap)
        self.arena = _grow(self.arena, cap, 0.0)
        self.searchable = _grow(self.searchable, cap, False)

    def store(self, ord_: int, vector: np.ndarray) -> None:
        """Written at index time (the realtime ``_source`` needs it); searchable only after refresh."""
        self.arena[ord_] = vector
        self.has[ord_] = True

    def add(self, ord_: int, parsed: Any) -> None:
        self.searchable[ord_] = True

    def remove(self, ord_: int, parsed: Any) -> None:
        self.searchable[ord_] = False

    def release(self, ord_: int) -> None:
        self.has[ord_] = False
        self.searchable[ord_] = False

    def exists(self) -> np.ndarray:
        return np.flatnonzero(self.searchable)


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return str(value)


def make_field_index(fd: FieldDef) -> FieldIndex:
    if fd.type in ("text", "match_only_text"):
        return TextIndex(fd)
    if fd.type == "keyword":
        return KeywordIndex(fd)
    if fd.type == "knn_vector":
        return VectorIndex(fd)
    return NumericIndex(fd)


def iter_unique(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen
