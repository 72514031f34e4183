"""Search request execution: ``_search``, ``_count``, ``_delete_by_query`` and the ``hybrid`` query."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import OpenSearchError, illegal_argument, parsing
from .field_indexes import KeywordIndex, NumericIndex, TextIndex
from .hits import Hits, intersect_keep, union_sum
from .index import Index
from .knn import top_k
from .mapping import INTEGER_TYPES, extract_values
from .pipelines import SearchPipeline
from .query_dsl import parse_query
from .source_filter import filter_source, parse_source_spec

MAX_RESULT_WINDOW = 10_000
LONG_MAX = 9_223_372_036_854_775_807
LONG_MIN = -9_223_372_036_854_775_808
_IGNORED_KEYS = {
    "timeout",
    "explain",
    "profile",
    "stats",
    "terminate_after",
    "ext",
    "track_scores",
    "version",
    "seq_no_primary_term",
    "stored_fields",
    "indices_boost",
}
_UNSUPPORTED_KEYS = {
    "aggs",
    "aggregations",
    "highlight",
    "collapse",
    "rescore",
    "script_fields",
    "suggest",
    "search_after",
    "docvalue_fields",
    "fields",
    "pit",
    "slice",
}
_KNOWN_KEYS = {"query", "size", "from", "sort", "_source", "track_total_hits", "min_score", "post_filter"}


@dataclass
class SortKey:
    field: str
    descending: bool
    missing: Any = "_last"


def _int_param(value: Any, name: str) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise parsing(f"[{name}] failed to parse field [{name}]") from None


def _parse_sort(spec: Any) -> list[SortKey]:
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    keys: list[SortKey] = []
    for item in items:
        if isinstance(item, str):
            name, _, order = item.partition(":")
            keys.append(SortKey(name, (order or ("desc" if name == "_score" else "asc")) == "desc"))
        elif isinstance(item, dict) and len(item) == 1:
            name, cfg = next(iter(item.items()))
            if isinstance(cfg, str):
                order, missing = cfg, "_last"
            elif isinstance(cfg, dict):
                order = cfg.get("order", "desc" if name == "_score" else "asc")
                missing = cfg.get("missing", "_last")
            else:
                raise parsing(f"[sort] malformed sort for field [{name}]")
            if str(order).lower() not in ("asc", "desc"):
                raise illegal_argument(f"Unknown SortOrder [{order}]")
            keys.append(SortKey(name, str(order).lower() == "desc", missing))
        else:
            raise parsing(
                "[sort] malformed sort format, within the sort array, an object, or an actual string are allowed"
            )
    return keys


@dataclass
class SearchRequest:
    query: Any
    size: int
    from_: int
    sort: list[SortKey]
    fetch_source: bool
    includes: list[str]
    excludes: list[str]
    track_total_hits: Any
    min_score: float | None
    post_filter: Any
    want_version: bool
    want_seq_no: bool
    track_scores: bool


def parse_search_request(body: dict[str, Any] | None, params: dict[str, str]) -> SearchRequest:
    body = body or {}
    if not isinstance(body, dict):
        raise parsing("request body must be an object")
    for key, value in body.items():
        if key in _UNSUPPORTED_KEYS:
            raise illegal_argument(f"[{key}] is not supported by the local OpenSearch emulator")
        if key not in _KNOWN_KEYS and key not in _IGNORED_KEYS:
            token = (
                "START_OBJECT"
                if isinstance(value, dict)
                else "START_ARRAY"
                if isinstance(value, list)
                else "VALUE_STRING"
                if isinstance(value, str)
                else "VALUE_NUMBER"
                if isinstance(value, int | float)
                else "VALUE_BOOLEAN"
            )
            raise parsing(f"Unknown key for a {token} in [{key}].")
    if "q" in params:
        raise illegal_argument("the [q] URL parameter is not supported by the local OpenSearch emulator")
    if "scroll" in params:
        raise illegal_argument("scroll is not supported by the local OpenSearch emulator")
    size = _int_param(params.get("size", body.get("size", 10)), "size")
    from_ = _int_param(params.get("from", body.get("from", 0)), "from")
    if size < 0:
        raise illegal_argument(f"[size] parameter cannot be negative, found [{size}]")
    if from_ < 0:
        raise illegal_argument(f"[from] parameter cannot be negative but was [{from_}]")
    if from_ + size > MAX_RESULT_WINDOW:
        raise illegal_argument(
            f"Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was "
            f"[{from_ + size}]. See the scroll api for a more efficient way to request large data sets. This limit "
            "can be set by changing the [index.max_result_window] index level setting."
        )
    sort_spec = body.get("sort")
    if "sort" in params:
        sort_spec = params["sort"].split(",")
    fetch, inc, exc = parse_source_spec(body.get("_source"))
    if "_source" in params:
        p = params["_source"]
        if p in ("false", "true"):
            fetch = p == "true"
        else:
            fetch, inc = True, p.split(",")
    if params.get("_source_includes"):
        inc = params["_source_includes"].split(",")
    if params.get("_source_excludes"):
        exc = params["_source_excludes"].split(",")
    tth: Any = body.get("track_total_hits", params.get("track_total_hits", MAX_RESULT_WINDOW))
    if isinstance(tth, str):
        tth = True if tth == "true" else False if tth == "false" else _int_param(tth, "track_total_hits")
    min_score = body.get("min_score")
    return SearchRequest(
        query=body.get("query", {"match_all": {}}),
        size=size,
        from_=from_,
        sort=_parse_sort(sort_spec),
        fetch_source=fetch,
        includes=inc,
        excludes=exc,
        track_total_hits=tth,
        min_score=float(min_score) if min_score is not None else None,
        post_filter=body.get("post_filter"),
        want_version=bool(body.get("version")) or params.get("version") == "true",
        want_seq_no=bool(body.get("seq_no_primary_term")) or params.get("seq_no_primary_term") == "true",
        track_scores=bool(body.get("track_scores")),
    )


def run_query(idx: Index, query: Any, post_filter: Any = None, min_score: float | None = None) -> Hits:
    node = parse_query(query)
    hits = node.run(idx, None)
    if post_filter is not None:
        hits = intersect_keep(hits, parse_query(post_filter).run(idx, hits.ords).ords)
    if min_score is not None:
        keep = hits.scores >= np.float32(min_score)
        hits = Hits(hits.ords[keep], hits.scores[keep])
    return hits


def _total(req: SearchRequest, n: int, params: dict[str, str]) -> Any:
    if req.track_total_hits is True:
        total = {"value": n, "relation": "eq"}
    elif req.track_total_hits is False:
        return None
    else:
        limit = int(req.track_total_hits)
        total = {"value": n, "relation": "eq"} if n <= limit else {"value": limit, "relation": "gte"}
    if params.get("rest_total_hits_as_int") == "true":
        return n
    return total


def _sort_value(idx: Index, ord_: int, key: SortKey, score: float) -> tuple[Any, Any]:
    """(comparable value or None if missing, value shown in the hit's ``sort`` array)."""
    if key.field == "_score":
        return score, score
    if key.field == "_doc":
        v = int(idx.ord_seq[ord_])
        return v, v
    fi = idx.field(key.field)
    if fi is None:
        return None, None
    if isinstance(fi, TextIndex):
        raise illegal_argument(
            f"Text fields are not optimised for operations that require per-document field data like aggregations "
            f"and sorting, so these operations are disabled by default. Please use a keyword field instead. "
            f"Alternatively, set fielddata=true on [{key.field}] in order to load field data by uninverting the "
            f"inverted index. Note that this can use significant memory."
        )
    if isinstance(fi, NumericIndex):
        if not fi.has[ord_]:
            return None, None
        v = fi.sort_value(ord_, key.descending)
        if v is None:
            return None, None
        shown: Any = int(v) if fi.fd.type in INTEGER_TYPES or fi.fd.type in ("date", "boolean") else v
        return v, shown
    if isinstance(fi, KeywordIndex):
        values = fi.parse(extract_values(idx.ord_source[ord_] or {}, fi.fd.source_path))
        if not values:
            return None, None
        v = max(values) if key.descending else min(values)
        return v, v
    return None, None


def _missing_shown(idx: Index, key: SortKey) -> Any:
    fi = idx.field(key.field)
    if isinstance(fi, NumericIndex) and (fi.fd.type in INTEGER_TYPES or fi.fd.type in ("date", "boolean")):
        last = key.missing != "_first"
        return LONG_MIN if key.descending == last else LONG_MAX
    return None


def _order_by_fields(entries: list[tuple[int, Index, int, float]], keys: list[SortKey]) -> list[tuple[Any, ...]]:
    """Sort (index_no, index, ord, score) entries; returns entries extended with the shown sort values."""
    rows = []
    for entry in entries:
        _, idx, ord_, score = entry
        vals = [_sort_value(idx, ord_, k, score) for k in keys]
        rows.append((entry, vals))
    # Stable multi-pass sort, least significant key first; ties keep index order (like Lucene doc ids).
    rows.sort(key=lambda r: (r[0][0], int(r[0][1].ord_seq[r[0][2]])))
    for pos in range(len(keys) - 1, -1, -1):
        key = keys[pos]
        missing_first = key.missing == "_first"

        def sort_key(r: Any, pos: int = pos, key: SortKey = key, missing_first: bool = missing_first) -> Any:
            v = r[1][pos][0]
            if v is None and key.missing not in ("_first", "_last"):
                return (1, key.missing)
            if v is None:
                # Missing values go last (or first) whatever the direction.
                return (0 if missing_first != key.descending else 2, 0)
            return (1, v)

        rows.sort(key=sort_key, reverse=key.descending)
    out = []
    for entry, vals in rows:
        shown = [v[1] if v[0] is not None else _missing_shown(entry[1], keys[i]) for i, v in enumerate(vals)]
        out.append((*entry, shown))
    return out


def search(
    indices: list[Index],
    body: dict[str, Any] | None,
    params: dict[str, str],
    pipelines: dict[str, SearchPipeline],
) -> dict[str, Any]:
    started = time.perf_counter()
    req = parse_search_request(body, params)
    for idx in indices:
        idx.maybe_refresh()
    if isinstance(req.query, dict) and "hybrid" in req.query:
        return _hybrid_search(indices, req, params, pipelines, started)
    per_index = [(n, idx, run_query(idx, req.query, req.post_filter, req.min_score)) for n, idx in enumerate(indices)]
    total = sum(len(h) for _, _, h in per_index)
    window = req.from_ + req.size
    sorted_by_score = not req.sort or (len(req.sort) == 1 and req.sort[0].field == "_score" and req.sort[0].descending)
    page: list[tuple[Any, ...]]
    if sorted_by_score:
        page = _top_by_score(per_index, window)[req.from_ :]
        page = [(*e, [e[3]] if req.sort else None) for e in page]
    else:
        entries = [(n, idx, int(o), float(s)) for n, idx, h in per_index for o, s in zip(h.ords, h.scores, strict=True)]
        page = _order_by_fields(entries, req.sort)[req.from_ : window]
    show_scores = sorted_by_score or req.track_scores or any(k.field == "_score" for k in req.sort)
    hits = [_format_hit(idx, o, s if show_scores else None, shown, req) for _, idx, o, s, shown in page]
    max_score: float | None = None
    if show_scores:
        all_scores = [float(h.scores.max()) for _, _, h in per_index if len(h)]
        max_score = max(all_scores) if all_scores else None
    hits_body: dict[str, Any] = {}
    total_body = _total(req, total, params)
    if total_body is not None:
        hits_body["total"] = total_body
    hits_body["max_score"] = max_score
    hits_body["hits"] = hits
    return _envelope(started, len(indices), hits_body)


def _envelope(started: float, n_indices: int, hits_body: dict[str, Any]) -> dict[str, Any]:
    return {
        "took": int((time.perf_counter() - started) * 1000),
        "timed_out": False,
        "_shards": {"total": n_indices, "successful": n_indices, "skipped": 0, "failed": 0},
        "hits": hits_body,
    }


def _top_by_score(per_index: list[tuple[int, Index, Hits]], window: int) -> list[tuple[int, Index, int, float]]:
    if window <= 0:
        return []
    if len(per_index) == 1:
        n, idx, h = per_index[0]
        pos = top_k(h.ords, h.scores, idx.ord_seq[h.ords], window)
        return [(n, idx, int(h.ords[p]), float(h.scores[p])) for p in pos]
    entries = []
    for n, idx, h in per_index:
        pos = top_k(h.ords, h.scores, idx.ord_seq[h.ords], window)
        entries.extend((n, idx, int(h.ords[p]), float(h.scores[p])) for p in pos)
    entries.sort(key=lambda e: (-e[3], e[0], int(e[1].ord_seq[e[2]])))
    return entries[:window]


def _format_hit(
    idx: Index, ord_: int, score: float | None, shown: list[Any] | None, req: SearchRequest
) -> dict[str, Any]:
    hit: dict[str, Any] = {"_index": idx.name, "_id": idx.ord_id[ord_]}
    if req.want_version:
        hit["_version"] = idx.ord_version[ord_]
    if req.want_seq_no:
        hit["_seq_no"] = int(idx.ord_seq[ord_])
        hit["_primary_term"] = idx.primary_term
    hit["_score"] = score
    routing = idx.ord_routing[ord_]
    if routing is not None:
        hit["_routing"] = routing
    if req.fetch_source:
        hit["_source"] = filter_source(idx.source_of(ord_), req.includes, req.excludes)
    if shown is not None:
        hit["sort"] = shown
    return hit


def _hybrid_search(
    indices: list[Index],
    req: SearchRequest,
    params: dict[str, str],
    pipelines: dict[str, SearchPipeline],
    started: float,
) -> dict[str, Any]:
    spec = req.query["hybrid"]
    if len(req.query) != 1 or not isinstance(spec, dict) or not isinstance(spec.get("queries"), list):
        raise parsing("[hybrid] query malformed, [queries] must be an array of queries")
    queries = spec["queries"]
    if not queries or len(queries) > 5:
        raise (
            parsing("Number of sub-queries exceeds maximum supported by [hybrid] query")
            if queries
            else parsing("[hybrid] requires 'queries' field with at least one clause")
        )
    if req.sort:
        raise illegal_argument("sorting a hybrid query is not supported by the local OpenSearch emulator")
    pipeline_id = params.get("search_pipeline") or (
        indices[0].settings.get("index.search.default_pipeline") if indices else None
    )
    if pipeline_id in (None, "_none"):
        raise illegal_argument(
            "hybrid query requires a search pipeline with a normalization-processor "
            "(pass ?search_pipeline=<id> or set index.search.default_pipeline)"
        )
    pipeline = pipelines.get(str(pipeline_id))
    if pipeline is None:
        raise illegal_argument(f"Pipeline {pipeline_id} is not defined")
    if pipeline.processor is None:
        raise illegal_argument(f"pipeline [{pipeline_id}] has no normalization-processor for the hybrid query")
    window = req.from_ + req.size
    results: list[tuple[int, Index, int, float]] = []
    total = 0
    for n, idx in enumerate(indices):
        sub_hits = [run_query(idx, q, None, None) for q in queries]
        union, _ = union_sum(sub_hits)
        if req.post_filter is not None:
            allowed = parse_query(req.post_filter).run(idx, None).ords
            sub_hits = [intersect_keep(h, allowed) for h in sub_hits]
            union = intersect_keep(union, allowed)
        total += len(union)
        # Each sub-query contributes its own top results; scores are normalized per sub-query.
        docs: dict[int, np.ndarray] = {}
        for j, h in enumerate(sub_hits):
            pos = top_k(h.ords, h.scores, idx.ord_seq[h.ords], max(window, 1))
            normed = pipeline.processor.normalize(h.scores[pos])
            for p, s in zip(pos.tolist(), normed.tolist(), strict=True):
                docs.setdefault(int(h.ords[p]), np.zeros(len(queries), dtype=np.float32))[j] = s
        if docs:
            ords = list(docs)
            combined = pipeline.processor.combine(np.stack([docs[o] for o in ords]))
            results.extend((n, idx, o, float(c)) for o, c in zip(ords, combined.tolist(), strict=True))
    if req.min_score is not None:
        results = [r for r in results if r[3] >= req.min_score]
    results.sort(key=lambda e: (-e[3], e[0], int(e[1].ord_seq[e[2]])))
    page = results[req.from_ : window]
    hits_body: dict[str, Any] = {}
    total_body = _total(req, total, params)
    if total_body is not None:
        hits_body["total"] = total_body
    hits_body["max_score"] = results[0][3] if results else None
    hits_body["hits"] = [_format_hit(idx, o, s, None, req) for _, idx, o, s in page]
    return _envelope(started, len(indices), hits_body)


def count(indices: list[Index], body: dict[str, Any] | None, params: dict[str, str]) -> dict[str, Any]:
    body = body or {}
    if not isinstance(body, dict):
        raise parsing("request body must be an object")
    for key in body:
        if key not in ("query", "min_score"):
            raise parsing(f"request does not support [{key}]")
    n = 0
    for idx in indices:
        idx.maybe_refresh()
        n += len(run_query(idx, body.get("query", {"match_all": {}}), None, body.get("min_score")))
    return {"count": n, "_shards": {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0}}


def matching_ids(idx: Index, query: Any) -> list[str]:
    idx.maybe_refresh()
    hits = run_query(idx, query)
    return [idx.ord_id[o] for o in hits.ords.tolist() if idx.ord_id[o] is not None]  # type: ignore[misc]


def not_supported(what: str) -> OpenSearchError:
    return illegal_argument(f"{what} is not supported by the local OpenSearch emulator")
