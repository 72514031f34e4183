"""Memory API function: the FastAPI app behind the HTTP API, adapted by Mangum (thin handler).

``lifespan="off"``: the container is built lazily on the first request and lives as long as
the execution environment (Lambda has no shutdown hook worth relying on).
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from companion.api.memory_api.app import create_app
from companion.observability import logger, tracer
from mangum import Mangum

app = create_app()
_asgi = Mangum(app, lifespan="off")


@tracer().capture_lambda_handler(capture_response=False)  # responses hold user memories: keep them out of traces
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _asgi(event, context)
