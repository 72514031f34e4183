"""One index: the realtime document store (what GET sees) and the searchable view (what a refresh exposed).

Every indexed version of a document gets an ordinal (like a Lucene doc id). Writes go to the realtime
store at once and queue a pending operation; a refresh (explicit, ``refresh=true``, or
``index.refresh_interval`` after the write, 1 s by default) applies queued operations to the field
indexes. Ordinals that neither view references any more are reused.
"""

from __future__ import annotations

import copy
import time
import uuid as uuid_mod
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import OpenSearchError, illegal_argument, mapper_parsing, version_conflict
from .fast_vectors import ParsedVector
from .field_indexes import FieldIndex, KeywordIndex, NumericIndex, TextIndex, VectorIndex, make_field_index
from .mapping import FieldDef, Mapping, apply_dynamic_mapping, coerce_numeric, extract_values, parse_mapping
from .settings import bool_setting, flatten_settings, nest_settings, parse_time_seconds

_INITIAL_CAPACITY = 1024


class _VectorRef:
    """Stands in the stored ``_source`` where a vector was; the numbers live in the vector arena."""

    __slots__ = ("ints",)

    def __init__(self, ints: bool) -> None:
        self.ints = ints


@dataclass(slots=True)
class _Pending:
    at: float
    doc_id: str
    new_ord: int | None
    old_ord: int | None
    parsed: dict[str, Any] | None


