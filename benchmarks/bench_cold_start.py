"""Cold start of the chat entry point: a fresh interpreter importing functions/chat/app.py
(which creates the app), as the Lambda Web Adapter's uvicorn does. Median of N runs, plus
the slowest imports from ``python -X importtime``.

    uv run python benchmarks/bench_cold_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import time; t0 = time.perf_counter(); import app; "
         "print(round((time.perf_counter() - t0) * 1000, 1))")
# What the first request adds: building the container (clients, services) on first use.
PROBE_CONTAINER = ("import time, app; from companion.bootstrap import build_container; "
                   "t0 = time.perf_counter(); build_container(); print(round((time.perf_counter() - t0) * 1000, 1))")


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions" / "chat"), str(ROOT / "layers" / "companion")])
    e.setdefault("AWS_REGION", "us-east-1")
    e["POWERTOOLS_TRACE_DISABLED"] = "true"
    return e


def container_build_ms() -> float:
    out = subprocess.run([sys.executable, "-c", PROBE_CONTAINER], env=env(), cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def one_run() -> tuple[float, float]:
    """(import + app creation ms measured inside, whole process wall ms incl. interpreter start)."""
    import time

    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE], env=env(), cwd=ROOT, capture_output=True, text=True,
                         check=True)
    wall = (time.perf_counter() - t0) * 1000
    return float(out.stdout.strip().splitlines()[-1]), wall


def top_imports(n: int = 12) -> list[tuple[int, str]]:
    """The slowest imports by cumulative time, from ``python -X importtime`` (µs, name)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], env=env(), cwd=ROOT,
                         capture_output=True, text=True, check=True)
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cum, name = line[len("import time:"):].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 3:  # top-level packages and their direct children
            rows.append((int(cum), name.rstrip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    one_run()  # warm the OS page cache and .pyc files, as a provisioned image would have
    runs = [one_run() for _ in range(args.runs)]
    inner = [r[0] for r in runs]
    wall = [r[1] for r in runs]
    print(f"chat entry point cold start over {args.runs} fresh processes")
    print(f"  imports + app creation: median {statistics.median(inner):.0f} ms "
          f"(min {min(inner):.0f}, max {max(inner):.0f})")
    print(f"  whole process incl. interpreter start: median {statistics.median(wall):.0f} ms")
    builds = [container_build_ms() for _ in range(args.runs)]
    print(f"  + container build on the first request: median {statistics.median(builds):.0f} ms")
    print("  slowest top-level imports (cumulative µs):")
    for cum, name in top_imports():
        print(f"    {cum / 1000:8.1f} ms  {name}")


if __name__ == "__main__":
    main()
