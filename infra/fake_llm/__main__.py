"""``python -m infra.fake_llm --port 8001``: the fake OpenAI-compatible server in the foreground."""

from __future__ import annotations

import argparse

import uvicorn

from . import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    print(f"fake LLM: http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level,
                access_log=False, backlog=4096, lifespan="off")


if __name__ == "__main__":
    main()
