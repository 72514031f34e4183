"""Create the local AWS resources (DynamoDB tables, SQS queues, S3 bucket) from template.yaml.

The template is the single source of truth: key schemas, GSIs, TTL attributes, queue
attributes and the redrive policy are read from it, so the local stack (moto server or
LocalStack) can never drift from what SAM deploys. Only the physical *names* differ: in
AWS CloudFormation generates them and passes them to the functions as environment
variables; locally they come from :class:`companion.config.Settings` (the same env vars).

Usage::

    AWS_ENDPOINT_URL=http://127.0.0.1:5000 python -m infra.local.resources

Idempotent: resources that already exist are reused (a table whose key schema differs
from the template's is an error, since code written against the template would break).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError
from companion.config import Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

# template logical id -> Settings attribute holding the local physical name
TABLES: dict[str, str] = {
    "CharactersTable": "characters_table",
    "MemoryTable": "memory_table",
    "MessagesTable": "messages_table",
    "TasksTable": "tasks_table",
    "IdempotencyTable": "idempotency_table",
}
QUEUE = "MemoryTaskQueue"
DLQ = "MemoryTaskDLQ"
BUCKET = "ArchiveBucket"

# SQS attributes copied from the template (others, e.g. SqsManagedSseEnabled, are AWS-only).
_QUEUE_ATTRIBUTES = (
    "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
    "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
)


# ---------------------------------------------------------------- template loading
class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation short-form tags (!Ref, !Sub, !GetAtt ...)."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """template.yaml as plain data; short-form tags become their long form ({"Ref": ...})."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_CfnLoader)
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation/SAM template")
    return data


def resources_of_type(template: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in template["Resources"].items() if res.get("Type") == cfn_type}


def dlq_name(queue_name: str) -> str:
    """companion-memory-tasks.fifo -> companion-memory-tasks-dlq.fifo."""
    if queue_name.endswith(".fifo"):
        return queue_name.removesuffix(".fifo") + "-dlq.fifo"
    return queue_name + "-dlq"


def _literal(value: Any) -> bool:
    return not isinstance(value, dict)


# ---------------------------------------------------------------- DynamoDB
def table_request(props: dict[str, Any], name: str) -> dict[str, Any]:
    """CreateTable arguments for a template AWS::DynamoDB::Table's Properties."""
    req: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    gsis = props.get("GlobalSecondaryIndexes") or []
    if gsis:
        req["GlobalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"],
             "Projection": g.get("Projection", {"ProjectionType": "ALL"})}
            for g in gsis
        ]
    if req["BillingMode"] == "PROVISIONED":  # not used by the template; keeps the request valid
        req["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        for g in req.get("GlobalSecondaryIndexes", []):
            g["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    return req


def _key_shape(key_schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in key_schema]


def _check_existing_table(ddb: Any, req: dict[str, Any]) -> None:
    desc = ddb.describe_table(TableName=req["TableName"])["Table"]
    problems = []
    if _key_shape(desc["KeySchema"]) != _key_shape(req["KeySchema"]):
        problems.append(f"key schema {desc['KeySchema']} != {req['KeySchema']}")
    have = {g["IndexName"]: _key_shape(g["KeySchema"]) for g in desc.get("GlobalSecondaryIndexes", [])}
    for g in req.get("GlobalSecondaryIndexes", []):
        if have.get(g["IndexName"]) != _key_shape(g["KeySchema"]):
            problems.append(f"GSI {g['IndexName']} is {have.get(g['IndexName'])}")
    if problems:
        raise RuntimeError(
            f"local table {req['TableName']} does not match template.yaml ({'; '.join(problems)}); "
            "delete it (or restart the moto server) and run again"
        )


def ensure_table(ddb: Any, props: dict[str, Any], name: str) -> None:
    req = table_request(props, name)
    try:
        ddb.create_table(**req)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        _check_existing_table(ddb, req)
    _wait(lambda: ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE",
          f"table {name} to become ACTIVE")
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled") is True and _literal(ttl.get("AttributeName")):
        current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )


# ---------------------------------------------------------------- SQS
def queue_attributes(props: dict[str, Any]) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for key in _QUEUE_ATTRIBUTES:
        value = props.get(key)
        if value is None or not _literal(value):
            continue
        attrs[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return attrs


def ensure_queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    try:
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
    # exists with other attributes: bring the mutable ones in line with the template
    url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    mutable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
    if mutable:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=mutable)
    return url


def _redrive(props: dict[str, Any], arns: dict[str, str]) -> dict[str, str]:
    """RedrivePolicy with the template's GetAtt <DLQ>.Arn resolved to the local queue's ARN."""
    policy = props.get("RedrivePolicy")
    if not policy:
        return {}
    target = policy["deadLetterTargetArn"]
    if isinstance(target, dict) and "Fn::GetAtt" in target:
        logical_id = target["Fn::GetAtt"][0]
        target = arns[logical_id]
    return {"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": target, "maxReceiveCount": int(policy["maxReceiveCount"])})}


