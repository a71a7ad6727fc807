"""Human approval for tool calls with consequences: asked in Slack, decided once, executed once.

An assistant may be allowed to cancel a meeting or book a refund, but the business wants a person to
say yes first. A tool needs approval when the settings say so (:func:`required`: every
``destructive`` tool unless ``approve_destructive`` is off, and the tools named in
``approval_tools`` - refunds by default). Such a call does not run; it:

1. is checked like any call (tool, key, idempotency key, arguments), then spends one unit of quota;
2. becomes an approval record ``mcp#approval#<id>`` (the tool, the key, the validated arguments, who
   may decide, when it expires), its id derived from the key, the tool and the idempotency key, so a
   retried request finds the same record;
3. posts an approval request to ``approval_channel`` in Slack - the tool, the arguments, the key's
   name - with **Approve** and **Reject** buttons (``approval.approve`` / ``approval.reject``, value
   ``approval:<id>``);
4. answers "pending approval" with the id. Calling the tool again with the same idempotency key
   answers the state: still pending, the result once approved and done, or why it was not done.

The click comes back through the verified Slack interactivity route as ``chat.button_clicked``;
the MCP function's worker (:mod:`functions.mcp.worker`) decides it with a conditional write - the
first decision wins, a second click or a second message's button finds it decided - executes the
call exactly once (a ledger step), audits who approved, and updates the message.

Arguments are shown to the approvers in full (they must see what they approve; the channel is the
business's own) with secrets masked; the audit trail keeps them masked as for every call.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel

from shared.actions import Action, every_action
from shared.redact import redact_text
from shared.table import ConditionFailed, Table

__all__ = [
    "APPROVE",
    "PENDING",
    "PREFIX",
    "REJECT",
    "Approval",
    "answer",
    "approval_id",
    "approval_of",
    "decide",
    "finish",
    "get",
    "post_request",
    "record_key",
    "request",
    "required",
    "update_message",
    "value_of",
]

#: The buttons' ``action_id`` s (what the MCP worker takes from ``chat.button_clicked``).
APPROVE: Final = "approval.approve"
REJECT: Final = "approval.reject"
PREFIX: Final = "mcp#approval#"
PENDING: Final = "pending"
#: Kept this long after it expires, so a late click or a late re-call can still be told what happened.
_KEEP_S: Final = 30 * 86_400
_ID = re.compile(r"^apr_[0-9a-f]{24}$")
_VALUE = re.compile(r"^approval:(apr_[0-9a-f]{24})$")
_SHOWN_ARGUMENTS: Final = 2_500


def required(action: Action[Any, Any], settings: BaseModel) -> bool:
    """Whether calling ``action`` needs a person's yes first (only tools that change something can)."""
    if not action.effect:
        return False
    if action.destructive and bool(getattr(settings, "approve_destructive", True)):
        return True
    named = set(getattr(settings, "approval_tools", ()))
    return action.tool_name in named or action.name in named


def known_tools() -> frozenset[str]:
    """Tool names ``approval_tools`` may name (checked when the settings load)."""
    return frozenset(a.tool_name for a in every_action() if a.effect)


def approval_id(key_id: str, action: str, idempotency_key: str) -> str:
    """One approval per API key, tool and idempotency key: a retried request finds its own."""
    digest = hashlib.sha256(f"{key_id}\n{action}\n{idempotency_key}".encode()).hexdigest()
    return f"apr_{digest[:24]}"


def record_key(approval: str) -> str:
    return f"{PREFIX}{approval}"


def value_of(approval: str) -> str:
    """A button's value: the approval's id, nothing else (anyone in the channel can read it)."""
    return f"approval:{approval}"


