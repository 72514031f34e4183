"""Memory-worker fixtures over the shared moto (DynamoDB/SQS/S3), OpenSearch emulator and fake LLM (``memory_llm``).

Each test gets its own user id, so tests share the session's stores without interfering.
The multilingual-e5 model is slow on small CPUs, so most tests embed with ``HashEmbedder``
(deterministic, normalized, 384-d); the canonical-example test uses the real model.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from companion.adapters.dynamodb_memory import DynamoMemoryRepository
from companion.adapters.keys import task_group_id
from companion.adapters.opensearch_index import OpenSearchMemoryIndex
from companion.adapters.s3_archive import S3ConversationArchive
from companion.bootstrap import WorkerContainer, build_worker
from companion.config import ModelSpec, Settings
from companion.embeddings.base import Embedder, Kind
from companion.models import ChatMessage, MemoryTask

from infra.fake_llm import FakeLLMServer
from infra.local.worker_poller import FakeLambdaContext, lambda_record


class HashEmbedder(Embedder):
    """Character-bigram hashing into 384 buckets: fast, deterministic, similar texts stay similar."""

    name = "hash"
    dim = 384
    batch_size = 256

    def __init__(self) -> None:
        self.calls: list[int] = []  # batch sizes, to check "one embedding batch per task"

    async def _embed(self, texts: list[str], kind: Kind) -> list[list[float]]:
        self.calls.append(len(texts))
        out = []
        for text in texts:
            vec = [0.0] * self.dim
            grams = [text[i:i + 2] for i in range(max(1, len(text) - 1))]
            for g in grams:
                vec[int(hashlib.md5(g.encode()).hexdigest()[:6], 16) % self.dim] += 1.0
            vec[0] += 1e-3
            out.append(vec)
        return out


@pytest.fixture()
def settings_for(redis_url: str, moto_endpoint: str, memory_resources: dict[str, str],
                 opensearch_url: str, memory_llm: FakeLLMServer) -> Callable[..., Settings]:
    def make(llm: str | None = None, **overrides: Any) -> Settings:
        """``llm``: a fake-LLM model name (one per test keeps scripts apart); None = offline (rules)."""
        chain = [ModelSpec(name=llm, provider="openai", model=llm, base_url=memory_llm.base_url,
                           api_key="k")] if llm else []
        values: dict[str, Any] = dict(app_env="test", redis_url=redis_url, aws_endpoint_url=moto_endpoint,
                                      memory_queue_url=memory_resources["memory_queue_url"],
                                      opensearch_url=opensearch_url, llm_chain=chain)
        values.update(overrides)
        return Settings(**values)

    return make


def extraction_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "summary": "用户叫小林，最喜欢吃火锅，下个月15号过生日。", "topics": ["美食", "生日"], "emotion": "开心",
        "facts": [{"type": "basic_info", "key": "name", "value": "小林", "confidence": 0.95},
                  {"type": "preference", "key": "favorite_food", "value": "火锅", "confidence": 0.9}],
        "events": [{"type": "birthday", "title": "小林的生日", "summary": "下个月15号是小林的生日",
                    "date": "2026-12-15", "recurring": True, "emotion": "开心", "importance": 8}]}
    data.update(overrides)
    return data


def conversation(user_id: str, texts: list[str], *, session_id: str = "s1", start_seq: int = 1,
                 t0: float = 1795262000.0) -> list[ChatMessage]:
    """Alternating user/assistant messages with log positions."""
    return [ChatMessage(role="user" if i % 2 == 0 else "assistant", content=t, timestamp=t0 + i * 5,
                        session_id=session_id, seq=start_seq + i) for i, t in enumerate(texts)]


def make_task(user_id: str, messages: list[ChatMessage], *, character_id: str = "xiaoyu",
              trigger: str = "threshold", task_id: str | None = None) -> MemoryTask:
    return MemoryTask(task_id=task_id or uuid.uuid4().hex, user_id=user_id, character_id=character_id,
                      session_id=messages[0].session_id if messages else "s1", trigger=trigger,  # type: ignore[arg-type]
                      from_seq=messages[0].seq if messages else 1, to_seq=messages[-1].seq if messages else 1,
                      messages=messages, created_at=messages[-1].timestamp + 1 if messages else 1795262000.0)


def sqs_event(bodies: list[str], *, groups: list[str] | None = None) -> dict[str, Any]:
    records = []
    for i, body in enumerate(bodies):
        msg_id = str(uuid.uuid4())
        group = groups[i] if groups else "g"
        records.append(lambda_record({"MessageId": msg_id, "ReceiptHandle": f"rh-{msg_id}", "Body": body,
                                      "Attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": group,
                                                     "MessageDeduplicationId": msg_id,
                                                     "SequenceNumber": str(i + 1)}},
                                     "arn:aws:sqs:us-east-1:123456789012:companion-memory-tasks.fifo", "us-east-1"))
    return {"Records": records}


@dataclass
class Worker:
    """The memory worker handler configured for one test, plus read helpers for assertions."""

    settings: Settings
    container: WorkerContainer
    embedder: Any
    index: OpenSearchMemoryIndex = field(init=False)
    repo: DynamoMemoryRepository = field(init=False)
    archive: S3ConversationArchive = field(init=False)

    def __post_init__(self) -> None:
        # Separate adapter objects for the test's own event loop (the handler runs its own loop).
        self.index = OpenSearchMemoryIndex(self.settings.opensearch_url, self.settings.opensearch_index)
        self.repo = DynamoMemoryRepository(self.settings.memory_table, endpoint_url=self.settings.aws_endpoint_url)
        self.archive = S3ConversationArchive(self.settings.archive_bucket,
                                             endpoint_url=self.settings.aws_endpoint_url)

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        from functions.memory_worker import app

        return app.handler(event, FakeLambdaContext())

    def process(self, task: MemoryTask) -> Any:
        """``MemoryGenerator.process`` on the handler's loop (its clients are bound to it), bypassing
        idempotency: a replay after the idempotency record expired."""
        from functions.memory_worker import app

        return app.runtime().loop.run(self.container.generator.process(task))

    def deliver(self, *tasks: MemoryTask) -> dict[str, Any]:
        return self.handle(sqs_event([t.model_dump_json() for t in tasks],
                                     groups=[task_group_id(t.user_id, t.character_id) for t in tasks]))

    async def docs(self, user_id: str, memory_types: list[str] | None = None) -> list[dict[str, Any]]:
        await self.index.refresh()
        return await self.index.get_docs(user_id, None, memory_types)

    async def items(self, user_id: str) -> list[dict[str, Any]]:
        return await self.repo.all_for_user(user_id)

    async def archives(self, user_id: str) -> list[str]:
        return await self.archive.keys(f"conversations/{user_id}/")

    async def aclose(self) -> None:
        from functions.memory_worker import app

        await self.index.aclose()
        rt = app.runtime()
        if rt.worker is self.container:
            rt.loop.run(self.container.aclose())


@pytest.fixture(scope="session")
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture()
async def worker_for(settings_for: Callable[..., Settings], hash_embedder: HashEmbedder):  # type: ignore[no-untyped-def]
    from functions.memory_worker import app

    made: list[Worker] = []

    def make(llm: str | None = None, *, embedder: Any = None, **overrides: Any) -> Worker:
        settings = settings_for(llm, **overrides)
        emb = embedder or hash_embedder
        container = build_worker(settings, embedder=emb)
        app.configure(settings, container)
        w = Worker(settings, container, emb)
        made.append(w)
        return w

    yield make
    for w in made:
        await w.aclose()


def user() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"


