"""Extraction benchmark: precision and recall of stored facts and events, per language and extractor.

    uv run python benchmarks/bench_extraction.py                 # the rule extractor
    MEMORY_LLM_CHAIN='[...]' uv run python benchmarks/bench_extraction.py --llm   # plus the worker's model
    uv run --group realmodel python benchmarks/bench_extraction.py --real-model  # SmolLM2 via xllamacpp
        # (1 dialogue per language, 300 s and 768 tokens per call unless --limit/--timeout/--max-tokens;
        #  --answers FILE keeps every answer with its time, tokens and JSON/schema verdict)

Dialogues: ``benchmarks/extraction/dialogues.json`` (zh and en; what each must and must not yield;
``benchmarks/extraction/scoring.py`` says how items match). Every session of a dialogue is extracted
in order and merged with ``merge_facts``/``merge_events`` as the worker does, so a correction is
judged on what is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "companion")]

from companion.memory.extraction import ExtractionFailed, extract_with_rules  # noqa: E402
from companion.memory.merge import merge_events, merge_facts  # noqa: E402
from companion.models import ChatMessage  # noqa: E402

from benchmarks.extraction.scoring import (  # noqa: E402
    Tally,
    describe_event,
    describe_fact,
    event_matches,
    fact_matches,
    score,
)

DATA = ROOT / "benchmarks" / "extraction" / "dialogues.json"


def load_dialogues(path: Path = DATA) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8")))


def session_messages(session: dict[str, Any]) -> list[ChatMessage]:
    start = datetime.fromisoformat(session["at"]).timestamp()
    return [ChatMessage(role=m["role"], content=m["content"], timestamp=start + 60 * i, seq=i + 1)
            for i, m in enumerate(session["messages"])]


async def run_dialogue(dialogue: dict[str, Any], extractor: Any) -> dict[str, Any]:
    """Extract and merge every session; the stored facts and events, and the call statistics."""
    facts: dict[Any, Any] = {}
    events: list[Any] = []
    stats = {"calls": 0, "repairs": 0, "failures": 0, "seconds": 0.0}
    for n, session in enumerate(dialogue["sessions"]):
        messages = session_messages(session)
        now = max(m.timestamp for m in messages)
        t = time.perf_counter()
        try:
            outcome = await extractor(messages, now=datetime.fromtimestamp(now, UTC),
                                      known_facts=list(facts.values()))
        except Exception as exc:  # ExtractionFailed, a timeout: counted, the dialogue goes on
            stats["failures"] += 1
            stats["calls"] += getattr(exc, "llm_calls", 1)
            stats["repairs"] += 1 if isinstance(exc, ExtractionFailed) else 0
            stats["seconds"] += time.perf_counter() - t
            continue
        stats["seconds"] += time.perf_counter() - t
        stats["calls"] += outcome.llm_calls
        stats["repairs"] += max(0, outcome.llm_calls - 1)
        task = f"{dialogue['id']}-{n}"
        for rec in merge_facts(facts, outcome.result.facts, task_id=task, now=now, user_id="u", character_id="c"):
            stale = [k for k, v in facts.items() if v.fact_id == rec.fact_id]
            facts[stale[0] if stale else (rec.type, rec.key)] = rec
        for erec in merge_events(events, outcome.result.events, task_id=task, now=now, user_id="u",
                                 character_id="c"):
            events = [e for e in events if e.event_id != erec.event_id] + [erec]
    return {"facts": list(facts.values()), "events": events, "stats": stats}


def score_dialogue(dialogue: dict[str, Any], stored: dict[str, Any]) -> tuple[Tally, Tally]:
    ft = score(stored["facts"], dialogue.get("facts", []), dialogue.get("optional_facts", []),
               dialogue.get("forbidden_facts", []), fact_matches, describe_fact)
    et = score(stored["events"], dialogue.get("events", []), dialogue.get("optional_events", []),
               dialogue.get("forbidden_events", []), event_matches, describe_event)
    return ft, et


async def rules_extractor(messages: Any, *, now: datetime, known_facts: Any = None) -> Any:
    return extract_with_rules(messages, now=now, known_facts=known_facts)


class RecordingCompleter:
    """The chain, with every answer kept: its time, tokens, and whether it parsed as JSON and passed
    the schema (``--answers``), so an operator sees how the model fails, not only that it did."""

    def __init__(self, chain: Any) -> None:
        self.chain = chain
        self.providers = getattr(chain, "providers", [chain])
        self.calls: list[dict[str, Any]] = []

    async def complete(self, messages: Any, **kw: Any) -> Any:
        from companion.memory.extraction.llm_extractor import parse_extraction

        t, cpu = time.perf_counter(), time.process_time()
        try:
            out = await self.chain.complete(messages, **kw)
        except Exception as exc:
            self.calls.append({"seconds": round(time.perf_counter() - t, 2), "error": repr(exc)[:300],
                               "repair": len(messages) > 2})
            raise
        verdict = "ok"
        try:
            parse_extraction(out.text)
        except ValueError as exc:
            verdict = str(exc)[:300]
        self.calls.append({"seconds": round(time.perf_counter() - t, 2),
                           "client_cpu_s": round(time.process_time() - cpu, 2), "repair": len(messages) > 2,
                           "completion_tokens": out.usage.completion_tokens, "json": not verdict.startswith(
                               ("invalid JSON", "the answer contains no")), "schema": verdict == "ok",
                           "verdict": verdict, "answer": out.text[:1500]})
        return out


def llm_extractor(recorder: list[RecordingCompleter] | None = None, *, max_tokens: int = 2048) -> Any:
    """The worker's extractor, built from Settings the way the worker builds it."""
    from companion.bootstrap import builders
    from companion.config import Settings
    from companion.memory.generation import extractor_for

    s = Settings()
    chain: Any = builders.memory_llm_chain(s)  # MEMORY_LLM_CHAIN, else LLM_CHAIN: the worker's own
    if recorder is not None:
        chain = RecordingCompleter(chain)
        recorder.append(chain)
    return extractor_for(chain, max_tokens=max_tokens, max_turn_chars=s.memory_extract_turn_max_chars,
                         max_chars=s.memory_extract_max_chars)