def approval_of(value: str | None) -> str | None:
    """The approval id a button's value carries, or ``None`` when it is not one of ours."""
    match = _VALUE.match(value or "")
    return match.group(1) if match else None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Approval:
    """An approval record as read from the table (the item's fields, typed)."""

    def __init__(self, item: Mapping[str, Any]) -> None:
        self.id = str(item["approval_id"])
        self.status = str(item["status"])
        self.tool = str(item["tool"])
        self.action = str(item["action"])
        self.key_id = str(item["key_id"])
        self.key_name = str(item.get("key_name") or "")
        self.arguments: dict[str, Any] = json.loads(str(item["arguments"]))
        self.requested_at = float(item["requested_at"])
        self.expires_at = float(item["expires_at"])
        self.channel = str(item.get("channel") or "")
        self.message_ts = str(item.get("message_ts") or "")
        self.decided_by = str(item.get("decided_by") or "") or None
        self.decided_by_name = str(item.get("decided_by_name") or "") or None
        self.output: dict[str, Any] | None = json.loads(str(item["output"])) if item.get("output") else None
        self.error = str(item.get("error") or "") or None

    def state(self, now: float) -> str:
        """``pending``, ``expired`` (pending past its time), ``rejected``, ``approved`` (deciding done,
        running), ``done`` or ``failed``."""
        if self.status == PENDING and now >= self.expires_at:
            return "expired"
        return self.status

    @property
    def approver(self) -> str | None:
        return self.decided_by_name or self.decided_by


def request(
    table: Table,
    *,
    approval: str,
    action: Action[Any, Any],
    arguments: Mapping[str, Any],
    key_id: str,
    key_name: str,
    hours: int,
    post: Any,
    now: float | None = None,
) -> Approval:
    """Write the approval record (once) and post its request; returns the record.

    ``post(text, blocks) -> (channel, ts)`` posts the message. A record that exists (a retried
    request) keeps its times; its message is posted again only if the first post never completed.
    """
    at = time.time() if now is None else now
    expires = at + hours * 3600
    item = {
        "id": record_key(approval),
        "kind": "approval",
        "approval_id": approval,
        "status": PENDING,
        "tool": action.tool_name,
        "action": action.name,
        "key_id": key_id,
        "key_name": key_name,
        "arguments": json.dumps(dict(arguments), separators=(",", ":"), default=str),
        "requested_at": int(at),
        "expires_at": int(expires),
        "expiration": int(expires) + _KEEP_S,
    }
    table.put_if_absent(item)
    current = Approval(table.get(record_key(approval), consistent=True) or item)
    if current.message_ts:
        return current
    text, blocks = request_message(current)
    channel, ts = post(text, blocks)
    table.update(
        record_key(approval),
        "SET channel = :c, message_ts = :ts",
        values={":c": channel, ":ts": ts},
    )
    current.channel, current.message_ts = channel, ts
    return current


def get(table: Table, approval: str) -> Approval | None:
    item = table.get(record_key(approval), consistent=True)
    return Approval(item) if item else None