# ---------------------------------------------------------------- S3
def ensure_bucket(s3: Any, name: str, props: dict[str, Any], region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    block = props.get("PublicAccessBlockConfiguration")
    if block and all(_literal(v) for v in block.values()):
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)


# ---------------------------------------------------------------- entry point
def _wait(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _only(found: dict[str, dict[str, Any]], logical_id: str, cfn_type: str) -> dict[str, Any]:
    if logical_id not in found:
        raise KeyError(f"template.yaml has no {cfn_type} named {logical_id}")
    return dict(found[logical_id].get("Properties") or {})


def _tables(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    found = resources_of_type(template, "AWS::DynamoDB::Table")
    unknown = set(found) - set(TABLES)
    if unknown:
        raise KeyError(f"no Settings name for table(s) {sorted(unknown)}: add them to TABLES")
    for logical_id in TABLES:
        yield logical_id, _only(found, logical_id, "AWS::DynamoDB::Table")


def create_local_resources(settings: Settings, template_path: Path = TEMPLATE_PATH, *,
                           allow_aws: bool = False) -> dict[str, str]:
    """Create every table, queue and bucket template.yaml declares; return the queue URLs.

    The endpoint is ``settings.aws_endpoint_url`` or, failing that, ``AWS_ENDPOINT_URL``
    (read by boto3 itself). Without either this would create resources in a real AWS
    account, which it refuses unless ``allow_aws`` is set.
    """
    import boto3

    endpoint = settings.aws_endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    if endpoint is None and not allow_aws:
        raise RuntimeError("no AWS_ENDPOINT_URL (moto / LocalStack) set: refusing to create resources in AWS")
    template = load_template(template_path)
    session = boto3.session.Session(region_name=settings.aws_region)
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)

    for logical_id, props in _tables(template):
        ensure_table(ddb, props, getattr(settings, TABLES[logical_id]))

    queues = resources_of_type(template, "AWS::SQS::Queue")
    names = {QUEUE: settings.memory_queue_name, DLQ: dlq_name(settings.memory_queue_name)}
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for logical_id in (DLQ, QUEUE):  # the dead-letter queue first: the main queue's redrive needs its ARN
        props = _only(queues, logical_id, "AWS::SQS::Queue")
        attrs = {**queue_attributes(props), **_redrive(props, arns)}
        urls[logical_id] = ensure_queue(sqs, names[logical_id], attrs)
        arns[logical_id] = sqs.get_queue_attributes(
            QueueUrl=urls[logical_id], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    bucket_props = _only(resources_of_type(template, "AWS::S3::Bucket"), BUCKET, "AWS::S3::Bucket")
    ensure_bucket(s3, settings.archive_bucket, bucket_props, settings.aws_region)

    return {
        "memory_queue_url": urls[QUEUE],
        "memory_dlq_url": urls[DLQ],
        "archive_bucket": settings.archive_bucket,
        **{attr: getattr(settings, attr) for attr in TABLES.values()},
    }


def main() -> int:
    print(json.dumps(create_local_resources(Settings()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
