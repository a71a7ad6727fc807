"""The ``/mcp`` routes: check the origin and the key, then hand the JSON-RPC message to the MCP server.

Three gates, in order, before the MCP SDK is imported (the SDK - Starlette, anyio, its type models -
is the heavy part of this function's cold start), each refusal a JSON-RPC error object
(:mod:`functions.mcp.jsonrpc`), which is what the official MCP client shows its user:

1. **Origin** - a request whose ``Origin`` header is not in the ``allowed_origins`` setting is ``403``
   (``-32033``): the Streamable HTTP transport says servers MUST validate ``Origin``, so that a web
   page cannot reach the endpoint through DNS rebinding. No ``Origin`` (every non-browser client) is
   allowed.
2. **The key** - missing, malformed, unknown or revoked is ``401`` (``-32032``, ``data.reason``) with
   ``WWW-Authenticate: Bearer`` (RFC 6750: ``error="invalid_token"`` when a credential was sent).
   Every refusal is audited; with the key's id when the key was well-formed, never its secret.
3. **The message** - a body that is JSON but not one JSON-RPC message is ``400 -32600`` naming what
   is wrong (the SDK would answer ``-32602`` and a 2 KB pydantic dump); audited as
   ``invalid_request``.

Everything after that is :mod:`functions.mcp.server`, imported on the first authenticated request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.openapi import RouteDoc

from . import audit, jsonrpc
from .keys import InvalidKey, MissingKey, authenticate
from .models import JsonRpcMessage

if TYPE_CHECKING:
    from shared.sync import RouteContext
    from shared.webhooks.base import WebhookRequest

__all__ = ["not_allowed", "origin_allowed", "post"]

Answer = tuple[int, Any, Mapping[str, str]]

_REALM = 'Bearer realm="switchboard"'


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """No ``Origin`` (a non-browser client), or one of ``allowed`` (normalized, see ``normal_origin``)."""
    if origin is None or not origin.strip():
        return True
    return origin.strip().lower().rstrip("/") in allowed


def _challenge(exc: InvalidKey) -> str:
    if isinstance(exc, MissingKey):  # RFC 6750 section 3.1: no error code when no credential was sent
        return _REALM
    # A header value: ASCII (the key's "…" spelled out), no quote or backslash to break the quoting.
    text = str(exc).replace("…", "...").replace("\\", "").replace('"', "'")
    description = text.encode("ascii", "ignore").decode()[:200]
    return f'{_REALM}, error="invalid_token", error_description="{description}"'


def _method_and_tool(body: bytes) -> tuple[str, str]:
    """The JSON-RPC method and, for ``tools/call``, the tool asked for - for the audit; never raises."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(parsed, dict):
        return "", ""
    method = parsed.get("method")
    params = parsed.get("params")
    if not isinstance(method, str):
        return "", ""
    tool = params.get("name") if method == "tools/call" and isinstance(params, dict) else None
    return method[:100], tool[:100] if isinstance(tool, str) else ""


def _audit_refusal(
    ctx: RouteContext, request: WebhookRequest, key_id: str, outcome: str, detail: str, started: float
) -> None:
    """The audit record of a request refused before the MCP server saw it: no arguments are kept."""
    message_id = jsonrpc.request_id(request.body)
    method, tool = _method_and_tool(request.body)
    audit.write(
        ctx.rt.aws("dynamodb"),
        ctx.rt.table,
        key_id=key_id,
        tool=tool,
        method=method,
        arguments={},
        outcome=outcome,
        duration_ms=(time.perf_counter() - started) * 1000,
        retention_days=int(getattr(ctx.rt.settings, "audit_days", 90)),
        request_id=None if message_id is None else str(message_id),
        detail=detail,
        logger=ctx.logger,
    )


def _refuse_key(ctx: RouteContext, request: WebhookRequest, exc: InvalidKey, started: float) -> Answer:
    method, _ = _method_and_tool(request.body)
    ctx.logger.warning(
        "mcp key refused", extra={"reason": exc.reason, "key_id": exc.key_id, "method": method}
    )
    _audit_refusal(ctx, request, exc.key_id or "", exc.reason, str(exc), started)
    message_id = jsonrpc.request_id(request.body)
    body = jsonrpc.error(message_id, jsonrpc.INVALID_API_KEY, str(exc), {"reason": exc.reason})
    return 401, body, {"www-authenticate": _challenge(exc)}


