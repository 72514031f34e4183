"""One chat turn, from an admitted request to its closing event (``chat/events.py``).

Everything the turn must write happens before the stream's last event: Lambda freezes the
environment once the response ends, so there is no work after it (no fire-and-forget).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..characters import CharacterService
from ..config import Settings
from ..errors import RateLimited, StoreUnavailable, Unavailable
from ..llm.chain import ChainEvent, LLMChain
from ..memory.recall.intent import needs_context
from ..memory.scheduler import MemoryTaskScheduler
from ..models import Character, ChatMessage, RecallResult, new_id
from ..observability import logger
from ..ports import MemoryRepository, MessageLog, RateLimiter, Recaller, ShortTermStore, Telemetry
from ..text import detect_language, estimate_tokens
from .events import TurnDelta, TurnDone, TurnEvent, TurnFailed, memories_used
from .greetings import GREETING, greeting_index, is_greeting
from .macros import MacroContext, resolve_zone, user_name
from .opening import ConversationOpener, Opening
from .prompt import DEFAULT_TEMPERATURE, REPLY_MAX_TOKENS, build_prompt, default_main_prompt


@dataclass(frozen=True)
class ClientContext:
    """What a client app (the OpenAI-compatible route) brings to a turn besides the message.

    Only the message and the reply are stored, whatever history the client sent.
    """

    instructions: str = ""  # extra instructions, ranked below the character's
    history: list[ChatMessage] | None = None  # None: the server's short-term window is the history
    max_tokens: int | None = None  # may lower the reply budget, never raise it (each token is paid for)
    temperature: float | None = None
    time_zone: str | None = None  # the user's IANA zone; None or unknown: the character's, else UTC


@dataclass
class PreparedTurn:
    user_id: str
    character: Character
    message: str
    language: str
    degraded: list[str] = field(default_factory=list)
    client: ClientContext = field(default_factory=ClientContext)
    display_name: str | None = None  # the token's name for the user ({{user}} when memory knows none)


@dataclass
class Window:
    """The conversation as a turn finds it."""

    messages: list[ChatMessage]  # oldest first
    session_id: str
    degraded: list[str] = field(default_factory=list)
    last_user_at: float | None = None  # the user's newest message so far (the idle time counts from it)
    new: bool = False  # no message anywhere yet: the greeting opens it


class ChatService:
    def __init__(self, *, settings: Settings, characters: CharacterService, short_term: ShortTermStore,
                 message_log: MessageLog, chain: LLMChain, scheduler: MemoryTaskScheduler,
                 rate_limiter: RateLimiter | None, telemetry: Telemetry, recaller: Recaller | None = None,
                 memory: MemoryRepository | None = None) -> None:
        self.s = settings
        self.characters = characters
        self.short_term = short_term
        self.log = message_log
        self.chain = chain
        self.scheduler = scheduler
        self.rate_limiter = rate_limiter
        self.telemetry = telemetry
        self.recaller = recaller
        self.opener = ConversationOpener(settings=settings, short_term=short_term, message_log=message_log,
                                         memory=memory, telemetry=telemetry)

    # -- admission --------------------------------------------------------------------------

    async def admit(self, user_id: str) -> None:
        """Per-user and global sliding windows; Redis down → allow (seed 000 §6.4)."""
        if self.rate_limiter is None:
            return
        try:
            user, glob = await self.rate_limiter.hit_many(
                [(f"user:{user_id}", self.s.rate_limit_user_per_minute, 60),
                 ("global", self.s.rate_limit_global_per_second, 1)])
            if not user.allowed:
                self.telemetry.count("RateLimited")
                raise RateLimited("too many messages, please slow down", code="rate_limited",
                                  headers={"Retry-After": str(user.retry_after_s)})
            if not glob.allowed:
                self.telemetry.count("Overloaded")
                raise Unavailable("the service is busy, please retry shortly", code="overloaded",
                                  headers={"Retry-After": str(glob.retry_after_s)})
        except StoreUnavailable:
            self.telemetry.count("Degraded.RateLimit")

    async def prepare(self, user_id: str, character_id: str, message: str, client: ClientContext | None = None,
                      *, display_name: str | None = None) -> PreparedTurn:
        found = await self.characters.get(character_id, user_id=user_id)
        char = found.character
        default_lang = char.language if char.language != "auto" else "en"
        return PreparedTurn(user_id=user_id, character=char, message=message,
                            language=detect_language(message, default=default_lang),
                            degraded=["character_store"] if found.degraded else [], client=client or ClientContext(),
                            display_name=display_name)

    # -- a conversation's start ---------------------------------------------------------------

    async def start(self, user_id: str, character_id: str, *, greeting: int | None = None,
                    time_zone: str | None = None, language: str | None = None,
                    display_name: str | None = None) -> Opening:
        """Open the conversation with the character's greeting (``greeting``: its index, default the first).

        Idempotent: a conversation that has begun keeps its greeting, which is returned (None when it
        began without one). While the greeting is its only message, another ``greeting`` replaces it.
        """
        char = (await self.characters.get(character_id, user_id=user_id)).character
        chosen = greeting_index(char, greeting)  # an index the card does not have is a 400 before anything is read
        count = sum(1 for g in char.greetings if g.strip())
        lang = language or (char.language if char.language != "auto" else detect_language(char.first_mes))
        zone = resolve_zone(time_zone, char.time_zone)

        async def open_with(session_id: str) -> ChatMessage | None:
            opened, degraded = await self.opener.open(user_id, char, session_id, index=greeting, language=lang,
                                                      zone=zone, display_name=display_name, now=time.time())
            if "dynamodb" in degraded:
                raise StoreUnavailable("dynamodb: the greeting could not be logged")
            return opened

        window = await self._load_history(user_id, character_id, limit=2)
        if "dynamodb" in window.degraded and not window.messages:
            raise StoreUnavailable("dynamodb: whether the conversation has begun is unknown")
        if window.new:
            opened = await open_with(window.session_id)
            if opened is not None:
                return Opening(opened, created=True, can_change=True, greetings=count)
            if chosen is None:
                return Opening(None, created=False, can_change=False, greetings=count)
            window = await self._load_history(user_id, character_id, limit=2)  # another opener came first
        only = window.messages[0] if len(window.messages) == 1 and is_greeting(window.messages[0]) else None
        if only is not None and greeting is not None and greeting != only.metadata.get(GREETING):
            await self.opener.forget_greeting(user_id, character_id)
            opened = await open_with(new_id())
            return Opening(opened, created=opened is not None, can_change=opened is not None, greetings=count)
        if only is not None:
            return Opening(only, created=False, can_change=True, greetings=count)
        first = await self.opener.first_greeting(user_id, character_id, window.messages)
        return Opening(first, created=False, can_change=False, greetings=count)

    # -- the stream -------------------------------------------------------------------------

    async def stream(self, turn: PreparedTurn) -> AsyncIterator[TurnEvent]:
        started = time.perf_counter()
        user_id, char = turn.user_id, turn.character
        degraded = list(turn.degraded)
        self.telemetry.count("Turns")

        # The window is loaded in every mode: it holds the session id, and the turn is appended to it.
        client = turn.client
        zone = resolve_zone(client.time_zone, char.time_zone)
        history_task = asyncio.create_task(self._load_history(user_id, char.character_id))
        recall_task = asyncio.create_task(self._recall(turn, history_task)) if self.recaller else None
        window = await history_task
        session_id, history = window.session_id, window.messages
        degraded += window.degraded
        if window.new and client.history is None:
            # The first turn of a conversation nobody started: its greeting comes first (while recall runs).
            greeting, opened_degraded = await self.opener.open(
                user_id, char, session_id, index=None, language=turn.language, zone=zone,
                display_name=turn.display_name, now=time.time())
            history = [greeting] if greeting is not None else history
            degraded += opened_degraded
        recall = await recall_task if recall_task else RecallResult()
        degraded += recall.degraded

        context = MacroContext.at(
            char=char.display_name, user=user_name(recall.user_name, turn.display_name, language=turn.language),
            when=time.time(), zone=zone, language=turn.language, last_user_message_at=window.last_user_at,
            values={"original": default_main_prompt(char)})
        prompt = build_prompt(char, history, turn.message, language=turn.language, context=context,
                              memories=recall.memories, memory_block=recall.block, instructions=client.instructions,
                              client_history=client.history, max_history_messages=self.s.prompt_history_messages,
                              max_history_tokens=self.s.prompt_history_tokens,
                              max_tokens=min(client.max_tokens or REPLY_MAX_TOKENS, REPLY_MAX_TOKENS),
                              temperature=DEFAULT_TEMPERATURE if client.temperature is None else client.temperature)
        user_msg = ChatMessage(role="user", content=turn.message, token_count=estimate_tokens(turn.message),
                               session_id=session_id)
        parts: list[str] = []
        final: ChainEvent | None = None
        failure: ChainEvent | None = None
        persisted = False
        try:
            async with self.telemetry.span("model"):
                async for event in self.chain.stream(prompt, canned=char.canned_reply(turn.language)):
                    if event.kind == "delta":
                        if not parts and event.text:
                            self.telemetry.millis("TimeToFirstToken", (time.perf_counter() - started) * 1000)
                        parts.append(event.text)
                        yield TurnDelta(event.text)
                    elif event.kind == "done":
                        final = event
                    else:
                        failure = event
                        break
            reply = "".join(parts)
            last = final or failure
            usage = last.usage if last else None
            assistant_msg = ChatMessage(
                role="assistant", content=reply, session_id=session_id,
                token_count=(usage.completion_tokens if usage and usage.completion_tokens else estimate_tokens(reply)),
                metadata={"model": last.model if last else "", **({"interrupted": True} if failure else {})})
            async with self.telemetry.span("persist"):
                degraded += await self._persist(user_id, char.character_id, session_id, [user_msg, assistant_msg])
            persisted = True
            if failure is not None:
                self.telemetry.count("StreamErrors")
                yield TurnFailed(failure.code or "model_error", failure.error or "the model stopped unexpectedly")
                return
            assert final is not None
            self.telemetry.millis("TurnLatency", (time.perf_counter() - started) * 1000)
            yield TurnDone(
                message_id=assistant_msg.msg_id, model=final.model, session_id=session_id, usage=final.usage,
                memories=len(recall.memories), memory_sources=list(recall.sources),
                memories_used=memories_used(recall.memories, resolve_zone(self.s.recall_timezone)),
                recall_ms=round(recall.latency_ms, 1), failovers=final.failovers,
                degraded=sorted(set(degraded)))
        finally:
            if not persisted:
                # The client went away mid-stream: still keep what was said.
                with anyio.CancelScope(shield=True):
                    reply = "".join(parts)
                    partial = ChatMessage(role="assistant", content=reply, session_id=session_id,
                                          token_count=estimate_tokens(reply), metadata={"interrupted": True})
                    await self._persist(user_id, char.character_id, session_id, [user_msg, partial])

    async def _load_history(self, user_id: str, character_id: str, limit: int | None = None) -> Window:
        """The short-term window and the session id; Redis down → the durable log's tail.

        An empty window is a new conversation or one idle beyond the window's TTL: the log's
        conversation record tells which, and when the user last wrote.
        """
        now = time.time()
        idle_s = self.s.session_idle_minutes * 60
        limit = limit or self.s.prompt_history_messages
        try:
            window, meta = await self.short_term.load(user_id, character_id, limit)
            sid = meta.get("session_id", "")
            last = float(meta.get("last_active_at", 0) or 0)
            if not sid or meta.get("state") == "ENDED" or now - last > idle_s:
                sid = new_id()
            if window:
                return Window(window, sid, last_user_at=_last_user_at(window))
            try:
                conv = await self.log.conversation(user_id, character_id)
            except StoreUnavailable:
                return Window([], sid, ["dynamodb"])  # unknown: not opened, rather than greeted twice
            return Window([], sid, last_user_at=_last_active(conv), new=conv is None)
        except StoreUnavailable:
            self.telemetry.count("Degraded.Redis")
        try:
            conv = await self.log.conversation(user_id, character_id)
            record = conv or {}
            sid = str(record.get("session_id") or "")
            if not sid or record.get("state") == "ENDED" or now - float(record.get("last_active_at", 0)) > idle_s:
                sid = new_id()
            tail = await self.log.history(user_id, character_id, limit=min(20, limit))
            last_at = _last_user_at(tail) or _last_active(conv)
            return Window(tail, sid, ["redis"], last_user_at=last_at, new=conv is None and not tail)
        except StoreUnavailable:
            return Window([], new_id(), ["redis", "dynamodb"])

    async def _recall(self, turn: PreparedTurn, history_task: asyncio.Task[Window]) -> RecallResult:
        assert self.recaller is not None
        try:
            # Recall runs beside the window load, except for a follow-up that needs the recent words
            # (already here when the client sent the history).
            history: list[ChatMessage] = []
            if needs_context(turn.message):
                history = turn.client.history if turn.client.history is not None else (await history_task).messages
            # The recaller keeps its own per-source budget and returns what it has; this outer
            # limit is only a safety net against a recaller that ignores its budget.
            async with self.telemetry.span("recall"):
                return await asyncio.wait_for(
                    self.recaller.recall(turn.user_id, turn.character.character_id, turn.message, history=history,
                                         language=turn.language), timeout=self.s.recall_budget_ms / 1000 + 0.5)
        except TimeoutError:
            self.telemetry.count("Degraded.RecallTimeout")
            return RecallResult(degraded=["recall_timeout"])
        except Exception:  # recall is an enhancement; it never fails a turn
            logger.exception("recall failed")
            return RecallResult(degraded=["recall"])

    async def _persist(self, user_id: str, character_id: str, session_id: str,
                       messages: list[ChatMessage]) -> list[str]:
        """Window and durable log; whichever fails degrades, and a turn is never dropped silently."""
        degraded: list[str] = []
        spooled = 0
        try:
            spooled = await self.short_term.append(user_id, character_id, messages)
        except StoreUnavailable:
            degraded.append("redis")
            self.telemetry.count("Degraded.Redis")
        try:
            if spooled:  # turns an earlier outage of the log kept in Redis go first, in order
                await self._flush_spool(user_id, character_id)
            result = await self.log.append(user_id, character_id, session_id, messages)
        except StoreUnavailable:
            degraded.append("dynamodb")
            self.telemetry.count("Degraded.MessageLog")
            try:
                await self.short_term.spool_unlogged(user_id, character_id, session_id, messages)
                logger.warning("turn kept in redis until the message log is back",
                               extra={"user_id": user_id, "character_id": character_id})
            except StoreUnavailable:
                self.telemetry.count("TurnLost")
                logger.error("turn could not be stored anywhere",
                             extra={"user_id": user_id, "character_id": character_id, "session_id": session_id})
            return degraded
        if result.next_seq - result.processed_upto >= self.scheduler.threshold:
            try:
                task = await self.scheduler.schedule(user_id, character_id, "threshold", appended=result)
                if task:
                    self.telemetry.count("MemoryTasks.Threshold")
            except StoreUnavailable:
                degraded.append("memory_queue")  # the sweeper picks the range up later
        return degraded

    async def _flush_spool(self, user_id: str, character_id: str) -> None:
        spooled = await self.short_term.take_unlogged(user_id, character_id)
        for i, (sid, msg) in enumerate(spooled):
            try:
                await self.log.append(user_id, character_id, sid, [msg])
            except StoreUnavailable:
                rest = spooled[i:]
                for rsid, rmsg in rest:
                    await self.short_term.spool_unlogged(user_id, character_id, rsid, [rmsg])
                raise


def _last_user_at(messages: list[ChatMessage]) -> float | None:
    return next((m.timestamp for m in reversed(messages) if m.role == "user"), None)


def _last_active(conversation: dict[str, Any] | None) -> float | None:
    value = (conversation or {}).get("last_active_at")
    return float(value) if isinstance(value, int | float) else None
