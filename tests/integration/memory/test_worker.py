"""The memory worker handler end to end: extraction, merge, index, records, archive, idempotency, failures."""

from __future__ import annotations

import json

from companion.adapters import aws
from companion.adapters.keys import task_group_id
from companion.embeddings.factory import build_embedder

from .conftest import conversation, extraction_json, make_task, sqs_event, user

CANONICAL = "我叫小林，下个月15号是我生日，我最喜欢吃火锅"


async def test_canonical_example_offline_rules_real_embeddings(worker_for, settings_for) -> None:
    """Rules (offline chain) + the real e5 model: facts, birthday event, summary, turns, archive."""
    w = worker_for(None, embedder=build_embedder(settings_for(None)))
    uid = user()
    # 2026-11-21 (the conversation date): "下个月15号" is 2026-12-15.
    msgs = conversation(uid, [CANONICAL, "记住啦小林！火锅真的很棒，生日快到了呢。"], t0=1795262000.0)
    task = make_task(uid, msgs)
    resp = w.deliver(task)
    assert resp == {"batchItemFailures": []}

    facts, events, summaries = await w.repo.load(uid, "xiaoyu")
    values = {k: f.value for (_, k), f in facts.items()}
    assert values["name"] == "小林"
    assert values["favorite_food"] == "火锅"
    assert "12月15日" in values.get("birthday", "12月15日")
    birthday = [e for e in events if e.type == "birthday"]
    assert len(birthday) == 1 and birthday[0].date == "2026-12-15" and birthday[0].recurring
    assert len(summaries) == 1 and "火锅" in summaries[0].summary  # Chinese stays Chinese

    docs = await w.docs(uid)
    turns = sorted((d for d in docs if d["memory_type"] == "turn"), key=lambda d: d["seq"])
    assert [d["content"] for d in turns] == [m.content for m in msgs]
    assert {d["memory_type"] for d in docs} == {"turn", "summary", "event", "profile"}
    assert all(len(d["embedding"]) == 384 for d in docs)
    assert abs(sum(x * x for x in turns[0]["embedding"]) - 1.0) < 1e-3
    # The reply is embedded after the message it answers (its vector, not its text).
    assert "context" not in turns[0]["metadata"] and turns[1]["metadata"]["context"] == msgs[0].content
    [expected] = await w.container.embedder.embed_passages([f"{msgs[0].content}\n{msgs[1].content}"])
    assert max(abs(a - b) for a, b in zip(turns[1]["embedding"], expected, strict=True)) < 1e-4

    # Semantic and keyword recall find the raw turn.
    query = await w.container.embedder.embed_query("我爱吃什么")
    hits = await w.index.knn_search(uid, "xiaoyu", query, k=3)
    assert hits and all(h.memory_id for h in hits)
    bm25 = await w.index.bm25_search(uid, "xiaoyu", "火锅", k=5)
    assert any(h.content == CANONICAL for h in bm25)

    keys = await w.archives(uid)
    assert len(keys) == 1 and keys[0].startswith(f"conversations/{uid}/xiaoyu/2026/11/21/s1.")
    raw = aws.client("s3", endpoint_url=w.settings.aws_endpoint_url).get_object(
        Bucket=w.settings.archive_bucket, Key=keys[0])["Body"].read()
    assert "我最喜欢吃火锅".encode() in raw  # UTF-8, not \\u escapes
    doc = json.loads(raw)
    assert doc["summary"]["text"] and doc["messages"][0]["content"] == CANONICAL
    assert {p["key"] for p in doc["extracted_profiles"]} >= {"name", "favorite_food"}

    status = await w.container.task_statuses.get(task.task_id)
    assert status and status["status"] == "completed"


async def test_llm_extraction_one_call_and_same_task_twice_writes_nothing_twice(worker_for, memory_llm) -> None:
    w = worker_for("extract-once")
    memory_llm.configure("extract-once", json=extraction_json())
    uid = user()
    task = make_task(uid, conversation(uid, [CANONICAL, "好的，我记住了！"]))
    assert w.deliver(task) == {"batchItemFailures": []}
    assert len(memory_llm.requests("extract-once")) == 1  # ONE LLM call per task
    body = memory_llm.requests("extract-once")[0]["body"]
    assert body["response_format"]["type"] == "json_schema"
    docs1, items1 = await w.docs(uid), await w.items(uid)
    assert len(docs1) == 2 + 1 + 1 + 2  # turns + summary + event + facts
    assert len(items1) == 2 + 1 + 1  # facts + event + summary

    # Redelivery: idempotency returns the stored result, no second LLM call, nothing rewritten.
    assert w.deliver(task) == {"batchItemFailures": []}
    assert len(memory_llm.requests("extract-once")) == 1
    # Replay past the idempotency record (expired): deterministic ids overwrite, never add.
    report = w.process(task)
    assert report.status == "completed" and report.facts == 0 and report.events == 0
    docs2, items2 = await w.docs(uid), await w.items(uid)
    assert sorted(d["memory_id"] for d in docs2) == sorted(d["memory_id"] for d in docs1)
    assert sorted(i["sk"] for i in items2) == sorted(i["sk"] for i in items1)
    assert len(await w.archives(uid)) == 1


async def test_batch_with_one_bad_task_fails_only_that_record(worker_for, memory_llm) -> None:
    w = worker_for("extract-batch")
    memory_llm.configure("extract-batch", json=extraction_json())
    good = [user(), user()]
    tasks = [make_task(u, conversation(u, [f"我叫{u}，我喜欢猫", "好的"])) for u in good]
    bad_uid = user()
    bodies = [tasks[0].model_dump_json(), '{"task_id": "broken", "user_id": "' + bad_uid + '"}',
              tasks[1].model_dump_json()]
    groups = [task_group_id(t.user_id, t.character_id) for t in (tasks[0], tasks[0], tasks[1])]
    groups[1] = task_group_id(bad_uid, "xiaoyu")
    event = sqs_event(bodies, groups=groups)
    resp = w.handle(event)
    assert resp["batchItemFailures"] == [{"itemIdentifier": event["Records"][1]["messageId"]}]
    for u in good:
        assert len(await w.docs(u, ["turn"])) == 2
        assert await w.items(u)


