"""One builder per adapter (and per service the containers share), each made from ``Settings``.

A builder is the one place its object is configured: table, queue and bucket names, the
endpoint (moto, LocalStack), timeouts. The containers (``containers.py``) call these;
nothing else constructs an adapter. The chat function's adapters are imported with this
module, so the chat function loads them at init rather than on its first request; what
only the worker, the sweeper or the memory API use is imported inside its builder.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..adapters.dynamodb_characters import DynamoCharacterRepository
from ..adapters.dynamodb_memory import DynamoMemoryRepository
from ..adapters.dynamodb_messages import DynamoMessageLog
from ..adapters.dynamodb_tasks import DynamoTaskStatusStore
from ..adapters.opensearch_index import OpenSearchMemoryIndex
from ..adapters.redis_character_cache import RedisCharacterCache
from ..adapters.redis_client import create_redis
from ..adapters.redis_memory_cache import CachedMemoryRepository
from ..adapters.redis_rate_limit import RedisRateLimiter
from ..adapters.redis_short_term import RedisShortTermStore
from ..adapters.sqs_tasks import SqsTaskQueue
from ..auth import TokenVerifier, resolve_cursor_secret
from ..characters import CharacterService
from ..config import Settings
from ..embeddings.factory import build_embedder
from ..llm.chain import ChainObserver, LLMChain
from ..llm.factory import build_chain
from ..memory.recall.neighbours import IndexTurnContext
from ..memory.recall.service import MemoryRecaller, RecallConfig
from ..memory.scheduler import MemoryTaskScheduler
from ..observability import logger
from ..ports import ConversationArchive, Embedder, MemoryIndex, MemoryRepository, MessageLog, TaskQueue, TaskStatusStore

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from ..adapters.s3_archive import S3ConversationArchive
    from ..adapters.s3_avatars import S3AvatarStore
    from ..memory.generation import MemoryGenerator
    from ..memory.sweeper import SessionSweeper

# The worker's and the memory API's index client: bulk writes and exports take longer than a search.
INDEX_TIMEOUT_S = 3.0


# -- Redis ------------------------------------------------------------------------------

def redis_client(s: Settings) -> Redis | RedisCluster:
    """The environment's Redis pool, shared by every Redis adapter of a container."""
    return create_redis(s.redis_url, cluster=s.redis_cluster, timeout_s=s.redis_timeout_s)


def short_term_store(s: Settings, redis: Any) -> RedisShortTermStore:
    return RedisShortTermStore(redis, max_messages=s.short_term_max_messages, ttl_s=s.short_term_ttl_s)


def rate_limiter(redis: Any) -> RedisRateLimiter:
    return RedisRateLimiter(redis)


# -- DynamoDB, SQS, S3 ------------------------------------------------------------------

def character_repository(s: Settings) -> DynamoCharacterRepository:
    return DynamoCharacterRepository(s.characters_table, endpoint_url=s.aws_endpoint_url)


def message_log(s: Settings) -> DynamoMessageLog:
    return DynamoMessageLog(s.messages_table, endpoint_url=s.aws_endpoint_url)


def task_queue(s: Settings) -> SqsTaskQueue:
    return SqsTaskQueue(s.memory_queue_url, s.archive_bucket, payload_limit=s.sqs_payload_limit_bytes,
                        endpoint_url=s.aws_endpoint_url)


def task_status_store(s: Settings) -> DynamoTaskStatusStore:
    return DynamoTaskStatusStore(s.tasks_table, endpoint_url=s.aws_endpoint_url)


def memory_repository(s: Settings, redis: Any) -> CachedMemoryRepository:
    """The memory table behind the Redis bundle cache (every writer invalidates recall's cache)."""
    return CachedMemoryRepository(
        DynamoMemoryRepository(s.memory_table, endpoint_url=s.aws_endpoint_url,
                               cursor_secret=lambda: resolve_cursor_secret(s)), redis)


def conversation_archive(s: Settings) -> S3ConversationArchive:
    from ..adapters.s3_archive import S3ConversationArchive

    return S3ConversationArchive(s.archive_bucket, endpoint_url=s.aws_endpoint_url)


def avatar_store(s: Settings) -> S3AvatarStore:
    """Avatars of imported PNG cards: the archive bucket, under ``avatars/`` (the memory API only)."""
    from ..adapters.s3_avatars import S3AvatarStore

    return S3AvatarStore(s.archive_bucket, endpoint_url=s.aws_endpoint_url)


# -- OpenSearch -------------------------------------------------------------------------

