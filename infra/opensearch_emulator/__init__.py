"""A small OpenSearch-compatible engine for local development and tests (like moto for AWS).

It serves OpenSearch's REST API (indices, documents, bulk, search with BM25 and exact k-NN, hybrid
search pipelines) so ``opensearch-py`` talks to it exactly as to Amazon OpenSearch.

    from infra.opensearch_emulator import EmulatorServer
    server = EmulatorServer()          # port=0: an ephemeral port; no data_dir: in memory
    url = server.start()               # "http://127.0.0.1:54321"
    ...
    server.stop()

Foreground: ``python -m infra.opensearch_emulator --port 9200 --data-dir .local/opensearch``.
"""

from .engine import Engine
from .errors import OpenSearchError
from .server import EmulatorServer

__all__ = ["EmulatorServer", "Engine", "OpenSearchError"]
