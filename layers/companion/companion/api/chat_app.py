"""The chat function's ASGI app: SSE streaming turns, history and session end.

Run by uvicorn under the Lambda Web Adapter (response streaming through a Function URL),
or unchanged in a container.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ..bootstrap import Container, build_container
from ..errors import AppError
from ..observability import logger, telemetry
from .errors import install_error_handlers
from .requests import parse_body

ID_PATTERN = r"^[A-Za-z0-9_\-.:]{1,64}$"


class ChatRequest(BaseModel):
    character_id: str = Field(pattern=ID_PATTERN)
    message: str


def create_app(container: Container | None = None) -> FastAPI:
    state: dict[str, Container] = {}

    def c() -> Container:
        if "c" not in state:
            state["c"] = container or build_container()
        return state["c"]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if "c" in state and container is None:
            await state["c"].aclose()

    app = FastAPI(title="Companion chat", version="1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handlers(app)

    @app.middleware("http")
    async def correlation(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        cid = request.headers.get("x-request-id") or request.headers.get("x-amzn-trace-id") or uuid.uuid4().hex
        logger.set_correlation_id(cid)
        response = await call_next(request)
        response.headers["x-request-id"] = cid
        return response

    def user_of(authorization: str | None) -> str:
        return c().verifier.verify(authorization)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/chat/stream")
    async def chat_stream(request: Request,
                          authorization: Annotated[str | None, Header()] = None) -> StreamingResponse:
        user_id = user_of(authorization)
        body = await parse_body(request, ChatRequest)
        message = body.message.strip()
        if not message:
            raise AppError("message is empty", code="empty_message", status=400)
        limit = c().settings.max_message_chars
        if len(message) > limit:
            raise AppError(f"message is longer than {limit} characters", code="message_too_long", status=413)
        await c().chat.admit(user_id)
        turn = await c().chat.prepare(user_id, body.character_id, message)

        async def events() -> AsyncIterator[bytes]:
            try:
                async for chunk in c().chat.stream(turn):
                    yield chunk
            finally:
                telemetry.flush()

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/v1/chat/history")
    async def get_history(character_id: Annotated[str, Query(pattern=ID_PATTERN)],
                          limit: Annotated[int, Query(ge=1, le=200)] = 50,
                          before_seq: Annotated[int | None, Query(ge=1)] = None,
                          authorization: Annotated[str | None, Header()] = None) -> dict:
        user_id = user_of(authorization)
        messages = await c().chat.history(user_id, character_id, limit=limit, before_seq=before_seq)
        return {"character_id": character_id,
                "messages": [m.model_dump(include={"msg_id", "role", "content", "timestamp", "session_id", "seq"})
                             for m in messages],
                "next_before_seq": messages[0].seq if messages and messages[0].seq > 1 else None}

    @app.delete("/api/v1/chat/history")
    async def delete_history(character_id: Annotated[str, Query(pattern=ID_PATTERN)],
                             authorization: Annotated[str | None, Header()] = None) -> dict:
        user_id = user_of(authorization)
        return {"character_id": character_id, **await c().chat.clear_history(user_id, character_id)}

    @app.post("/api/v1/chat/sessions/{character_id}/end")
    async def end_session(character_id: str, authorization: Annotated[str | None, Header()] = None) -> dict:
        user_id = user_of(authorization)
        if not re.match(ID_PATTERN, character_id):
            raise AppError("invalid character id", code="invalid_request", status=422)
        started = time.perf_counter()
        result = await c().chat.end_session(user_id, character_id)
        telemetry.millis("SessionEndLatency", (time.perf_counter() - started) * 1000)
        telemetry.flush()
        return {"character_id": character_id, **result}

    return app