def memory_index(s: Settings, *, recall: bool) -> OpenSearchMemoryIndex:
    """``recall``: a client timeout within recall's budget, which must not wait on a dead index."""
    timeout_s = max(1.0, s.recall_budget_ms / 1000) if recall else INDEX_TIMEOUT_S
    return OpenSearchMemoryIndex(s.opensearch_url, s.opensearch_index, dim=s.embedding_dim, auth=s.opensearch_auth,
                                 region=s.aws_region, service=s.opensearch_service, timeout_s=timeout_s)


# -- models -----------------------------------------------------------------------------

def llm_chain(s: Settings, redis: Any = None, *, on_event: ChainObserver | None = None) -> LLMChain:
    """With ``redis`` the breaker state is shared by every instance (the chat path); without, it is
    in-process (the worker: it never streams to users, and a Redis outage must not stop memory)."""
    store = None
    if redis is not None:
        from ..adapters.redis_breaker import RedisBreakerStore
        from ..llm.breaker import ResilientBreakerStore

        store = ResilientBreakerStore(RedisBreakerStore(redis), timeout_s=max(0.05, s.redis_timeout_s))
    return build_chain(s, store, on_event=on_event)


def memory_llm_chain(s: Settings) -> LLMChain:
    """The worker's chain: ``MEMORY_LLM_CHAIN``, else the chat's ``LLM_CHAIN``; its breakers are
    in-process (see ``llm_chain``)."""
    return build_chain(s, specs=s.memory_llm_chain or s.llm_chain)


def embedder(s: Settings) -> Embedder | None:
    """The worker's embedding provider (None when embeddings are off); a misconfiguration raises.
    Its passage batches run on ``EMBEDDING_PASSAGE_THREADS`` threads (a local model)."""
    return build_embedder(s, passage_threads=s.embedding_passage_threads)


def query_embedder(s: Settings) -> Embedder | None:
    """The embedder for recall: a provider that cannot be built degrades recall to keywords, not the
    service; a local model starts loading at once, off the request path (the first recall would
    otherwise spend its k-NN budget loading it)."""
    try:
        built = build_embedder(s)
    except Exception:
        logger.exception("embedding provider unavailable: recall uses keywords only")
        return None
    if built is not None and hasattr(built, "warm"):
        threading.Thread(target=_warm, args=(built,), name="embedder-warm", daemon=True).start()
    return built


def _warm(model: Any) -> None:
    try:
        model.warm()
    except Exception:
        logger.exception("embedding model failed to load: recall uses keywords only")


# -- services the containers share --------------------------------------------------------

def token_verifier(s: Settings) -> TokenVerifier:
    return TokenVerifier(s)


def character_service(s: Settings, repo: DynamoCharacterRepository, redis: Any) -> CharacterService:
    return CharacterService(repo, RedisCharacterCache(redis), ttl_s=s.character_cache_ttl_s)


def scheduler(s: Settings, log: MessageLog, queue: TaskQueue, statuses: TaskStatusStore) -> MemoryTaskScheduler:
    return MemoryTaskScheduler(log, queue, statuses, threshold=s.memory_segment_threshold,
                               max_task_messages=s.memory_task_max_messages)


def recaller(s: Settings, *, index: MemoryIndex, repo: MemoryRepository, embedder: Embedder | None) -> MemoryRecaller:
    return MemoryRecaller(index=index, store=repo, embedder=embedder, config=RecallConfig.from_settings(s),
                          turn_context=IndexTurnContext(index))


def memory_generator(s: Settings, *, chain: LLMChain, embedder: Embedder | None, index: MemoryIndex,
                     repo: MemoryRepository, archive: ConversationArchive, queue: TaskQueue,
                     statuses: TaskStatusStore, refresh_index: bool) -> MemoryGenerator:
    from ..memory.generation import MemoryGenerator, extractor_for
    from ..observability import telemetry

    return MemoryGenerator(segments=queue, records=repo, index=index, archive=archive, embedder=embedder,
                           extractor=extractor_for(chain, max_turn_chars=s.memory_extract_turn_max_chars,
                                                   max_chars=s.memory_extract_max_chars),
                           statuses=statuses, telemetry=telemetry, refresh_index=refresh_index,
                           embed_max_chars=s.memory_embed_max_chars, task_max_chars=s.memory_task_max_chars,
                           task_max_messages=s.memory_task_max_messages)


def session_sweeper(s: Settings, log: MessageLog, scheduler: MemoryTaskScheduler) -> SessionSweeper:
    from ..memory.sweeper import SessionSweeper

    return SessionSweeper(log, scheduler, idle_minutes=s.session_idle_minutes)
