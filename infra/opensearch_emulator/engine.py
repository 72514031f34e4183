"""The emulator's state and its REST operations (index, document, bulk, search APIs), HTTP-agnostic.

Each public method takes path pieces, query parameters and the decoded body and returns
``(status, body)``; failures raise ``OpenSearchError``. One re-entrant lock serialises all of them.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from . import search as search_mod
from .errors import (
    OpenSearchError,
    already_exists,
    document_missing,
    illegal_argument,
    index_not_found,
    parsing,
    resource_not_found,
    x_content_parse,
)
from .fast_vectors import loads_source
from .index import Index, deep_merge
from .pipelines import SearchPipeline, parse_pipeline
from .settings import flatten_settings, parse_time_seconds
from .source_filter import filter_source, parse_source_spec

Response = tuple[int, Any]
CLUSTER_NAME = "companion-local"
VERSION = {
    "distribution": "opensearch",
    "number": "2.19.0",
    "build_type": "emulator",
    "build_hash": "local",
    "build_date": "2025-01-01T00:00:00Z",
    "build_snapshot": False,
    "lucene_version": "9.12.1",
    "minimum_wire_compatibility_version": "7.10.0",
    "minimum_index_compatibility_version": "7.0.0",
}
_INVALID_NAME_CHARS = set('\\/*?"<>| ,#:')


def validate_index_name(name: str) -> None:
    def bad(why: str) -> OpenSearchError:
        return OpenSearchError(
            400,
            "invalid_index_name_exception",
            f"Invalid index name [{name}], {why}",
            extra={"index": name, "index_uuid": "_na_"},
        )

    if name != name.lower():
        raise bad("must be lowercase")
    if name.startswith(("_", "-", "+")):
        raise bad("must not start with '_', '-', or '+'")
    if name in (".", "..") or not name:
        raise bad("must not be '.' or '..'")
    if any(ch in _INVALID_NAME_CHARS for ch in name):
        raise bad('must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]')
    if len(name.encode()) > 255:
        raise bad("index name is too long, (" + str(len(name.encode())) + " > 255)")


def refresh_requested(params: dict[str, str]) -> bool:
    return params.get("refresh", "false") in ("", "true", "wait_for")


class Engine:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.indices: dict[str, Index] = {}
        self.pipelines: dict[str, SearchPipeline] = {}
        self.pipeline_changes = 0
        self.started = time.time()

    # ----- helpers -------------------------------------------------------------------------------
    def get_index(self, name: str) -> Index:
        idx = self.indices.get(name)
        if idx is None:
            raise index_not_found(name)
        return idx

    def resolve(self, expr: str | None, params: dict[str, str] | None = None) -> list[Index]:
        """Comma-separated names, ``*`` wildcards and ``_all``; a missing concrete name is an error."""
        params = params or {}
        if expr in (None, "", "_all", "*"):
            return [self.indices[n] for n in sorted(self.indices)]
        out: list[Index] = []
        for part in expr.split(","):
            if "*" in part:
                out.extend(self.indices[n] for n in sorted(self.indices) if fnmatch.fnmatchcase(n, part))
            elif part in self.indices:
                out.append(self.indices[part])
            elif params.get("ignore_unavailable") != "true":
                raise index_not_found(part)
        seen: set[str] = set()
        return [i for i in out if not (i.name in seen or seen.add(i.name))]

    def _index_for_write(self, name: str) -> Index:
        idx = self.indices.get(name)
        if idx is None:
            validate_index_name(name)
            idx = self.indices[name] = Index(name, None, None)
        return idx

    def _refresh_if(self, params: dict[str, str], indices: list[Index]) -> None:
        if refresh_requested(params):
            for idx in indices:
                idx.refresh()

    # ----- cluster -------------------------------------------------------------------------------
    def info(self) -> Response:
        return 200, {
            "name": "companion-local-node",
            "cluster_name": CLUSTER_NAME,
            "cluster_uuid": "companion-local-emulator",
            "version": VERSION,
            "tagline": "The OpenSearch Project: https://opensearch.org/",
        }

    def health(self, index: str | None, params: dict[str, str]) -> Response:
        with self.lock:
            indices = self.resolve(index, params) if index else list(self.indices.values())
            # One node: replicas cannot be assigned, so an index with replicas is yellow as in OpenSearch.
            yellow = any(int(i.settings.get("index.number_of_replicas", "1")) > 0 for i in indices)
            shards = len(indices)
            return 200, {
                "cluster_name": CLUSTER_NAME,
                "status": "yellow" if yellow else "green",
                "timed_out": False,
                "number_of_nodes": 1,
                "number_of_data_nodes": 1,
                "discovered_master": True,
                "discovered_cluster_manager": True,
                "active_primary_shards": shards,
                "active_shards": shards,
                "relocating_shards": 0,
                "initializing_shards": 0,
                "unassigned_shards": sum(int(i.settings.get("index.number_of_replicas", "1")) for i in indices),
                "delayed_unassigned_shards": 0,
                "number_of_pending_tasks": 0,
                "number_of_in_flight_fetch": 0,
                "task_max_waiting_in_queue_millis": 0,
                "active_shards_percent_as_number": 100.0 if not yellow else 50.0,
            }

    def cat_indices(self, index: str | None, params: dict[str, str]) -> Response:
        with self.lock:
            rows = []
            for idx in self.resolve(index, params):
                rows.append(
                    {
                        "health": "yellow" if int(idx.settings.get("index.number_of_replicas", "1")) else "green",
                        "status": "open",
                        "index": idx.name,
                        "uuid": idx.uuid,
                        "pri": "1",
                        "rep": idx.settings.get("index.number_of_replicas", "1"),
                        "docs.count": str(idx.doc_count()),
                        "docs.deleted": "0",
                    }
                )
            if params.get("format") == "json":
                return 200, rows
            lines = [" ".join(r.values()) for r in rows]
            return 200, ("\n".join(lines) + "\n") if lines else ""

    # ----- indices -------------------------------------------------------------------------------
    def create_index(self, name: str, body: Any) -> Response:
        if body is not None and not isinstance(body, dict):
            raise parsing("request body must be an object")
        body = body or {}
        for key in body:
            if key not in ("settings", "mappings", "aliases"):
                raise parsing(f"unknown key [{key}] for create index")
        with self.lock:
            validate_index_name(name)
            if name in self.indices:
                raise already_exists(name, self.indices[name].uuid)
            mappings = body.get("mappings")
            if isinstance(mappings, dict) and "_doc" in mappings and "properties" not in mappings:
                raise OpenSearchError(
                    400,
                    "illegal_argument_exception",
                    "The mapping definition cannot be nested under a type [_doc] unless "
                    "include_type_name is set to true.",
                )
            self.indices[name] = Index(name, body.get("settings"), mappings)
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def delete_index(self, expr: str, params: dict[str, str]) -> Response:
        with self.lock:
            for idx in self.resolve(expr, params):
                del self.indices[idx.name]
        return 200, {"acknowledged": True}

    def index_exists(self, expr: str) -> bool:
        with self.lock:
            try:
                return bool(self.resolve(expr))
            except OpenSearchError:
                return False

    def get_index_info(self, expr: str, params: dict[str, str]) -> Response:
        with self.lock:
            return 200, {
                i.name: {"aliases": {}, "mappings": i.mapping.to_json(), "settings": i.settings_json()}
                for i in self.resolve(expr, params)
            }

    def get_mapping(self, expr: str | None, params: dict[str, str]) -> Response:
        with self.lock:
            return 200, {i.name: {"mappings": i.mapping.to_json()} for i in self.resolve(expr, params)}

    def put_mapping(self, expr: str, body: Any, params: dict[str, str]) -> Response:
        if not isinstance(body, dict):
            raise parsing("request body is required")
        with self.lock:
            for idx in self.resolve(expr, params):
                idx.put_mapping(body)
        return 200, {"acknowledged": True}

    def get_settings(self, expr: str | None, params: dict[str, str]) -> Response:
        with self.lock:
            return 200, {i.name: {"settings": i.settings_json()} for i in self.resolve(expr, params)}

    def put_settings(self, expr: str | None, body: Any, params: dict[str, str]) -> Response:
        if not isinstance(body, dict):
            raise parsing("request body is required")
        flat = flatten_settings(body.get("settings", body) if "settings" in body else body)
        for key in flat:
            if key in ("index.number_of_shards", "index.knn", "index.uuid"):
                raise illegal_argument(f"final {key} setting [{key}], not updateable")
        with self.lock:
            for idx in self.resolve(expr, params):
                idx.settings.update(flat)
                if "index.refresh_interval" in flat:
                    idx.refresh_seconds = parse_time_seconds(flat["index.refresh_interval"], "index.refresh_interval")
        return 200, {"acknowledged": True}

    def refresh(self, expr: str | None, params: dict[str, str]) -> Response:
        with self.lock:
            indices = self.resolve(expr, params)
            for idx in indices:
                idx.refresh()
        n = len(indices)
        return 200, {"_shards": {"total": n * 2, "successful": n, "failed": 0}}

    # ----- documents -----------------------------------------------------------------------------
    def index_doc(
        self, index: str, doc_id: str | None, body: Any, params: dict[str, str], op_type: str | None = None
    ) -> Response:
        op = op_type or params.get("op_type", "index")
        if op not in ("index", "create"):
            raise illegal_argument(f"opType must be 'create' or 'index', found: [{op}]")
        if doc_id is None:
            import uuid

            doc_id, op = uuid.uuid4().hex[:20], "create"
        if doc_id == "" or len(doc_id.encode()) > 512:
            raise illegal_argument(
                f"id is too long, must be no longer than 512 bytes but was: {len(doc_id.encode())}"
                if doc_id
                else "if _id is specified it must not be empty"
            )
        with self.lock:
            idx = self._index_for_write(index)
            result = idx.index_document(
                doc_id,
                body,
                op_type=op,
                routing=params.get("routing"),
                if_seq_no=params.get("if_seq_no"),
                if_primary_term=params.get("if_primary_term"),
            )
            self._refresh_if(params, [idx])
        if refresh_requested(params):
            result["forced_refresh"] = True
        return (201 if result["result"] == "created" else 200), result

    def get_doc(self, index: str, doc_id: str, params: dict[str, str], source_only: bool = False) -> Response:
        with self.lock:
            idx = self.get_index(index)
            found = idx.get_document(doc_id)
            if found is None:
                if source_only:
                    raise resource_not_found(f"Document not found [{index}]/[{doc_id}]")
                return 404, {"_index": index, "_id": doc_id, "found": False}
            ord_, source = found
            fetch, inc, exc = _source_params(params)
            if source_only:
                return 200, filter_source(source, inc, exc)
            body: dict[str, Any] = {"_index": index, "_id": doc_id, **idx.doc_meta(ord_)}
            routing = idx.ord_routing[ord_]
            if routing is not None:
                body["_routing"] = routing
            body["found"] = True
            if fetch:
                body["_source"] = filter_source(source, inc, exc)
            return 200, body

    def delete_doc(self, index: str, doc_id: str, params: dict[str, str]) -> Response:
        with self.lock:
            idx = self.get_index(index)
            result = idx.delete_document(doc_id, params.get("if_seq_no"), params.get("if_primary_term"))
            self._refresh_if(params, [idx])
        return (200 if result["result"] == "deleted" else 404), result

    def update_doc(self, index: str, doc_id: str, body: Any, params: dict[str, str]) -> Response:
        if not isinstance(body, dict):
            raise x_content_parse("[UpdateRequest] failed to parse: request body must be an object")
        for key in body:
            if key not in ("doc", "doc_as_upsert", "upsert", "detect_noop", "_source", "scripted_upsert", "script"):
                raise x_content_parse(f"[1:2] [UpdateRequest] unknown field [{key}]")
        if "script" in body:
            raise illegal_argument("scripted updates are not supported by the local OpenSearch emulator")
        with self.lock:
            idx = self.indices.get(index)
            if idx is None and not (body.get("doc_as_upsert") or "upsert" in body):
                raise document_missing(index, doc_id) if False else index_not_found(index)
            idx = self._index_for_write(index)
            status, result = self._update_in(idx, doc_id, body, params)
            self._refresh_if(params, [idx])
        return status, result

    def _update_in(self, idx: Index, doc_id: str, body: dict[str, Any], params: dict[str, str]) -> Response:
        partial = body.get("doc")
        if partial is not None and not isinstance(partial, dict):
            raise x_content_parse("[UpdateRequest] doc must be an object")
        existing = idx.get_document(doc_id)
        if existing is None:
            if body.get("doc_as_upsert") and partial is not None:
                result = idx.index_document(doc_id, partial, routing=params.get("routing"))
            elif "upsert" in body:
                result = idx.index_document(doc_id, body["upsert"], routing=params.get("routing"))
            else:
                raise document_missing(idx.name, doc_id)
            return 201, result
        if partial is None:
            raise OpenSearchError(
                400, "action_request_validation_exception", "Validation Failed: 1: script or doc is missing;"
            )
        idx.check_concurrency(doc_id, params.get("if_seq_no"), params.get("if_primary_term"))
        ord_, source = existing
        merged = deep_merge(source, partial)
        if merged == source and body.get("detect_noop", True):
            return 200, {
                "_index": idx.name,
                "_id": doc_id,
                **{k: v for k, v in idx.doc_meta(ord_).items() if k == "_version"},
                "result": "noop",
                "_shards": {"total": 0, "successful": 0, "failed": 0},
                "_seq_no": idx.doc_meta(ord_)["_seq_no"],
                "_primary_term": idx.primary_term,
            }
        result = idx.index_document(doc_id, merged, routing=params.get("routing") or idx.ord_routing[ord_])
        return 200, result

    def mget(self, index: str | None, body: Any, params: dict[str, str]) -> Response:
        if not isinstance(body, dict):
            raise parsing("request body is required")
        if "docs" in body:
            specs = body["docs"]
        elif "ids" in body:
            specs = [{"_id": i} for i in body["ids"]]
        else:
            raise OpenSearchError(
                400, "action_request_validation_exception", "Validation Failed: 1: no documents to get;"
            )
        if not isinstance(specs, list):
            raise parsing("[docs] must be an array")
        docs = []
        with self.lock:
            for spec in specs:
                if not isinstance(spec, dict) or "_id" not in spec:
                    raise OpenSearchError(
                        400, "action_request_validation_exception", "Validation Failed: 1: id is missing for doc 0;"
                    )
                name = spec.get("_index", index)
                doc_id = str(spec["_id"])
                if name is None:
                    raise OpenSearchError(
                        400, "action_request_validation_exception", "Validation Failed: 1: index is missing for doc 0;"
                    )
                p = dict(params)
                if "_source" in spec:
                    fetch, inc, exc = parse_source_spec(spec["_source"])
                    p["_source"] = "true" if fetch else "false"
                    if inc:
                        p["_source_includes"] = ",".join(inc)
                    if exc:
                        p["_source_excludes"] = ",".join(exc)
                try:
                    _, doc = self.get_doc(name, doc_id, p)
                except OpenSearchError as exc_:
                    doc = {"_index": name, "_id": doc_id, "error": exc_.cause_body()}
                docs.append(doc)
        return 200, {"docs": docs}

    # ----- bulk ----------------------------------------------------------------------------------
    def bulk(self, index: str | None, raw: bytes, params: dict[str, str]) -> Response:
        started = time.perf_counter()
        lines = [ln for ln in raw.split(b"\n") if ln.strip()]
        items: list[dict[str, Any]] = []
        touched: dict[str, Index] = {}
        errors = False
        i = 0
        with self.lock:
            while i < len(lines):
                line_no = i + 1
                try:
                    action_line = json.loads(lines[i])
                except ValueError:
                    raise illegal_argument(
                        f"Malformed action/metadata line [{line_no}], expected START_OBJECT"
                    ) from None
                if not isinstance(action_line, dict) or len(action_line) != 1:
                    raise illegal_argument(
                        f"Malformed action/metadata line [{line_no}], expected START_OBJECT or END_OBJECT"
                    )
                action, meta = next(iter(action_line.items()))
                if action not in ("index", "create", "update", "delete"):
                    raise illegal_argument(
                        f"Malformed action/metadata line [{line_no}], expected field [create, delete, index, update] "
                        f"but found [{action}]"
                    )
                if not isinstance(meta, dict):
                    raise illegal_argument(f"Malformed action/metadata line [{line_no}], expected START_OBJECT")
                doc_body: Any = None
                if action != "delete":
                    i += 1
                    if i >= len(lines):
                        raise illegal_argument("The bulk request must be terminated by a newline [\\n]")
                    target = self.indices.get(meta.get("_index", index) or "")
                    vector_fields = target.top_level_vector_fields() if target is not None else ()
                    try:
                        doc_body = loads_source(lines[i], vector_fields) if action != "update" else json.loads(lines[i])
                    except ValueError as exc:
                        doc_body = _BadJson(str(exc))
                i += 1
                name = meta.get("_index", index)
                doc_id = meta.get("_id")
                doc_id = None if doc_id is None else str(doc_id)
                item_params = {k: str(v) for k, v in meta.items() if k in ("routing", "if_seq_no", "if_primary_term")}
                try:
                    if name is None:
                        raise OpenSearchError(
                            400, "action_request_validation_exception", "Validation Failed: 1: index is missing;"
                        )
                    if isinstance(doc_body, _BadJson):
                        raise OpenSearchError(
                            400,
                            "mapper_parsing_exception",
                            "failed to parse",
                            caused_by=x_content_parse(doc_body.message),
                        )
                    status, result = self._bulk_item(action, name, doc_id, doc_body, item_params)
                    if name in self.indices:
                        touched[name] = self.indices[name]
                    result["status"] = status
                    items.append({action: result})
                except OpenSearchError as exc:
                    errors = True
                    entry: dict[str, Any] = {
                        "_index": name,
                        "_id": doc_id,
                        "status": exc.status,
                        "error": exc.cause_body(),
                    }
                    items.append({action: entry})
            self._refresh_if(params, list(touched.values()))
        return 200, {"took": int((time.perf_counter() - started) * 1000), "errors": errors, "items": items}

    def _bulk_item(self, action: str, name: str, doc_id: str | None, body: Any, params: dict[str, str]) -> Response:
        if action in ("index", "create"):
            return self.index_doc(name, doc_id, body, {**params, "refresh": "false"}, op_type=action)
        if doc_id is None:
            raise OpenSearchError(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
        if action == "delete":
            status, result = self.delete_doc(name, doc_id, {**params, "refresh": "false"})
            return status, result
        if not isinstance(body, dict):
            raise x_content_parse("[UpdateRequest] failed to parse")
        idx = self.indices.get(name)
        if idx is None and not (body.get("doc_as_upsert") or "upsert" in body):
            raise index_not_found(name)
        return self.update_doc(name, doc_id, body, {**params, "refresh": "false"})

    # ----- search --------------------------------------------------------------------------------
    def search(self, expr: str | None, body: Any, params: dict[str, str]) -> Response:
        with self.lock:
            indices = self.resolve(expr, params)
            return 200, search_mod.search(indices, body, params, self.pipelines)

    def count(self, expr: str | None, body: Any, params: dict[str, str]) -> Response:
        with self.lock:
            return 200, search_mod.count(self.resolve(expr, params), body, params)

    def delete_by_query(self, expr: str, body: Any, params: dict[str, str]) -> Response:
        started = time.perf_counter()
        if not isinstance(body, dict) or "query" not in body:
            raise OpenSearchError(400, "action_request_validation_exception", "Validation Failed: 1: query is missing;")
        deleted = 0
        with self.lock:
            indices = self.resolve(expr, params)
            for idx in indices:
                for doc_id in search_mod.matching_ids(idx, body["query"]):
                    idx.delete_document(doc_id)
                    deleted += 1
            self._refresh_if(params, indices)
        return 200, {
            "took": int((time.perf_counter() - started) * 1000),
            "timed_out": False,
            "total": deleted,
            "deleted": deleted,
            "batches": 1 if deleted else 0,
            "version_conflicts": 0,
            "noops": 0,
            "retries": {"bulk": 0, "search": 0},
            "throttled_millis": 0,
            "requests_per_second": -1.0,
            "throttled_until_millis": 0,
            "failures": [],
        }

    # ----- pipelines -----------------------------------------------------------------------------
    def put_pipeline(self, pipeline_id: str, body: Any) -> Response:
        pipeline = parse_pipeline(pipeline_id, body)
        with self.lock:
            self.pipelines[pipeline_id] = pipeline
            self.pipeline_changes += 1
        return 200, {"acknowledged": True}

    def get_pipeline(self, pipeline_id: str | None) -> Response:
        with self.lock:
            if pipeline_id is None:
                return 200, {k: p.body for k, p in self.pipelines.items()}
            ids = pipeline_id.split(",")
            found = {k: p.body for k, p in self.pipelines.items() if any(fnmatch.fnmatchcase(k, i) for i in ids)}
            if not found:
                return 404, {}
            return 200, found

    def delete_pipeline(self, pipeline_id: str) -> Response:
        with self.lock:
            if pipeline_id not in self.pipelines:
                raise resource_not_found(f"pipeline [{pipeline_id}] is missing")
            del self.pipelines[pipeline_id]
            self.pipeline_changes += 1
        return 200, {"acknowledged": True}

    # ----- persistence hooks ---------------------------------------------------------------------
    def change_marker(self) -> tuple[Any, ...]:
        with self.lock:
            return (self.pipeline_changes, tuple(sorted((n, i.uuid, i.changes) for n, i in self.indices.items())))

    def for_each_index(self, fn: Callable[[Index], None]) -> None:
        with self.lock:
            for idx in self.indices.values():
                fn(idx)


class _BadJson:
    def __init__(self, message: str) -> None:
        self.message = message


def _source_params(params: dict[str, str]) -> tuple[bool, list[str], list[str]]:
    fetch, inc, exc = True, [], []
    p = params.get("_source")
    if p is not None:
        if p in ("true", "false"):
            fetch = p == "true"
        else:
            inc = p.split(",")
    if params.get("_source_includes"):
        inc = params["_source_includes"].split(",")
    if params.get("_source_excludes"):
        exc = params["_source_excludes"].split(",")
    return fetch, inc, exc
