"""The chat function's ASGI app: SSE streaming turns, history and session end, and the
OpenAI-compatible routes (``openai_api.py``) over the same turn.

Run by uvicorn under the Lambda Web Adapter (response streaming through a Function URL),
or unchanged in a container. Built on Starlette rather than FastAPI: this is the cold-start
path, and FastAPI's import (its OpenAPI models) costs several hundred milliseconds that
these few routes do not need. Requests are validated with pydantic all the same, and errors
have the shape every API of the project uses.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..auth import Identity
from ..bootstrap import Container, build_container
from ..chat.events import guarded
from ..chat.greetings import GREETING
from ..chat.opening import Opening
from ..chat.service import ClientContext, PreparedTurn
from ..config import Settings
from ..errors import AppError, ValidationFailed
from ..observability import adopt_trace_header, logger, telemetry, tracer
from ..text import is_blank
from . import chat_sse
from .cors import add_cors
from .docs import docs_routes
from .errors import exception_handlers
from .middleware import CorrelationMiddleware
from .requests import ID_PATTERN, parse_body
from .views import history_page, message_view
from .web import install_web

_ID = re.compile(ID_PATTERN)


_TIME_ZONE = ("the user's IANA time zone, e.g. the browser's `Intl.DateTimeFormat().resolvedOptions().timeZone`; "
              "absent or unknown here: the character's, else UTC")


class ChatRequest(BaseModel):
    character_id: str = Field(pattern=ID_PATTERN, examples=["xiaoyu"])
    message: str = Field(examples=["你好，我叫小林，下个月15号是我生日，我最喜欢吃火锅"])
    time_zone: str | None = Field(default=None, max_length=64, examples=["Asia/Shanghai"], description=_TIME_ZONE)


class StartRequest(BaseModel):
    greeting_index: int | None = Field(default=None, ge=0, examples=[0], description=(
        "which greeting opens the conversation: 0 the card's `first_mes`, i its `alternate_greetings[i-1]`; "
        "absent: the first one. While the greeting is the only message, another index replaces it"))
    time_zone: str | None = Field(default=None, max_length=64, examples=["Asia/Shanghai"], description=_TIME_ZONE)
    language: Literal["zh", "en"] | None = Field(default=None, description=(
        "the user's language (the default name for `{{user}}`, dates); absent: the character's, else the greeting's"))


def opening_view(character_id: str, opening: Opening) -> dict[str, Any]:
    greeting = opening.greeting
    return {"character_id": character_id,
            "greeting": {**message_view(greeting), "greeting_index": greeting.metadata.get(GREETING)} if greeting
            else None, "created": opening.created, "can_change": opening.can_change, "greetings": opening.greetings}


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


class _BuiltOnFirstRequest:
    """An ASGI app built when its first request comes, to keep its imports off the cold start."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self._build()
        await self._app(scope, receive, send)


def create_app(container: Container | None = None) -> Starlette:
    settings = container.settings if container else Settings()
    state: dict[str, Container] = {}

    def c() -> Container:
        if "c" not in state:
            state["c"] = container or build_container(settings)  # the settings read once, here
        return state["c"]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if settings.chat_tracing:
            tracer()  # pay the X-Ray SDK import during init (the adapter waits for /health), not in a turn
        try:
            # The stores' clients and the embedding model's load (on its own thread) start during init, in
            # every worker process, so no worker's first turn pays for them.
            c()
        except Exception:
            logger.exception("chat container not built at startup: the first request builds it")
        yield
        if "c" in state and container is None:
            await state["c"].aclose()

    def identity_of(request: Request) -> Identity:
        return c().verifier.identify(request.headers.get("authorization"))

    def user_of(request: Request) -> str:
        return identity_of(request).user_id

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def begin_turn(request: Request, identity: Identity, character_id: str, message: str,
                         client: ClientContext | None = None) -> PreparedTurn:
        """What every route does before a turn streams: check the message, admit the user, find the character."""
        message = message.strip()
        if is_blank(message):  # zero-width characters alone say nothing either
            raise AppError("message is empty", code="empty_message", status=400)
        limit = c().settings.max_message_chars
        if len(message) > limit:
            raise AppError(f"message is longer than {limit} characters", code="message_too_long", status=413)
        if c().settings.chat_tracing:
            adopt_trace_header(request.headers.get("x-amzn-trace-id"))
        await c().chat.admit(identity.user_id)
        return await c().chat.prepare(identity.user_id, character_id, message, client,
                                      display_name=identity.display_name)

    async def chat_stream(request: Request) -> Response:
        identity = identity_of(request)
        body = await parse_body(request, ChatRequest)
        turn = await begin_turn(request, identity, body.character_id, body.message,
                                ClientContext(time_zone=body.time_zone))
        return StreamingResponse(chat_sse.stream(guarded(c().chat.stream(turn))), media_type="text/event-stream",
                                 headers=chat_sse.STREAM_HEADERS)

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

    async def start_session(request: Request) -> Response:
        identity = identity_of(request)
        character_id = _character_id(request.path_params.get("character_id"))
        body = await parse_body(request, StartRequest) if await request.body() else StartRequest()
        opening = await c().chat.start(identity.user_id, character_id, greeting=body.greeting_index,
                                       time_zone=body.time_zone, language=body.language,
                                       display_name=identity.display_name)
        return JSONResponse(opening_view(character_id, opening))

    def v1() -> ASGIApp:
        from .openai_api import openai_app  # its models cost the cold start ~30 ms; built on the first /v1 call

        return openai_app(c, identity_of=identity_of, begin_turn=begin_turn)

    def openapi() -> dict[str, Any]:
        from .chat_openapi import chat_openapi  # only when the docs are asked for

        return chat_openapi(local=settings.is_local)

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = exception_handlers()
    app = Starlette(
        routes=[Route("/health", health, methods=["GET"]),
                Route("/api/v1/chat/stream", chat_stream, methods=["POST"]),
                Route("/api/v1/chat/history", history, methods=["GET", "DELETE"]),
                Route("/api/v1/chat/sessions/{character_id}/start", start_session, methods=["POST"]),
                Route("/api/v1/chat/sessions/{character_id}/end", end_session, methods=["POST"]),
                Mount("/v1", app=_BuiltOnFirstRequest(v1)),
                *docs_routes(title="Companion chat function", openapi=openapi)],
        middleware=[Middleware(CorrelationMiddleware)], exception_handlers=handlers, lifespan=lifespan)
    add_cors(app, settings, "chat")
    install_web(app, settings)
    return app
