"""The chat function's ASGI app: SSE streaming turns, history and session end.

Run by uvicorn under the Lambda Web Adapter (response streaming through a Function URL),
or unchanged in a container. Built on Starlette rather than FastAPI: this is the cold-start
path, and FastAPI's import (its OpenAPI models) costs several hundred milliseconds that
five routes do not need. Requests are validated with pydantic all the same, and errors
have the shape every API of the project uses.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..bootstrap import Container, build_container
from ..chat import sse
from ..config import Settings
from ..errors import AppError, StoreUnavailable, ValidationFailed
from ..observability import adopt_trace_header, logger, telemetry, tracer
from ..text import is_blank
from .cors import add_cors
from .errors import exception_handlers
from .middleware import CorrelationMiddleware
from .requests import ID_PATTERN, parse_body
from .views import history_page
from .web import install_web

_ID = re.compile(ID_PATTERN)
# How a stream's last event starts: a ``done`` message or an ``error`` event (see chat/sse.py).
_DONE_PREFIX = sse.done().rsplit(b"}", 1)[0]
_ERROR_PREFIX = b"event: error\n"


class ChatRequest(BaseModel):
    character_id: str = Field(pattern=ID_PATTERN)
    message: str


def _character_id(value: str | None) -> str:
    if not value or not _ID.match(value):
        raise ValidationFailed("character_id is missing or not a valid id", code="invalid_request")
    return value


def _int_param(request: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise ValidationFailed(f"{name} must be an integer from {lo} to {hi}", code="invalid_request")
    return value


def _ends_stream(chunk: bytes) -> bool:
    return chunk.startswith(_DONE_PREFIX) or chunk.startswith(_ERROR_PREFIX)


async def guarded(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The turn's SSE stream, always closed by a ``done`` or an ``error`` event.

    The response has started (200) when the turn runs, so an exception can no longer become
    an HTTP error: it becomes an ``error`` event, and the client never sees a stream that just stops.
    """
    ended = False
    try:
        async for chunk in stream:
            ended = ended or _ends_stream(chunk)
            yield chunk
    except Exception as exc:
        logger.exception("chat stream failed")
        if ended:
            return
        if isinstance(exc, AppError):
            yield sse.error(exc.message, code=exc.code)
        elif isinstance(exc, StoreUnavailable):
            yield sse.error("a data store is unavailable, please retry", code="store_unavailable")
        else:
            yield sse.error("the reply failed on our side, please try again", code="internal_error")


def create_app(container: Container | None = None) -> Starlette:
    state: dict[str, Container] = {}

    def c() -> Container:
        if "c" not in state:
            state["c"] = container or build_container()
        return state["c"]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if (container.settings if container else Settings()).chat_tracing:
            tracer()  # pay the X-Ray SDK import during init (the adapter waits for /health), not in a turn
        yield
        if "c" in state and container is None:
            await state["c"].aclose()

    def user_of(request: Request) -> str:
        return c().verifier.verify(request.headers.get("authorization"))

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def chat_stream(request: Request) -> Response:
        user_id = user_of(request)
        body = await parse_body(request, ChatRequest)
        message = body.message.strip()
        if is_blank(message):  # zero-width characters alone say nothing either
            raise AppError("message is empty", code="empty_message", status=400)
        limit = c().settings.max_message_chars
        if len(message) > limit:
            raise AppError(f"message is longer than {limit} characters", code="message_too_long", status=413)
        if c().settings.chat_tracing:
            adopt_trace_header(request.headers.get("x-amzn-trace-id"))
        await c().chat.admit(user_id)
        turn = await c().chat.prepare(user_id, body.character_id, message)

        return StreamingResponse(guarded(c().chat.stream(turn)), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def history(request: Request) -> Response:
        user_id = user_of(request)
        character_id = _character_id(request.query_params.get("character_id"))
        if request.method == "DELETE":
            cleared = await c().conversations.clear_history(user_id, character_id)
            return JSONResponse({"character_id": character_id, **cleared})
        limit = _int_param(request, "limit", 50, 1, 200) or 50
        before_seq = _int_param(request, "before_seq", None, 1, 10**12)
        messages = await c().conversations.history(user_id, character_id, limit=limit, before_seq=before_seq)
        return JSONResponse(history_page(character_id, messages))

    async def end_session(request: Request) -> Response:
        user_id = user_of(request)
        character_id = _character_id(request.path_params.get("character_id"))
        started = time.perf_counter()
        result = await c().conversations.end_session(user_id, character_id)
        telemetry.millis("SessionEndLatency", (time.perf_counter() - started) * 1000)
        return JSONResponse({"character_id": character_id, **result})

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = exception_handlers()
    app = Starlette(
        routes=[Route("/health", health, methods=["GET"]),
                Route("/api/v1/chat/stream", chat_stream, methods=["POST"]),
                Route("/api/v1/chat/history", history, methods=["GET", "DELETE"]),
                Route("/api/v1/chat/sessions/{character_id}/end", end_session, methods=["POST"])],
        middleware=[Middleware(CorrelationMiddleware)], exception_handlers=handlers, lifespan=lifespan)
    settings = container.settings if container else Settings()
    add_cors(app, settings, "chat")
    install_web(app, settings)
    return app
