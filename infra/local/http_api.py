"""The HTTP API, locally: what ``sam local start-api`` does, without Docker.

Routes come from template.yaml (every ``HttpApi`` event of every function). An incoming
HTTP request becomes an API Gateway v2 (HTTP API, payload format 2.0) event, the
function's handler (e.g. ``functions/memory_api/app.handler``, a Mangum adapter) is invoked
with it and a Lambda-like context, and the handler's result becomes the HTTP response.

    serve_http_api("127.0.0.1", 8001)                 # blocking
    server = HttpApiServer(port=0); url = server.start(); ...; server.stop()   # tests
    python -m infra.local.http_api --port 8001

Connections are served concurrently, each on its own thread with a socket timeout, as API
Gateway does (an idle or slow client never holds up anyone else). Invocations run like one
Lambda execution environment: one at a time, on one thread with its own event loop (Mangum
runs the ASGI app on the thread's current loop, and the clients the app caches stay bound to it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import importlib.util
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# A client that sends nothing for this long is dropped (API Gateway's idle timeout is longer,
# but locally a stuck client should not hold a thread for minutes).
READ_TIMEOUT_S = 30.0
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded")


@dataclass
class Route:
    method: str  # "ANY" or an HTTP method
    path: str  # template path, e.g. /api/v1/memory/{proxy+}
    function: str  # logical id
    handler_ref: str  # "functions/memory_api/app.handler"
    pattern: re.Pattern[str]
    params: list[str]

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def _compile(path: str) -> tuple[re.Pattern[str], list[str]]:
    params: list[str] = []
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            params.append(name)
            out += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$"), params


def routes_from_template(template: dict[str, Any] | None = None) -> list[Route]:
    if template is None:
        from infra.local.resources import load_template

        template = load_template()
    handler_default = (template.get("Globals", {}).get("Function", {}) or {}).get("Handler", "app.handler")
    routes: list[Route] = []
    for logical_id, res in (template.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties") or {}
        code_uri = str(props.get("CodeUri", "")).rstrip("/")
        handler = str(props.get("Handler") or handler_default)
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            ep = event.get("Properties") or {}
            path, method = str(ep.get("Path", "/")), str(ep.get("Method", "ANY")).upper()
            method = "ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method
            pattern, params = _compile(path)
            routes.append(Route(method, path, logical_id, f"{code_uri}/{handler}", pattern, params))
    # API Gateway prefers the most specific route: literal paths before greedy ones.
    routes.sort(key=lambda r: ("{proxy+}" in r.path or "+}" in r.path, -len(r.path), r.method == "ANY"))
    return routes


# The memory API's docs (spec, page, page assets): served locally only, as template.yaml routes
# none of them (a deployment answers these paths with API Gateway's 404).
LOCAL_DOCS_PATHS = ("/openapi.json", "/docs", "/docs/{proxy+}")


def with_local_docs(routes: list[Route]) -> list[Route]:
    """``routes`` plus GET routes for the memory API's docs, to the function behind ``/api/v1/memory``."""
    memory = next((r for r in routes if r.path.startswith("/api/v1/memory")), None)
    if memory is None:
        return routes
    return [*routes, *(Route("GET", path, memory.function, memory.handler_ref, *_compile(path))
                       for path in LOCAL_DOCS_PATHS)]


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        if route.method not in ("ANY", method):
            continue
        m = route.pattern.match(path)
        if m:
            return route, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def load_handler(ref: str) -> Handler:
    """``functions/memory_api/app.handler`` → the callable (module loaded from its file)."""
    module_path, _, attr = ref.rpartition(".")
    file = ROOT / f"{module_path}.py"
    name = "lambda_" + re.sub(r"\W", "_", module_path)
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return getattr(sys.modules[name], attr)