def answer(found: Approval | None, now: float | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """What a tool call (first or repeated) answers about an approval: (output, error text)."""
    at = time.time() if now is None else now
    if found is None:
        return None, "this approval request is gone (kept 30 days after it expired); call with a new key"
    state = found.state(at)
    base: dict[str, Any] = {"status": state, "approval_id": found.id, "tool": found.tool}
    if state == PENDING:
        where = f" in Slack {found.channel}" if found.channel else ""
        return {
            **base,
            "status": "pending_approval",
            "requested_at": _iso(found.requested_at),
            "expires_at": _iso(found.expires_at),
            "message": f"Waiting for a person to approve{where}. Nothing has been done yet. Call "
            "this tool again with the same idempotency_key to learn the outcome; do not use a new key, "
            "which would ask again.",
        }, None
    if state == "approved":
        return {**base, "status": "approved_running", "approved_by": found.approver}, None
    if state == "done":
        return {**base, "status": "done", "approved_by": found.approver, "result": found.output}, None
    if state == "rejected":
        return None, f"{found.tool} was rejected by {found.approver}: nothing was done (approval {found.id})"
    if state == "expired":
        return None, f"nobody approved {found.tool} before {_iso(found.expires_at)}: nothing was done"
    return (
        None,
        f"{found.tool} was approved by {found.approver} but failed: {found.error} (approval {found.id})",
    )


def decide(
    table: Table,
    approval: str,
    *,
    approve: bool,
    user_id: str,
    user_name: str | None,
    approvers: tuple[str, ...],
    now: float | None = None,
) -> dict[str, Any]:
    """Record the first decision; later ones find it taken. Returns ``{"outcome": ...}``.

    Outcomes: ``approved`` / ``rejected`` (this click decided), ``already`` (someone decided first),
    ``expired``, ``denied`` (the clicker is not an approver), ``unknown`` (no such record).
    """
    at = time.time() if now is None else now
    found = get(table, approval)
    if found is None:
        return {"outcome": "unknown"}
    if approvers and user_id not in approvers:
        return {"outcome": "denied", "user": user_id}
    state = found.state(at)
    if state == "expired":
        with suppress(ConditionFailed):  # a decision that came first stands
            table.update(
                record_key(approval),
                "SET #s = :expired",
                condition="#s = :pending",
                names={"#s": "status"},
                values={":expired": "expired", ":pending": PENDING},
            )
        return {"outcome": "expired"}
    if state != PENDING:
        return {"outcome": "already", "status": state, "by": found.approver}
    try:
        table.update(
            record_key(approval),
            "SET #s = :new, decided_by = :u, decided_by_name = :n, decided_at = :at",
            condition="#s = :pending AND expires_at > :at",
            names={"#s": "status"},
            values={
                ":new": "approved" if approve else "rejected",
                ":u": user_id,
                ":n": user_name or user_id,
                ":at": int(at),
                ":pending": PENDING,
            },
        )
    except ConditionFailed:
        again = get(table, approval)
        return {
            "outcome": "already",
            "status": again.state(at) if again else "unknown",
            "by": again and again.approver,
        }
    return {"outcome": "approved" if approve else "rejected", "by": user_name or user_id}


def finish(table: Table, approval: str, *, output: dict[str, Any] | None, error: str | None) -> None:
    """The approved call ran: its output (``done``) or why it failed (``failed``)."""
    if error is None:
        table.update(
            record_key(approval),
            "SET #s = :done, #o = :out",
            names={"#s": "status", "#o": "output"},
            values={":done": "done", ":out": json.dumps(output, separators=(",", ":"), default=str)},
        )
    else:
        table.update(
            record_key(approval),
            "SET #s = :failed, #e = :err",
            names={"#s": "status", "#e": "error"},
            values={":failed": "failed", ":err": redact_text(error)[:1000]},
        )


# --- messages ------------------------------------------------------------------------------------


def _arguments_text(arguments: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in arguments.items() if k != "idempotency_key"}
    text = redact_text(json.dumps(shown, indent=1, ensure_ascii=False, default=str))
    return text if len(text) <= _SHOWN_ARGUMENTS else text[:_SHOWN_ARGUMENTS] + "\n…"


def request_message(found: Approval) -> tuple[str, list[dict[str, Any]]]:
    """The approval request: what would be done, by whose key, until when; Approve / Reject."""
    who = found.key_name or found.key_id
    text = f"Approval needed: {who} asks to run {found.tool}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Approval needed*: `{found.tool}`"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{_arguments_text(found.arguments)}```"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Asked by the AI assistant key *{who}* · expires {_iso(found.expires_at)} · {found.id}",
                }
            ],
        },
        {
            "type": "actions",
            "block_id": "approval",
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": value_of(found.id),
                },
                {
                    "type": "button",
                    "action_id": REJECT,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "value": value_of(found.id),
                },
            ],
        },
    ]
    return text, blocks


def outcome_message(found: Approval, headline: str) -> tuple[str, list[dict[str, Any]]]:
    """The request once decided: the headline, the arguments, no buttons."""
    text = f"{headline}: {found.tool}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*: `{found.tool}`"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{_arguments_text(found.arguments)}```"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": found.id}]},
    ]
    return text, blocks


def is_approval_id(value: str) -> bool:
    return bool(_ID.match(value))


def post_request(ctx: Any, channel: str, text: str, blocks: list[dict[str, Any]]) -> tuple[str, str]:
    """Post an approval request with the Slack app's bot token: (channel id, message ts)."""
    from apps.slack.actions import POST_MESSAGE
    from shared.actions import chat

    posted = POST_MESSAGE(ctx, chat.PostMessage(channel=channel, text=text, blocks=blocks))
    return posted.channel, posted.ts


def update_message(
    ctx: Any, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Replace the request with its outcome (the same update twice is the same message)."""
    from apps.slack.actions import UPDATE_MESSAGE
    from shared.actions import chat

    change = chat.UpdateMessage(channel=channel, ts=ts, text=text, blocks=blocks)
    return UPDATE_MESSAGE(ctx, change).model_dump(mode="json")
