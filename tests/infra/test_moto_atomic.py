"""The local moto server keeps DynamoDB's promise: of racing conditional writes, exactly one wins.

moto alone checks a condition and writes without a lock, so with frequent thread switches two
racing claims can both succeed (the scheduler's claim test once saw it); the server the stack and
the tests run (``infra/local/moto_server.py``) serializes DynamoDB requests. This drives moto's
own WSGI app through that middleware from racing threads.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

from infra.local.moto_server import SerializedDynamoDB

HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "Host": "dynamodb.us-east-1.amazonaws.com",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/dynamodb/aws4_request, "
                     "SignedHeaders=host, Signature=test",
}


@pytest.fixture()
def frequent_thread_switches() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # widen the window between moto's condition check and its write
    yield
    sys.setswitchinterval(old)


def _call(client: Client, target: str, body: dict[str, object]) -> int:
    resp = client.post("/", headers={**HEADERS, "X-Amz-Target": f"DynamoDB_20120810.{target}"},
                       data=json.dumps(body))
    return resp.status_code


def test_racing_conditional_updates_have_one_winner(frequent_thread_switches: None) -> None:
    client = Client(SerializedDynamoDB(DomainDispatcherApplication(create_backend_app)))
    table = "race-check"
    assert _call(client, "CreateTable", {
        "TableName": table, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}) == 200
    for round_ in range(40):
        key = {"pk": {"S": f"k{round_}"}}
        assert _call(client, "PutItem", {"TableName": table, "Item": {**key, "v": {"N": "0"}}}) == 200

        def claim(i: int, key: dict[str, dict[str, str]] = key) -> int:
            return _call(client, "UpdateItem", {
                "TableName": table, "Key": key, "UpdateExpression": "SET v = :new", "ConditionExpression": "v = :old",
                "ExpressionAttributeValues": {":new": {"N": str(i + 1)}, ":old": {"N": "0"}}})

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(claim, range(8)))
        assert statuses.count(200) == 1, f"round {round_}: {statuses.count(200)} conditional writes won"
        assert statuses.count(400) == 7  # the others: ConditionalCheckFailedException
