"""Domain models shared by every function (pydantic v2)."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class Lorebook(BaseModel):
    """A card's ``character_book`` apart from its entries (which are ``Character.character_book``).

    Fields no spec names are kept (``extra="allow"``) so an export gives them back.
    """

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    description: str | None = None
    scan_depth: int | float | None = None
    token_budget: int | float | None = None
    recursive_scanning: bool | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)


class CardAsset(BaseModel):
    """One entry of a V3 card's ``assets`` (an icon, background, emotion…; its bytes are not kept)."""

    model_config = ConfigDict(extra="allow")

    type: str
    uri: str
    name: str = ""
    ext: str = ""


class AvatarRef(BaseModel):
    """Where a character's avatar image is: a PNG (card chunks removed) in the object store."""

    key: str  # the object key; the bytes live in the store, never in the character item
    content_type: str = "image/png"
    size: int  # bytes
    sha256: str
    width: int
    height: int


class CardOrigin(BaseModel):
    """The card a character was imported from: its spec and what of it no spec field holds.

    ``extra``: unknown keys of the card's ``data`` (of a V1 card: none); ``envelope``: unknown
    keys beside ``spec``/``spec_version``/``data`` (SillyTavern's top-level copies of the V1
    fields, a V1 card's own extras). Both come back unchanged on export.
    """

    spec: Literal["chara_card_v1", "chara_card_v2", "chara_card_v3"]
    spec_version: str = ""
    imported_at: float = Field(default_factory=now_s)
    extra: dict[str, Any] = Field(default_factory=dict)
    envelope: dict[str, Any] = Field(default_factory=dict)


class Character(BaseModel):
    """A character: the fields of Character Card V2/V3 plus what Companion adds.

    Card fields keep the specs' names and JSON shapes; ``character_book`` holds the lorebook's
    entries exactly as the card has them (every field, ``extensions`` included; read them
    through ``companion.cards.lorebook``) and ``lorebook`` the book's other fields.
    ``companion.cards`` imports and exports cards losslessly.
    """

    character_id: str
    name: str
    description: str = ""
    personality: str = ""
    scenario: str = ""
    system_prompt: str = ""
    first_mes: str = ""
    mes_example: str = ""
    post_history_instructions: str = ""
    alternate_greetings: list[str] = Field(default_factory=list)
    group_only_greetings: list[str] = Field(default_factory=list)
    nickname: str | None = None  # V3: what {{char}} says instead of the name
    tags: list[str] = Field(default_factory=list)
    creator: str = ""
    creator_notes: str = ""  # for people, never for the prompt
    creator_notes_multilingual: dict[str, str] | None = None
    character_version: str = ""
    source: list[str] | None = None
    creation_date: int | float | None = None  # unix seconds, as the card says
    modification_date: int | float | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    assets: list[CardAsset] | None = None
    character_book: list[dict[str, Any]] = Field(default_factory=list)
    lorebook: Lorebook | None = None  # None: the card had no character_book
    language: Literal["zh", "en", "auto"] = "auto"
    time_zone: str | None = None  # IANA zone for {{time}} and the clock when the client sends none
    canned_reply_zh: str = "抱歉，我现在有点走神了，稍后再和你聊好吗？"
    canned_reply_en: str = "Sorry, I'm having trouble thinking right now. Can we talk again in a moment?"
    owner_id: str | None = None  # None: built-in, visible to everyone
    avatar: AvatarRef | None = None
    card: CardOrigin | None = None  # None: made in Companion, not imported
    updated_at: float = Field(default_factory=now_s)

    def canned_reply(self, lang: str) -> str:
        return self.canned_reply_zh if lang == "zh" else self.canned_reply_en

    @property
    def display_name(self) -> str:
        """What ``{{char}}`` becomes: the V3 nickname when there is one, else the name."""
        return self.nickname or self.name

    @property
    def greetings(self) -> list[str]:
        """``first_mes`` then the alternate greetings: index 0 is the default greeting (V3 ``@@is_greeting``)."""
        return [self.first_mes, *self.alternate_greetings]


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
    user_name: str | None = None  # what the user is called, from their profile facts ({{user}} in the card)


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
