"""The OpenSearch ``long_term_memory`` index: k-NN + BM25 over one user's memories.

    index = OpenSearchMemoryIndex(settings.opensearch_url, auth=settings.opensearch_auth,
                                  region=settings.aws_region, service=settings.opensearch_service)
    await index.ensure_index()
    await index.bulk_upsert([MemoryDoc(...), ...])
    hits = await index.knn_search(user_id, character_id, vector, k=10)
    hits = await index.bm25_search(user_id, character_id, "火锅", k=10)

Design notes:
* Document ``_id`` = ``memory_id`` (deterministic, from the domain), so a replayed task
  overwrites. Documents are routed by ``user_id`` so one user's searches hit one shard.
* Filters (user, character, memory types) sit *inside* the knn clause (efficient
  filtering), so k results come back even when the user owns a tiny part of the index.
* ``content`` uses the built-in ``cjk`` analyzer: CJK text is indexed as overlapping
  bigrams (good recall for Chinese without a dictionary plugin), other scripts go through
  the standard tokenizer + lowercase + English stop words. It needs no plugin, so it works
  on Amazon OpenSearch Service, Serverless and the local emulator alike.
* Vectors are L2-normalized by the embedders, so ``innerproduct`` == cosine similarity.
* Connection errors, timeouts, 429 and 5xx become ``StoreUnavailable`` so callers degrade;
  a per-item bulk error (a mapping problem, a bad document) raises ``MemoryIndexError``.
* ``service="aoss"`` (OpenSearch Serverless): no ``refresh`` and no custom routing, which
  Serverless rejects. Note that Serverless *vector search* collections also reject
  custom document ids; use a managed domain (``es``) when replays must overwrite.
* aiohttp sessions are bound to an event loop; the client is rebuilt when the running
  loop changes (a Lambda handler that calls ``asyncio.run`` per invocation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import StoreUnavailable
from ..memory.documents import MemoryDoc
from ..models import RecalledMemory


class MemoryIndexError(Exception):
    """The index rejected a request or a document (not an outage: retrying will not help)."""


def index_body(dim: int, engine: str = "faiss", shards: int = 2, *, serverless: bool = False) -> dict[str, Any]:
    """Settings + mapping of the memory index (also what infra/IaC should create)."""
    settings: dict[str, Any] = {"knn": True}
    if not serverless:  # Serverless manages shards/replicas and the HNSW search parameters itself
        settings.update({"number_of_shards": shards, "number_of_replicas": 1, "knn.algo_param.ef_search": 100})
    return {
        "settings": {"index": settings},
        "mappings": {
            "dynamic": False,  # metadata and unknown fields are stored, not indexed
            "properties": {
                "memory_id": {"type": "keyword"},
                "user_id": {"type": "keyword"},
                "character_id": {"type": "keyword"},
                "memory_type": {"type": "keyword"},
                "session_id": {"type": "keyword"},
                "seq": {"type": "long"},
                "content": {"type": "text", "analyzer": "cjk"},
                "timestamp": {"type": "date", "format": "epoch_millis"},
                "importance": {"type": "float"},
                "when": {"type": "keyword"},  # dates a turn speaks about (memory.documents)
                "metadata": {"type": "object", "enabled": False},
                "embedding": {
                    "type": "knn_vector", "dimension": dim,
                    "method": {"name": "hnsw", "space_type": "innerproduct", "engine": engine,
                               "parameters": {"m": 16, "ef_construction": 128}},
                },
            },
        },
    }


# Fields added to the mapping after the first deployments: ``ensure_index`` adds them to an older index.
ADDED_FIELDS = ("when",)


def _filters(user_id: str, character_id: str | None, memory_types: Sequence[str] | None,
             extra: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"term": {"user_id": user_id}}]
    if character_id is not None:
        out.append({"term": {"character_id": character_id}})
    if memory_types:
        out.append({"terms": {"memory_type": list(memory_types)}})
    out.extend(extra)
    return out


def _recalled(hit: dict[str, Any], source: str) -> RecalledMemory:
    src = hit.get("_source") or {}
    meta = dict(src.get("metadata") or {})
    if src.get("session_id"):
        meta.setdefault("session_id", src["session_id"])
    if src.get("seq"):
        meta.setdefault("seq", src["seq"])
    ts = src.get("timestamp", 0)
    return RecalledMemory(memory_id=src.get("memory_id") or hit.get("_id", ""),
                          memory_type=src.get("memory_type", "turn"), content=src.get("content", ""),
                          timestamp=float(ts) / 1000.0 if ts else 0.0, score=float(hit.get("_score") or 0.0),
                          importance=float(src.get("importance", 5.0)), source=source, metadata=meta)


_SOURCE_FIELDS = {"excludes": ["embedding"]}


class OpenSearchMemoryIndex:
    def __init__(self, url: str, index: str = "long_term_memory", dim: int = 384, *,
                 auth: Literal["none", "basic", "sigv4"] = "none", region: str = "us-east-1",
                 service: Literal["es", "aoss"] = "es", username: str = "", password: str = "",
                 engine: Literal["faiss", "lucene"] = "faiss", timeout_s: float = 3.0,
                 shards: int = 2) -> None:
        parts = urlsplit(url)
        self._username = username or unquote(parts.username or "")
        self._password = password or unquote(parts.password or "")
        host = parts.hostname or "localhost"
        netloc = f"{host}:{parts.port}" if parts.port else host
        self._url = urlunsplit((parts.scheme or "http", netloc, parts.path, "", ""))
        self.index = index
        self.dim = dim
        self._auth = auth
        self._region = region
        self._service = service
        self._engine = engine
        self._timeout = timeout_s
        self._shards = shards
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ensured = False

    # -- client -----------------------------------------------------------------------

    @property
    def serverless(self) -> bool:
        return self._service == "aoss"

    def _http_auth(self) -> Any:
        if self._auth == "basic":
            return (self._username, self._password)
        if self._auth == "sigv4":
            import boto3  # lazily: only sigv4 deployments pay the import
            from opensearchpy import AWSV4SignerAsyncAuth

            credentials = boto3.Session().get_credentials()
            return AWSV4SignerAsyncAuth(credentials, self._region, self._service)
        return None

    @property
    def client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            from opensearchpy import AsyncHttpConnection, AsyncOpenSearch

            self._client = AsyncOpenSearch(hosts=[self._url], http_auth=self._http_auth(),
                                           connection_class=AsyncHttpConnection, timeout=self._timeout,
                                           max_retries=1, retry_on_timeout=False, http_compress=False)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = None

    async def _call(self, fn_name: str, *, missing_ok: bool = False, **kwargs: Any) -> Any:
        """One API call; outages become StoreUnavailable, bad requests MemoryIndexError."""
        from opensearchpy import exceptions as osx

        target = self.client
        for part in fn_name.split("."):
            target = getattr(target, part)
        try:
            return await target(**kwargs)
        except osx.NotFoundError:
            if missing_ok:
                return None
            raise
        except osx.ConnectionError as exc:  # includes ConnectionTimeout, SSL errors
            raise StoreUnavailable(f"opensearch: {type(exc).__name__}") from exc
        except osx.TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            if status == 429 or status >= 500:
                raise StoreUnavailable(f"opensearch: HTTP {status}") from exc
            raise MemoryIndexError(f"opensearch: HTTP {status}: {exc.error}") from exc
        except (TimeoutError, OSError) as exc:
            raise StoreUnavailable(f"opensearch: {type(exc).__name__}") from exc

    def _routing(self, user_id: str) -> dict[str, Any]:
        return {} if self.serverless else {"routing": user_id}

    # -- index management -------------------------------------------------------------

    async def ensure_index(self) -> bool:
        """Create the index if it does not exist; True when it was created now."""
        if self._ensured:
            return False
        exists = await self._call("indices.exists", index=self.index)
        created = False
        if not exists:
            try:
                await self._call("indices.create", index=self.index,
                                 body=index_body(self.dim, self._engine, self._shards, serverless=self.serverless))
                created = True
            except MemoryIndexError as exc:
                if "resource_already_exists" not in str(exc):
                    raise  # another instance created it first: fine
        else:
            # An index made before a field was added gets it (adding a field is allowed; documents
            # written before it simply lack it until rewritten).
            added = {f: index_body(self.dim)["mappings"]["properties"][f] for f in ADDED_FIELDS}
            await self._call("indices.put_mapping", index=self.index, body={"properties": added})
        self._ensured = True
        return created

    async def refresh(self) -> None:
        if not self.serverless:
            await self._call("indices.refresh", index=self.index, missing_ok=True)

    async def count(self, user_id: str, character_id: str | None = None,
                    memory_types: Sequence[str] | None = None) -> int:
        body = {"query": {"bool": {"filter": _filters(user_id, character_id, memory_types)}}}
        resp = await self._call("count", index=self.index, body=body, missing_ok=True,
                                params=self._routing(user_id))
        return int(resp["count"]) if resp else 0

    # -- writes -----------------------------------------------------------------------

    async def bulk_upsert(self, docs: Sequence[MemoryDoc], *, refresh: bool = False,
                          chunk: int = 200) -> int:
        """Index (create or overwrite) every doc under its ``memory_id``; returns the count."""
        if not docs:
            return 0
        await self.ensure_index()
        for start in range(0, len(docs), chunk):
            lines: list[dict[str, Any]] = []
            for doc in docs[start:start + chunk]:
                if doc.embedding is not None and len(doc.embedding) != self.dim:
                    raise MemoryIndexError(f"embedding of {doc.memory_id} has dim {len(doc.embedding)}, "
                                           f"index expects {self.dim}")
                action: dict[str, Any] = {"_index": self.index, "_id": doc.memory_id}
                if not self.serverless:
                    action["routing"] = doc.user_id
                lines.append({"index": action})
                lines.append(doc.source())
            params: dict[str, Any] = {}
            if refresh and not self.serverless:
                params["refresh"] = "true"
            resp = await self._call("bulk", body=lines, params=params)
            if resp.get("errors"):
                self._raise_item_errors(resp)
        return len(docs)

    @staticmethod
    def _raise_item_errors(resp: dict[str, Any]) -> None:
        failed = []
        overloaded = False
        for item in resp.get("items", []):
            result = next(iter(item.values()))
            if result.get("error"):
                status = int(result.get("status", 0))
                overloaded |= status == 429 or status >= 500
                err = result["error"]
                failed.append(f"{result.get('_id')}: {err.get('type') if isinstance(err, dict) else err}")
        if failed and overloaded:
            raise StoreUnavailable(f"opensearch bulk: {len(failed)} items rejected ({failed[0]})")
        if failed:
            raise MemoryIndexError(f"opensearch bulk: {len(failed)} items failed ({'; '.join(failed[:3])})")

    async def delete_ids(self, user_id: str, ids: Sequence[str], *, refresh: bool = False) -> int:
        if not ids:
            return 0
        lines: list[dict[str, Any]] = []
        for memory_id in ids:
            action: dict[str, Any] = {"_index": self.index, "_id": memory_id}
            if not self.serverless:
                action["routing"] = user_id
            lines.append({"delete": action})
        params = {"refresh": "true"} if refresh and not self.serverless else {}
        resp = await self._call("bulk", body=lines, params=params)
        deleted = 0
        for item in resp.get("items", []):
            result = item.get("delete", {})
            if result.get("result") == "deleted":
                deleted += 1
            elif result.get("status") not in (200, 404):
                raise MemoryIndexError(f"opensearch delete {result.get('_id')}: {result.get('error')}")
        return deleted

    async def delete_for(self, user_id: str, character_id: str | None = None, *, refresh: bool = True) -> int:
        """Delete all of a user's memories (for one character, or all of them)."""
        body = {"query": {"bool": {"filter": _filters(user_id, character_id, None)}}}
        params: dict[str, Any] = {"conflicts": "proceed", **self._routing(user_id)}
        if refresh and not self.serverless:
            params["refresh"] = "true"
        resp = await self._call("delete_by_query", index=self.index, body=body, params=params, missing_ok=True)
        return int(resp.get("deleted", 0)) if resp else 0

    # -- reads ------------------------------------------------------------------------

    async def _search(self, user_id: str, body: dict[str, Any], source: str) -> list[RecalledMemory]:
        resp = await self._call("search", index=self.index, body=body, missing_ok=True,
                                params=self._routing(user_id))
        if not resp:
            return []  # no index yet: nobody has memories
        return [_recalled(h, source) for h in resp.get("hits", {}).get("hits", [])]

    async def knn_search(self, user_id: str, character_id: str, vector: Sequence[float], k: int = 10,
                         memory_types: Sequence[str] | None = None) -> list[RecalledMemory]:
        """Nearest memories by inner product; filters run inside the knn clause."""
        body = {"size": k, "_source": _SOURCE_FIELDS, "query": {"knn": {"embedding": {
            "vector": [float(x) for x in vector], "k": k,
            "filter": {"bool": {"filter": _filters(user_id, character_id, memory_types)}}}}}}
        return await self._search(user_id, body, "knn")

    async def bm25_search(self, user_id: str, character_id: str, query: str, k: int = 10,
                          memory_types: Sequence[str] | None = None) -> list[RecalledMemory]:
        if not query.strip():
            return []
        body = {"size": k, "_source": _SOURCE_FIELDS, "query": {"bool": {
            "must": [{"match": {"content": {"query": query}}}],
            "filter": _filters(user_id, character_id, memory_types)}}}
        return await self._search(user_id, body, "bm25")

    async def date_search(self, user_id: str, character_id: str, tokens: Sequence[str],
                          ranges: Sequence[tuple[float, float]], query: str, k: int = 10,
                          memory_types: Sequence[str] | None = None) -> list[RecalledMemory]:
        """Memories about a date: those whose ``when`` holds one of ``tokens`` or written inside one of
        ``ranges`` (epoch seconds, end excluded); BM25 on ``query`` orders them, and a turn that speaks
        about the date comes before one merely written that day when the words tie."""
        if not tokens and not ranges:
            return []
        on_date: list[dict[str, Any]] = [{"range": {"timestamp": {"gte": round(a * 1000), "lt": round(b * 1000)}}}
                                         for a, b in ranges]
        if tokens:
            on_date.append({"terms": {"when": list(tokens)}})
        should: list[dict[str, Any]] = [{"terms": {"when": list(tokens)}}] if tokens else []
        if query.strip():
            should.append({"match": {"content": {"query": query}}})
        body = {"size": k, "_source": _SOURCE_FIELDS, "query": {"bool": {
            "should": should,
            "filter": _filters(user_id, character_id, memory_types,
                               [{"bool": {"should": on_date, "minimum_should_match": 1}}])}}}
        return await self._search(user_id, body, "dates")

    async def get_turns(self, user_id: str, character_id: str, session_id: str,
                        seqs: Sequence[int]) -> list[RecalledMemory]:
        """The raw turns at ``seqs`` (e.g. a hit's neighbours), ordered by position."""
        if not seqs:
            return []
        extra: list[dict[str, Any]] = [{"terms": {"seq": sorted({int(s) for s in seqs})}}]
        if session_id:
            extra.append({"term": {"session_id": session_id}})
        body = {"size": len(seqs), "_source": _SOURCE_FIELDS, "sort": [{"seq": "asc"}],
                "query": {"bool": {"filter": _filters(user_id, character_id, ["turn"], extra)}}}
        return await self._search(user_id, body, "neighbours")

    async def get_doc(self, user_id: str, memory_id: str) -> dict[str, Any] | None:
        """One document's ``_source`` when it belongs to ``user_id`` (another user's id finds nothing)."""
        body = {"size": 1, "query": {"bool": {"filter": _filters(user_id, None, None,
                                                                  [{"term": {"memory_id": memory_id}}])}}}
        resp = await self._call("search", index=self.index, body=body, missing_ok=True,
                                params=self._routing(user_id))
        hits = (resp or {}).get("hits", {}).get("hits", [])
        return hits[0]["_source"] if hits else None

    async def get_docs(self, user_id: str, character_id: str | None = None,
                       memory_types: Sequence[str] | None = None, size: int = 1000) -> list[dict[str, Any]]:
        """Raw ``_source`` documents (embeddings included): export and tests."""
        body = {"size": size, "query": {"bool": {"filter": _filters(user_id, character_id, memory_types)}}}
        resp = await self._call("search", index=self.index, body=body, missing_ok=True,
                                params=self._routing(user_id))
        return [h["_source"] for h in resp.get("hits", {}).get("hits", [])] if resp else []
