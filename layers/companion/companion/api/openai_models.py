"""The OpenAI Chat Completions shapes the OpenAI-compatible routes read and write (``openai_api.py``).

Requests accept what OpenAI-style clients send (unknown fields are accepted and ignored, as an
SDK or a front-end may add its own); responses carry Companion's extras in ``companion``, a
field the SDKs keep but do not need.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .requests import ID_PATTERN

# The client's messages: enough for a long front-end chat, bounded like everything else.
MAX_MESSAGES = 1000
HistoryMode = Literal["server", "client"]


def _absent(value: Any) -> bool:
    return value is None


class _Model(BaseModel):
    # Validators and serializers are built on first use, not at import: the chat function's
    # cold start does not pay for routes most environments never serve.
    model_config = ConfigDict(defer_build=True)


# ------------------------------------------------------------------ request


class ContentPart(_Model):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class InputMessage(_Model):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, … are accepted and ignored

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class StreamOptions(_Model):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class CompanionOptions(_Model):
    model_config = ConfigDict(extra="forbid")

    history: HistoryMode = Field(default="server", description=(
        "`server` (default): Companion's short-term window is the history and the client's earlier turns "
        "are ignored. `client`: the client's user/assistant messages are the history instead. "
        "Either way only the last user message and the reply are stored. In `server` mode a new "
        "conversation begins with the character's greeting, as on the chat app's own route."))
    time_zone: str | None = Field(default=None, max_length=64, examples=["Asia/Shanghai"], description=(
        "the user's IANA time zone, for the date and time the character is told; absent or unknown here: "
        "the character's, else UTC"))


_IGNORED = "accepted and ignored"


class ChatCompletionRequest(_Model):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "model": "xiaoyu", "stream": True,
        "messages": [{"role": "system", "content": "Keep replies under three sentences."},
                     {"role": "user", "content": "你好，我叫小林"}],
        "stream_options": {"include_usage": True}, "companion": {"history": "server"}}]})

    model: str = Field(pattern=ID_PATTERN, description="a character id (`GET /v1/models`)")
    messages: list[InputMessage] = Field(min_length=1, max_length=MAX_MESSAGES, description=(
        "the last one is the new turn: role `user`, visible text. System (and developer) messages are "
        "added to the character's prompt as extra instructions."))
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, description="lowers the reply budget (1024), never raises it")
    max_completion_tokens: int | None = Field(default=None, ge=1, description="the same as `max_tokens`")
    temperature: float | None = Field(default=None, ge=0, le=2)
    n: int | None = Field(default=None, ge=1, le=1, description="one reply per turn: only 1")
    companion: CompanionOptions = Field(default_factory=lambda: CompanionOptions())
    top_p: Any = Field(default=None, description=_IGNORED)
    frequency_penalty: Any = Field(default=None, description=_IGNORED)
    presence_penalty: Any = Field(default=None, description=_IGNORED)
    stop: Any = Field(default=None, description=_IGNORED)
    seed: Any = Field(default=None, description=_IGNORED)
    logit_bias: Any = Field(default=None, description=_IGNORED)
    user: Any = Field(default=None, description=f"{_IGNORED}: the user is the token's subject")
    tools: Any = Field(default=None, description=_IGNORED)
    tool_choice: Any = Field(default=None, description=_IGNORED)
    response_format: Any = Field(default=None, description=_IGNORED)


# ------------------------------------------------------------------ responses


class CompletionUsage(_Model):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class MemoryUsedInfo(_Model):
    """A long-term memory that went into the prompt (``chat.events.MemoryUsed``), so a client can show
    "remembered: …" and let the person correct it through the memory API."""

    id: str = Field(description=(
        "the memory API's `item_id`: `PATCH`/`DELETE /api/v1/memory/items/{id}` correct or delete it. A fact's, "
        "event's or summary's record id; for a raw turn the id of its search document (editing it changes what "
        "is searched and recalled, the chat history keeps what was said)"))
    type: Literal["fact", "event", "summary", "turn"]
    date: str = Field(description="yyyy-mm-dd the prompt dates it by: when a fact's value was set, a turn was said, "
                                  "a summary's conversation ended, an event was last mentioned")
    text: str = Field(description="what the prompt quoted (shortened)")
    event_date: str | None = Field(default=None, description="an event's own date")
    status: Literal["current", "older"] | None = Field(default=None, description=(
        "`current`: a fact corrected or updated since older text in this prompt said otherwise; `older`: text "
        "written before such a change (the prompt tells the model the current fact wins)"))
    turn_ids: list[str] = Field(default_factory=list, description=(
        "a turn recalled with its neighbouring turns: the `item_id` of each turn shown"))


class TurnInfo(_Model):
    """Companion's extras about the turn (the `done` event of `/api/v1/chat/stream`)."""

    message_id: str = Field(description="the stored reply's id (chat history)")
    session_id: str
    llm_model: str = Field(description="the model of the chain that answered (`canned`: every model was down)")
    memories: int = Field(description="long-term memories put in the prompt")
    memory_sources: list[str] = Field(description="the retrieval channels that answered (`knn`, `bm25`, `dynamodb`)")
    memories_used: list[MemoryUsedInfo] = Field(default_factory=list,
                                                description="the memories put in the prompt, in prompt order")
    recall_ms: float
    failovers: int
    degraded: list[str] = Field(description="what was unavailable during the turn")
    history: HistoryMode


class AssistantMessage(_Model):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(_Model):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(_Model):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = Field(description="the character id")
    choices: list[Choice]
    usage: CompletionUsage
    companion: TurnInfo


class Delta(_Model):
    role: Literal["assistant"] | None = Field(default=None, exclude_if=_absent)
    content: str | None = Field(default=None, exclude_if=_absent)


class ChunkChoice(_Model):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(_Model):
    """One `data:` line of a stream; the last chunk with a choice carries `finish_reason` and
    `companion`, and with `stream_options.include_usage` a chunk with `choices: []` and `usage` follows."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = Field(default=None, exclude_if=_absent)
    companion: TurnInfo | None = Field(default=None, exclude_if=_absent)


class CharacterInfo(_Model):
    name: str
    language: str
    greeting: str = Field(description="the character's first message")


class ModelObject(_Model):
    id: str = Field(description="the character id")
    object: Literal["model"] = "model"
    created: int
    owned_by: str = Field(description="`companion` (built-in) or `user` (your own character)")
    companion: CharacterInfo


class ModelList(_Model):
    object: Literal["list"] = "list"
    data: list[ModelObject]


class ErrorDetail(_Model):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(_Model):
    error: ErrorDetail
