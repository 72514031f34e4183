"""A Lambda handler for the local HTTP API's own tests: answers with what it was given."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"path": event["rawPath"], "body": event.get("body")})}
