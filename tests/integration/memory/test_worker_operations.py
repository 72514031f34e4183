"""The worker as an operator runs it: its own model chain, the extraction timeout as a setting,
every model call counted in the task's status across deliveries, and failures logged with the task id."""

from __future__ import annotations

import logging

from companion.adapters.keys import task_group_id
from companion.config import ModelSpec, Settings

from .conftest import conversation, extraction_json, make_task, sqs_event, user

CANONICAL = "我叫小林，下个月15号是我生日，我最喜欢吃火锅"


def _spec(name: str, base_url: str) -> ModelSpec:
    return ModelSpec(name=name, provider="openai", model=name, base_url=base_url, api_key="k")


async def test_the_worker_uses_memory_llm_chain_not_the_chat_chain(worker_for, memory_llm) -> None:
    memory_llm.configure("extract-own", json=extraction_json())
    w = worker_for("chat-model-only", memory_llm_chain=[_spec("extract-own", memory_llm.base_url)])
    uid = user()
    assert w.deliver(make_task(uid, conversation(uid, [CANONICAL, "好呀"]))) == {"batchItemFailures": []}
    assert len(memory_llm.requests("extract-own")) == 1
    assert memory_llm.requests("chat-model-only") == []
    facts, _, _ = await w.repo.load(uid, "xiaoyu")
    assert facts[("preference", "favorite_food")].value == "火锅"


def test_memory_llm_chain_reads_json_from_the_environment_and_falls_back_to_llm_chain(monkeypatch) -> None:
    monkeypatch.setenv("LLM_CHAIN", '[{"name": "chat", "base_url": "http://x/v1", "model": "big"}]')
    assert Settings().memory_llm_chain == []  # empty: the worker's builder takes LLM_CHAIN
    monkeypatch.setenv("MEMORY_LLM_CHAIN", '[{"name": "small", "base_url": "http://y/v1", "model": "tiny"}]')
    monkeypatch.setenv("LLM_COMPLETE_TIMEOUT_S", "240")
    s = Settings()
    assert [m.name for m in s.memory_llm_chain] == ["small"] and [m.name for m in s.llm_chain] == ["chat"]
    assert s.llm_complete_timeout_s == 240


async def test_a_timed_out_call_fails_the_task_counts_and_is_logged_then_the_retry_clears_the_error(
        worker_for, memory_llm, caplog) -> None:
    # The first answer takes longer than LLM_COMPLETE_TIMEOUT_S; the next is instant.
    memory_llm.configure("extract-slow", json=extraction_json(),
                         script=[{"mode": "slow", "first_token_delay_s": 2.0}])
    w = worker_for("extract-slow", llm_complete_timeout_s=0.4)
    assert w.container.chain.complete_timeout_s == 0.4
    uid = user()
    task = make_task(uid, conversation(uid, [CANONICAL, "好呀"]))
    caplog.set_level(logging.INFO)
    resp = w.deliver(task)
    assert len(resp["batchItemFailures"]) == 1
    status = await w.container.task_statuses.get(task.task_id)
    assert status and status["status"] == "failed" and "timeout" in status["error"]
    assert status["llm_calls"] == 1
    assert await w.docs(uid) == []

    # Where the operator looks: the reason, with the task id and the calls, and no message contents.
    [failed] = [r for r in caplog.records if r.getMessage() == "memory task failed"]
    assert failed.task_id == task.task_id and "timeout" in failed.error and failed.llm_calls == 1  # type: ignore[attr-defined]
    assert CANONICAL not in str(failed.__dict__)
    [batch] = [r for r in caplog.records if r.getMessage() == "memory batch partial failure"]
    assert batch.failed_message_ids == [i["itemIdentifier"] for i in resp["batchItemFailures"]]  # type: ignore[attr-defined]
    assert batch.name == "companion-memory-worker"  # the worker's own logger, not a shared one

    # SQS redelivers: the second delivery completes; its call adds to the first, the stale error goes.
    group = task_group_id(task.user_id, task.character_id)
    assert w.handle(sqs_event([task.model_dump_json()], groups=[group])) == {"batchItemFailures": []}
    status = await w.container.task_statuses.get(task.task_id)
    assert status and status["status"] == "completed" and "error" not in status
    assert status["llm_calls"] == 2 == len(memory_llm.requests("extract-slow"))
    assert len(await w.docs(uid, ["turn"])) == 2


async def test_a_failover_after_a_timeout_counts_both_calls(worker_for, memory_llm) -> None:
    memory_llm.configure("extract-stuck", mode="slow", first_token_delay_s=2.0, json=extraction_json())
    memory_llm.configure("extract-backup", json=extraction_json())
    w = worker_for(None, llm_complete_timeout_s=0.4,
                   memory_llm_chain=[_spec("extract-stuck", memory_llm.base_url),
                                     _spec("extract-backup", memory_llm.base_url)])
    uid = user()
    task = make_task(uid, conversation(uid, [CANONICAL, "好呀"]))
    assert w.deliver(task) == {"batchItemFailures": []}
    status = await w.container.task_statuses.get(task.task_id)
    assert status and status["status"] == "completed" and status["llm_calls"] == 2


async def test_a_repaired_answer_counts_two_calls_in_the_status(worker_for, memory_llm) -> None:
    memory_llm.configure("extract-fix", json=extraction_json(), script=[{"json": "{not json"}])
    w = worker_for("extract-fix")
    uid = user()
    task = make_task(uid, conversation(uid, [CANONICAL, "好呀"]))
    assert w.deliver(task) == {"batchItemFailures": []}
    status = await w.container.task_statuses.get(task.task_id)
    assert status and status["llm_calls"] == 2


def test_worker_and_sweeper_log_under_their_own_service_names() -> None:
    from functions.memory_worker import app as worker_app
    from functions.session_sweeper import app as sweeper_app

    assert worker_app.logger.service == "companion-memory-worker"
    assert sweeper_app.logger.service == "companion-session-sweeper"
    # Separate loggers: the keys one appends (its Lambda context) never tag the other's lines.
    worker_app.logger.append_keys(function_name="companion-memory-worker")
    try:
        assert "function_name" not in sweeper_app.logger.get_current_keys()
    finally:
        worker_app.logger.remove_keys(["function_name"])