class Index:
    def __init__(self, name: str, settings: dict[str, Any] | None, mappings: dict[str, Any] | None) -> None:
        self.name = name
        self.uuid = uuid_mod.uuid4().hex[:22]
        flat = {
            "index.number_of_shards": "1",
            "index.number_of_replicas": "1",
            **flatten_settings(settings),
        }
        flat["index.uuid"] = self.uuid
        flat["index.provided_name"] = name
        flat.setdefault("index.creation_date", str(int(time.time() * 1000)))
        self.settings = flat
        self.refresh_seconds = parse_time_seconds(flat.get("index.refresh_interval", "1s"), "index.refresh_interval")
        self.mapping: Mapping = parse_mapping(mappings, bool_setting(flat, "index.knn"))
        self.fields: dict[str, FieldIndex] = {}
        self.cap = _INITIAL_CAPACITY
        self.next_ord = 0
        self.free_ords: list[int] = []
        self.ord_id: list[str | None] = []
        self.ord_source: list[dict[str, Any] | None] = []
        self.ord_version: list[int] = []
        self.ord_routing: list[str | None] = []
        self.ord_seq = np.zeros(self.cap, dtype=np.int64)
        self.live = np.zeros(self.cap, dtype=bool)
        self.id_to_ord: dict[str, int] = {}
        self.search_ids: dict[str, int] = {}
        self.pending: deque[_Pending] = deque()
        self.seq_no = -1
        self.primary_term = 1
        self.deleted_versions: dict[str, int] = {}
        self.changes = 0  # bumped on every write; persistence snapshots when it moved
        self._sync_field_indexes()

    # ----- structure -------------------------------------------------------------------------
    def _sync_field_indexes(self) -> None:
        for path, fd in self.mapping.fields.items():
            if path not in self.fields:
                fi = make_field_index(fd)
                fi.grow(self.cap)
                self.fields[path] = fi

    def _ensure_capacity(self, ord_: int) -> None:
        if ord_ < self.cap:
            return
        new_cap = max(self.cap * 2, ord_ + 1)
        self.ord_seq = np.concatenate([self.ord_seq, np.zeros(new_cap - self.cap, dtype=np.int64)])
        self.live = np.concatenate([self.live, np.zeros(new_cap - self.cap, dtype=bool)])
        self.cap = new_cap
        for fi in self.fields.values():
            fi.grow(new_cap)

    def _alloc_ord(self) -> int:
        if self.free_ords:
            return self.free_ords.pop()
        ord_ = self.next_ord
        self.next_ord += 1
        self._ensure_capacity(ord_)
        self.ord_id.append(None)
        self.ord_source.append(None)
        self.ord_version.append(0)
        self.ord_routing.append(None)
        return ord_

    def top_level_vector_fields(self) -> tuple[str, ...]:
        return tuple(p for p, fd in self.mapping.fields.items() if fd.type == "knn_vector" and "." not in p)

    def field(self, path: str) -> FieldIndex | None:
        return self.fields.get(path)

    def field_def(self, path: str) -> FieldDef | None:
        return self.mapping.fields.get(path)

    @property
    def shards_total(self) -> int:
        return 1 + int(self.settings.get("index.number_of_replicas", "1"))

    def shards_info(self) -> dict[str, int]:
        return {"total": self.shards_total, "successful": 1, "failed": 0}

    def settings_json(self) -> dict[str, Any]:
        return nest_settings(self.settings)

    def put_mapping(self, body: dict[str, Any]) -> None:
        from .mapping import add_properties

        if not isinstance(body, dict):
            raise mapper_parsing("Failed to parse mapping: mapping must be an object")
        if "dynamic" in body:
            self.mapping.dynamic = body["dynamic"]
        add_properties(self.mapping, body.get("properties") or {})
        self._sync_field_indexes()

    # ----- parsing ---------------------------------------------------------------------------
    def _parse_document(self, doc_id: str, source: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if apply_dynamic_mapping(self.mapping, source):
            self._sync_field_indexes()
        parsed: dict[str, Any] = {}
        vectors: dict[str, np.ndarray] = {}
        for path, fd in self.mapping.fields.items():
            if fd.type == "knn_vector":
                raw = _plain_get(source, path)
                if raw is not None:
                    vectors[path] = _parse_vector(fd, doc_id, raw)
                continue
            values = extract_values(source, fd.source_path)
            if not values or not fd.index:
                continue
            fi = self.fields[path]
            try:
                if isinstance(fi, TextIndex | KeywordIndex):
                    if any(isinstance(v, dict) for v in values):
                        raise ValueError("object value for a leaf field")
                    parsed[path] = fi.parse(values)
                else:
                    parsed[path] = [coerce_numeric(fd, v) for v in values]
            except (ValueError, TypeError, OverflowError) as exc:
                preview = values[0] if len(values) == 1 else values
                raise mapper_parsing(
                    f"failed to parse field [{path}] of type [{fd.type}] in document with id '{doc_id}'. "
                    f"Preview of field's value: '{preview}'",
                    caused_by=illegal_argument(str(exc)),
                ) from None
        return parsed, vectors

    # ----- writes ----------------------------------------------------------------------------
    def current_version(self, doc_id: str) -> int | None:
        ord_ = self.id_to_ord.get(doc_id)
        return None if ord_ is None else self.ord_version[ord_]

    def check_concurrency(self, doc_id: str, if_seq_no: Any, if_primary_term: Any) -> None:
        if if_seq_no is None and if_primary_term is None:
            return
        ord_ = self.id_to_ord.get(doc_id)
        cur_seq = int(self.ord_seq[ord_]) if ord_ is not None else -2
        if ord_ is None or int(if_seq_no) != cur_seq or int(if_primary_term) != self.primary_term:
            current = (
                f"current document has seqNo [{cur_seq}] and primary term [{self.primary_term}]"
                if ord_ is not None
                else "document does not exist"
            )
            raise version_conflict(
                self.name,
                doc_id,
                f"version conflict, required seqNo [{if_seq_no}], primary term [{if_primary_term}]. {current}",
            )

    def index_document(
        self,
        doc_id: str,
        source: Any,
        *,
        op_type: str = "index",
        routing: str | None = None,
        if_seq_no: Any = None,
        if_primary_term: Any = None,
    ) -> dict[str, Any]:
        if not isinstance(source, dict):
            raise mapper_parsing("failed to parse, document is empty" if not source else "failed to parse")
        old_ord = self.id_to_ord.get(doc_id)
        if op_type == "create" and old_ord is not None:
            raise version_conflict(
                self.name,
                doc_id,
                f"version conflict, document already exists (current version [{self.ord_version[old_ord]}])",
            )
        self.check_concurrency(doc_id, if_seq_no, if_primary_term)
        parsed, vectors = self._parse_document(doc_id, source)
        version = (self.ord_version[old_ord] + 1) if old_ord is not None else self.deleted_versions.pop(doc_id, 0) + 1
        ord_ = self._store(doc_id, source, vectors, version, routing)
        self.pending.append(_Pending(time.monotonic(), doc_id, ord_, old_ord, parsed))
        return self._write_result(doc_id, ord_, "updated" if old_ord is not None else "created")

    def _store(
        self, doc_id: str, source: dict[str, Any], vectors: dict[str, np.ndarray], version: int, routing: str | None
    ) -> int:
        ord_ = self._alloc_ord()
        stored = source
        for path, vec in vectors.items():
            fi = self.fields[path]
            assert isinstance(fi, VectorIndex)
            fi.store(ord_, vec)
            raw = _plain_get(source, path)
            ints = raw.ints if isinstance(raw, ParsedVector) else set(map(type, raw)) == {int}
            stored = _plain_replace(stored, path, _VectorRef(ints))
        self.seq_no += 1
        self.ord_id[ord_] = doc_id
        self.ord_source[ord_] = stored
        self.ord_version[ord_] = version
        self.ord_routing[ord_] = routing
        self.ord_seq[ord_] = self.seq_no
        self.id_to_ord[doc_id] = ord_
        self.changes += 1
        return ord_

    def _write_result(self, doc_id: str, ord_: int, result: str) -> dict[str, Any]:
        return {
            "_index": self.name,
            "_id": doc_id,
            "_version": self.ord_version[ord_],
            "result": result,
            "_shards": self.shards_info(),
            "_seq_no": int(self.ord_seq[ord_]),
            "_primary_term": self.primary_term,
        }

    def delete_document(self, doc_id: str, if_seq_no: Any = None, if_primary_term: Any = None) -> dict[str, Any]:
        self.check_concurrency(doc_id, if_seq_no, if_primary_term)
        old_ord = self.id_to_ord.pop(doc_id, None)
        self.seq_no += 1
        self.changes += 1
        if old_ord is None:
            version = self.deleted_versions.get(doc_id, 0) + 1
            self.deleted_versions[doc_id] = version
            result = "not_found"
        else:
            version = self.ord_version[old_ord] + 1
            self.deleted_versions[doc_id] = version
            self.pending.append(_Pending(time.monotonic(), doc_id, None, old_ord, None))
            result = "deleted"
        return {
            "_index": self.name,
            "_id": doc_id,
            "_version": version,
            "result": result,
            "_shards": self.shards_info(),
            "_seq_no": self.seq_no,
            "_primary_term": self.primary_term,
        }

    # ----- reads -----------------------------------------------------------------------------
    def source_of(self, ord_: int) -> dict[str, Any]:
        """The ``_source`` as sent, vectors put back from the arena."""
        stored = self.ord_source[ord_]
        assert stored is not None
        return _restore_vectors(stored, ord_, self)

    def get_document(self, doc_id: str) -> tuple[int, dict[str, Any]] | None:
        ord_ = self.id_to_ord.get(doc_id)
        if ord_ is None:
            return None
        return ord_, self.source_of(ord_)

    def doc_meta(self, ord_: int) -> dict[str, Any]:
        return {
            "_version": self.ord_version[ord_],
            "_seq_no": int(self.ord_seq[ord_]),
            "_primary_term": self.primary_term,
        }

    # ----- refresh ---------------------------------------------------------------------------
    def refresh(self) -> None:
        self._apply_pending(None)

    def maybe_refresh(self) -> None:
        """Make visible the writes older than ``index.refresh_interval`` (the periodic refresh)."""
        if not self.pending or self.refresh_seconds < 0:
            return
        self._apply_pending(time.monotonic() - self.refresh_seconds)

    def _apply_pending(self, cutoff: float | None) -> None:
        while self.pending and (cutoff is None or self.pending[0].at <= cutoff):
            op = self.pending.popleft()
            if op.old_ord is not None:
                self._unindex(op.old_ord)
            if op.new_ord is not None:
                self._index(op.new_ord, op.parsed or {})
                self.search_ids[op.doc_id] = op.new_ord
            elif self.search_ids.get(op.doc_id) == op.old_ord:
                del self.search_ids[op.doc_id]

    def _index(self, ord_: int, parsed: dict[str, Any]) -> None:
        self.live[ord_] = True
        for path, value in parsed.items():
            self.fields[path].add(ord_, value)
        for fi in self.fields.values():
            if isinstance(fi, VectorIndex) and fi.has[ord_]:
                fi.add(ord_, None)

    def _unindex(self, ord_: int) -> None:
        if self.live[ord_]:
            source = self.ord_source[ord_] or {}
            for fi in self.fields.values():
                fd = fi.fd
                if isinstance(fi, VectorIndex):
                    fi.release(ord_)
                    continue
                if not fi.has[ord_]:
                    continue
                values = extract_values(source, fd.source_path)
                if isinstance(fi, TextIndex | KeywordIndex):
                    fi.remove(ord_, fi.parse(values))
                elif isinstance(fi, NumericIndex):
                    fi.remove(ord_, [])
            self.live[ord_] = False
        else:
            for fi in self.fields.values():
                if isinstance(fi, VectorIndex):
                    fi.release(ord_)
        self.ord_source[ord_] = None
        self.ord_id[ord_] = None
        self.free_ords.append(ord_)

    def live_ords(self) -> np.ndarray:
        return np.flatnonzero(self.live[: self.next_ord]).astype(np.int64)

    def doc_count(self) -> int:
        return len(self.search_ids)

    # ----- snapshot support ------------------------------------------------------------------
    def export_documents(self) -> list[tuple[str, dict[str, Any], int, str | None]]:
        """Realtime documents in seq_no order: (id, source, version, routing)."""
        items = sorted(self.id_to_ord.items(), key=lambda kv: int(self.ord_seq[kv[1]]))
        return [(doc_id, self.source_of(o), self.ord_version[o], self.ord_routing[o]) for doc_id, o in items]


def _parse_vector(fd: FieldDef, doc_id: str, raw: Any) -> np.ndarray:
    def fail(reason: str) -> OpenSearchError:
        preview = str(raw)[:100]
        return mapper_parsing(
            f"failed to parse field [{fd.path}] of type [knn_vector] in document with id '{doc_id}'. "
            f"Preview of field's value: '{preview}'",
            caused_by=illegal_argument(reason),
        )

    if isinstance(raw, ParsedVector):
        if len(raw) != fd.dimension:
            raise fail(f"Vector dimension mismatch. Expected: {fd.dimension}, Given: {len(raw)}")
        if not np.isfinite(raw.values).all():
            raise fail("KNN vector values cannot be NaN or Infinity")
        return raw.values
    if not isinstance(raw, list):
        raise fail("Vector must be an array of numbers")
    if len(raw) != fd.dimension:
        raise fail(f"Vector dimension mismatch. Expected: {fd.dimension}, Given: {len(raw)}")
    if not set(map(type, raw)) <= {float, int}:  # map(type) runs in C; rejects bools, strings, nulls
        raise fail("Vector values must be numbers")
    vec = np.array(raw, dtype=np.float64)
    if not np.isfinite(vec).all():
        raise fail("KNN vector values cannot be NaN or Infinity")
    return vec


def _plain_get(source: dict[str, Any], path: str) -> Any:
    node: Any = source
    if path in source:
        return source[path]
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _plain_replace(source: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``source`` with the value at ``path`` replaced (only the dicts on the path are copied)."""
    out = dict(source)
    if path in source:
        out[path] = value
        return out
    head, _, rest = path.partition(".")
    out[head] = _plain_replace(source[head], rest, value) if rest else value
    return out


def _restore_vectors(node: Any, ord_: int, index: Index, prefix: str = "") -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] | None = None
    for key, value in node.items():
        if isinstance(value, _VectorRef):
            fi = index.fields[f"{prefix}{key}"]
            assert isinstance(fi, VectorIndex)
            row = fi.arena[ord_]
            restored = [int(x) for x in row.tolist()] if value.ints else row.tolist()
        elif isinstance(value, dict):
            restored = _restore_vectors(value, ord_, index, f"{prefix}{key}.")
            if restored is value:
                continue
        else:
            continue
        if out is None:
            out = dict(node)
        out[key] = restored
    return node if out is None else out


def deep_merge(base: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    """The partial-document update merge: objects merge recursively, everything else replaces."""
    out = copy.copy(base)
    for key, value in partial.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
