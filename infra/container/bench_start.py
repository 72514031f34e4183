"""Start and stop the container's command as a process, several times per role, and report what a
Fargate task pays: CPU seconds until /health answers 200, idle RSS, SIGTERM to exit. No stores are
needed (nothing is built before the first request). Run by hand:

    python3 -m uv run python -m infra.container.bench_start [--runs 5]

Reports the machine's load beside the figures: on a busy machine only the CPU figures mean much.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from infra.container import dockerfile
from infra.local.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def one_run(command: list[str], env: dict[str, str], port: int) -> tuple[float, float, int, float, int]:
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        while proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        if proc.poll() is not None:
            raise RuntimeError(f"the command exited with {proc.returncode} before /health answered")
        up_s = time.monotonic() - started
        stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu_s = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        rss_mb = next(int(line.split()[1]) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS")) // 1024
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
        return up_s, cpu_s, rss_mb, time.monotonic() - stopping, rc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    image = dockerfile.load(ROOT / "Dockerfile")
    image_env = {k: v for k, v in image.final.env().items() if k not in ("PATH", "PYTHONPATH")}
    base = {**os.environ, **image_env, "APP_ENV": "test", "JWT_SECRET": "bench",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "companion"), str(ROOT)])}
    print(f"load before: {os.getloadavg()}")
    for role in ("chat", "memory_api"):
        rows = []
        for _ in range(args.runs):
            port = free_port()
            rows.append(one_run(image.command(), {**base, "APP_ROLE": role, "PORT": str(port)}, port))
        med = [statistics.median(r[i] for r in rows) for i in range(4)]
        print(f"{role}: CPU to healthy {med[1]:.2f} s, idle RSS {med[2]:.0f} MB, wall to healthy {med[0]:.2f} s, "
              f"SIGTERM to exit {med[3]:.2f} s (medians of {args.runs}); exit codes {sorted({r[4] for r in rows})}")
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
