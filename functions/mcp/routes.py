"""The ``/mcp`` routes: authenticate the key, then hand the JSON-RPC message to the MCP server.

Authentication happens here, before the MCP SDK is imported: a request without a valid key costs
one DynamoDB read and no SDK import, and is answered ``401`` with a JSON body naming the problem and
``WWW-Authenticate: Bearer``. Everything after that is :mod:`functions.mcp.server`, imported on the
first authenticated request only (the SDK - Starlette, anyio, its type models - is the heavy part
of this function's cold start).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.openapi import RouteDoc

from .keys import InvalidKey, authenticate
from .models import JsonRpcMessage

if TYPE_CHECKING:
    from shared.sync import RouteContext
    from shared.webhooks.base import WebhookRequest

__all__ = ["not_allowed", "post"]

Answer = tuple[int, Any, Mapping[str, str]]

_CHALLENGE = 'Bearer realm="switchboard", error="invalid_token"'


def post(ctx: RouteContext, request: WebhookRequest, params: Mapping[str, str]) -> Answer:
    """``POST /mcp``: one JSON-RPC message in, its JSON answer out (or 202 for a notification)."""
    try:
        key = authenticate(ctx.rt.aws("dynamodb"), ctx.rt.table, request.header("authorization"))
    except InvalidKey as exc:
        ctx.logger.warning("mcp key refused", extra={"reason": str(exc)})
        body = {"error": InvalidKey.code, "message": str(exc)}
        return 401, body, {"www-authenticate": _CHALLENGE}
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
        "tool not allowed for this key, -32031 quota exceeded (data.retry_after_s), -32602 unknown tool. "
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
            "description": "not a JSON-RPC message, or the wrong content type",
            "content": {
                "application/json": {
                    "schema": {"anyOf": [_ERROR, {"$ref": "#/components/schemas/JsonRpcResponse"}]}
                }
            },
        },
        "401": {
            "description": "no API key, or not a valid one (unknown, wrong, revoked)",
            "headers": {"www-authenticate": {"required": True, "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": _ERROR}},
        },
        "404": {
            "description": "unknown session (this server has none)",
            "content": {"application/json": {"schema": {}}},
        },
        "406": {
            "description": "the client must accept application/json and text/event-stream",
            "content": {"application/json": {"schema": {}}},
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
