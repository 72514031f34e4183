"""The composition root: builds adapters and services from settings, once per environment.

Lambda reuses an execution environment across invocations, so clients (Redis pool,
boto3, httpx) are created here once and shared by every request the environment serves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .adapters.dynamodb_characters import DynamoCharacterRepository
from .adapters.dynamodb_memory import DynamoMemoryRepository
from .adapters.dynamodb_messages import DynamoMessageLog
from .adapters.dynamodb_tasks import DynamoTaskStatusStore
from .adapters.opensearch_index import OpenSearchMemoryIndex
from .adapters.redis_character_cache import RedisCharacterCache
from .adapters.redis_client import create_redis
from .adapters.redis_memory_cache import CachedMemoryRepository
from .adapters.redis_rate_limit import RedisRateLimiter
from .adapters.redis_short_term import RedisShortTermStore
from .adapters.s3_archive import S3ConversationArchive
from .adapters.sqs_tasks import SqsTaskQueue
from .auth import TokenVerifier, resolve_cursor_secret
from .characters import CharacterService
from .chat.conversations import ConversationService
from .chat.service import ChatService
from .config import Settings, get_settings
from .embeddings.base import Embedder
from .embeddings.factory import build_embedder
from .llm.chain import ChainNotice, LLMChain
from .llm.factory import build_chain
from .memory.recall.service import MemoryRecaller, RecallConfig
from .memory.recall.sources import IndexTurnContext
from .memory.scheduler import MemoryTaskScheduler
from .observability import logger, telemetry
from .ports import Recaller


def _observe_chain(notice: ChainNotice) -> None:
    if notice.kind == "first_token" and notice.value_ms is not None:
        telemetry.millis("ModelFirstToken", notice.value_ms)
    else:
        telemetry.count(f"Model.{notice.kind}")


@dataclass
class Container:
    settings: Settings
    redis: Any
    short_term: RedisShortTermStore
    rate_limiter: RedisRateLimiter
    characters: CharacterService
    character_repo: DynamoCharacterRepository
    message_log: DynamoMessageLog
    task_queue: SqsTaskQueue
    task_statuses: DynamoTaskStatusStore
    scheduler: MemoryTaskScheduler
    chain: LLMChain
    verifier: TokenVerifier
    chat: ChatService
    conversations: ConversationService
    memory_repo: CachedMemoryRepository | None = None
    memory_index: OpenSearchMemoryIndex | None = None
    archive: S3ConversationArchive | None = None
    embedder: Embedder | None = None
    recaller: Recaller | None = None

    async def aclose(self) -> None:
        await self.chain.aclose()
        await self.redis.aclose()
        if self.memory_index is not None:
            await self.memory_index.aclose()
        if self.embedder is not None:
            await self.embedder.aclose()


def _embedder(s: Settings) -> Embedder | None:
    """The query embedder; a misconfigured provider degrades recall to keywords, not the service."""
    try:
        return build_embedder(s)
    except Exception:
        logger.exception("embedding provider unavailable: recall uses keywords only")
        return None


def _warm(embedder: Any) -> None:
    try:
        embedder.warm()
    except Exception:
        logger.exception("embedding model failed to load: recall uses keywords only")


def build_recaller(s: Settings, *, index: OpenSearchMemoryIndex, repo: CachedMemoryRepository | DynamoMemoryRepository,
                   embedder: Embedder | None) -> MemoryRecaller:
    return MemoryRecaller(index=index, store=repo, embedder=embedder, config=RecallConfig.from_settings(s),
                          turn_context=IndexTurnContext(index))


def build_container(settings: Settings | None = None, *, recaller: Recaller | None = None) -> Container:
    s = settings or get_settings()
    endpoint = s.aws_endpoint_url
    redis = create_redis(s.redis_url, cluster=s.redis_cluster, timeout_s=s.redis_timeout_s)
    short_term = RedisShortTermStore(redis, max_messages=s.short_term_max_messages, ttl_s=s.short_term_ttl_s)
    repo = DynamoCharacterRepository(s.characters_table, endpoint_url=endpoint)
    characters = CharacterService(repo, RedisCharacterCache(redis), ttl_s=s.character_cache_ttl_s)
    log = DynamoMessageLog(s.messages_table, endpoint_url=endpoint)
    queue = SqsTaskQueue(s.memory_queue_url, s.archive_bucket, payload_limit=s.sqs_payload_limit_bytes,
                         endpoint_url=endpoint)
    statuses = DynamoTaskStatusStore(s.tasks_table, endpoint_url=endpoint)
    scheduler = MemoryTaskScheduler(log, queue, statuses, threshold=s.memory_segment_threshold,
                                    max_task_messages=s.memory_task_max_messages)
    chain = build_chain(s, redis, on_event=_observe_chain)
    limiter = RedisRateLimiter(redis)
    memory_repo = CachedMemoryRepository(
        DynamoMemoryRepository(s.memory_table, endpoint_url=endpoint, cursor_secret=lambda: resolve_cursor_secret(s)),
        redis)
    # A short client timeout: recall has its own budget and must not wait on a dead index.
    index = OpenSearchMemoryIndex(s.opensearch_url, s.opensearch_index, dim=s.embedding_dim,
                                  auth=s.opensearch_auth, region=s.aws_region, service=s.opensearch_service,
                                  timeout_s=max(1.0, s.recall_budget_ms / 1000))
    embedder = _embedder(s)
    if embedder is not None and hasattr(embedder, "warm"):
        # Load the local model during the cold start, off the request path (the first recall
        # would otherwise spend its k-NN budget loading it).
        threading.Thread(target=_warm, args=(embedder,), name="embedder-warm", daemon=True).start()
    if recaller is None:
        recaller = build_recaller(s, index=index, repo=memory_repo, embedder=embedder)
    chat = ChatService(settings=s, characters=characters, short_term=short_term, message_log=log, chain=chain,
                       scheduler=scheduler, rate_limiter=limiter, telemetry=telemetry, recaller=recaller)
    return Container(settings=s, redis=redis, short_term=short_term, rate_limiter=limiter,
                     characters=characters, character_repo=repo, message_log=log, task_queue=queue,
                     task_statuses=statuses, scheduler=scheduler, chain=chain, verifier=TokenVerifier(s), chat=chat,
                     conversations=ConversationService(short_term=short_term, message_log=log, scheduler=scheduler,
                                                       telemetry=telemetry),
                     memory_repo=memory_repo, memory_index=index,
                     archive=S3ConversationArchive(s.archive_bucket, endpoint_url=endpoint), embedder=embedder,
                     recaller=recaller)
