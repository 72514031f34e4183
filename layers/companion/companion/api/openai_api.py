"""OpenAI-compatible routes on the chat function, for SDKs and chat front-ends (SillyTavern, Open WebUI, …).

* ``GET /v1/models`` (and ``/v1/models/{id}``): the characters the token's user may talk to, as models.
* ``POST /v1/chat/completions``: ``model`` is the character; the last message (role ``user``) is
  the new turn, which goes through the chat app's ``begin_turn`` and ``ChatService.stream``
  exactly like ``POST /api/v1/chat/stream`` (rate limits, recall, window, storage, memory tasks,
  failover). Streamed as ``chat.completion.chunk`` lines and ``data: [DONE]``, or one ``chat.completion``.

History policy (README, "OpenAI-compatible API"): by default Companion's short-term window and
the character's prompt win, the client's system messages are added as extra instructions and
its earlier turns are ignored; ``"companion": {"history": "client"}`` in the body uses the
client's user/assistant turns as the history instead. A body field rather than a header, so
a page on another origin needs no extra CORS header. Only the new message and the reply are stored
(and, in server mode, the greeting that opens a new conversation, as on the chat route);
``companion.time_zone`` is the user's clock.

Wired through: ``max_tokens`` / ``max_completion_tokens`` (lower only) and ``temperature``. Other
sampling fields are accepted and ignored; ``n`` above 1 is a 400.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..auth import Identity
from ..chat.events import TurnDelta, TurnDone, TurnEvent, TurnFailed, guarded
from ..chat.service import ClientContext, PreparedTurn
from ..errors import AppError
from ..models import Character, ChatMessage, new_id
from ..text import estimate_tokens
from .chat_sse import STREAM_HEADERS
from .openai_errors import failed_turn_response, openai_exception_handlers, stream_error
from .openai_models import (
    AssistantMessage,
    CharacterInfo,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    CompletionUsage,
    ContentPart,
    Delta,
    HistoryMode,
    MemoryUsedInfo,
    ModelList,
    ModelObject,
    TurnInfo,
)
from .requests import parse_body

if TYPE_CHECKING:
    from ..bootstrap import Container

# Front-ends send their whole chat each time: more than the chat route's 64 KiB, within Lambda's 6 MB.
MAX_BODY_BYTES = 1024 * 1024
_DONE_LINE = b"data: [DONE]\n\n"

BeginTurn = Callable[[Request, Identity, str, str, ClientContext | None], Awaitable[PreparedTurn]]


def _invalid(message: str, *loc: str | int) -> AppError:
    return AppError(message, code="invalid_request", status=400, details=[{"loc": list(loc), "msg": message}])


def _text(content: str | list[ContentPart] | None, *, loc: tuple[str | int, ...] | None = None) -> str:
    """A message's text; with ``loc`` (the new turn) a part that is not text is an error, else it is skipped."""
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for i, part in enumerate(content):
        if part.type == "text":
            texts.append(part.text or "")
        elif loc is not None:
            raise _invalid("only text content is supported", *loc, i, "type")
    return "\n".join(texts)


def client_context(body: ChatCompletionRequest) -> tuple[str, ClientContext]:
    """The new turn's text, and what the rest of the request brings to it under its history mode."""
    messages, last = body.messages, len(body.messages) - 1
    if messages[last].role != "user":
        raise _invalid("the last message must be the user's new message (role 'user')", "messages", last, "role")
    message = _text(messages[last].content, loc=("messages", last, "content"))
    instructions = "\n\n".join(t for m in messages[:last] if m.role in ("system", "developer")
                               if (t := _text(m.content).strip()))
    history = None
    if body.companion.history == "client":
        history = [ChatMessage(role="user" if m.role == "user" else "assistant", content=t,
                               token_count=estimate_tokens(t))
                   for m in messages[:last] if m.role in ("user", "assistant") if (t := _text(m.content))]
    return message, ClientContext(instructions=instructions, history=history,
                                  max_tokens=body.max_completion_tokens or body.max_tokens,
                                  temperature=body.temperature, time_zone=body.companion.time_zone)


