"""Through the real queue (moto SQS FIFO) with the local poller: DLQ, racing triggers, S3 offload, sweeper."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from companion.adapters import aws
from companion.adapters.dynamodb_messages import DynamoMessageLog
from companion.adapters.dynamodb_tasks import DynamoTaskStatusStore
from companion.adapters.sqs_tasks import SqsTaskQueue
from companion.memory.scheduler import MemoryTaskScheduler
from companion.models import ChatMessage

from functions.session_sweeper import app as sweeper_app
from infra.local.worker_poller import WorkerPoller

from .conftest import conversation, extraction_json, make_task, user


def _sqs(w):  # type: ignore[no-untyped-def]
    return aws.client("sqs", endpoint_url=w.settings.aws_endpoint_url)


def _dlq_bodies(w, dlq_url: str) -> list[str]:  # type: ignore[no-untyped-def]
    resp = _sqs(w).receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                   VisibilityTimeout=0)
    return [m["Body"] for m in resp.get("Messages", [])]


@pytest.fixture()
def poller_for(worker_for, memory_resources):  # type: ignore[no-untyped-def]
    def make(llm: str | None = None, **kw):  # type: ignore[no-untyped-def]
        w = worker_for(llm)
        poller = WorkerPoller(w.settings, memory_resources["memory_queue_url"], wait_s=0, retry_visibility_s=0,
                              configure_handler=False)
        poller.drain(idle_polls=1, timeout_s=10)  # leftovers of earlier tests
        return w, poller

    return make


async def test_poison_message_ends_in_dlq_after_three_receives(poller_for, memory_resources) -> None:
    w, poller = poller_for(None)
    marker = f"poison-{uuid.uuid4().hex}"
    _sqs(w).send_message(QueueUrl=memory_resources["memory_queue_url"], MessageBody=marker,
                         MessageGroupId=f"{marker}:g", MessageDeduplicationId=marker)
    receives = 0
    for _ in range(10):
        counts = poller.poll_once()
        receives += counts["failed"]
        if counts["received"] == 0 and receives:
            break
    assert receives == 3  # maxReceiveCount in template.yaml
    assert poller.stats["dead_lettered"] == 0, "moto applied the redrive policy itself"
    assert marker in _dlq_bodies(w, memory_resources["memory_dlq_url"])


async def test_racing_triggers_process_each_message_once(poller_for, memory_llm) -> None:
    w, poller = poller_for("extract-race")
    memory_llm.configure("extract-race", json=extraction_json())
    s = w.settings
    uid = user()
    log = DynamoMessageLog(s.messages_table, endpoint_url=s.aws_endpoint_url)
    queue = SqsTaskQueue(s.memory_queue_url, s.archive_bucket, endpoint_url=s.aws_endpoint_url)
    statuses = DynamoTaskStatusStore(s.tasks_table, endpoint_url=s.aws_endpoint_url)
    await log.append(uid, "xiaoyu", "s1", [ChatMessage(role="user" if i % 2 == 0 else "assistant",
                                                      content=f"第{i}句：我喜欢爬山") for i in range(6)])
    schedulers = [MemoryTaskScheduler(log, queue, statuses, threshold=4) for _ in range(4)]
    results = await asyncio.gather(*(sch.schedule(uid, "xiaoyu", trig, force=True) for sch, trig in
                                     zip(schedulers, ["threshold", "session_end", "idle", "ttl_guard"], strict=True)))
    assert sum(r is not None for r in results) == 1
    # The same task resent (a sweeper resend racing the first send) is deduplicated.
    await queue.publish(next(r for r in results if r is not None))
    stats = poller.drain(idle_polls=1, timeout_s=20)
    assert stats["failed"] == 0
    turns = await w.docs(uid, ["turn"])
    assert sorted(d["seq"] for d in turns) == [1, 2, 3, 4, 5, 6]
    assert len(await w.docs(uid, ["summary"])) == 1
    assert len(memory_llm.requests("extract-race")) == 1


async def test_300kb_segment_travels_through_s3(poller_for) -> None:
    w, poller = poller_for(None)
    s = w.settings
    uid = user()
    text = "今天我们去爬了香山，红叶特别好看，我拍了很多照片。" * 60  # ~4.5 KB of UTF-8 per message
    msgs = conversation(uid, [f"{i}：{text}" for i in range(66)])
    task = make_task(uid, msgs)
    assert len(task.model_dump_json().encode()) > 300_000
    queue = SqsTaskQueue(s.memory_queue_url, s.archive_bucket, payload_limit=s.sqs_payload_limit_bytes,
                         endpoint_url=s.aws_endpoint_url)
    await queue.publish(task)
    stats = poller.drain(idle_polls=1, timeout_s=30)
    status = await w.container.task_statuses.get(task.task_id)
    assert stats["failed"] == 0 and stats["succeeded"] >= 1, status
    assert status and status["status"] == "completed"
    turns = await w.docs(uid, ["turn"])
    assert len(turns) == 66 and turns[0]["content"].endswith("照片。")
    assert w.embedder.calls and max(w.embedder.calls) >= 66  # one embedding batch for the task


async def test_sweeper_schedules_idle_and_old_conversations(poller_for, memory_llm) -> None:
    w, poller = poller_for("extract-sweep")
    memory_llm.configure("extract-sweep", json=extraction_json())
    s = w.settings
    container = sweeper_app.configure(s)
    log = container.message_log
    idle_uid, busy_uid, fresh_uid = user(), user(), user()
    now = time.time()
    await log.append(idle_uid, "xiaoyu", "s1", [ChatMessage(role="user", content="我养了一只猫", timestamp=now - 1900)])
    # busy: still active, but its first unprocessed message is a day old (Redis would lose it).
    await log.append(busy_uid, "xiaoyu", "s2", [ChatMessage(role="user", content="很久以前说的话",
                                                           timestamp=now - 24 * 3600)])
    await log.append(busy_uid, "xiaoyu", "s2", [ChatMessage(role="user", content="现在又说话了", timestamp=now)])
    await log.append(fresh_uid, "xiaoyu", "s3", [ChatMessage(role="user", content="刚刚说的", timestamp=now)])
    # last_active_at is the append's wall clock: age the idle conversation by 31 minutes.
    aws.client("dynamodb", endpoint_url=s.aws_endpoint_url).update_item(
        TableName=s.messages_table, Key={"pk": {"S": f"{idle_uid}#xiaoyu"}, "sk": {"S": "CONV"}},
        UpdateExpression="SET last_active_at = :t", ExpressionAttributeValues={":t": {"N": str(now - 31 * 60)}})
    counts = await container.sweeper.sweep(now=time.time())
    assert counts["idle"] >= 1 and counts["ttl_guard"] >= 1, counts
    stats = poller.drain(idle_polls=1, timeout_s=20)
    assert stats["failed"] == 0
    assert len(await w.docs(idle_uid, ["turn"])) == 1
    assert len(await w.docs(busy_uid, ["turn"])) == 2
    assert await w.docs(fresh_uid, ["turn"]) == []
