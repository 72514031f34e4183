"""Session end and the threshold publish memory tasks; racing triggers claim each message once."""

from __future__ import annotations

import asyncio
import json
import time

from companion.adapters import aws
from companion.memory.scheduler import MemoryTaskScheduler
from companion.models import MemoryTask

from .conftest import ChatClient, greeting


def _tasks_for(queue_url: str, endpoint: str, user_id: str) -> list[MemoryTask]:
    sqs = aws.client("sqs", endpoint_url=endpoint)
    found: list[MemoryTask] = []
    for _ in range(10):
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                   VisibilityTimeout=0)
        msgs = resp.get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            task = MemoryTask.model_validate(json.loads(m["Body"]))
            if task.user_id == user_id:
                found.append(task)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return found


async def test_session_end_publishes_the_segment(client: ChatClient) -> None:
    await client.say("我叫小林")
    await client.say("下个月15号是我生日")
    resp = await client.http.post("/api/v1/chat/sessions/xiaoyu/end", headers=client.auth())
    assert resp.status_code == 200
    body = resp.json()
    assert body["ended"] is True and body["messages"] == 5 and body["task_id"]  # the greeting, then two turns
    s = client.container.settings
    tasks = _tasks_for(s.memory_queue_url, s.aws_endpoint_url or "", client.user_id)
    assert len(tasks) == 1
    task = tasks[0]
    assert (task.from_seq, task.to_seq, task.trigger) == (1, 5, "session_end")
    assert (task.messages[0].role, task.messages[0].content) == greeting("xiaoyu")
    assert [m.content for m in task.messages if m.role == "user"] == ["我叫小林", "下个月15号是我生日"]
    status = await client.container.task_statuses.get(task.task_id)
    assert status and status["status"] == "queued"
    # nothing left: a second end publishes nothing
    again = await client.http.post("/api/v1/chat/sessions/xiaoyu/end", headers=client.auth())
    assert again.json()["task_id"] is None


async def test_threshold_publishes_without_session_end(client_factory) -> None:  # type: ignore[no-untyped-def]
    c = client_factory(memory_segment_threshold=4)
    await c.say("one", character_id="luna")  # the greeting and a turn: 3 messages
    s = c.container.settings
    assert _tasks_for(s.memory_queue_url, s.aws_endpoint_url or "", c.user_id) == []
    await c.say("two", character_id="luna")
    tasks = _tasks_for(s.memory_queue_url, s.aws_endpoint_url or "", c.user_id)
    assert [(t.from_seq, t.to_seq, t.trigger) for t in tasks] == [(1, 5, "threshold")]
    assert tasks[0].context_before == []  # nothing before the first message
    await c.say("three", character_id="luna")
    await c.say("four", character_id="luna")
    [second] = _tasks_for(s.memory_queue_url, s.aws_endpoint_url or "", c.user_id)
    assert (second.from_seq, second.to_seq) == (6, 9)
    # The previous segment's last message travels along as context for embedding message 6.
    assert [m.seq for m in second.context_before] == [5] and [m.seq for m in second.messages] == [6, 7, 8, 9]
    assert second.context_before[0].content == tasks[0].messages[-1].content


async def test_racing_triggers_claim_each_message_once(client: ChatClient) -> None:
    for i in range(3):
        await client.say(f"message {i}", character_id="luna")
    k = client.container
    schedulers = [MemoryTaskScheduler(k.message_log, k.task_queue, k.task_statuses, threshold=1) for _ in range(4)]
    results = await asyncio.gather(*[s.schedule(client.user_id, "luna", "idle", force=True) for s in schedulers])
    won = [r for r in results if r is not None]
    assert len(won) == 1 and (won[0].from_seq, won[0].to_seq) == (1, 7)  # the greeting and three turns
    await client.say("one more", character_id="luna")
    results = await asyncio.gather(*[s.schedule(client.user_id, "luna", "idle", force=True) for s in schedulers])
    won = [r for r in results if r is not None]
    assert [(t.from_seq, t.to_seq) for t in won] == [(8, 9)]
    s = k.settings
    tasks = _tasks_for(s.memory_queue_url, s.aws_endpoint_url or "", client.user_id)
    covered = sorted(seq for t in tasks for seq in range(t.from_seq, t.to_seq + 1))
    assert covered == list(range(1, 10))


async def test_sqs_down_keeps_the_task_and_the_sweeper_resends_it(client: ChatClient) -> None:
    from companion.adapters.sqs_tasks import SqsTaskQueue

    await client.say("something worth remembering", character_id="luna")
    k = client.container
    s = k.settings
    broken = SqsTaskQueue(s.memory_queue_url + "-gone", s.archive_bucket, endpoint_url=s.aws_endpoint_url)
    scheduler = MemoryTaskScheduler(k.message_log, broken, k.task_statuses, threshold=1)
    task = await scheduler.schedule(client.user_id, "luna", "session_end", force=True)
    assert task is not None  # claimed, but not sent
    record = await k.task_statuses.get(task.task_id)
    assert record and record["status"] == "unsent"
    assert _tasks_for(s.memory_queue_url, s.aws_endpoint_url or "", client.user_id) == []

    healthy = MemoryTaskScheduler(k.message_log, k.task_queue, k.task_statuses, threshold=1)
    assert await healthy.resend_unsent(older_than=time.time() + 1) >= 1
    sent = _tasks_for(s.memory_queue_url, s.aws_endpoint_url or "", client.user_id)
    assert [(t.task_id, t.from_seq, t.to_seq) for t in sent] == [(task.task_id, 1, 3)]
    assert sent[0].messages[1].content == "something worth remembering"
    assert (await k.task_statuses.get(task.task_id) or {})["status"] == "queued"


async def test_a_long_unprocessed_range_becomes_several_tasks_within_the_size_limit(client: ChatClient) -> None:
    for i in range(4):
        await client.say(f"message {i}", character_id="luna")  # 9 messages with the greeting
    k = client.container
    scheduler = MemoryTaskScheduler(k.message_log, k.task_queue, k.task_statuses, threshold=1, max_task_messages=3)
    first = await scheduler.schedule(client.user_id, "luna", "session_end", force=True)
    assert first is not None and (first.from_seq, first.to_seq) == (1, 3)
    s = k.settings
    tasks = _tasks_for(s.memory_queue_url, s.aws_endpoint_url or "", client.user_id)
    assert sorted((t.from_seq, t.to_seq) for t in tasks) == [(1, 3), (4, 6), (7, 9)]
    assert all(len(t.messages) == t.to_seq - t.from_seq + 1 for t in tasks)
    conv = await k.message_log.conversation(client.user_id, "luna")
    assert conv is not None and int(conv["processed_upto"]) == 9
