"""Memory API function: the FastAPI app behind the HTTP API, adapted by Mangum (thin handler).

``lifespan="off"``: the container is built lazily on the first request and lives as long as
the execution environment (Lambda has no shutdown hook worth relying on).
"""

from companion.api.memory_app import create_app
from mangum import Mangum

app = create_app()
handler = Mangum(app, lifespan="off")
