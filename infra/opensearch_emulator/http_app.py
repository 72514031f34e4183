"""A plain ASGI application mapping OpenSearch's REST paths onto ``Engine`` operations.

Every failure becomes an OpenSearch-shaped JSON error; an unexpected exception is reported as a
500 with OpenSearch's body shape (type ``exception``), never a traceback.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from .engine import Engine
from .errors import OpenSearchError, x_content_parse

log = logging.getLogger("infra.opensearch_emulator")

Handler = Callable[[Engine, dict[str, str], dict[str, str], bytes], tuple[int, Any]]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(methods: str, pattern: str) -> Callable[[Handler], Handler]:
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$")

    def deco(fn: Handler) -> Handler:
        for m in methods.split(","):
            _ROUTES.append((m, regex, fn))
        return fn

    return deco


def _json(body: bytes, required: bool = False) -> Any:
    if not body.strip():
        if required:
            raise OpenSearchError(400, "parse_exception", "request body is required")
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise x_content_parse(f"Failed to parse request body: {exc}") from None


# ----- cluster ------------------------------------------------------------------------------------
@route("GET,HEAD", "")
def _info(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.info()


@route("GET", "/_cluster/health")
def _health(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.health(None, q)


@route("GET", "/_cluster/health/{index}")
def _health_index(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.health(p["index"], q)


@route("GET", "/_cat/indices")
def _cat(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.cat_indices(None, q)


@route("GET", "/_cat/indices/{index}")
def _cat_index(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.cat_indices(p["index"], q)


@route("PUT,POST", "/_search/pipeline/{pid}")
def _put_pipeline(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.put_pipeline(p["pid"], _json(b, required=True))


@route("GET", "/_search/pipeline")
def _get_pipelines(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.get_pipeline(None)


@route("GET", "/_search/pipeline/{pid}")
def _get_pipeline(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.get_pipeline(p["pid"])


@route("DELETE", "/_search/pipeline/{pid}")
def _delete_pipeline(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.delete_pipeline(p["pid"])


@route("POST,PUT", "/_bulk")
def _bulk_all(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.bulk(None, b, q)


@route("GET,POST", "/_search")
def _search_all(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.search(None, _json(b), q)


@route("GET,POST", "/_count")
def _count_all(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.count(None, _json(b), q)


@route("GET,POST", "/_mget")
def _mget_all(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.mget(None, _json(b, required=True), q)


@route("GET,POST", "/_refresh")
def _refresh_all(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.refresh(None, q)


@route("GET", "/_mapping")
def _mapping_all(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.get_mapping(None, q)


# ----- per index ------------------------------------------------------------------------------------
@route("PUT", "/{index}")
def _create(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.create_index(p["index"], _json(b))


@route("HEAD", "/{index}")
def _exists(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return (200 if e.index_exists(p["index"]) else 404), None


@route("GET", "/{index}")
def _get_index(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.get_index_info(p["index"], q)


@route("DELETE", "/{index}")
def _delete(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.delete_index(p["index"], q)


@route("GET", "/{index}/_mapping")
def _get_mapping(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.get_mapping(p["index"], q)


@route("PUT,POST", "/{index}/_mapping")
def _put_mapping(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.put_mapping(p["index"], _json(b, required=True), q)


@route("GET", "/{index}/_settings")
def _get_settings(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.get_settings(p["index"], q)


@route("PUT", "/{index}/_settings")
def _put_settings(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.put_settings(p["index"], _json(b, required=True), q)


@route("GET,POST", "/{index}/_refresh")
def _refresh(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.refresh(p["index"], q)


@route("POST", "/{index}/_doc")
def _index_auto_id(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.index_doc(p["index"], None, _json(b, required=True), q)


@route("PUT,POST", "/{index}/_doc/{id}")
def _index_doc(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.index_doc(p["index"], p["id"], _json(b, required=True), q)


@route("PUT,POST", "/{index}/_create/{id}")
def _create_doc(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.index_doc(p["index"], p["id"], _json(b, required=True), q, op_type="create")


@route("GET", "/{index}/_doc/{id}")
def _get_doc(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.get_doc(p["index"], p["id"], q)


@route("HEAD", "/{index}/_doc/{id}")
def _head_doc(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    try:
        status, _ = e.get_doc(p["index"], p["id"], q)
    except OpenSearchError as exc:
        status = exc.status
    return status, None


@route("GET", "/{index}/_source/{id}")
def _get_source(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.get_doc(p["index"], p["id"], q, source_only=True)


@route("DELETE", "/{index}/_doc/{id}")
def _delete_doc(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.delete_doc(p["index"], p["id"], q)


@route("POST", "/{index}/_update/{id}")
def _update_doc(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.update_doc(p["index"], p["id"], _json(b, required=True), q)


@route("POST,PUT", "/{index}/_bulk")
def _bulk(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.bulk(p["index"], b, q)


@route("GET,POST", "/{index}/_mget")
def _mget(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.mget(p["index"], _json(b, required=True), q)


@route("GET,POST", "/{index}/_search")
def _search(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.search(p["index"], _json(b), q)


@route("GET,POST", "/{index}/_count")
def _count(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.count(p["index"], _json(b), q)


@route("POST", "/{index}/_delete_by_query")
def _dbq(e: Engine, p: dict[str, str], q: dict[str, str], b: bytes) -> tuple[int, Any]:
    return e.delete_by_query(p["index"], _json(b, required=True), q)


def dispatch(engine: Engine, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
    path = path.rstrip("/") if path != "/" else ""
    known_path = False
    for m, regex, fn in _ROUTES:
        match = regex.match(path)
        if match is None:
            continue
        known_path = True
        if m != method:
            continue
        params = {k: unquote(v) for k, v in match.groupdict().items()}
        return fn(engine, params, query, body)
    if known_path:
        return 405, {
            "error": f"Incorrect HTTP method for uri [{path}] and method [{method}], allowed: "
            f"[{', '.join(sorted({m for m, r, _ in _ROUTES if r.match(path)}))}]",
            "status": 405,
        }
    return 400, {"error": f"no handler found for uri [{path}] and method [{method}]", "status": 400}


def handle(engine: Engine, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
    """(status, response bytes, content type) for one request; never raises."""
    try:
        status, payload = dispatch(engine, method, path, query, body)
    except OpenSearchError as exc:
        status, payload = exc.status, exc.to_body()
    except RecursionError:
        exc2 = OpenSearchError(400, "parsing_exception", "query is too deeply nested")
        status, payload = exc2.status, exc2.to_body()
    except Exception as exc:
        log.exception("unexpected emulator failure for %s %s", method, path)
        err = OpenSearchError(500, "exception", f"{type(exc).__name__}: {exc}")
        status, payload = 500, err.to_body()
    if method == "HEAD" or payload is None:
        return status, b"", "application/json; charset=UTF-8"
    if isinstance(payload, str):
        return status, payload.encode(), "text/plain; charset=UTF-8"
    indent = 2 if query.get("pretty") not in (None, "false") else None
    data = json.dumps(payload, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
    return status, data.encode(), "application/json; charset=UTF-8"


class EmulatorApp:
    """ASGI entry point."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        if headers.get("content-encoding") == "gzip" and body:
            try:
                body = gzip.decompress(body)
            except OSError:
                body = b"\x00"
        query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        status, data, ctype = handle(self.engine, scope["method"], scope["path"], query, body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(data)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": data})
