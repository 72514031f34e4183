"""Chat function: the ASGI app that uvicorn serves under the Lambda Web Adapter (see run.sh)."""

from companion.api.chat_app import create_app

app = create_app()
