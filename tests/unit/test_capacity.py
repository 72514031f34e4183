"""The capacity model's arithmetic on a hand-computed case, its break-even, and its input files."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from benchmarks import capacity
from benchmarks.capacity import Inputs

# A month of 100 hours (360,000 s) at half the peak: one peak req/s is 180,000 turns.
PRICES = {
    "lambda_gb_second_arm64": 1e-5, "lambda_gb_second_arm64_tier2": 1e-5, "lambda_gb_second_arm64_tier3": 1e-5,
    "lambda_gb_second_x86": 2e-5, "lambda_request": 0.0,
    "lambda_streaming_gb_beyond_6mb": 0.0,
    "fargate_vcpu_hour_arm64": 0.04, "fargate_gb_hour_arm64": 0.004, "alb_hour": 0.02, "alb_lcu_hour": 0.01,
    "dynamodb_read_request_unit": 0.0, "dynamodb_write_request_unit": 1e-6, "dynamodb_storage_gb_month": 0.0,
    "elasticache_serverless_valkey_gb_hour": 0.1, "elasticache_serverless_valkey_million_ecpu": 1.0,
    "opensearch_r7g_large_search_hour": 0.2, "opensearch_gp3_gb_month": 0.1,
    "sqs_fifo_million_requests": 1.0, "s3_standard_gb_month": 0.02, "s3_put_request": 0.0,
}
MEASURED = {
    "chat_cpu_ms_per_turn_recall": 100.0, "chat_cpu_ms_per_turn_norecall": 20.0,
    "redis_bytes_per_conversation": 10_000.0, "redis_commands_per_turn": 10.0,
    "redis_bytes_transferred_per_turn": 0.0, "dynamodb_rru_per_turn": 2.0, "dynamodb_wru_per_turn": 4.0,
    "prompt_tokens_per_turn": 500.0, "worker_seconds_per_task": 1.0, "worker_dynamodb_rru_per_task": 0.0,
    "worker_dynamodb_wru_per_task": 10.0, "s3_bytes_per_task": 1000.0, "s3_objects_per_task": 1.0,
    "index_source_bytes_per_task": 1000.0, "index_vectors_per_task": 10.0, "embedding_dim": 4.0,
}
ASSUMED: dict[str, Any] = {
    "reply_stream_seconds": 2.0, "completion_tokens_per_reply": 100, "mean_to_peak": 0.5,
    "conversations_per_user": 1, "daily_active_fraction": 1.0, "recall_share": 1.0, "turns_per_task": 10,
    "retention_months": 1, "lambda_chat_memory_mb": 1024, "lambda_worker_memory_mb": 1024,
    "lambda_architecture": "arm64", "worker_batch_size": 10, "lambda_default_concurrency_quota": 1000,
    "container_vcpu": 1.0, "container_memory_gb": 2.0, "container_min_tasks": 1, "container_cpu_target": 0.5,
    "container_streams_per_task": 100, "fargate_cpu_vs_this_machine": 1.0, "alb_new_connection_per_request": 1.0,
    "sse_bytes_per_turn": 1000, "sqs_requests_per_task": 1.0, "opensearch_min_instances": 1,
    "opensearch_replicas": 0, "opensearch_node_ram_gib": 16, "opensearch_knn_ram_share": 0.25,
    "opensearch_hnsw_m": 16, "opensearch_storage_overhead": 1.0, "hours_per_month": 100,
    "opensearch_vector_bytes_per_dimension": 4, "lambda_worker_max_concurrency": 50,
    "elasticache_max_ecpu_per_second": 200000, "elasticache_max_storage_gb": 50,
}
SCALES = {"small": {"peak_rps": 1, "burst_rps": 2, "concurrent_users": 10, "registered_users": 100, "source": "test"}}


def inputs(**prices: float) -> Inputs:
    return Inputs(prices={**PRICES, **prices}, measured=dict(MEASURED), assumed=dict(ASSUMED), scales=SCALES)


def line(rep: dict[str, Any], component: str) -> dict[str, Any]:
    return next(x for x in rep["lines"] if x["component"].startswith(component))


def test_lambda_bills_the_whole_stream() -> None:
    # 180,000 turns x 1 GB x 2 s x 1e-5 USD per GB-s.
    assert capacity.lambda_chat_usd(inputs(), 1.0) == pytest.approx(3.6)
    # Requests are billed on top: 180,000 x 1e-6.
    assert capacity.lambda_chat_usd(inputs(lambda_request=1e-6), 1.0) == pytest.approx(3.78)


def test_lambda_seconds_are_priced_by_tier() -> None:
    i = inputs(lambda_gb_second_arm64_tier2=0.5e-5, lambda_gb_second_arm64_tier3=0.25e-5)
    assert capacity.gb_seconds_usd(i, 1e9) == pytest.approx(1e4)
    # 7.5 billion at 1e-5, 11.25 billion at 0.5e-5, 1.25 billion at 0.25e-5.
    assert capacity.gb_seconds_usd(i, 20e9) == pytest.approx(75_000 + 56_250 + 3_125)
    x86 = replace(i, assumed={**ASSUMED, "lambda_architecture": "x86_64"})
    assert capacity.gb_seconds_usd(x86, 20e9) == pytest.approx(20e9 * 2e-5)


def test_containers_are_sized_by_cpu_or_open_streams_whichever_binds() -> None:
    i = inputs()
    # 1 vCPU at 50% / 0.1 s of CPU a turn = 5 turns/s; 100 streams / 2 s = 50 turns/s.
    assert capacity.turns_per_second_per_task(i) == pytest.approx(5.0)
    assert capacity.tasks_for(i, 5.0) == 1 and capacity.tasks_for(i, 5.01) == 2 and capacity.tasks_for(i, 0.0) == 1
    streams = replace(i, assumed={**ASSUMED, "container_streams_per_task": 4})  # 4 / 2 s = 2 turns/s
    assert capacity.turns_per_second_per_task(streams) == pytest.approx(2.0)
    # One task for 100 hours: 1 x 0.04 + 2 GB x 0.004 = 0.048 USD an hour.
    assert capacity.container_task_usd(i, 1.0) == pytest.approx(4.8)
    # ALB: 100 h x (0.02 + 0.02 LCU x 0.01): 0.5 new connections/s are 0.02 LCU, the largest dimension.
    assert capacity.alb_usd(i, 1.0) == pytest.approx(2.02)


def test_doubling_one_price_doubles_its_line_and_nothing_else() -> None:
    base = capacity.scale_table(inputs(), "small")
    doubled = capacity.scale_table(inputs(dynamodb_write_request_unit=2e-6), "small")
    # 180,000 turns x 4 WRU + 18,000 tasks x 10 WRU = 900,000 WRU at 1e-6.
    assert line(base, "DynamoDB")["lambda_usd"] == pytest.approx(0.9)
    assert line(doubled, "DynamoDB")["lambda_usd"] == pytest.approx(1.8)
    for a, b in zip(base["lines"], doubled["lines"], strict=True):
        if not a["component"].startswith("DynamoDB"):
            assert a == b
    gb_doubled = capacity.scale_table(inputs(lambda_gb_second_arm64=2e-5), "small")
    assert line(gb_doubled, "Chat compute")["lambda_usd"] == pytest.approx(2 * line(base, "Chat compute")["lambda_usd"])
    assert line(gb_doubled, "Chat compute")["container_usd"] == line(base, "Chat compute")["container_usd"]


def test_shared_components_cost_the_same_in_both_columns_and_totals_add_up() -> None:
    t = capacity.scale_table(inputs(), "small")
    for x in t["lines"][2:]:
        assert x["lambda_usd"] == x["container_usd"]
    assert t["lambda_total_usd"] == pytest.approx(sum(x["lambda_usd"] for x in t["lines"]))
    assert t["container_total_usd"] == pytest.approx(sum(x["container_usd"] for x in t["lines"]))
    # Redis: 100 windows x 10 KB = 0.001 GB, metered at the 0.1 GB minimum: 0.1 x 100 h x 0.1;
    # ECPUs: 180,000 turns x 10 commands at 1 USD per million.
    assert line(t, "ElastiCache")["lambda_usd"] == pytest.approx(1.0 + 1.8)


def test_break_even_is_where_the_two_chat_costs_cross() -> None:
    i = inputs()
    r = capacity.break_even_rps(i)
    # By hand: Lambda 3.6 r; containers 4.8 (one task up to 10 req/s peak) + 100 x (0.02 + 0.01 x 0.02 r).
    assert r == pytest.approx(6.8 / 3.58, rel=1e-6)
    assert capacity.container_chat_usd(i, r * 0.999) > capacity.lambda_chat_usd(i, r * 0.999)
    assert capacity.container_chat_usd(i, r * 1.001) <= capacity.lambda_chat_usd(i, r * 1.001)
    # Dearer Lambda seconds bring the crossing down; dearer Fargate pushes it up.
    assert capacity.break_even_rps(inputs(lambda_gb_second_arm64=2e-5)) < r
    assert capacity.break_even_rps(inputs(fargate_vcpu_hour_arm64=0.08)) > r


def test_break_even_is_infinite_when_containers_never_win() -> None:
    assert capacity.break_even_rps(inputs(lambda_gb_second_arm64=0.0), high=1e4) == math.inf


DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def test_every_price_has_a_value_unit_region_date_and_source() -> None:
    doc = json.loads(capacity.PRICES.read_text())
    assert set(doc["prices"]) == set(PRICES)  # the model reads exactly these
    for name, p in doc["prices"].items():
        assert isinstance(p["value"], int | float) and p["value"] >= 0, name
        assert p["unit"] and p["region"] and p["source"], name
        assert DATE.match(p["date"]), name
        assert p["status"] in ("verified", "unverified"), name


def test_every_measured_figure_names_its_command_and_date_and_every_assumption_its_source() -> None:
    measured = json.loads(capacity.MEASURED.read_text())["figures"]
    assert set(measured) == set(MEASURED)
    for name, m in measured.items():
        assert "benchmarks/" in m["command"] and DATE.match(m["date"]) and m["load"], name
    assumed = json.loads(capacity.ASSUMPTIONS.read_text())
    assert set(assumed["values"]) == set(ASSUMED)
    for name, a in assumed["values"].items():
        assert a["source"], name
    for name, s in assumed["scales"].items():
        assert s["source"] and s["peak_rps"] > 0, name


def test_the_command_reruns_with_other_prices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capacity.main(["--json"])
    base = json.loads(capsys.readouterr().out)
    assert [s["scale"] for s in base["scales"]] == ["launch", "late"]
    doc = json.loads(capacity.PRICES.read_text())
    for tier in ("", "_tier2", "_tier3"):
        doc["prices"][f"lambda_gb_second_arm64{tier}"]["value"] *= 10
    other = tmp_path / "prices.json"
    other.write_text(json.dumps(doc))
    capacity.main(["--json", "--prices", str(other)])
    dearer = json.loads(capsys.readouterr().out)
    for a, b in zip(base["scales"], dearer["scales"], strict=True):
        # The chat's GB-seconds are ten times dearer (its requests are not); the containers' chat is not.
        assert b["lines"][0]["lambda_usd"] == pytest.approx(10 * a["lines"][0]["lambda_usd"], rel=1e-2)
        assert b["lines"][0]["lambda_usd"] > 9.9 * a["lines"][0]["lambda_usd"]
        assert b["lines"][:2] != a["lines"][:2]
        assert [x["container_usd"] for x in b["lines"][:2]] == [x["container_usd"] for x in a["lines"][:2]]
    capacity.main([])
    assert "| **total** |" in capsys.readouterr().out


def test_set_overrides_one_input_by_name_and_refuses_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    i = capacity.override(inputs(), ["lambda_gb_second_arm64=2e-5", "mean_to_peak=0.25", "lambda_architecture=x86_64"])
    assert i.p("lambda_gb_second_arm64") == 2e-5 and i.a("mean_to_peak") == 0.25
    assert i.a("lambda_architecture") == "x86_64"
    # x86 at 2e-5, 90,000 turns x 1 GB x 2 s.
    assert capacity.lambda_chat_usd(i, 1.0) == pytest.approx(3.6)
    with pytest.raises(ValueError, match="no price"):
        capacity.override(inputs(), ["nonsense=1"])
    with pytest.raises(SystemExit):
        capacity.main(["--set", "nonsense=1"])
    assert "nonsense" in capsys.readouterr().err


def _measure_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("capacity_measure", capacity.HERE / "measure.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_request_units_follow_dynamodbs_item_size_rules() -> None:
    m = _measure_module()
    # Names count as bytes: "pk" (2) + "a#b" (3), "n" (1) + 12345 (3 digits pairs + 1 = 4), "t" (1) + "你好" (6 UTF-8).
    item = {"pk": {"S": "a#b"}, "n": {"N": "12345"}, "t": {"S": "你好"}}
    assert m.item_size(item) == 5 + 5 + 7
    meter = m.DynamoMeter()
    meter.gsi_keys["T"] = [{"pk", "n"}, {"missing"}]
    big = {"pk": {"S": "x"}, "n": {"N": "1"}, "body": {"S": "字" * 700}}  # 2,100+ bytes: 3 WRU, and 3 for the GSI
    meter.record("PutItem", {"TableName": "T", "Item": big}, {})
    assert meter.wru == 6
    meter.record("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "U", "Item": item}},
                                                          {"ConditionCheck": {"TableName": "U"}}]}, {})
    assert meter.wru == 6 + 2 + 2
    # Reads: 4 KB units, eventually consistent at half; a query sums its items before rounding.
    meter.record("GetItem", {"TableName": "T"}, {"Item": big})
    meter.record("Query", {"TableName": "T", "ConsistentRead": True}, {"Items": [big, big]})
    assert meter.rru == 0.5 + 2
    assert meter.snapshot(2)["calls"] == {"GetItem": 0.5, "PutItem": 0.5, "Query": 0.5, "TransactWriteItems": 0.5}