class LambdaContext:
    """The attributes handlers and Powertools read from a Lambda context."""

    def __init__(self, function_name: str, timeout_s: float = 29.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = uuid.uuid4().hex
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def build_event(*, method: str, raw_path: str, raw_query: str, headers: list[tuple[str, str]], body: bytes,
                route: Route, path_params: dict[str, str], source_ip: str = "127.0.0.1",
                host: str = "localhost") -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as the service sends it."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for k, v in headers:
        key = k.lower()
        if key == "cookie":
            cookies += [c.strip() for c in v.split(";") if c.strip()]
            continue
        merged[key] = f"{merged[key]},{v}" if key in merged else v
    query: dict[str, str] = {}
    for k, v in parse_qsl(raw_query, keep_blank_values=True):
        query[k] = f"{query[k]},{v}" if k in query else v
    ctype = merged.get("content-type", "")
    is_text = not body or any(t in ctype for t in _TEXT_TYPES)
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": host, "domainPrefix": host.split(".")[0],
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": merged.get("user-agent", "")},
            "requestId": uuid.uuid4().hex, "routeKey": route.route_key, "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    if body:
        # A text body that is not UTF-8 raises UnicodeDecodeError: the caller answers 400 malformed_body.
        event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode()
    return event


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _response_parts(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A v2 handler result → status, headers, body (a bare value means 200 + JSON, as API Gateway does)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [("content-type", "application/json")], json.dumps(result).encode()
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for k, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(k, str(v)) for v in values]
    headers += [("set-cookie", c) for c in result.get("cookies") or []]
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    return int(result["statusCode"]), headers, body


class _RequestHandler(BaseHTTPRequestHandler):
    server: _ApiHttpServer
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT_S  # socketserver applies it to the connection: reads give up, the thread ends

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        skip = {"content-length", "connection", "transfer-encoding"}
        for k, v in headers:
            if k.lower() not in skip:
                self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:  # the client went away before the answer: nothing left to tell it
            self.close_connection = True

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError:  # the client stopped sending its body: drop it, as a gateway would
            self.close_connection = True
            return
        found = match(self.server.routes, self.command, parts.path)
        if found is None:  # API Gateway's own answer for an unknown route
            self._send(404, [("content-type", "application/json")], b'{"message":"Not Found"}')
            return
        route, params = found
        try:
            event = build_event(method=self.command, raw_path=parts.path, raw_query=parts.query,
                                headers=list(self.headers.items()), body=body, route=route, path_params=params,
                                source_ip=self.client_address[0], host=self.headers.get("host", "localhost"))
        except UnicodeDecodeError:
            self._send(400, [("content-type", "application/json")],
                       _error_body("malformed_body", "the request body is not valid UTF-8 text"))
            return
        try:
            result = self.server.invoke(route, event)
            status, headers, out = _response_parts(result)
        except Exception as exc:  # the function crashed: API Gateway answers 500
            self.server.log_error(route, exc)
            status, headers, out = 500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}'
        self._send(status, headers, out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class _ApiHttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a connection thread never keeps the process alive at stop

    def __init__(self, address: tuple[str, int], routes: list[Route], verbose: bool) -> None:
        super().__init__(address, _RequestHandler)
        self.routes = routes
        self.verbose = verbose
        self._handlers: dict[str, Handler] = {}
        # The execution environment: one thread, one event loop, reused by every invocation.
        self._invoker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="lambda", initializer=lambda: asyncio.set_event_loop(
                asyncio.new_event_loop()))

    def invoke(self, route: Route, event: dict[str, Any]) -> Any:
        def run() -> Any:
            return self.handler_for(route)(event, LambdaContext(route.function))
        return self._invoker.submit(run).result()

    def server_close(self) -> None:
        super().server_close()
        self._invoker.shutdown(wait=False, cancel_futures=True)

    def handler_for(self, route: Route) -> Handler:
        if route.handler_ref not in self._handlers:
            self._handlers[route.handler_ref] = load_handler(route.handler_ref)
        return self._handlers[route.handler_ref]

    def log_error(self, route: Route, exc: BaseException) -> None:  # type: ignore[override]
        print(f"http_api: {route.function} failed: {exc!r}", file=sys.stderr, flush=True)


class HttpApiServer:
    """The local HTTP API on ``host:port`` (``port=0``: a free port), in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, routes: list[Route] | None = None,
                 verbose: bool = False) -> None:
        self._server = _ApiHttpServer((host, port),
                                      routes if routes is not None else with_local_docs(routes_from_template()),
                                      verbose)
        self.host, self.port = host, self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> str:
        self._thread = threading.Thread(target=self.serve_forever, name="http-api", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


def serve_http_api(host: str = "127.0.0.1", port: int = 8001, *, verbose: bool = True) -> None:
    """Serve every HttpApi route of template.yaml until interrupted (blocking)."""
    server = HttpApiServer(host, port, verbose=verbose)
    print(f"http api listening on {server.url} ({len(server._server.routes)} routes)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the HTTP API routes of template.yaml locally.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    for p in (str(ROOT / "layers" / "companion"), str(ROOT)):
        if p not in sys.path:
            sys.path.insert(0, p)
    serve_http_api(args.host, args.port, verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
