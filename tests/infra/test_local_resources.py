"""infra/local/resources.py against a real moto server: the local resources match template.yaml."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from companion.config import Settings

from infra.local.resources import TEMPLATE_PATH, create_local_resources, dlq_name, load_template


def _settings(endpoint: str) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        aws_endpoint_url=endpoint,
        aws_region="us-east-1",
        characters_table=f"t-characters-{suffix}",
        memory_table=f"t-memory-{suffix}",
        messages_table=f"t-messages-{suffix}",
        tasks_table=f"t-tasks-{suffix}",
        idempotency_table=f"t-idempotency-{suffix}",
        memory_queue_name=f"t-memory-tasks-{suffix}.fifo",
        archive_bucket=f"t-archive-{suffix}",
    )


@pytest.fixture(scope="module")
def created(moto_endpoint: str) -> tuple[Settings, dict[str, str]]:
    settings = _settings(moto_endpoint)
    return settings, create_local_resources(settings)


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def _gsis(desc: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {g["IndexName"]: _keys(g["KeySchema"]) for g in desc.get("GlobalSecondaryIndexes", [])}


def _attr_types(desc: dict[str, Any]) -> dict[str, str]:
    return {a["AttributeName"]: a["AttributeType"] for a in desc["AttributeDefinitions"]}


def test_tables_have_the_contract_key_schemas(created: tuple[Settings, dict[str, str]],
                                              moto_endpoint: str) -> None:
    settings, _ = created
    ddb = _client("dynamodb", moto_endpoint)

    def describe(name: str) -> dict[str, Any]:
        return ddb.describe_table(TableName=name)["Table"]

    chars = describe(settings.characters_table)
    assert _keys(chars["KeySchema"]) == [("character_id", "HASH")]
    assert _gsis(chars) == {"owner-index": [("owner_id", "HASH")]}

    memory = describe(settings.memory_table)
    assert _keys(memory["KeySchema"]) == [("pk", "HASH"), ("sk", "RANGE")]
    assert _gsis(memory) == {"user-index": [("user_id", "HASH"), ("sk", "RANGE")]}

    messages = describe(settings.messages_table)
    assert _keys(messages["KeySchema"]) == [("pk", "HASH"), ("sk", "RANGE")]
    assert _gsis(messages) == {"pending-index": [("pending_shard", "HASH"), ("last_active_at", "RANGE")]}
    assert _attr_types(messages)["last_active_at"] == "N"

    tasks = describe(settings.tasks_table)
    assert _keys(tasks["KeySchema"]) == [("task_id", "HASH")]
    assert _gsis(tasks) == {"status-index": [("status", "HASH"), ("updated_at", "RANGE")]}
    assert _attr_types(tasks)["updated_at"] == "N"

    idem = describe(settings.idempotency_table)
    assert _keys(idem["KeySchema"]) == [("id", "HASH")]
    assert idem["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


@pytest.mark.parametrize(("attr", "ttl_attribute"), [
    ("messages_table", "expires_at"), ("tasks_table", "expires_at"), ("idempotency_table", "expiration"),
])
def test_ttl_attributes(created: tuple[Settings, dict[str, str]], moto_endpoint: str,
                        attr: str, ttl_attribute: str) -> None:
    settings, _ = created
    ddb = _client("dynamodb", moto_endpoint)
    ttl = ddb.describe_time_to_live(TableName=getattr(settings, attr))["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    assert ttl["AttributeName"] == ttl_attribute


def test_fifo_queue_with_redrive_to_fifo_dlq(created: tuple[Settings, dict[str, str]],
                                             moto_endpoint: str) -> None:
    settings, result = created
    sqs = _client("sqs", moto_endpoint)
    assert result["memory_queue_url"].endswith(settings.memory_queue_name)
    assert result["memory_dlq_url"].endswith(dlq_name(settings.memory_queue_name))

    attrs = sqs.get_queue_attributes(QueueUrl=result["memory_queue_url"], AttributeNames=["All"])["Attributes"]
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=result["memory_dlq_url"], AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"
    assert int(attrs["VisibilityTimeout"]) == 720
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_attrs["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 3
    assert dlq_attrs["FifoQueue"] == "true"


def test_queue_deduplicates_by_task_id(created: tuple[Settings, dict[str, str]], moto_endpoint: str) -> None:
    """Content-based dedup is off, so the same task id twice is one message, different ids two."""
    _, result = created
    sqs = _client("sqs", moto_endpoint)
    url = result["memory_queue_url"]
    for dedup_id in ("task-1", "task-1", "task-2"):
        sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="u:c", MessageDeduplicationId=dedup_id)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "2"


def test_bucket_exists_versioned_and_private(created: tuple[Settings, dict[str, str]],
                                             moto_endpoint: str) -> None:
    settings, result = created
    s3 = _client("s3", moto_endpoint)
    assert result["archive_bucket"] == settings.archive_bucket
    assert s3.get_bucket_versioning(Bucket=settings.archive_bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=settings.archive_bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_idempotent(created: tuple[Settings, dict[str, str]]) -> None:
    settings, first = created
    assert create_local_resources(settings) == first


def test_mismatched_existing_table_is_an_error(moto_endpoint: str) -> None:
    settings = _settings(moto_endpoint)
    _client("dynamodb", moto_endpoint).create_table(
        TableName=settings.characters_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    with pytest.raises(RuntimeError, match=r"does not match template\.yaml"):
        create_local_resources(settings)


def test_tables_follow_the_template_not_a_copy(tmp_path: Path, moto_endpoint: str) -> None:
    """Change a GSI in a copy of the template: the created table follows the copy."""
    text = TEMPLATE_PATH.read_text(encoding="utf-8").replace("IndexName: owner-index", "IndexName: owner-index-v2")
    copy = tmp_path / "template.yaml"
    copy.write_text(text, encoding="utf-8")
    settings = _settings(moto_endpoint)
    create_local_resources(settings, copy)
    desc = _client("dynamodb", moto_endpoint).describe_table(TableName=settings.characters_table)["Table"]
    assert set(_gsis(desc)) == {"owner-index-v2"}


def test_refuses_real_aws_without_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(RuntimeError, match="AWS_ENDPOINT_URL"):
        create_local_resources(Settings(aws_endpoint_url=None))


def test_loader_understands_short_form_tags() -> None:
    template = load_template()
    queue = template["Resources"]["MemoryTaskQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["MemoryTaskDLQ", "Arn"]}
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["CHARACTERS_TABLE"] == {"Ref": "CharactersTable"}
