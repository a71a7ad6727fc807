"""One API Gateway request through the official MCP SDK's server, in-process (no web server).

The SDK's streamable-HTTP transport is ASGI. This module turns the request into an ASGI ``http``
scope, runs a fresh :class:`~mcp.server.streamable_http_manager.StreamableHTTPSessionManager`
(stateless, JSON responses) for exactly that request on its own event loop - what Mangum does for
any ASGI app - and collects the answer. Stateless means there is nothing to keep between requests:
the manager and the lowlevel ``Server`` are cheap to build, and building them per request lets the
tool handlers close over the request's API key.

The SDK does the protocol (version negotiation, JSON-RPC framing and errors, ``initialize``,
``tools/list``, ``tools/call``, ``ping``, both the handshake era and the 2026 per-request era);
:mod:`functions.mcp.tools` does what Switchboard adds (keys' tools, quotas, idempotency, audit).
Imported only when an authenticated request arrives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError

from shared.actions import Action

from . import approvals, jsonrpc, tools
from .keys import ApiKey

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from shared.sync import RouteContext
    from shared.webhooks.base import WebhookRequest

__all__ = ["build_server", "serve"]

VERSION = "0.1.0"


def instructions(offered: list[Action[Any, Any]]) -> str:
    """The server's ``instructions``, from the tools it offers: every domain, its apps and its tools.

    Generated, not written: a domain added to the catalogue (or a tool a deployment stops offering)
    changes what the client is told with no text to keep in step.
    """
    domains: dict[str, list[Action[Any, Any]]] = {}
    for action in offered:
        domains.setdefault(action.name.partition(".")[0], []).append(action)
    parts = []
    for domain in sorted(domains):
        actions = domains[domain]
        apps = ", ".join(sorted({a.app.replace("_", " ") for a in actions}))
        parts.append(f"{domain} ({apps}: {', '.join(a.tool_name for a in actions)})")
    offer = "; ".join(parts) if parts else "nothing yet (this API key may call none of the configured tools)"
    text = (
        f"Switchboard runs a small business's connected apps. This server offers: {offer}. "
        "Each tool does one thing in one app."
    )
    if any(a.effect for a in offered):
        text += (
            " For tools that change something, pass a fresh idempotency_key per intended change "
            "(a UUID) and reuse it when retrying: the change then happens once."
        )
    return text


def build_server(ctx: RouteContext, key: ApiKey) -> Server[Any]:
    """A lowlevel MCP server whose tools are the actions ``key`` may call."""
    settings = ctx.rt.settings
    offered = tools.visible(settings, key)

    async def list_tools(
        sctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool.model_validate(tools.definition(a, approval=approvals.required(a, settings)))
                for a in offered
            ]
        )

    async def call_tool(
        sctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        raw = sctx.params or {}
        meta = raw.get("_meta") if isinstance(raw.get("_meta"), Mapping) else None
        try:
            # Synchronous on purpose: this loop serves this one request and nothing else.
            result = tools.call(
                ctx, key, params.name, params.arguments, meta=meta, request_id=sctx.request_id
            )
        except tools.ToolError as exc:
            raise MCPError(exc.code, exc.message, exc.data) from exc
        if result.error is not None:
            return types.CallToolResult(content=[types.TextContent(text=result.error)], is_error=True)
        text = json.dumps(result.output, separators=(",", ":"), ensure_ascii=False)
        return types.CallToolResult(
            content=[types.TextContent(text=text)],
            structured_content=result.output,
            _meta={"io.switchboard/replayed": True} if result.replayed else None,
        )

    name = str(getattr(settings, "server_name", "switchboard"))
    return Server(
        name,
        version=VERSION,
        instructions=instructions(offered),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _scope(request: WebhookRequest) -> dict[str, Any]:
    host = request.header("host") or "localhost"
    scheme = request.url.split("://", 1)[0] if "://" in request.url else "https"
    query = request.url.partition("?")[2]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": scheme,
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in request.headers.items()
        ],
        "client": (request.source_ip or "0.0.0.0", 0),
        "server": (host.split(":")[0], 443 if scheme == "https" else 80),
        "state": {},
    }


async def _asgi_call(
    server: Server[Any], scope: dict[str, Any], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    manager = StreamableHTTPSessionManager(app=server, json_response=True, stateless=True)
    status = 500
    headers: dict[str, str] = {}
    chunks: list[bytes] = []
    done = anyio.Event()
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # the client "disconnects" only once the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for k, v in message.get("headers", []):
                headers[k.decode("latin-1").lower()] = v.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                done.set()

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    return status, headers, b"".join(chunks)


def serve(ctx: RouteContext, key: ApiKey, request: WebhookRequest) -> tuple[int, Any, Mapping[str, str]]:
    """The SDK's answer to one request, as a route answer ``(status, JSON body, headers)``."""
    server = build_server(ctx, key)
    status, headers, raw = anyio.run(_asgi_call, server, _scope(request), request.body)
    keep = {k: v for k, v in headers.items() if k.startswith("mcp-") or k in ("allow", "retry-after")}
    if not raw.strip():
        # A notification or a response: 202 and, per the protocol, no body at all.
        return status, None, keep
    try:
        return status, json.loads(raw), keep
    except ValueError:
        # The SDK's own plain-text refusals (wrong content type, not acceptable ...): as JSON-RPC
        # errors, the only error body the MCP client shows its user.
        text = raw.decode("utf-8", "replace").strip()[:300] or f"HTTP {status}"
        code = jsonrpc.INTERNAL_ERROR if status >= 500 else jsonrpc.INVALID_REQUEST
        return status, jsonrpc.error(jsonrpc.request_id(request.body), code, text), keep
