"""Chat function: the ASGI app that uvicorn serves under the Lambda Web Adapter (see run.sh)."""

import gc

# Everything imported here lives as long as the process: collecting it during the cold start is
# wasted work, so the collector is paused while importing and then told to leave it alone.
gc.disable()
try:
    from companion.api.chat_app import create_app

    app = create_app()
finally:
    gc.freeze()
    gc.enable()
