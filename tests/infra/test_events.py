"""events/*.json: well-formed Lambda events that match template.yaml and the domain models."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, EventBridgeEvent, SQSEvent
from companion.adapters.keys import task_group_id
from companion.models import MemoryTask
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
HTTP_EVENTS = sorted(p.name for p in EVENTS.glob("memory_api_*.json"))


def _load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))


def test_the_documented_http_events_exist() -> None:
    assert {"memory_api_list_facts.json", "memory_api_recall.json"} <= set(HTTP_EVENTS)


def test_every_event_is_documented() -> None:
    readme = (EVENTS / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in EVENTS.glob("*.json"))
    assert files, "no events"
    for name in files:
        assert f"`{name}`" in readme, f"{name} is not described in events/README.md"


@pytest.mark.parametrize("name", HTTP_EVENTS)
def test_http_api_v2_events(name: str, template: dict[str, Any]) -> None:
    raw = _load(name)
    event = APIGatewayProxyEventV2(raw)
    assert event.version == "2.0"
    assert event.raw_path.startswith("/api/v1/")
    assert event.request_context.http.path == event.raw_path
    assert event.request_context.stage == "$default"
    assert event.headers["authorization"].startswith("Bearer ")
    if event.raw_query_string:
        assert dict(p.split("=", 1) for p in event.raw_query_string.split("&")) == event.query_string_parameters
    if event.body is not None:
        json.loads(event.body)

    # the routeKey is one of MemoryApiFunction's routes, and the path matches it
    routes = {f"{e['Properties']['Method']} {e['Properties']['Path']}": e["Properties"]["Path"]
              for e in template["Resources"]["MemoryApiFunction"]["Properties"]["Events"].values()}
    assert event.route_key in routes
    route_path = routes[event.route_key]
    regex = "^" + re.escape(route_path).replace(r"\{proxy\+\}", "(?P<proxy>.+)") + "$"
    match = re.match(regex, event.raw_path)
    assert match, (event.raw_path, route_path)
    if "proxy" in match.groupdict():
        assert raw["pathParameters"] == {"proxy": match["proxy"]}


def test_recall_event_posts_a_query() -> None:
    event = APIGatewayProxyEventV2(_load("memory_api_recall.json"))
    assert event.request_context.http.method == "POST"
    assert json.loads(event.body or "")["query"]


def test_sqs_fifo_event_carries_memory_tasks() -> None:
    event = SQSEvent(_load("memory_worker_sqs.json"))
    records = list(event.records)
    assert len(records) >= 2
    assert len({r.message_id for r in records}) == len(records)
    for record in records:
        task = MemoryTask.model_validate_json(record.body)
        assert record.event_source == "aws:sqs"
        assert record.event_source_arn.endswith(".fifo")
        assert record.attributes.message_group_id == task_group_id(task.user_id, task.character_id)
        assert record.attributes.message_deduplication_id == task.task_id
        assert int(record.attributes.approximate_receive_count) >= 1
        assert task.messages and task.from_seq <= task.to_seq
        assert [m.seq for m in task.messages] == list(range(task.from_seq, task.to_seq + 1))
    assert any(int(r.attributes.approximate_receive_count) > 1 for r in records), "no retried record"


def test_schedule_event() -> None:
    event = EventBridgeEvent(_load("session_sweeper_schedule.json"))
    assert event.detail_type == "Scheduled Event"
    assert event.source == "aws.events"
    assert event.resources and ":rule/" in event.resources[0]
