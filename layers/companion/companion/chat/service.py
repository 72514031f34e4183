"""One chat turn, from an admitted request to the closing SSE event.

Everything the turn must write happens before the stream's last event: Lambda freezes the
environment once the response ends, so there is no work after it (no fire-and-forget).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio

from ..characters import CharacterService
from ..config import Settings
from ..errors import RateLimited, StoreUnavailable, Unavailable
from ..llm.chain import ChainEvent, LLMChain
from ..memory.recall.intent import needs_context
from ..memory.scheduler import MemoryTaskScheduler
from ..models import Character, ChatMessage, RecallResult, new_id
from ..observability import Telemetry, logger
from ..ports import MessageLog, RateLimiter, Recaller, ShortTermStore
from ..text import detect_language, estimate_tokens
from . import sse
from .prompt import build_prompt


@dataclass
class PreparedTurn:
    user_id: str
    character: Character
    message: str
    language: str
    degraded: list[str] = field(default_factory=list)


class ChatService:
    def __init__(self, *, settings: Settings, characters: CharacterService, short_term: ShortTermStore,
                 message_log: MessageLog, chain: LLMChain, scheduler: MemoryTaskScheduler,
                 rate_limiter: RateLimiter | None, telemetry: Telemetry, recaller: Recaller | None = None) -> None:
        self.s = settings
        self.characters = characters
        self.short_term = short_term
        self.log = message_log
        self.chain = chain
        self.scheduler = scheduler
        self.rate_limiter = rate_limiter
        self.telemetry = telemetry
        self.recaller = recaller

    # -- admission --------------------------------------------------------------------------

    async def admit(self, user_id: str) -> None:
        """Per-user and global sliding windows; Redis down → allow (seed 000 §6.4)."""
        if self.rate_limiter is None:
            return
        try:
            # Two keys in different cluster slots: two scripts, sent concurrently.
            user, glob = await asyncio.gather(
                self.rate_limiter.hit(f"user:{user_id}", self.s.rate_limit_user_per_minute, 60),
                self.rate_limiter.hit("global", self.s.rate_limit_global_per_second, 1))
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

    async def prepare(self, user_id: str, character_id: str, message: str) -> PreparedTurn:
        found = await self.characters.get(character_id, user_id=user_id)
        char = found.character
        default_lang = char.language if char.language != "auto" else "en"
        return PreparedTurn(user_id=user_id, character=char, message=message,
                            language=detect_language(message, default=default_lang),
                            degraded=["character_store"] if found.degraded else [])

    # -- the stream -------------------------------------------------------------------------

    async def stream(self, turn: PreparedTurn) -> AsyncIterator[bytes]:
        started = time.perf_counter()
        user_id, char = turn.user_id, turn.character
        degraded = list(turn.degraded)
        self.telemetry.count("Turns")

        history_task = asyncio.create_task(self._load_history(user_id, char.character_id))
        # Recall runs beside the window load, except for a follow-up that needs the window's words.
        recall_task = (asyncio.create_task(self._recall(turn, history_task if needs_context(turn.message) else None))
                       if self.recaller else None)
        history, session_id, history_degraded = await history_task
        degraded += history_degraded
        recall = await recall_task if recall_task else RecallResult()
        degraded += recall.degraded

        prompt = build_prompt(char, history, turn.message, language=turn.language, memories=recall.memories,
                              memory_block=recall.block, max_history_messages=self.s.prompt_history_messages,
                              max_history_tokens=self.s.prompt_history_tokens)
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
                        yield sse.delta(event.text)
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
                yield sse.error(failure.error or "the model stopped unexpectedly", code=failure.code or "model_error")
                return
            assert final is not None
            self.telemetry.millis("TurnLatency", (time.perf_counter() - started) * 1000)
            yield sse.done(
                message_id=assistant_msg.msg_id, model=final.model, session_id=session_id,
                usage=final.usage.model_dump() if final.usage else None,
                memories=len(recall.memories), memory_sources=recall.sources,
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

    async def _load_history(self, user_id: str, character_id: str) -> tuple[list[ChatMessage], str, list[str]]:
        """The short-term window and the session id; Redis down → the durable log's tail."""
        now = time.time()
        idle_s = self.s.session_idle_minutes * 60
        try:
            window, meta = await self.short_term.load(user_id, character_id, self.s.prompt_history_messages)
            sid = meta.get("session_id", "")
            last = float(meta.get("last_active_at", 0) or 0)
            if not sid or meta.get("state") == "ENDED" or now - last > idle_s:
                sid = new_id()
            return window, sid, []
        except StoreUnavailable:
            self.telemetry.count("Degraded.Redis")
        try:
            conv = await self.log.conversation(user_id, character_id) or {}
            sid = str(conv.get("session_id") or "")
            if not sid or conv.get("state") == "ENDED" or now - float(conv.get("last_active_at", 0)) > idle_s:
                sid = new_id()
            tail = await self.log.history(user_id, character_id, limit=min(20, self.s.prompt_history_messages))
            return tail, sid, ["redis"]
        except StoreUnavailable:
            return [], new_id(), ["redis", "dynamodb"]

    async def _recall(self, turn: PreparedTurn,
                      history_task: asyncio.Task[tuple[list[ChatMessage], str, list[str]]] | None = None
                      ) -> RecallResult:
        assert self.recaller is not None
        try:
            history = (await history_task)[0] if history_task is not None else []
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
        redis_ok = True
        try:
            await self.short_term.append(user_id, character_id, messages)
        except StoreUnavailable:
            redis_ok = False
            degraded.append("redis")
            self.telemetry.count("Degraded.Redis")
        try:
            if redis_ok:
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
                task = await self.scheduler.schedule(user_id, character_id, "threshold")
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
