"""Memory worker: SQS FIFO batch of memory tasks -> long-term memory (thin Lambda handler).

* ``SqsFifoPartialProcessor(skip_group_on_error=True)``: a failed task fails the rest of
  its message group in this batch (order kept per user+character), other groups go on;
  only failed message ids are returned in ``batchItemFailures``, SQS redelivers them and
  moves a task to the DLQ after ``maxReceiveCount`` receives.
* Powertools idempotency keyed by ``task_id``: a redelivered task that already completed
  returns its stored report and writes nothing again (the writes themselves are
  idempotent upserts too, for replays after the idempotency record expired).
* A task starts only while ``memory_task_time_reserve_ms`` of the invocation is left; later
  records of the batch are handed back untouched, so a batch of long tasks never hits the
  function timeout (which would fail every task of the batch, other users' too).
* Each record's body is parsed into a ``MemoryTask`` once and that object is passed down.
* Before the first record, the turns of every task of the batch are embedded together
  (``MemoryGenerator.prefetch``: one call for a batch of short tasks, a few for long ones, and
  only while the first task would keep twice its time reserve); each task then embeds only
  what is left (its summary, events and facts, and any turn the prefetch did not reach).
* Async work runs on the environment's one event loop (``companion.lambda_runtime``).
* Logs carry ids, counts and timings only, never message contents.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from companion import lambda_runtime
from companion.adapters import aws
from companion.bootstrap import WorkerContainer, build_worker
from companion.config import Settings, get_settings
from companion.models import MemoryTask
from companion.observability import function_logger, metrics, telemetry, tracer

IDEMPOTENCY_TTL_S = 24 * 3600
logger = function_logger("companion-memory-worker")


class _Runtime:
    def __init__(self, settings: Settings, worker: WorkerContainer | None = None) -> None:
        self.settings = settings
        self.loop = lambda_runtime.loop()  # the worker's clients live on it: tests close them there too
        self.worker = worker or build_worker(settings)
        self.processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        # A batch whose every record failed is reported like any partial failure (every id in
        # batchItemFailures) instead of raising: same redelivery, no function error per poison batch.
        self.processor.raise_on_entire_batch_failure = False
        self.idempotency = IdempotencyConfig(event_key_jmespath="task_id", expires_after_seconds=IDEMPOTENCY_TTL_S,
                                             raise_on_no_idempotency_key=True)
        # An explicit client honours settings.aws_endpoint_url (moto/LocalStack) like every other adapter.
        persistence = DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table,
            boto3_client=aws.client("dynamodb", endpoint_url=settings.aws_endpoint_url))

        @idempotent_function(data_keyword_argument="task", config=self.idempotency, persistence_store=persistence)
        def process_task(task: MemoryTask, attempt: int = 1) -> dict[str, Any]:
            # The key is the dumped model's task_id (Powertools dumps a pydantic model it is given).
            return self.loop.run(self.worker.generator.process(task, attempt=attempt)).as_dict()

        self.process_task = process_task
        self.parsed: dict[str, MemoryTask] = {}  # the current batch's tasks by message id


_runtime: _Runtime | None = None
_lock = threading.Lock()


def configure(settings: Settings | None = None, worker: WorkerContainer | None = None) -> None:
    """(Re)build the runtime: the local poller and tests pass their own settings."""
    global _runtime
    with _lock:
        _runtime = _Runtime(settings or get_settings(), worker)


def runtime() -> _Runtime:
    if _runtime is None:
        configure()
    assert _runtime is not None
    return _runtime


class TimeBudgetExhausted(Exception):
    """Too little of the invocation is left for one more task: it goes back to the queue untouched."""


def _remaining_ms(context: Any) -> float | None:
    get = getattr(context, "get_remaining_time_in_millis", None)
    return float(get()) if callable(get) else None


def _batch_tasks(event: dict[str, Any]) -> dict[str, MemoryTask]:
    """The batch's tasks by message id (a body that does not parse is left to its record to fail)."""
    tasks = {}
    for record in event.get("Records", []):
        try:
            tasks[record["messageId"]] = MemoryTask.model_validate_json(record["body"])
        except (KeyError, ValueError):
            continue
    return tasks


def record_handler(record: SQSRecord, lambda_context: Any = None) -> dict[str, Any]:
    rt = runtime()
    # A poison body fails here, then goes to the DLQ.
    task = rt.parsed.get(record.message_id) or MemoryTask.model_validate_json(record.body)
    remaining = _remaining_ms(lambda_context)
    if remaining is not None and remaining < rt.settings.memory_task_time_reserve_ms:
        # Started now, the task could be cut by the function timeout, and a timeout fails the whole
        # batch (every other user's task with it): hand this one back before it starts instead.
        telemetry.count("MemoryTaskDeferred")
        raise TimeBudgetExhausted(f"{remaining:.0f} ms left, a task is given "
                                  f"{rt.settings.memory_task_time_reserve_ms} ms")
    attempt = int(record.attributes.approximate_receive_count or 1)
    logger.append_keys(task_id=task.task_id, message_id=record.message_id)
    try:
        report = rt.process_task(task=task, attempt=attempt)
    finally:
        logger.remove_keys(["task_id", "message_id"])
    logger.info("memory task done", extra={
        "task_id": task.task_id, "status": report.get("status"), "turns": report.get("turns"),
        "facts": report.get("facts"), "events": report.get("events"), "documents": report.get("documents"),
        "llm_calls": report.get("llm_calls"), "timings_ms": report.get("timings_ms"), "attempt": attempt,
        "error": report.get("error") or None})  # a rejection's reason: counts and limits, no contents
    return report


@tracer().capture_lambda_handler(capture_response=False)  # responses carry no contents, but keep traces lean
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    rt = runtime()
    rt.idempotency.register_lambda_context(context)
    rt.parsed = _batch_tasks(event)
    try:
        # The batch's turns first, while the first task keeps twice its reserve: a prefetch that ate the
        # budget would defer every task of the batch, and the batch would come back to the same end.
        remaining = _remaining_ms(context)
        started = time.monotonic()
        rt.loop.run(rt.worker.generator.prefetch(
            list(rt.parsed.values()), keep_s=2 * rt.settings.memory_task_time_reserve_ms / 1000,
            time_left=None if remaining is None else lambda: remaining / 1000 - (time.monotonic() - started)))
        response = process_partial_response(event=event, record_handler=record_handler, processor=rt.processor,
                                             context=context)
    finally:
        rt.parsed = {}
        rt.worker.generator.forget_prefetched()
    failures = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    telemetry.count("MemoryBatchRecords", len(event.get("Records", [])))
    telemetry.count("MemoryBatchFailures", len(failures))
    if failures:  # the generator logged each failed task's reason ("memory task failed"); these go back
        logger.warning("memory batch partial failure", extra={
            "failed": len(failures), "records": len(event.get("Records", [])),
            "failed_message_ids": sorted(failures)})
    return response
