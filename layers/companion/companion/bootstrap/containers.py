"""One container per function, each holding the objects its function uses and nothing else.

    chat        build_container()             -> Container            (api/chat_app.py)
    memory API  build_memory_api_container()  -> MemoryApiContainer   (the memory API app)
    worker      build_worker()                -> WorkerContainer      (functions/memory_worker)
    sweeper     build_sweeper()               -> SweeperContainer     (functions/session_sweeper)

Built once per execution environment: Lambda reuses it across invocations, so the clients
(Redis pool, boto3, httpx) are shared by every request it serves. Fields are typed by the
ports (``companion.ports``) the functions use them through; the concrete ones say why.
``aclose`` closes the clients the build opened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..chat.conversations import ConversationService
from ..chat.service import ChatService
from ..config import Settings, get_settings
from ..llm.chain import ChainNotice, LLMChain
from ..observability import telemetry
from . import builders

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from ..auth import TokenVerifier
    from ..characters import CharacterService
    from ..memory.generation import MemoryGenerator
    from ..memory.scheduler import MemoryTaskScheduler
    from ..memory.sweeper import SessionSweeper
    from ..ports import (
        AvatarStore,
        CharacterRepository,
        ConversationArchive,
        Embedder,
        MemoryIndex,
        MemoryRepository,
        MessageLog,
        RateLimiter,
        Recaller,
        ShortTermStore,
        TaskQueue,
        TaskStatusStore,
    )

Closer = Callable[[], Awaitable[None]]


async def _close_all(closers: list[Closer]) -> None:
    for close in closers:
        await close()


def _observe_chain(notice: ChainNotice) -> None:
    if notice.kind == "first_token" and notice.value_ms is not None:
        telemetry.millis("ModelFirstToken", notice.value_ms)
    else:
        telemetry.count(f"Model.{notice.kind}")


# -- chat -------------------------------------------------------------------------------

@dataclass
class Container:
    """The chat function: the app uses ``settings``, ``verifier``, ``chat`` and ``conversations``;
    the rest is what those are made of. ``chain`` is the concrete ``LLMChain``: the chat turn
    streams through its failover and breaker, which no port describes. ``redis`` is the pool
    every Redis adapter here shares."""

    settings: Settings
    verifier: TokenVerifier
    chat: ChatService
    conversations: ConversationService
    characters: CharacterService
    character_repo: CharacterRepository
    short_term: ShortTermStore
    rate_limiter: RateLimiter
    message_log: MessageLog
    task_queue: TaskQueue
    task_statuses: TaskStatusStore
    scheduler: MemoryTaskScheduler
    chain: LLMChain
    recaller: Recaller
    memory_repo: MemoryRepository
    memory_index: MemoryIndex
    embedder: Embedder | None
    redis: Redis | RedisCluster
    closers: list[Closer] = field(default_factory=list, repr=False)

    async def aclose(self) -> None:
        await _close_all(self.closers)


def build_container(settings: Settings | None = None, *, recaller: Recaller | None = None) -> Container:
    """``recaller``: one of the caller's instead of the configured one (tests)."""
    s = settings or get_settings()
    redis = builders.redis_client(s)
    short_term = builders.short_term_store(s, redis)
    character_repo = builders.character_repository(s)
    characters = builders.character_service(s, character_repo, redis)
    log = builders.message_log(s)
    queue = builders.task_queue(s)
    statuses = builders.task_status_store(s)
    scheduler = builders.scheduler(s, log, queue, statuses)
    chain = builders.llm_chain(s, redis, on_event=_observe_chain)
    limiter = builders.rate_limiter(redis)
    memory_repo = builders.memory_repository(s, redis)
    index = builders.memory_index(s, recall=True)
    embedder = builders.query_embedder(s)
    recaller = recaller or builders.recaller(s, index=index, repo=memory_repo, embedder=embedder)
    chat = ChatService(settings=s, characters=characters, short_term=short_term, message_log=log, chain=chain,
                       scheduler=scheduler, rate_limiter=limiter, telemetry=telemetry, recaller=recaller,
                       memory=memory_repo)
    conversations = ConversationService(short_term=short_term, message_log=log, scheduler=scheduler,
                                        telemetry=telemetry)
    closers: list[Closer] = [chain.aclose, redis.aclose, index.aclose]
    if embedder is not None:
        closers.append(embedder.aclose)
    return Container(settings=s, verifier=builders.token_verifier(s), chat=chat, conversations=conversations,
                     characters=characters, character_repo=character_repo, short_term=short_term,
                     rate_limiter=limiter, message_log=log, task_queue=queue, task_statuses=statuses,
                     scheduler=scheduler, chain=chain, recaller=recaller, memory_repo=memory_repo,
                     memory_index=index, embedder=embedder, redis=redis, closers=closers)


# -- memory API -------------------------------------------------------------------------

