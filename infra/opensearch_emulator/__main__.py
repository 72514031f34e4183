"""``python -m infra.opensearch_emulator --host 127.0.0.1 --port 9200 --data-dir .local/opensearch``."""

from __future__ import annotations

import argparse
import logging

from .server import EmulatorServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m infra.opensearch_emulator", description="Local OpenSearch-compatible engine"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--data-dir", default=None, help="snapshot directory; omit to keep everything in memory")
    parser.add_argument(
        "--snapshot-interval", type=float, default=30.0, help="seconds between snapshots of changed state (default 30)"
    )
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    EmulatorServer(args.host, args.port, args.data_dir, args.snapshot_interval, args.log_level).serve_forever()


if __name__ == "__main__":
    main()
