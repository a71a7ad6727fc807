"""What the in-process MCP tests share: the ``mcp`` runtime on moto, a request through the route,
a key, and the audit records - no local runtime, no HTTP server."""

from __future__ import annotations

import json
from typing import Any

from functions.mcp import keys
from infra.local.gateway import api_gateway_event
from shared.ingress import handle_http
from shared.observability import get_logger, new_metrics
from shared.runtime import Runtime
from shared.sync import RouteContext

HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}


def make_key(rt: Runtime, tools: list[str], *, per_minute: int = 100, per_day: int = 1000) -> str:
    _, plaintext = keys.create_key(
        rt.aws("dynamodb"), rt.table, name="test", tools=tools, per_minute=per_minute, per_day=per_day
    )
    return plaintext


def post(
    rt: Runtime, body: Any, *, key: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """``POST /mcp`` through the function's own entry point: (status, headers, parsed body or None)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {**HEADERS, **(headers or {})}
    if key is not None:
        sent["authorization"] = f"Bearer {key}"
    event = api_gateway_event(
        method="POST", path="/mcp", query="", headers=sent, body=raw, route_key="POST /mcp"
    )
    answer = handle_http(rt, event)
    text = answer.get("body") or ""
    return int(answer["statusCode"]), dict(answer.get("headers") or {}), json.loads(text) if text else None


def context(rt: Runtime) -> RouteContext:
    return RouteContext(rt, get_logger(rt.name), new_metrics(rt.name))


def audit_records(rt: Runtime) -> list[dict[str, Any]]:
    items = rt.aws("dynamodb").scan(
        TableName=rt.table,
        FilterExpression="#k = :a",
        ExpressionAttributeNames={"#k": "kind"},
        ExpressionAttributeValues={":a": {"S": "audit"}},
    )["Items"]
    records = [{k: next(iter(v.values())) for k, v in item.items()} for item in items]
    return sorted(records, key=lambda r: str(r["id"]))
