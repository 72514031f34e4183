"""The query DSL: parsing query JSON into nodes and evaluating them against one index.

Every node returns ``Hits`` (sorted ordinals + scores). ``within`` is a set of ordinals the caller
will intersect with anyway, so nodes may restrict their work to it; the k-NN node does not, because
OpenSearch applies a surrounding ``bool`` filter after the k nearest are chosen (post-filtering).
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .analysis import get_analyzer
from .dates import parse_date, parse_date_math
from .errors import OpenSearchError, illegal_argument, parsing
from .field_indexes import KeywordIndex, NumericIndex, TextIndex, VectorIndex
from .hits import EMPTY_ORDS, Hits, difference, intersect_keep, intersect_sum, restrict, union_max, union_sum
from .index import Index
from .knn import distance_to_score, distances_to_scores, top_k
from .mapping import coerce_bool

UNSUPPORTED_QUERIES = {
    "query_string",
    "simple_query_string",
    "fuzzy",
    "regexp",
    "nested",
    "has_child",
    "has_parent",
    "function_score",
    "script_score",
    "script",
    "more_like_this",
    "geo_distance",
    "geo_bounding_box",
    "span_term",
    "span_near",
    "intervals",
    "neural",
    "rank_feature",
    "distance_feature",
    "percolate",
    "match_bool_prefix",
    "combined_fields",
    "boosting",
    "terms_set",
    "wrapper",
    "pinned",
}


def _unsupported(name: str) -> OpenSearchError:
    return illegal_argument(f"[{name}] query is not supported by the local OpenSearch emulator")


class Node:
    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        raise NotImplementedError


def _single_entry(name: str, body: Any) -> tuple[str, Any]:
    if not isinstance(body, dict) or not body:
        raise parsing(f"[{name}] query malformed, no start_object after query name")
    entries = [(k, v) for k, v in body.items() if k not in ("boost", "_name")]
    if len(entries) != 1:
        raise parsing(
            f"[{name}] query doesn't support multiple fields, found [{entries[0][0]}] and [{entries[-1][0]}]"
            if len(entries) > 1
            else f"[{name}] query malformed, no field"
        )
    return entries[0]


def _boost(body: Any) -> float:
    if isinstance(body, dict):
        b = body.get("boost", 1.0)
        if not isinstance(b, int | float) or isinstance(b, bool):
            raise parsing(f"[boost] must be a number, got [{b}]")
        return float(b)
    return 1.0


def parse_query(q: Any) -> Node:
    if not isinstance(q, dict) or len(q) != 1:
        if isinstance(q, dict) and len(q) > 1:
            keys = list(q)
            raise parsing(f"[{keys[0]}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
        raise parsing("query malformed, must start with start_object")
    name, body = next(iter(q.items()))
    parser = _PARSERS.get(name)
    if parser is None:
        if name in UNSUPPORTED_QUERIES:
            raise _unsupported(name)
        if name == "hybrid":
            raise parsing("hybrid query must be a top level query and cannot be wrapped into other queries")
        raise parsing(f"unknown query [{name}]")
    if not isinstance(body, dict):
        raise parsing(f"[{name}] query malformed, no start_object after query name")
    return parser(body)


# ----- leaf queries -------------------------------------------------------------------------------
@dataclass
class MatchAll(Node):
    boost: float = 1.0

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        ords = idx.live_ords() if within is None else within
        return Hits.constant(ords, self.boost)


class MatchNone(Node):
    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        return Hits.empty()


def _msm(spec: Any, optional: int) -> int:
    """minimum_should_match as Lucene/OpenSearch compute it from an integer or percentage."""
    if spec is None:
        return 0
    text = str(spec).strip()
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            n = math.floor(optional * abs(pct) / 100.0)
            result = n if pct >= 0 else optional - n
        else:
            v = int(text)
            result = v if v >= 0 else optional + v
    except ValueError:
        raise illegal_argument(f"Invalid minimum_should_match value [{spec}]") from None
    return max(0, min(result, optional))


def _term_hits(idx: Index, field_name: str, value: Any, within: np.ndarray | None, boost: float) -> Hits:
    fi = idx.field(field_name)
    if fi is None:
        return Hits.empty()
    if isinstance(fi, TextIndex | KeywordIndex):
        return fi.term_hits(_as_term(value), within, boost)
    if isinstance(fi, NumericIndex):
        target = _numeric_value(idx, field_name, value)
        return Hits.constant(fi.match(lambda col: col == target, within), boost)
    raise illegal_argument(f"Field [{field_name}] of type [{fi.fd.type}] does not support term queries")


def _as_term(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise parsing("[term] query does not support array of values")
    return str(value)


def _numeric_value(idx: Index, field_name: str, value: Any, *, round_up: bool = False, fmt: str | None = None) -> float:
    fd = idx.field_def(field_name)
    assert fd is not None
    try:
        if fd.type == "date":
            return float(parse_date_math(value, fmt or fd.date_format, round_up=round_up))
        if fd.type == "boolean":
            return 1.0 if coerce_bool(value) else 0.0
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    except (ValueError, TypeError):
        raise OpenSearchError(
            400,
            "query_shard_exception",
            f'failed to create query: For input string: "{value}"',
            extra={"index": idx.name, "index_uuid": idx.uuid},
        ) from None


@dataclass
class Term(Node):
    field: str
    value: Any
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        return _term_hits(idx, self.field, self.value, within, self.boost)


def _parse_term(body: dict[str, Any]) -> Node:
    name, spec = _single_entry("term", body)
    if isinstance(spec, dict):
        if "value" not in spec:
            raise parsing("[term] query does not support [" + next(iter(spec), "") + "]")
        return Term(name, spec["value"], _boost(spec))
    if isinstance(spec, list):
        raise parsing("[term] query does not support array of values")
    return Term(name, spec, _boost(body))


@dataclass
class Terms(Node):
    field: str
    values: list[Any]
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        parts = [_term_hits(idx, self.field, v, within, 1.0) for v in self.values]
        merged, _ = union_sum(parts)
        return Hits.constant(merged.ords, self.boost)


def _parse_terms(body: dict[str, Any]) -> Node:
    name, values = _single_entry("terms", body)
    if not isinstance(values, list):
        if isinstance(values, dict):
            raise _unsupported("terms lookup")
        raise parsing("[terms] query does not support [" + name + "]")
    return Terms(name, values, _boost(body))


@dataclass
class Ids(Node):
    values: list[str]
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        ords = sorted({idx.search_ids[v] for v in self.values if v in idx.search_ids})
        return restrict(Hits.constant(np.array(ords, dtype=np.int64), self.boost), within)


def _parse_ids(body: dict[str, Any]) -> Node:
    values = body.get("values", [])
    if not isinstance(values, list):
        raise parsing("[ids] query values must be an array")
    return Ids([str(v) for v in values], _boost(body))


@dataclass
class Exists(Node):
    field: str
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        fields = [self.field] if idx.field(self.field) else [p for p in idx.fields if p.startswith(self.field + ".")]
        if "*" in self.field:
            fields = [p for p in idx.fields if fnmatch.fnmatchcase(p, self.field)]
        parts = [Hits.constant(idx.fields[f].exists(), 1.0) for f in fields]
        merged, _ = union_sum(parts)
        return restrict(Hits.constant(merged.ords, self.boost), within)


def _parse_exists(body: dict[str, Any]) -> Node:
    f = body.get("field")
    if not isinstance(f, str):
        raise parsing("[exists] must be provided with a [field]")
    return Exists(f, _boost(body))


@dataclass
class Range(Node):
    field: str
    spec: dict[str, Any]
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        fi = idx.field(self.field)
        if fi is None:
            return Hits.empty()
        s = self.spec
        bounds = {k: s[k] for k in ("gt", "gte", "lt", "lte") if s.get(k) is not None}
        if s.get("from") is not None:
            bounds["gte" if s.get("include_lower", True) else "gt"] = s["from"]
        if s.get("to") is not None:
            bounds["lte" if s.get("include_upper", True) else "lt"] = s["to"]
        if isinstance(fi, NumericIndex):
            fmt = s.get("format")
            # Date math rounding: gt/lte round up, gte/lt round down (as OpenSearch documents).
            lim = {
                k: _numeric_value(idx, self.field, v, round_up=k in ("gt", "lte"), fmt=fmt) for k, v in bounds.items()
            }

            def pred(col: np.ndarray) -> np.ndarray:
                ok = ~np.isnan(col)
                if "gt" in lim:
                    ok &= col > lim["gt"]
                if "gte" in lim:
                    ok &= col >= lim["gte"]
                if "lt" in lim:
                    ok &= col < lim["lt"]
                if "lte" in lim:
                    ok &= col <= lim["lte"]
                return ok

            return Hits.constant(fi.match(pred, within), self.boost)
        if isinstance(fi, KeywordIndex | TextIndex):
            lo = bounds.get("gte", bounds.get("gt"))
            hi = bounds.get("lte", bounds.get("lt"))
            terms = [
                t
                for t in fi.postings
                if (lo is None or t > str(lo) or (t == str(lo) and "gte" in bounds))
                and (hi is None or t < str(hi) or (t == str(hi) and "lte" in bounds))
            ]
            return _union_terms(fi, terms, within, self.boost)
        raise illegal_argument(f"Field [{self.field}] of type [{fi.fd.type}] does not support range queries")


def _union_terms(fi: TextIndex | KeywordIndex, terms: list[str], within: np.ndarray | None, boost: float) -> Hits:
    parts = []
    for t in terms:
        if isinstance(fi, KeywordIndex):
            parts.append(Hits.constant(fi.term_ords(t), 1.0))
        else:
            parts.append(Hits.constant(np.array(sorted(fi.postings[t]), dtype=np.int64), 1.0))
    merged, _ = union_sum(parts)
    return restrict(Hits.constant(merged.ords, boost), within)


def _parse_range(body: dict[str, Any]) -> Node:
    name, spec = _single_entry("range", body)
    if not isinstance(spec, dict):
        raise parsing(f"[range] query malformed, no start_object after query name [{name}]")
    allowed = {
        "gt",
        "gte",
        "lt",
        "lte",
        "from",
        "to",
        "include_lower",
        "include_upper",
        "format",
        "time_zone",
        "boost",
        "relation",
        "_name",
    }
    for key in spec:
        if key not in allowed:
            raise parsing(f"[range] query does not support [{key}]")
    return Range(name, spec, _boost(spec))


@dataclass
class PatternQuery(Node):
    kind: str
    field: str
    pattern: str
    case_insensitive: bool
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        fi = idx.field(self.field)
        if not isinstance(fi, KeywordIndex | TextIndex):
            return Hits.empty()
        pat = self.pattern.lower() if self.case_insensitive else self.pattern
        if self.kind == "prefix":

            def ok(t: str) -> bool:
                return (t.lower() if self.case_insensitive else t).startswith(pat)
        else:
            rx = re.compile(fnmatch.translate(pat).replace("(?s:", "(?s:", 1))

            def ok(t: str) -> bool:
                return rx.match(t.lower() if self.case_insensitive else t) is not None

        return _union_terms(fi, [t for t in fi.postings if ok(t)], within, self.boost)


def _pattern_parser(kind: str) -> Any:
    def parse(body: dict[str, Any]) -> Node:
        name, spec = _single_entry(kind, body)
        if isinstance(spec, dict):
            value = spec.get("value", spec.get(kind))
            return PatternQuery(kind, name, str(value), bool(spec.get("case_insensitive")), _boost(spec))
        return PatternQuery(kind, name, str(spec), False, 1.0)

    return parse


# ----- full text --------------------------------------------------------------------------------
@dataclass
class Match(Node):
    field: str
    query: Any
    operator: str = "or"
    minimum_should_match: Any = None
    boost: float = 1.0
    analyzer: str | None = None
    zero_terms_all: bool = False

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        fi = idx.field(self.field)
        if fi is None:
            return Hits.empty()
        if not isinstance(fi, TextIndex):
            if isinstance(fi, VectorIndex):
                raise illegal_argument(f"Field [{self.field}] of type [knn_vector] does not support match queries")
            return _term_hits(idx, self.field, self.query, within, self.boost)
        analyzer = get_analyzer(self.analyzer or fi.fd.search_analyzer)
        terms = analyzer(self.query if isinstance(self.query, str) else str(self.query))
        if not terms:
            return MatchAll(self.boost).run(idx, within) if self.zero_terms_all else Hits.empty()
        if self.operator == "and":
            current = within
            acc: Hits | None = None
            for t in terms:
                h = fi.term_hits(t, current, self.boost)
                acc = h if acc is None else intersect_sum(acc, h)
                current = acc.ords
                if not len(current):
                    return Hits.empty()
            assert acc is not None
            return Hits(acc.ords, acc.scores.astype(np.float32))
        parts = [fi.term_hits(t, within, self.boost) for t in terms]
        merged, counts = union_sum(parts)
        need = _msm(self.minimum_should_match, len(terms)) if self.minimum_should_match is not None else 1
        if need > 1:
            keep = counts >= need
            merged = Hits(merged.ords[keep], merged.scores[keep])
        return Hits(merged.ords, merged.scores.astype(np.float32))


_MATCH_KEYS = {
    "query",
    "operator",
    "minimum_should_match",
    "boost",
    "analyzer",
    "zero_terms_query",
    "_name",
    "fuzziness",
    "prefix_length",
    "max_expansions",
    "fuzzy_transpositions",
    "lenient",
    "auto_generate_synonyms_phrase_query",
    "cutoff_frequency",
}


def _parse_match(body: dict[str, Any]) -> Node:
    name, spec = _single_entry("match", body)
    if isinstance(spec, dict):
        for key in spec:
            if key not in _MATCH_KEYS:
                raise parsing(f"[match] query does not support [{key}]")
        if "query" not in spec:
            raise parsing("[match] requires query value")
        fuzz = spec.get("fuzziness")
        if fuzz not in (None, 0, "0"):
            raise _unsupported("match with fuzziness")
        op = str(spec.get("operator", "or")).lower()
        if op not in ("or", "and"):
            raise illegal_argument(f"operator needs to be either and or or, but not [{op}]")
        return Match(
            name,
            spec["query"],
            op,
            spec.get("minimum_should_match"),
            _boost(spec),
            spec.get("analyzer"),
            str(spec.get("zero_terms_query", "none")).lower() == "all",
        )
    if isinstance(spec, list):
        raise parsing("[match] unknown token [START_ARRAY] after [query]")
    return Match(name, spec)


@dataclass
class MatchPhrase(Node):
    field: str
    query: str
    slop: int
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        fi = idx.field(self.field)
        if not isinstance(fi, TextIndex):
            return _term_hits(idx, self.field, self.query, within, self.boost) if fi else Hits.empty()
        terms = get_analyzer(fi.fd.search_analyzer)(self.query)
        if not terms:
            return Hits.empty()
        if len(terms) == 1:
            return fi.term_hits(terms[0], within, self.boost)
        current = within
        for t in terms:
            current = fi.term_hits(t, current, 1.0).ords
            if not len(current):
                return Hits.empty()
        from . import bm25

        ords, freqs = [], []
        for o in current.tolist():
            source = idx.ord_source[o] or {}
            from .mapping import extract_values

            tokens = fi.parse(extract_values(source, fi.fd.source_path))
            n = _phrase_freq(tokens, terms, self.slop)
            if n:
                ords.append(o)
                freqs.append(n)
        if not ords:
            return Hits.empty()
        arr = np.array(ords, dtype=np.int64)
        # Lucene's phrase weight: the idf is the sum of the terms' idfs.
        idf_sum = sum(float(bm25.idf(fi.doc_count, fi.doc_freq(t))) for t in terms)
        base = bm25.score(
            np.array(freqs),
            fi.norms[arr],
            doc_count=fi.doc_count,
            doc_freq=0,
            sum_total_term_freq=fi.sum_total_term_freq,
            boost=1.0,
        )
        scale = np.float32(self.boost * idf_sum) / bm25.idf(fi.doc_count, 0)
        return Hits(arr, (base * scale).astype(np.float32))


def _phrase_freq(tokens: list[str], terms: list[str], slop: int) -> int:
    n = 0
    for i in range(len(tokens) - len(terms) + 1):
        if slop == 0:
            if tokens[i : i + len(terms)] == terms:
                n += 1
        elif tokens[i] == terms[0]:
            window = tokens[i : i + len(terms) + slop]
            if all(t in window for t in terms):
                n += 1
    return n


def _parse_match_phrase(body: dict[str, Any]) -> Node:
    name, spec = _single_entry("match_phrase", body)
    if isinstance(spec, dict):
        return MatchPhrase(name, str(spec.get("query", "")), int(spec.get("slop", 0)), _boost(spec))
    return MatchPhrase(name, str(spec), 0, 1.0)


@dataclass
class MultiMatch(Node):
    fields: list[tuple[str, float]]
    query: Any
    type: str
    tie_breaker: float
    operator: str
    minimum_should_match: Any
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        resolved: list[tuple[str, float]] = []
        for pattern, b in self.fields:
            names = [p for p in idx.fields if fnmatch.fnmatchcase(p, pattern)] if "*" in pattern else [pattern]
            resolved.extend(
                (n, b)
                for n in names
                if isinstance(idx.field(n), TextIndex | KeywordIndex) or (idx.field(n) and "*" not in pattern)
            )
        parts = [
            Match(n, self.query, self.operator, self.minimum_should_match, b).run(idx, within) for n, b in resolved
        ]
        if self.type == "most_fields":
            merged, _ = union_sum(parts)
        else:
            merged = union_max(parts, self.tie_breaker)
        return Hits(merged.ords, (merged.scores * self.boost).astype(np.float32))


def _parse_multi_match(body: dict[str, Any]) -> Node:
    if "query" not in body:
        raise parsing("[multi_match] requires query value")
    mtype = body.get("type", "best_fields")
    if mtype not in ("best_fields", "most_fields"):
        raise _unsupported(f"multi_match of type {mtype}")
    fields: list[tuple[str, float]] = []
    raw_fields = body.get("fields", ["*"])
    if isinstance(raw_fields, str):
        raw_fields = [raw_fields]
    for f in raw_fields:
        name, _, b = str(f).partition("^")
        fields.append((name, float(b) if b else 1.0))
    return MultiMatch(
        fields,
        body["query"],
        mtype,
        float(body.get("tie_breaker", 0.0)),
        str(body.get("operator", "or")).lower(),
        body.get("minimum_should_match"),
        _boost(body),
    )


# ----- compound -------------------------------------------------------------------------------
@dataclass
class Bool(Node):
    must: list[Node] = field(default_factory=list)
    filter: list[Node] = field(default_factory=list)
    should: list[Node] = field(default_factory=list)
    must_not: list[Node] = field(default_factory=list)
    minimum_should_match: Any = None
    boost: float = 1.0

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        current = within
        for f in self.filter:
            current = f.run(idx, current).ords
            if not len(current):
                return Hits.empty()
        scored: Hits | None = None
        for m in self.must:
            h = restrict(m.run(idx, current), current)
            scored = h if scored is None else intersect_sum(scored, h)
            current = scored.ords
            if not len(current):
                return Hits.empty()
        if self.must_not:
            base = current if current is not None else idx.live_ords()
            for mn in self.must_not:
                excluded = mn.run(idx, base).ords
                if scored is not None:
                    scored = difference(scored, excluded)
                base = difference(Hits.constant(base, 0.0), excluded).ords
            current = base
        has_required = bool(self.must or self.filter)
        if self.should:
            parts = [restrict(s.run(idx, current), current) for s in self.should]
            should_hits, counts = union_sum(parts)
            default_msm = 0 if has_required else 1
            need = (
                _msm(self.minimum_should_match, len(self.should))
                if self.minimum_should_match is not None
                else default_msm
            )
            if need > 0:
                keep = counts >= need
                should_hits = Hits(should_hits.ords[keep], should_hits.scores[keep])
                if not has_required and not self.must_not:
                    return _scaled(should_hits, self.boost)
                base = (
                    scored
                    if scored is not None
                    else Hits.constant(current if current is not None else idx.live_ords(), 0.0)
                )
                result = intersect_sum(base, should_hits)
                return _scaled(result, self.boost)
            # Optional shoulds add their score to documents the required clauses matched.
            base = (
                scored
                if scored is not None
                else Hits.constant(current if current is not None else idx.live_ords(), 0.0)
            )
            ia, ib = _positions(base.ords, should_hits.ords)
            scores = base.scores.astype(np.float64).copy()
            scores[ia] += should_hits.scores[ib]
            return _scaled(Hits(base.ords, scores), self.boost)
        if scored is not None:
            return _scaled(scored, self.boost)
        if current is None:
            current = idx.live_ords()
        return Hits.constant(current, 0.0)


def _positions(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from .hits import match_positions

    return match_positions(a, b)


def _scaled(h: Hits, boost: float) -> Hits:
    return Hits(h.ords, (h.scores * boost).astype(np.float32) if boost != 1.0 else h.scores.astype(np.float32))


def _clauses(body: dict[str, Any], key: str) -> list[Node]:
    value = body.get(key)
    if value is None:
        return []
    if isinstance(value, dict):
        return [parse_query(value)]
    if isinstance(value, list):
        return [parse_query(v) for v in value]
    raise parsing(f"[bool] query does not support [{key}]")


def _parse_bool(body: dict[str, Any]) -> Node:
    for key in body:
        if key not in (
            "must",
            "filter",
            "should",
            "must_not",
            "minimum_should_match",
            "boost",
            "_name",
            "adjust_pure_negative",
        ):
            raise parsing(f"[bool] query does not support [{key}]")
    return Bool(
        _clauses(body, "must"),
        _clauses(body, "filter"),
        _clauses(body, "should"),
        _clauses(body, "must_not"),
        body.get("minimum_should_match"),
        _boost(body),
    )


@dataclass
class ConstantScore(Node):
    inner: Node
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        return Hits.constant(self.inner.run(idx, within).ords, self.boost)


def _parse_constant_score(body: dict[str, Any]) -> Node:
    if "filter" not in body:
        raise parsing("[constant_score] requires a 'filter' element")
    return ConstantScore(parse_query(body["filter"]), _boost(body))


@dataclass
class DisMax(Node):
    queries: list[Node]
    tie_breaker: float
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        merged = union_max([q.run(idx, within) for q in self.queries], self.tie_breaker)
        return _scaled(merged, self.boost)


def _parse_dis_max(body: dict[str, Any]) -> Node:
    return DisMax([parse_query(q) for q in body.get("queries", [])], float(body.get("tie_breaker", 0.0)), _boost(body))


# ----- k-NN ------------------------------------------------------------------------------------
@dataclass
class Knn(Node):
    field: str
    vector: np.ndarray
    k: int | None
    min_score: float | None
    max_distance: float | None
    filter: Node | None
    boost: float

    def run(self, idx: Index, within: np.ndarray | None) -> Hits:
        fi = idx.field(self.field)
        if fi is None:
            raise OpenSearchError(
                400,
                "query_shard_exception",
                f"Field '{self.field}' is not knn_vector type.",
                extra={"index": idx.name, "index_uuid": idx.uuid},
            )
        if not isinstance(fi, VectorIndex):
            raise OpenSearchError(
                400,
                "query_shard_exception",
                f"Field '{self.field}' is not knn_vector type.",
                extra={"index": idx.name, "index_uuid": idx.uuid},
            )
        if len(self.vector) != fi.fd.dimension:
            raise illegal_argument(
                f"Query vector has invalid dimension: {len(self.vector)}. Dimension should be: {fi.fd.dimension}"
            )
        if fi.fd.space_type == "cosinesimil" and not np.any(self.vector):
            raise illegal_argument("zero vector is not supported when space type is [cosinesimil]")
        if self.filter is not None:
            cand = self.filter.run(idx, None).ords
            cand = cand[fi.searchable[cand]]
        else:
            cand = np.flatnonzero(fi.searchable[: idx.next_ord]).astype(np.int64)
        if not len(cand):
            return Hits.empty()
        if self.filter is None and fi.fd.space_type != "l2":
            # Unfiltered: score the arena in place rather than gathering a copy of every row.
            scores = distances_to_scores(fi.fd.space_type, fi.arena[: idx.next_ord], self.vector)[cand]
        else:
            scores = distances_to_scores(fi.fd.space_type, fi.arena[cand], self.vector)
        if self.k is not None:
            pos = np.sort(top_k(cand, scores, idx.ord_seq[cand], self.k))
            cand, scores = cand[pos], scores[pos]
        else:
            threshold = (
                self.min_score
                if self.min_score is not None
                else distance_to_score(fi.fd.space_type, float(self.max_distance or 0.0))
            )
            keep = scores >= np.float32(threshold)
            cand, scores = cand[keep], scores[keep]
        hits = Hits(cand, (scores * np.float32(self.boost)).astype(np.float32))
        return restrict(hits, within)


def _parse_knn(body: dict[str, Any]) -> Node:
    name, spec = _single_entry("knn", body)
    if not isinstance(spec, dict):
        raise parsing(f"[knn] malformed query, expected an object for field [{name}]")
    allowed = {
        "vector",
        "k",
        "filter",
        "min_score",
        "max_distance",
        "boost",
        "_name",
        "method_parameters",
        "rescore",
        "expand_nested_docs",
    }
    for key in spec:
        if key not in allowed:
            raise parsing(f"[knn] unknown token [{key}] after [{name}]")
    vec = spec.get("vector")
    if (
        not isinstance(vec, list)
        or not vec
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in vec)
    ):
        raise parsing("[knn] requires query vector")
    given = [k for k in ("k", "min_score", "max_distance") if spec.get(k) is not None]
    if len(given) != 1:
        raise illegal_argument("[knn] requires exactly one of k, distance or score to be set")
    k = spec.get("k")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k <= 0 or k > 10000):
        raise illegal_argument("[knn] requires k to be in the range (0, 10000]")
    filt = spec.get("filter")
    return Knn(
        name,
        np.array(vec, dtype=np.float64),
        k,
        spec.get("min_score"),
        spec.get("max_distance"),
        parse_query(filt) if filt else None,
        _boost(spec),
    )


_PARSERS: dict[str, Any] = {
    "match_all": lambda b: MatchAll(_boost(b)),
    "match_none": lambda b: MatchNone(),
    "term": _parse_term,
    "terms": _parse_terms,
    "ids": _parse_ids,
    "exists": _parse_exists,
    "range": _parse_range,
    "prefix": _pattern_parser("prefix"),
    "wildcard": _pattern_parser("wildcard"),
    "match": _parse_match,
    "match_phrase": _parse_match_phrase,
    "multi_match": _parse_multi_match,
    "bool": _parse_bool,
    "constant_score": _parse_constant_score,
    "dis_max": _parse_dis_max,
    "knn": _parse_knn,
}

__all__ = ["EMPTY_ORDS", "Hits", "Node", "intersect_keep", "parse_date", "parse_query"]