async def test_same_group_after_a_failure_is_held_back_for_order(worker_for, memory_llm) -> None:
    w = worker_for("extract-fifo")
    memory_llm.configure("extract-fifo", json="not json", script=[{"json": "nope"}, {"json": "still no"}])
    uid = user()
    first = make_task(uid, conversation(uid, ["第一段", "好"]))
    second = make_task(uid, conversation(uid, ["第二段", "好"], start_seq=3))
    group = task_group_id(first.user_id, first.character_id)
    event = sqs_event([first.model_dump_json(), second.model_dump_json()], groups=[group] * 2)
    resp = w.handle(event)
    assert [f["itemIdentifier"] for f in resp["batchItemFailures"]] == [r["messageId"] for r in event["Records"]]
    assert await w.docs(uid) == []


async def test_invalid_json_is_repaired_with_one_more_call(worker_for, memory_llm) -> None:
    w = worker_for("extract-repair")
    memory_llm.configure("extract-repair", json=extraction_json(), script=[{"json": "{not valid json"}])
    uid = user()
    task = make_task(uid, conversation(uid, [CANONICAL, "好呀"]))
    assert w.deliver(task) == {"batchItemFailures": []}
    assert len(memory_llm.requests("extract-repair")) == 2
    facts, events, _ = await w.repo.load(uid, "xiaoyu")
    assert facts[("preference", "favorite_food")].value == "火锅" and len(events) == 1


async def test_invalid_twice_fails_the_task_and_writes_nothing(worker_for, memory_llm) -> None:
    w = worker_for("extract-bad")
    memory_llm.configure("extract-bad", json="definitely not json")
    uid = user()
    task = make_task(uid, conversation(uid, [CANONICAL, "好呀"]))
    event = sqs_event([task.model_dump_json()], groups=[task_group_id(task.user_id, task.character_id)])
    resp = w.handle(event)
    assert resp["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    assert len(memory_llm.requests("extract-bad")) == 2  # the call + one repair, no more
    assert await w.docs(uid) == [] and await w.items(uid) == [] and await w.archives(uid) == []
    status = await w.container.task_statuses.get(task.task_id)
    assert status and status["status"] == "failed" and "ExtractionFailed" in status["error"]

    # The idempotency record was released: the redelivery is processed once the model behaves.
    memory_llm.configure("extract-bad", json=extraction_json())
    group = task_group_id(task.user_id, task.character_id)
    assert w.handle(sqs_event([task.model_dump_json()], groups=[group])) == {"batchItemFailures": []}
    assert len(await w.docs(uid, ["turn"])) == 2


async def test_english_stays_english_and_merges_with_known_facts(worker_for, memory_llm) -> None:
    w = worker_for(None)  # offline chain: the rule extractor
    uid = user()
    t1 = make_task(uid, conversation(uid, ["My name is Sam and I work as a nurse.", "Nice to meet you, Sam!"]))
    t2 = make_task(uid, conversation(uid, ["Actually I work as a teacher now.", "Oh, congratulations!"],
                                     start_seq=3, t0=1795270000.0))
    assert w.deliver(t1) == {"batchItemFailures": []}
    assert w.deliver(t2) == {"batchItemFailures": []}
    facts, _, summaries = await w.repo.load(uid, "xiaoyu")
    job = facts[("basic_info", "job")]
    assert "teacher" in job.value and job.history and "nurse" in job.history[0].value
    assert len(summaries) == 2 and all("用户" not in s.summary for s in summaries)
    assert len(await w.docs(uid, ["turn"])) == 4


async def test_sample_sqs_event_from_events_dir(worker_for) -> None:
    """events/memory_worker_sqs.json (what `sam local invoke` sends) goes through the handler."""
    from pathlib import Path

    w = worker_for(None)
    event = json.loads((Path(__file__).parents[3] / "events" / "memory_worker_sqs.json").read_text())
    uid = user()
    for rec in event["Records"]:  # a fresh user, so reruns do not hit earlier idempotency records
        body = json.loads(rec["body"])
        body["user_id"], body["task_id"] = uid, f"{body['task_id']}-{uid}"
        rec["body"] = json.dumps(body, ensure_ascii=False)
    assert w.handle(event) == {"batchItemFailures": []}
    turns = await w.docs(uid, ["turn"])
    assert sorted(d["seq"] for d in turns) == [1, 2, 3, 4, 5, 6]


async def test_archive_down_still_writes_the_memory_and_says_so(worker_for) -> None:
    """Seed 002 §6: S3 failing skips the archive; facts, index and status are written, no redelivery."""
    w = worker_for(None, archive_bucket="companion-no-such-bucket")
    uid = user()
    task = make_task(uid, conversation(uid, [CANONICAL, "记住啦小林！"], t0=1795262000.0))
    assert w.deliver(task) == {"batchItemFailures": []}
    facts, _, _ = await w.repo.load(uid, "xiaoyu")
    assert {k: f.value for (_, k), f in facts.items()}["name"] == "小林"
    assert any(d["memory_type"] == "turn" for d in await w.docs(uid))
    status = await w.container.task_statuses.get(task.task_id)
    assert status and status["status"] == "completed" and status["degraded"] == ["archive"]
    assert "archive_key" not in status
