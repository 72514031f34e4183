"""Publishes memory tasks to the SQS FIFO queue; segments too large for SQS go through S3."""

from __future__ import annotations

import json
from typing import Any

from ..models import MemoryTask
from . import aws
from .keys import encode_id, s3_prefix, task_group_id


def segment_key(task: MemoryTask) -> str:
    return f"segments/{s3_prefix(task.user_id, task.character_id)}{encode_id(task.task_id)}.json"


class SqsTaskQueue:
    def __init__(self, queue_url: str, bucket: str, *, payload_limit: int = 240_000,
                 endpoint_url: str | None = None) -> None:
        self._endpoint = endpoint_url
        self._url = queue_url
        self._bucket = bucket
        self._limit = payload_limit  # SQS allows 256 KiB including attributes

    @property
    def _s3(self) -> Any:
        return aws.client("s3", endpoint_url=self._endpoint)

    @property
    def _sqs(self) -> Any:
        return aws.client("sqs", endpoint_url=self._endpoint)

    async def publish(self, task: MemoryTask) -> None:
        body = task.model_dump_json()
        if len(body.encode()) > self._limit:
            key = segment_key(task)
            await aws.call(self._s3.put_object, Bucket=self._bucket, Key=key,
                           Body=json.dumps([m.model_dump() for m in task.messages], ensure_ascii=False).encode(),
                           ContentType="application/json")
            body = task.model_copy(update={"messages": [], "segment_s3_key": key}).model_dump_json()
        await aws.call(self._sqs.send_message, QueueUrl=self._url, MessageBody=body,
                       MessageGroupId=task_group_id(task.user_id, task.character_id),
                       MessageDeduplicationId=task.task_id)

    async def load_segment(self, task: MemoryTask) -> MemoryTask:
        """The task with its messages, fetching them from S3 when they travelled there."""
        if not task.segment_s3_key:
            return task
        resp = await aws.call(self._s3.get_object, Bucket=self._bucket, Key=task.segment_s3_key)
        raw: Any = json.loads(resp["Body"].read())
        return MemoryTask.model_validate({**task.model_dump(), "messages": raw})
