"""Composition root of the memory worker and the session sweeper (once per execution environment).

    worker = build_worker(settings)            # adapters + MemoryGenerator
    report = await worker.generator.process(task)

Kept apart from ``bootstrap.py`` (the chat container) so the worker does not pay for the
chat path's objects, and the chat path never loads the embedding model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .adapters.dynamodb_memory import DynamoMemoryRepository
from .adapters.dynamodb_messages import DynamoMessageLog
from .adapters.dynamodb_tasks import DynamoTaskStatusStore
from .adapters.opensearch_index import OpenSearchMemoryIndex
from .adapters.redis_client import create_redis
from .adapters.redis_memory_cache import CachedMemoryRepository
from .adapters.s3_archive import S3ConversationArchive
from .adapters.sqs_tasks import SqsTaskQueue
from .config import Settings, get_settings
from .embeddings.factory import build_embedder
from .llm.chain import LLMChain
from .llm.factory import build_chain
from .memory.generation import MemoryGenerator, extractor_for
from .memory.scheduler import MemoryTaskScheduler
from .observability import telemetry


@dataclass
class WorkerContainer:
    settings: Settings
    chain: LLMChain
    embedder: Any
    index: OpenSearchMemoryIndex
    records: CachedMemoryRepository
    archive: S3ConversationArchive
    queue: SqsTaskQueue
    statuses: DynamoTaskStatusStore
    generator: MemoryGenerator

    async def aclose(self) -> None:
        await self.chain.aclose()
        await self.index.aclose()
        await self.records.aclose()
        if self.embedder is not None:
            await self.embedder.aclose()


def build_index(s: Settings) -> OpenSearchMemoryIndex:
    return OpenSearchMemoryIndex(s.opensearch_url, s.opensearch_index, s.embedding_dim, auth=s.opensearch_auth,
                                 region=s.aws_region, service=s.opensearch_service)


def build_worker(settings: Settings | None = None, *, refresh_index: bool | None = None,
                 chain: LLMChain | None = None, embedder: Any = "default") -> WorkerContainer:
    """The worker's objects. ``refresh_index`` defaults to True locally (tests read at once)."""
    s = settings or get_settings()
    endpoint = s.aws_endpoint_url
    # The worker's breaker state is in-process (a worker never streams to users, and a Redis
    # outage must not stop memory generation); Redis serves only to invalidate recall's cache.
    chain = chain or build_chain(s, None)
    emb = build_embedder(s) if embedder == "default" else embedder
    index = build_index(s)
    records = CachedMemoryRepository(DynamoMemoryRepository(s.memory_table, endpoint_url=endpoint),
                                     create_redis(s.redis_url, cluster=s.redis_cluster, timeout_s=s.redis_timeout_s),
                                     owns_redis=True)
    archive = S3ConversationArchive(s.archive_bucket, endpoint_url=endpoint)
    queue = SqsTaskQueue(s.memory_queue_url, s.archive_bucket, payload_limit=s.sqs_payload_limit_bytes,
                         endpoint_url=endpoint)
    statuses = DynamoTaskStatusStore(s.tasks_table, endpoint_url=endpoint)
    generator = MemoryGenerator(segments=queue, records=records, index=index, archive=archive, embedder=emb,
                                extractor=extractor_for(chain, max_turn_chars=s.memory_extract_turn_max_chars,
                                                        max_chars=s.memory_extract_max_chars),
                                statuses=statuses, telemetry=telemetry,
                                refresh_index=s.is_local if refresh_index is None else refresh_index,
                                embed_max_chars=s.memory_embed_max_chars, task_max_chars=s.memory_task_max_chars,
                                task_max_messages=s.memory_task_max_messages)
    return WorkerContainer(settings=s, chain=chain, embedder=emb, index=index, records=records, archive=archive,
                           queue=queue, statuses=statuses, generator=generator)


@dataclass
class SweeperContainer:
    settings: Settings
    message_log: DynamoMessageLog
    scheduler: MemoryTaskScheduler


def build_sweeper(settings: Settings | None = None) -> SweeperContainer:
    s = settings or get_settings()
    endpoint = s.aws_endpoint_url
    log = DynamoMessageLog(s.messages_table, endpoint_url=endpoint)
    queue = SqsTaskQueue(s.memory_queue_url, s.archive_bucket, payload_limit=s.sqs_payload_limit_bytes,
                         endpoint_url=endpoint)
    statuses = DynamoTaskStatusStore(s.tasks_table, endpoint_url=endpoint)
    scheduler = MemoryTaskScheduler(log, queue, statuses, threshold=s.memory_segment_threshold,
                                    max_task_messages=s.memory_task_max_messages)
    return SweeperContainer(settings=s, message_log=log, scheduler=scheduler)