@dataclass
class MemoryApiContainer:
    """The memory API: memories (list, edit, delete, export, forget, recall preview), characters
    (with the avatars of imported PNG cards) and chat history. No model chain and no rate
    limiter: it never talks to a model."""

    settings: Settings
    verifier: TokenVerifier
    conversations: ConversationService
    characters: CharacterService
    character_repo: CharacterRepository
    short_term: ShortTermStore
    message_log: MessageLog
    task_queue: TaskQueue
    task_statuses: TaskStatusStore
    scheduler: MemoryTaskScheduler
    recaller: Recaller
    memory_repo: MemoryRepository
    memory_index: MemoryIndex
    archive: ConversationArchive
    avatars: AvatarStore
    embedder: Embedder | None
    redis: Redis | RedisCluster
    closers: list[Closer] = field(default_factory=list, repr=False)

    async def aclose(self) -> None:
        await _close_all(self.closers)


def build_memory_api_container(settings: Settings | None = None) -> MemoryApiContainer:
    s = settings or get_settings()
    redis = builders.redis_client(s)
    short_term = builders.short_term_store(s, redis)
    character_repo = builders.character_repository(s)
    log = builders.message_log(s)
    queue = builders.task_queue(s)
    statuses = builders.task_status_store(s)
    scheduler = builders.scheduler(s, log, queue, statuses)
    memory_repo = builders.memory_repository(s, redis)
    index = builders.memory_index(s, recall=True)
    embedder = builders.query_embedder(s)
    closers: list[Closer] = [redis.aclose, index.aclose]
    if embedder is not None:
        closers.append(embedder.aclose)
    return MemoryApiContainer(
        settings=s, verifier=builders.token_verifier(s),
        conversations=ConversationService(short_term=short_term, message_log=log, scheduler=scheduler,
                                          telemetry=telemetry),
        characters=builders.character_service(s, character_repo, redis), character_repo=character_repo,
        short_term=short_term, message_log=log, task_queue=queue, task_statuses=statuses, scheduler=scheduler,
        recaller=builders.recaller(s, index=index, repo=memory_repo, embedder=embedder), memory_repo=memory_repo,
        memory_index=index, archive=builders.conversation_archive(s), avatars=builders.avatar_store(s),
        embedder=embedder, redis=redis, closers=closers)


# -- memory worker ----------------------------------------------------------------------

@dataclass
class WorkerContainer:
    """The memory worker: ``generator`` turns a task into long-term memory; the stores are the
    ones it writes. ``chain`` is the concrete ``LLMChain`` (extraction fails over between models);
    ``redis`` serves only to invalidate recall's cache of the records it writes."""

    settings: Settings
    generator: MemoryGenerator
    chain: LLMChain
    embedder: Embedder | None
    memory_index: MemoryIndex
    memory_repo: MemoryRepository
    archive: ConversationArchive
    task_queue: TaskQueue
    task_statuses: TaskStatusStore
    redis: Redis | RedisCluster
    closers: list[Closer] = field(default_factory=list, repr=False)

    async def aclose(self) -> None:
        await _close_all(self.closers)


def build_worker(settings: Settings | None = None, *, refresh_index: bool | None = None,
                 chain: LLMChain | None = None, embedder: Embedder | None = None) -> WorkerContainer:
    """``chain``/``embedder``: the caller's instead of the configured ones (tests, benchmarks; embeddings
    off is ``embedding_provider="none"``). ``refresh_index`` defaults to True locally (tests read at once)."""
    s = settings or get_settings()
    chain = chain or builders.memory_llm_chain(s)
    embedder = embedder or builders.embedder(s)
    redis = builders.redis_client(s)
    index = builders.memory_index(s, recall=False)
    repo = builders.memory_repository(s, redis)
    archive = builders.conversation_archive(s)
    queue = builders.task_queue(s)
    statuses = builders.task_status_store(s)
    generator = builders.memory_generator(s, chain=chain, embedder=embedder, index=index, repo=repo,
                                          archive=archive, queue=queue, statuses=statuses,
                                          refresh_index=s.is_local if refresh_index is None else refresh_index)
    closers: list[Closer] = [chain.aclose, index.aclose, redis.aclose]
    if embedder is not None:
        closers.append(embedder.aclose)
    return WorkerContainer(settings=s, generator=generator, chain=chain, embedder=embedder, memory_index=index,
                           memory_repo=repo, archive=archive, task_queue=queue, task_statuses=statuses, redis=redis,
                           closers=closers)


# -- session sweeper --------------------------------------------------------------------

@dataclass
class SweeperContainer:
    """The session sweeper: ``sweeper`` runs the sweep over the message log and the scheduler. Its
    stores are boto3-backed (no pooled async client), so there is nothing to close."""

    settings: Settings
    sweeper: SessionSweeper
    scheduler: MemoryTaskScheduler
    message_log: MessageLog
    task_queue: TaskQueue
    task_statuses: TaskStatusStore


def build_sweeper(settings: Settings | None = None) -> SweeperContainer:
    s = settings or get_settings()
    log = builders.message_log(s)
    queue = builders.task_queue(s)
    statuses = builders.task_status_store(s)
    scheduler = builders.scheduler(s, log, queue, statuses)
    return SweeperContainer(settings=s, sweeper=builders.session_sweeper(s, log, scheduler), scheduler=scheduler,
                            message_log=log, task_queue=queue, task_statuses=statuses)
