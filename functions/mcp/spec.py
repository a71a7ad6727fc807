"""mcp: the action catalogue as Model Context Protocol tools, for AI assistants, at ``/mcp``.

Streamable HTTP in stateless mode with JSON responses (every POST carries one JSON-RPC message and
gets its answer; no sessions, no server-sent streams), so it fits one Lambda invocation per request.
``GET`` and ``DELETE /mcp`` - the stream and session verbs - answer 405, as the protocol asks of a
server without them.

Callers authenticate with ``Authorization: Bearer sb_live_…`` keys (``switchboard keys create``),
each limited to its tools and to a quota; every tool call is audited. Synchronous routes only:
nothing is queued (the integration keeps its idle queue, as every route-only integration does).
The connections are those of the actions it offers, so its grants follow the catalogue.
"""

from __future__ import annotations

from shared.actions import catalogue
from shared.spec import Connection, EmailSender, IntegrationSpec, RetryPolicy, RouteTrigger

from .models import JsonRpcMessage, Settings

_ROUTES = "functions.mcp.routes"


def _connections() -> tuple[Connection, ...]:
    """Every connection an action in the catalogue uses, once: the function may read those secrets."""
    seen: dict[str, Connection] = {}
    for action in catalogue():
        for connection in action.connections:
            seen.setdefault(connection.name, connection)
    return tuple(seen.values())


SPEC = IntegrationSpec(
    name="mcp",
    description="Model Context Protocol endpoint: Switchboard's actions as tools for AI assistants",
    input_model=JsonRpcMessage,
    settings=Settings,
    triggers=(
        RouteTrigger(
            name="mcp",
            path="/mcp",
            handler=f"{_ROUTES}:post",
            method="POST",
            # An assistant calls a few tools per answer; quotas per key cap each caller further.
            throttle_rate=10.0,
            throttle_burst=20,
            description="MCP JSON-RPC message (initialize, tools/list, tools/call ...); JSON answer",
        ),
        RouteTrigger(
            name="mcp_stream",
            path="/mcp",
            handler=f"{_ROUTES}:not_allowed",
            method="GET",
            throttle_rate=1.0,
            throttle_burst=5,
            description="No server-sent event stream (stateless server): 405",
        ),
        RouteTrigger(
            name="mcp_session",
            path="/mcp",
            handler=f"{_ROUTES}:not_allowed",
            method="DELETE",
            throttle_rate=1.0,
            throttle_burst=5,
            description="No sessions to end (stateless server): 405",
        ),
    ),
    connections=_connections(),
    email=EmailSender(from_setting="from_address") if any(a.sends_email for a in catalogue()) else None,
    # A tool call is at most a few target calls (stock: search then counts, 10 s read timeout each).
    timeout_s=29,
    memory_mb=256,
    max_concurrency=5,
    # Routes queue nothing; these only shape the idle queue every integration gets.
    retry=RetryPolicy(max_attempts=3, base_delay_s=10, max_delay_s=60),
)
