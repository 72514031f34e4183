"""The chat function's OpenAPI 3.1 document, built from the routes' pydantic models on first request.

Imported only when ``/openapi.json`` is asked for, never on the chat function's cold start.
The project's routes answer errors as ``{"error": {"code", "message"}}``; the ``/v1`` routes in
OpenAI's shape. Models here describe JSON the routes build as dicts (history, session end, the
SSE events); the requests and the OpenAI shapes are the models the routes themselves use.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from .chat_app import ChatRequest, StartRequest
from .openai_models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ErrorBody,
    MemoryUsedInfo,
    ModelList,
    ModelObject,
)
from .web import DevTokenRequest

_REF = "#/components/schemas/{model}"


class StreamDelta(BaseModel):
    """``event: message``: a piece of the reply."""

    content: str
    done: Literal[False] = False


class StreamDone(BaseModel):
    """``event: message`` with ``done: true``: the reply is complete and stored (the stream's last event)."""

    content: Literal[""] = ""
    done: Literal[True] = True
    message_id: str
    model: str = Field(description="the model of the chain that answered (`canned`: every model was down)")
    session_id: str
    usage: dict[str, Any] | None
    memories: int = Field(description="long-term memories put in the prompt")
    memory_sources: list[str] = Field(description="the retrieval channels that answered (`knn`, `bm25`, `dynamodb`)")
    memories_used: list[MemoryUsedInfo] = Field(description=(
        "the memories put in the prompt, in prompt order: show \"remembered: …\" and correct or delete one with "
        "`PATCH`/`DELETE /api/v1/memory/items/{id}` on the memory API"))
    recall_ms: float
    failovers: int
    degraded: list[str]


class StreamError(BaseModel):
    """``event: error``: the turn failed after the stream started (the stream's last event)."""

    error: str
    code: str


class HistoryMessage(BaseModel):
    msg_id: str
    role: Literal["user", "assistant"]
    content: str
    timestamp: float
    session_id: str
    seq: int


class HistoryPage(BaseModel):
    character_id: str
    messages: list[HistoryMessage] = Field(description="oldest first")
    next_before_seq: int | None = Field(description="pass as `before_seq` for the page before")


class HistoryCleared(BaseModel):
    character_id: str
    deleted_messages: int


class Greeting(HistoryMessage):
    greeting_index: int = Field(description="0: the card's `first_mes`; i: `alternate_greetings[i-1]`")


class SessionStarted(BaseModel):
    character_id: str
    greeting: Greeting | None = Field(description=(
        "the conversation's first message: its greeting (null when the character has none, or the "
        "conversation began without one)"))
    created: bool = Field(description="this call stored the greeting (false: the conversation had begun)")
    can_change: bool = Field(description=(
        "the greeting is still the only message: start again with another `greeting_index` to replace it"))
    greetings: int = Field(description="how many greetings the character has")


class SessionEnded(BaseModel):
    character_id: str
    ended: bool
    task_id: str | None
    messages: int = Field(description="messages sent to long-term memory")


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class Error(BaseModel):
    error: ErrorInfo


def _json(schema: str, description: str = "") -> dict[str, Any]:
    return {"description": description or "OK", "content": {"application/json": {"schema": {"$ref": _REF.format(
        model=schema)}}}}


def _errors(*statuses: int, openai: bool = False) -> dict[str, Any]:
    schema = "ErrorBody" if openai else "Error"
    return {str(s): _json(schema, "error") for s in statuses}


def _query(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


_CHARACTER = _query("character_id", "the character", {"type": "string"}, required=True)
_SSE = ("Server-Sent Events: `event: message` lines (StreamDelta) and a last `done` message (StreamDone) "
        "or `event: error` (StreamError).")
_CHUNKS = ("With `stream: true`: Server-Sent Events, one `data: <ChatCompletionChunk>` each, then `data: [DONE]`; "
           "a failure after the start is `data: <ErrorBody>`.")


def _paths(local: bool) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "ok"}}}},
        "/api/v1/chat/stream": {"post": {
            "summary": "One chat turn, streamed", "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": _REF.format(model="ChatRequest")}}}},
            "responses": {"200": {"description": _SSE, "content": {"text/event-stream": {"schema": {
                "$ref": _REF.format(model="StreamDone")}}}}, **_errors(400, 401, 404, 413, 415, 422, 429, 503)}}},
        "/api/v1/chat/history": {
            "get": {"summary": "A page of the conversation's messages", "parameters": [
                _CHARACTER, _query("limit", "1-200 (50)", {"type": "integer", "minimum": 1, "maximum": 200}),
                _query("before_seq", "the page before this position", {"type": "integer", "minimum": 1})],
                "responses": {"200": _json("HistoryPage"), **_errors(401, 422, 503)}},
            "delete": {"summary": "Delete the conversation's messages", "parameters": [_CHARACTER],
                       "responses": {"200": _json("HistoryCleared"), **_errors(401, 422, 503)}}},
        "/api/v1/chat/sessions/{character_id}/start": {"post": {
            "summary": "Start the conversation: the character's greeting as its first message (idempotent)",
            "description": "A new conversation gets the chosen greeting (macros replaced; a remembered date a few "
                           "days away may follow it) in its history, once however many calls race. A begun "
                           "conversation keeps its greeting, which is returned. The body is optional.",
            "parameters": [{"name": "character_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "$ref": _REF.format(model="StartRequest")}}}},
            "responses": {"200": _json("SessionStarted"), **_errors(400, 401, 404, 415, 422, 503)}}},
        "/api/v1/chat/sessions/{character_id}/end": {"post": {
            "summary": "End the session: its messages go to long-term memory",
            "parameters": [{"name": "character_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("SessionEnded"), **_errors(401, 422, 503)}}},
        "/v1/models": {"get": {"summary": "OpenAI-compatible: the characters you can talk to",
                               "responses": {"200": _json("ModelList"), **_errors(401, openai=True)}}},
        "/v1/models/{model}": {"get": {
            "summary": "OpenAI-compatible: one character",
            "parameters": [{"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("ModelObject"), **_errors(401, 404, openai=True)}}},
        "/v1/chat/completions": {"post": {
            "summary": "OpenAI-compatible chat completion (`model` = character id)",
            "description": "The last message is the new turn. `companion.history` chooses whose history is used; "
                           "only the new message and the reply are stored.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": _REF.format(model="ChatCompletionRequest")}}}},
            "responses": {"200": {"description": _CHUNKS, "content": {
                "application/json": {"schema": {"$ref": _REF.format(model="ChatCompletion")}},
                "text/event-stream": {"schema": {"$ref": _REF.format(model="ChatCompletionChunk")}}}},
                **_errors(400, 401, 404, 413, 415, 429, 502, 503, openai=True)}}},
    }
    if local:
        paths["/dev/token"] = {"post": {
            "summary": "Local stack only: a development token for a name", "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": _REF.format(model="DevTokenRequest")}}}},
            "responses": {"200": {"description": "`{\"user\", \"token\"}`"}, **_errors(400, 422)}}}
    return paths


_REQUESTS: list[type[BaseModel]] = [ChatRequest, StartRequest, ChatCompletionRequest, DevTokenRequest]
_RESPONSES: list[type[BaseModel]] = [StreamDelta, StreamDone, StreamError, HistoryPage, HistoryCleared, SessionStarted,
                                     SessionEnded,
                                     Error, ModelList, ModelObject, ChatCompletion, ChatCompletionChunk, ErrorBody]


@cache
def chat_openapi(*, local: bool) -> dict[str, Any]:
    """The document (built once per process: the models do not change)."""
    _, schemas = models_json_schema([(m, "validation") for m in _REQUESTS] + [(m, "serialization") for m in _RESPONSES],
                                    ref_template=_REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Companion chat function", "version": "1",
                 "description": "Streaming chat turns, history, session start and end; OpenAI-compatible `/v1` routes. "
                                "Authenticate with `Authorization: Bearer <token>` (`make token USER=alice`)."},
        "components": {"schemas": schemas.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}],
        "paths": _paths(local),
    }