def post(ctx: RouteContext, request: WebhookRequest, params: Mapping[str, str]) -> Answer:
    """``POST /mcp``: one JSON-RPC message in, its JSON answer out (or 202 for a notification)."""
    started = time.perf_counter()
    origin = request.header("origin")
    if not origin_allowed(origin, tuple(getattr(ctx.rt.settings, "allowed_origins", ()))):
        ctx.logger.warning("mcp origin refused", extra={"origin": (origin or "")[:200]})
        message = (
            f"origin {origin!r} may not call this server: browser pages are refused unless their origin "
            "is in the mcp function's allowed_origins setting"
        )
        return 403, jsonrpc.error(jsonrpc.request_id(request.body), jsonrpc.ORIGIN_NOT_ALLOWED, message), {}
    try:
        key = authenticate(ctx.rt.aws("dynamodb"), ctx.rt.table, request.header("authorization"))
    except InvalidKey as exc:
        return _refuse_key(ctx, request, exc, started)
    try:
        jsonrpc.check(request.body)
    except jsonrpc.InvalidMessage as exc:
        ctx.logger.warning("mcp message refused", extra={"key_id": key.id, "detail": exc.message})
        _audit_refusal(ctx, request, key.id, "invalid_request", exc.message, started)
        return 400, jsonrpc.error(exc.message_id, exc.code, exc.message), {}
    from .server import serve

    return serve(ctx, key, request)


def not_allowed(ctx: RouteContext, request: WebhookRequest, params: Mapping[str, str]) -> Answer:
    """``GET``/``DELETE /mcp``: a stateless server has no event stream and no session to end."""
    message = f"{request.method} /mcp is not supported: this server is stateless; POST JSON-RPC messages"
    return 405, {"error": "method_not_allowed", "message": message}, {"allow": "POST"}


_RESPONSE = {
    "type": "object",
    "required": ["jsonrpc"],
    "description": "a JSON-RPC 2.0 response: result, or error (code, message, data)",
    "properties": {
        "jsonrpc": {"const": "2.0"},
        "id": {"type": ["string", "integer", "null"]},
        "result": {"type": "object", "description": "initialize / tools/list / tools/call result"},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "data": {}},
        },
    },
}
_JSON_RPC = {"application/json": {"schema": {"$ref": "#/components/schemas/JsonRpcResponse"}}}
_ERROR = {"$ref": "#/components/schemas/Error"}

post.openapi = RouteDoc(  # type: ignore[attr-defined]
    summary="Model Context Protocol (streamable HTTP, stateless, JSON responses)",
    description=(
        "One JSON-RPC message per POST: initialize, tools/list, tools/call, ping. The tools are the "
        "actions in x-switchboard-tools that the API key may call. Tool calls that change something "
        "take an idempotency_key argument (or _meta io.switchboard/idempotency-key). Errors: -32030 "
        "tool not allowed for this key, -32031 quota exceeded (data.retry_after_s), -32032 API key "
        "refused (data.reason), -32033 Origin not allowed, -32602 unknown tool or invalid "
        "idempotency_key, -32600 not a JSON-RPC message. "
        "GET and DELETE /mcp answer 405: no event stream and no sessions (stateless server)."
    ),
    request_body={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JsonRpcMessage"}}},
    },
    responses={
        "200": {"description": "the JSON-RPC response", "content": _JSON_RPC},
        "202": {"description": "a notification or response was accepted; nothing to answer"},
        "400": {
            "description": "not a JSON-RPC message (-32700, -32600), or the wrong content type",
            "content": _JSON_RPC,
        },
        "401": {
            "description": "API key missing, malformed, unknown or revoked: -32032, data.reason says which",
            "headers": {"www-authenticate": {"required": True, "schema": {"type": "string"}}},
            "content": _JSON_RPC,
        },
        "403": {
            "description": "an Origin header not in the allowed_origins setting (-32033)",
            "content": _JSON_RPC,
        },
        "404": {"description": "unknown session (this server has none)", "content": _JSON_RPC},
        "406": {
            "description": "the client must accept application/json and text/event-stream",
            "content": _JSON_RPC,
        },
    },
    errors=("413", "500", "502", "503"),
    security=("mcpApiKey",),
    security_schemes={
        "mcpApiKey": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sb_live_<id>_<secret>",
            "description": "A Switchboard API key (switchboard keys create): its tools and quota apply.",
        }
    },
    schemas={
        "JsonRpcMessage": JsonRpcMessage.model_json_schema(mode="validation"),
        "JsonRpcResponse": _RESPONSE,
    },
)
not_allowed.openapi = RouteDoc(  # type: ignore[attr-defined]
    hidden=True,
    responses={
        "405": {
            "description": "stateless server: no event stream, no session; POST JSON-RPC messages",
            "headers": {"allow": {"required": True, "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": _ERROR}},
        }
    },
)
