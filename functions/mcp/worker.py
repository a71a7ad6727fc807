"""mcp's worker: a click on an approval request, decided once and carried out once.

Each click (``chat.button_clicked`` with ``approval.approve`` or ``approval.reject``) is one work
item, ledger steps so that a retry resumes where it stopped:

1. ``approval.decide`` - the first decision wins by a conditional write
   (:func:`functions.mcp.approvals.decide`); a second click, a click on a re-posted copy of the
   request, or one after it expired finds it decided. A clicker who is not among ``approvers``
   decides nothing.
2. ``approval.execute`` - only for the click that approved: the call runs as the assistant asked,
   with the deployment's config, if its API key still exists and is not revoked. A target that is
   down is retried (the decision stays taken); a refusal is the call's outcome (``failed``).
3. ``approval.audit`` - who decided, and what came of it, in the audit trail.
4. ``slack.update`` - the request shows its outcome, buttons gone.

Imported on the worker path only (``spec.worker``).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.actions import catalogue
from shared.errors import PermanentError
from shared.table import ledger_table
from shared.worker import WorkContext

from . import approvals, audit, keys
from .models import ApprovalDecision
from .tools import config_values

__all__ = ["process"]


def process(item: ApprovalDecision, ctx: WorkContext) -> dict[str, Any]:
    settings = ctx.settings
    table = ledger_table(ctx.rt)
    decided: dict[str, Any] = ctx.step(
        "approval.decide",
        lambda: approvals.decide(
            table,
            item.approval_id,
            approve=item.approve,
            user_id=item.user_id,
            user_name=item.user_name,
            approvers=tuple(settings.approvers),
        ),
    )
    outcome = decided["outcome"]
    if outcome == "denied":
        ctx.logger.warning("approval click by someone not among the approvers", extra={"user": item.user_id})
        asked = approvals.get(table, item.approval_id)
        if asked is not None:
            ctx.step("approval.audit", lambda: _audit(ctx, asked, "approval_denied", item))
        return {"decided": False, "outcome": outcome}
    if outcome == "approved":
        ctx.step("approval.execute", lambda: _execute(ctx, item.approval_id))
    found = approvals.get(table, item.approval_id)
    if found is None:
        ctx.step(
            "slack.update",
            lambda: approvals.update_message(
                ctx, item.channel, item.message_ts, "This approval request no longer exists.", []
            ),
        )
        return {"decided": False, "outcome": outcome}
    if outcome in ("approved", "rejected", "expired"):  # this click settled it
        ctx.step("approval.audit", lambda: _audit(ctx, found, _audit_outcome(found), item))
    text, blocks = approvals.outcome_message(found, _headline(found))
    ctx.step(
        "slack.update", lambda: approvals.update_message(ctx, item.channel, item.message_ts, text, blocks)
    )
    return {"decided": outcome in ("approved", "rejected"), "outcome": outcome, "state": found.status}


def _execute(ctx: WorkContext, approval: str) -> dict[str, Any]:
    """Run the approved call once; its outcome is stored on the approval for the assistant to read."""
    table = ledger_table(ctx.rt)
    found = approvals.get(table, approval)
    if found is None or found.status != "approved":
        return {"ran": False, "status": found.status if found else "unknown"}
    action = next((a for a in catalogue() if a.name == found.action), None)
    key = keys.get_key(ctx.rt.aws("dynamodb"), ctx.rt.table, found.key_id)
    config = config_values(action, ctx.settings) if action else None
    problem = None
    if action is None or config is None:
        problem = f"{found.tool} is no longer offered by this deployment"
    elif key is None or key.revoked:
        problem = "the API key that asked was revoked before the approval"
    if problem is not None or action is None or config is None:
        approvals.finish(table, approval, output=None, error=problem)
        return {"ran": False, "error": problem}
    try:
        data = action.input.model_validate({**found.arguments, **config})
    except ValidationError as exc:
        approvals.finish(
            table, approval, output=None, error=f"arguments no longer valid: {exc.error_count()} errors"
        )
        return {"ran": False, "error": "invalid arguments"}
    try:
        output = action(ctx, data).model_dump(mode="json")
    except PermanentError as exc:  # the target refused: the outcome, not a failure of this work
        approvals.finish(table, approval, output=None, error=f"{action.app} refused: {exc.message}")
        return {"ran": True, "error": exc.code}
    approvals.finish(table, approval, output=output, error=None)
    return {"ran": True}


def _audit_outcome(found: approvals.Approval) -> str:
    return {"done": "approved", "failed": "approved_failed"}.get(found.status, found.status)


def _audit(
    ctx: WorkContext, found: approvals.Approval, outcome: str, item: ApprovalDecision
) -> dict[str, Any]:
    record = audit.write(
        ctx.rt.aws("dynamodb"),
        ctx.rt.table,
        key_id=found.key_id,
        tool=found.tool,
        arguments=found.arguments,
        outcome=outcome,
        duration_ms=0.0,
        retention_days=int(ctx.settings.audit_days),
        detail=found.error,
        method="approval",
        decided_by=f"{item.user_name or item.user_id} ({item.user_id})",
        approval_id=found.id,
        logger=ctx.logger,
    )
    return {"audit": record}


def _headline(found: approvals.Approval) -> str:
    who = found.approver or "someone"
    return {
        "done": f"Approved by {who}, done",
        "failed": f"Approved by {who}, but it failed",
        "approved": f"Approved by {who}",
        "rejected": f"Rejected by {who}; nothing was done",
        "expired": "Expired; nothing was done",
    }.get(found.status, found.status)
