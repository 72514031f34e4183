"""A worker batch embeds every task's turns in one call, then each task only what is left.

Through the real handler over moto, the OpenSearch emulator and the fake LLM; the embedder is
the tests' hashing one, recording the texts of each call."""

from __future__ import annotations

from typing import Any

from companion.embeddings.base import Kind
from companion.memory.documents import bounded_embedding_text, turn_documents

from tests.integration.memory.conftest import HashEmbedder, conversation, extraction_json, make_task, user


class RecordingEmbedder(HashEmbedder):
    def __init__(self, fail_first_over: int = 0) -> None:
        super().__init__()
        self.texts: list[list[str]] = []
        self._fail_first_over = fail_first_over

    async def _embed(self, texts: list[str], kind: Kind) -> list[list[float]]:
        self.texts.append(list(texts))
        if self._fail_first_over and len(texts) > self._fail_first_over:
            self._fail_first_over = 0
            raise RuntimeError("embedding engine unavailable")
        return await super()._embed(texts, kind)


def _turn_texts(tasks: list[Any], limit: int) -> list[str]:
    return [bounded_embedding_text(d, limit) for t in tasks for d in turn_documents(t, t.messages)]


def _tasks() -> list[Any]:
    a, b = user(), user()
    return [make_task(a, conversation(a, ["我养了一只叫豆豆的柯基", "好的"])),
            make_task(a, conversation(a, ["I moved to Lisbon last spring", "好的"], start_seq=3)),
            make_task(b, conversation(b, ["我养了一只叫豆豆的柯基", "Sounds fun, take a jacket"]))]


async def test_a_batch_embeds_all_turns_in_one_call_then_each_task_its_records(worker_for, memory_llm) -> None:
    emb = RecordingEmbedder()
    w = worker_for("batch-embed", embedder=emb)
    memory_llm.configure("batch-embed", json=extraction_json())
    tasks = _tasks()
    assert w.deliver(*tasks) == {"batchItemFailures": []}

    turns = _turn_texts(tasks, w.settings.memory_embed_max_chars)
    first, rest = emb.texts[0], emb.texts[1:]
    assert first == list(dict.fromkeys(turns))  # every turn of the batch, a text two users wrote once
    assert len(first) < len(turns)
    assert len(rest) == len(tasks)  # then one call per task: its summary, events and facts
    assert all(set(call).isdisjoint(turns) and call for call in rest)

    # Each turn was stored with its own vector: searching by it finds that turn first.
    for task in tasks:
        for doc in turn_documents(task, task.messages):
            vector = (await emb.embed_passages([bounded_embedding_text(doc, w.settings.memory_embed_max_chars)]))[0]
            await w.index.refresh()
            hits = await w.index.knn_search(task.user_id, task.character_id, vector, k=1, memory_types=["turn"])
            assert [h.memory_id for h in hits] == [doc.memory_id]


async def test_a_failed_batch_call_leaves_each_task_to_embed_its_own(worker_for, memory_llm) -> None:
    emb = RecordingEmbedder(fail_first_over=4)  # the batch's call (all turns) fails, a task's own do not
    w = worker_for("batch-embed-fallback", embedder=emb)
    memory_llm.configure("batch-embed-fallback", json=extraction_json())
    tasks = _tasks()
    assert w.deliver(*tasks) == {"batchItemFailures": []}
    assert len(emb.texts) == 1 + len(tasks)
    for task, call in zip(tasks, emb.texts[1:], strict=True):
        own = _turn_texts([task], w.settings.memory_embed_max_chars)
        assert set(own) <= set(call)  # the task embedded its turns itself, with its records
    assert len(await w.docs(tasks[0].user_id, ["turn"])) == 4
    assert len(await w.docs(tasks[2].user_id, ["turn"])) == 2


async def test_a_task_over_the_size_limit_is_not_embedded(worker_for, memory_llm) -> None:
    emb = RecordingEmbedder()
    w = worker_for("batch-embed-limit", embedder=emb, memory_task_max_messages=2)
    memory_llm.configure("batch-embed-limit", json=extraction_json())
    ok = _tasks()[2]
    big_uid = user()
    big = make_task(big_uid, conversation(big_uid, ["一", "二", "三"]))
    assert w.deliver(ok, big) == {"batchItemFailures": []}
    embedded = {t for call in emb.texts for t in call}
    assert set(_turn_texts([ok], w.settings.memory_embed_max_chars)) <= embedded
    assert embedded.isdisjoint(_turn_texts([big], w.settings.memory_embed_max_chars))
    status = await w.container.task_statuses.get(big.task_id)
    assert status and status["status"] == "rejected"


async def test_no_prefetch_when_it_would_leave_the_first_task_short_of_time(worker_for, memory_llm) -> None:
    # 120 s invocation, 70 s reserve: the prefetch keeps twice the reserve, so it embeds nothing and
    # each task (which starts with more than its reserve left) embeds its own turns.
    emb = RecordingEmbedder()
    w = worker_for("batch-embed-budget", embedder=emb, memory_task_time_reserve_ms=70_000)
    memory_llm.configure("batch-embed-budget", json=extraction_json())
    tasks = _tasks()
    assert w.deliver(*tasks) == {"batchItemFailures": []}
    assert len(emb.texts) == len(tasks)
    for task, call in zip(tasks, emb.texts, strict=True):
        assert set(_turn_texts([task], w.settings.memory_embed_max_chars)) <= set(call)