async def bench(dialogues: list[dict[str, Any]], extractor: Any, name: str) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for d in dialogues:
        stored = await run_dialogue(d, extractor)
        ft, et = score_dialogue(d, stored)
        row = rows.setdefault(d["lang"], {"extractor": name, "lang": d["lang"], "dialogues": 0, "facts": Tally(),
                                          "events": Tally(), "calls": 0, "repairs": 0, "failures": 0,
                                          "seconds": 0.0})
        row["dialogues"] += 1
        row["facts"].add(ft)
        row["events"].add(et)
        for k in ("calls", "repairs", "failures", "seconds"):
            row[k] += stored["stats"][k]
    return list(rows.values())


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| extractor | lang | dialogues | fact P | fact R | event P | event R | forbidden | calls | repairs "
           "| failures | s/dialogue |", "|" + "---|" * 12]
    for r in rows:
        f, e = r["facts"], r["events"]
        out.append(f"| {r['extractor']} | {r['lang']} | {r['dialogues']} | {_f(f.precision)} | {_f(f.recall)} | "
                   f"{_f(e.precision)} | {_f(e.recall)} | {f.forbidden + e.forbidden} | {r['calls']} | "
                   f"{r['repairs']} | {r['failures']} | {r['seconds'] / max(1, r['dialogues']):.2f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llm", action="store_true", help="also the LLM extractor of LLM_CHAIN")
    ap.add_argument("--real-model", action="store_true", help="serve SmolLM2-135M via xllamacpp and use it")
    ap.add_argument("--json-mode", default="json_schema", choices=["json_schema", "json_object", "none"])
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per extraction call (LLM_COMPLETE_TIMEOUT_S, and the real model's HTTP "
                         "read timeout, 120 s by default; default: the settings', 300 with --real-model)")
    ap.add_argument("--max-tokens", type=int, default=None,
                    help="answer cap per call (default: the worker's 2048; 768 with --real-model)")
    ap.add_argument("--ids", default="", help="comma-separated dialogue ids (a quick real-model probe)")
    ap.add_argument("--repeat-penalty", type=float, default=0,
                    help="the real model's llama.cpp repeat_penalty (a tiny model loops without one)")
    ap.add_argument("--limit", type=int, default=None, help="dialogues per language (0: all; 1 with --real-model)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--answers", default="", help="write every model answer, timed and judged, to this file")
    ap.add_argument("--details", action="store_true", help="list wrong and missed items")
    args = ap.parse_args()
    # SmolLM2-135M on one CPU thread takes minutes per call: by default a quick proof of the path.
    defaults = {"limit": 0, "timeout": 0.0, "max_tokens": 2048}
    if args.real_model:
        defaults = {"limit": 0 if args.ids else 1, "timeout": 300.0, "max_tokens": 768}
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    dialogues = load_dialogues()
    if args.ids:
        dialogues = [d for d in dialogues if d["id"] in args.ids.split(",")]
    if args.limit:
        dialogues = [d for lang in ("zh", "en") for d in [x for x in dialogues if x["lang"] == lang][:args.limit]]
    rows = asyncio.run(bench(dialogues, rules_extractor, "rules"))
    server = None
    if args.real_model:
        from benchmarks.extraction.realmodel import serve_smollm2

        server = serve_smollm2()
        base = server.__enter__()
        spec = {"name": "smollm2-135m", "provider": "openai", "model": "smollm2", "base_url": base,
                "extra_body": {"json_mode": args.json_mode, **({"timeout_s": args.timeout} if args.timeout else {}),
                               **({"repeat_penalty": args.repeat_penalty} if args.repeat_penalty else {})}}
        os.environ["LLM_CHAIN"] = os.environ["MEMORY_LLM_CHAIN"] = json.dumps([spec])
    if args.timeout:
        os.environ["LLM_COMPLETE_TIMEOUT_S"] = str(args.timeout)
    if args.llm or args.real_model:
        recorder: list[RecordingCompleter] = []
        rows += asyncio.run(bench(dialogues, llm_extractor(recorder, max_tokens=args.max_tokens), "llm"))
        if args.answers:
            Path(args.answers).write_text(json.dumps(recorder[0].calls, ensure_ascii=False, indent=1),
                                          encoding="utf-8")
    if server is not None:
        server.__exit__(None, None, None)
    if args.json:
        print(json.dumps([{**r, "facts": vars(r["facts"]), "events": vars(r["events"])} for r in rows],
                         ensure_ascii=False, indent=1))
        return
    print(table(rows))
    if args.details:
        for r in rows:
            for kind in ("facts", "events"):
                for w in r[kind].wrong:
                    print(f"{r['extractor']} {r['lang']} wrong {kind}: {w}")
                for m in r[kind].missed:
                    print(f"{r['extractor']} {r['lang']} missed {kind}: {m}")


if __name__ == "__main__":
    main()
