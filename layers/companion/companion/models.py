"""Domain models shared by every function (pydantic v2)."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["user", "assistant", "system"]


def now_s() -> float:
    return time.time()


def new_id() -> str:
    return uuid.uuid4().hex


class ChatMessage(BaseModel):
    """One message of a conversation, as stored in the short-term window (seed 003 §2.1)."""

    msg_id: str = Field(default_factory=new_id)
    role: Role
    content: str
    timestamp: float = Field(default_factory=now_s)
    token_count: int = 0
    session_id: str = ""
    seq: int = 0  # position in the durable message log (0 = not yet logged)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Character(BaseModel):
    """A character card. Fields follow Character Card V2 where they overlap."""

    character_id: str
    name: str
    description: str = ""
    personality: str = ""
    scenario: str = ""
    system_prompt: str = ""
    first_mes: str = ""
    mes_example: str = ""
    post_history_instructions: str = ""
    language: Literal["zh", "en", "auto"] = "auto"
    canned_reply_zh: str = "抱歉，我现在有点走神了，稍后再和你聊好吗？"
    canned_reply_en: str = "Sorry, I'm having trouble thinking right now. Can we talk again in a moment?"
    owner_id: str | None = None  # None: built-in, visible to everyone
    character_book: list[dict[str, Any]] = Field(default_factory=list)
    updated_at: float = Field(default_factory=now_s)

    def canned_reply(self, lang: str) -> str:
        return self.canned_reply_zh if lang == "zh" else self.canned_reply_en


class RecalledMemory(BaseModel):
    """One long-term memory chosen for a prompt."""

    memory_id: str
    memory_type: Literal["turn", "summary", "event", "profile"]
    content: str
    timestamp: float
    score: float = 0.0
    importance: float = 5.0
    source: str = ""  # knn | bm25 | profile | events | neighbours
    metadata: dict[str, Any] = Field(default_factory=dict)


class RecallResult(BaseModel):
    """What long-term recall gives one turn: the chosen memories and their prompt block."""

    memories: list[RecalledMemory] = Field(default_factory=list)
    block: str = ""  # the rendered prompt block
    sources: list[str] = Field(default_factory=list)
    degraded: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0


TaskTrigger = Literal["threshold", "session_end", "idle", "ttl_guard", "manual"]


class MemoryTask(BaseModel):
    """A conversation segment to turn into long-term memory (one SQS FIFO message).

    ``from_seq``/``to_seq`` (inclusive) are the message-log positions the task covers;
    the claim on that range is what makes memory generation exactly-once per message.
    A segment too large for SQS travels in S3: ``messages`` is then empty and
    ``segment_s3_key`` points at it.
    """

    task_id: str
    user_id: str
    character_id: str
    session_id: str
    trigger: TaskTrigger
    from_seq: int
    to_seq: int
    messages: list[ChatMessage] = Field(default_factory=list)
    # The message just before ``from_seq`` (when there is one): context for embedding the
    # segment's first turn only; it belongs to the previous task and is never extracted again.
    context_before: list[ChatMessage] = Field(default_factory=list)
    segment_s3_key: str | None = None
    created_at: float = Field(default_factory=now_s)


class RateDecision(BaseModel):
    allowed: bool
    retry_after_s: int = 0
    remaining: int = 0
