#!/bin/bash
# Lambda Web Adapter entry point (Handler: run.sh, AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap).
# The adapter starts this script, waits for GET $AWS_LWA_READINESS_CHECK_PATH on
# 127.0.0.1:$AWS_LWA_PORT to answer, then forwards Function URL requests (streamed back
# with AWS_LWA_INVOKE_MODE=response_stream). The shared layer lives in /opt/python.
export PYTHONPATH="${LAMBDA_TASK_ROOT:-$(dirname "$0")}:/opt/python${PYTHONPATH:+:$PYTHONPATH}"
exec python -m uvicorn app:app --host 127.0.0.1 --port "${AWS_LWA_PORT:-8000}" --no-access-log