def _usage(done: TurnDone) -> CompletionUsage:
    prompt, completion = (done.usage.prompt_tokens, done.usage.completion_tokens) if done.usage else (0, 0)
    return CompletionUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _info(done: TurnDone, mode: HistoryMode) -> TurnInfo:
    return TurnInfo(message_id=done.message_id, session_id=done.session_id, llm_model=done.model,
                    memories=done.memories, memory_sources=done.memory_sources,
                    memories_used=[MemoryUsedInfo.model_validate(asdict(m)) for m in done.memories_used],
                    recall_ms=done.recall_ms,
                    failovers=done.failovers, degraded=done.degraded, history=mode)


def _model(ch: Character) -> ModelObject:
    return ModelObject(id=ch.character_id, created=int(ch.updated_at), owned_by="user" if ch.owner_id else "companion",
                       companion=CharacterInfo(name=ch.name, language=ch.language, greeting=ch.first_mes))


def _line(payload: object) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


async def _chunks(events: AsyncIterator[TurnEvent], *, model: str, mode: HistoryMode,
                  include_usage: bool) -> AsyncIterator[bytes]:
    """The turn's events as OpenAI's stream: the role, the text, ``finish_reason``, usage, ``[DONE]``."""
    cid, created = f"chatcmpl-{new_id()}", int(time.time())

    def chunk(choices: list[ChunkChoice], usage: CompletionUsage | None = None,
              companion: TurnInfo | None = None) -> bytes:
        return _line(ChatCompletionChunk(id=cid, created=created, model=model, choices=choices, usage=usage,
                                         companion=companion).model_dump(mode="json"))

    yield chunk([ChunkChoice(delta=Delta(role="assistant", content=""))])
    async for event in events:
        if isinstance(event, TurnDelta):
            yield chunk([ChunkChoice(delta=Delta(content=event.text))])
        elif isinstance(event, TurnDone):
            yield chunk([ChunkChoice(delta=Delta(), finish_reason="stop")], companion=_info(event, mode))
            if include_usage:
                yield chunk([], usage=_usage(event))
            yield _DONE_LINE
        else:
            yield _line(stream_error(event))


def openai_app(c: Callable[[], Container], *, identity_of: Callable[[Request], Identity],
               begin_turn: BeginTurn) -> Starlette:
    """The app mounted at ``/v1``: a sub-app so that its errors (unknown routes included) have OpenAI's shape."""

    async def list_models(request: Request) -> Response:
        chars = await c().characters.visible(identity_of(request).user_id)
        return JSONResponse(ModelList(data=[_model(ch) for ch in chars]).model_dump(mode="json"))

    async def get_model(request: Request) -> Response:
        found = await c().characters.get(request.path_params["model"], user_id=identity_of(request).user_id)
        return JSONResponse(_model(found.character).model_dump(mode="json"))

    async def completions(request: Request) -> Response:
        identity = identity_of(request)
        body = await parse_body(request, ChatCompletionRequest, max_bytes=MAX_BODY_BYTES)
        mode = body.companion.history
        message, client = client_context(body)
        turn = await begin_turn(request, identity, body.model, message, client)
        events = guarded(c().chat.stream(turn))
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(_chunks(events, model=body.model, mode=mode, include_usage=include_usage),
                                     media_type="text/event-stream", headers=STREAM_HEADERS)
        parts: list[str] = []
        async for event in events:
            if isinstance(event, TurnDelta):
                parts.append(event.text)
            elif isinstance(event, TurnFailed):
                return failed_turn_response(event)
            else:
                completion = ChatCompletion(
                    id=f"chatcmpl-{new_id()}", created=int(time.time()), model=body.model,
                    choices=[Choice(message=AssistantMessage(content="".join(parts)))], usage=_usage(event),
                    companion=_info(event, mode))
                return JSONResponse(completion.model_dump(mode="json"))
        raise AssertionError("a guarded turn ends with done or failed")

    app = Starlette(routes=[Route("/models", list_models, methods=["GET"]),
                            Route("/models/{model}", get_model, methods=["GET"]),
                            Route("/chat/completions", completions, methods=["POST"])],
                    exception_handlers=openai_exception_handlers())
    return app
