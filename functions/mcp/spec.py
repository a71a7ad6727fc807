"""mcp: the action catalogue as Model Context Protocol tools, for AI assistants, at ``/mcp``.

Streamable HTTP in stateless mode with JSON responses (every POST carries one JSON-RPC message and
gets its answer; no sessions, no server-sent streams), so it fits one Lambda invocation per request.
``GET`` and ``DELETE /mcp`` - the stream and session verbs - answer 405, as the protocol asks of a
server without them.

Callers authenticate with ``Authorization: Bearer sb_live_…`` keys (``switchboard keys create``),
each limited to its tools and to a quota; every tool call is audited. Tool calls are answered on
the route; the queue carries only approvals: a tool that needs a person's yes
(:mod:`functions.mcp.approvals`) posts a request to Slack, and the Approve / Reject click comes back
over the bus (``chat.button_clicked``) to this integration's worker, which carries the call out once.
The connections are those of the actions it offers, so its grants follow the catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.actions import catalogue
from shared.events import BUTTON_CLICKED, ButtonClicked, derived_id
from shared.spec import (
    Accepted,
    BusEvent,
    BusTrigger,
    Connection,
    EmailSender,
    IntegrationSpec,
    RetryPolicy,
    RouteTrigger,
)

from . import approvals
from .models import ApprovalDecision, Settings

_ROUTES = "functions.mcp.routes"


def _connections() -> tuple[Connection, ...]:
    """Every connection an action in the catalogue uses, once: the function may read those secrets."""
    seen: dict[str, Connection] = {}
    for action in catalogue():
        for connection in action.connections:
            seen.setdefault(connection.name, connection)
    return tuple(seen.values())


def accept_click(detail: ButtonClicked, event: BusEvent) -> Sequence[Accepted]:
    """An Approve or Reject click on an approval request; every other button is another flow's."""
    approval = approvals.approval_of(detail.value)
    if detail.action_id not in (approvals.APPROVE, approvals.REJECT) or approval is None:
        return []
    return [
        Accepted(
            event_id=derived_id("approval", detail.source_event_id),
            type="approval.decided",
            data=ApprovalDecision(
                approval_id=approval,
                approve=detail.action_id == approvals.APPROVE,
                user_id=detail.user_id,
                user_name=detail.user_name,
                channel=detail.channel,
                message_ts=detail.message_ts,
            ),
        )
    ]


SPEC = IntegrationSpec(
    name="mcp",
    description="Model Context Protocol endpoint: Switchboard's actions as tools for AI assistants",
    input_model=ApprovalDecision,
    settings=Settings,
    worker="functions.mcp.worker:process",
    triggers=(
        BusTrigger(
            name="approval_click",
            detail_types=(BUTTON_CLICKED,),
            model=ButtonClicked,
            accept=accept_click,
            description="Approve / Reject on an approval request in Slack: decided once, carried out once",
        ),
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
    # An approved call whose app is down waits like any work: the decision stays taken meanwhile.
    retry=RetryPolicy(max_attempts=8, base_delay_s=10, max_delay_s=900),
)
