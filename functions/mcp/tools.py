"""The action catalogue as MCP tools: which a key sees, what each takes, and one call, start to end.

A call goes: the tool exists and is configured -> the key may call it -> the idempotency key and the
arguments validate into the action's input model -> the key's quota has room -> the action runs,
once per idempotency key -> the audit record. Refusals a model cannot fix by changing its arguments
(unknown or forbidden tool, quota) are protocol errors (:class:`ToolError`), and so is an
idempotency key outside its schema's limits (``-32602`` naming the field); everything else - invalid
arguments, the target refusing or being down - is a tool result with ``is_error``, worded so a model
can correct itself or tell the user.

**Names.** Tools are named as function-calling APIs require (``crm_find_contact``: no dots), and that
is the name every message, ``data`` field and audit record uses; a call naming the action
(``crm.find_contact``) is accepted (see :mod:`functions.mcp.keys`).

**What the quota counts.** Only calls that reach a target: the quota is spent just before the
action runs - inside the idempotency record for a tool that changes something, so a replayed key
spends nothing. A refused call (unknown or forbidden tool, invalid arguments or idempotency key)
spends nothing, so a model correcting itself is not locked out; refused calls count against their
own per-minute limit instead (:func:`functions.mcp.keys.count_refusal`), past which they are
answered ``-32031`` too.

**Idempotency.** A tool that changes something (``Action.effect``) takes an ``idempotency_key``
argument: 8 to 200 characters, letters, digits and ``. _ : -`` (a UUID fits) - checked, not only
stated in the schema. ``_meta["io.switchboard/idempotency-key"]`` (or ``_meta["idempotency_key"]``)
works too, under the same rule, and so does a JSON-RPC request id that is a string of 16+ characters
that fits it (a UUID). Small integer ids are per-connection counters - every stateless client starts
again at 0 - so they are never used as keys. A repeated key returns the first call's result and does
not repeat the effect; the key is scoped to the API key and the tool, and reusing it with other
arguments is refused. Records are the effects ledger's (``shared.ledger``: Powertools idempotency on
the table, 15 days), so a concurrent duplicate waits for the first instead of running beside it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ValidationError

from shared.actions import Action, catalogue
from shared.errors import (
    ConfigurationError,
    EventInProgress,
    PermanentError,
    RetryableError,
    SwitchboardError,
)
from shared.redact import redact_text
from shared.table import ledger_table

from . import approvals, audit
from .jsonrpc import FORBIDDEN, INVALID_PARAMS, QUOTA_EXCEEDED
from .keys import ApiKey, QuotaExceeded, consume_quota, count_refusal

if TYPE_CHECKING:
    from shared.sync import RouteContext

__all__ = [
    "FORBIDDEN",
    "IDEMPOTENCY_ARGUMENT",
    "INVALID_PARAMS",
    "QUOTA_EXCEEDED",
    "UNKNOWN_TOOL",
    "ToolError",
    "ToolResult",
    "call",
    "definition",
    "offered",
    "visible",
]

UNKNOWN_TOOL: Final = INVALID_PARAMS  # "invalid params", as the MCP specification says for unknown tools
IDEMPOTENCY_ARGUMENT: Final = "idempotency_key"
_META_KEYS: Final = ("io.switchboard/idempotency-key", "idempotency_key")
_IDEMPOTENCY_MIN: Final = 8
_IDEMPOTENCY_MAX: Final = 200
_IDEMPOTENCY_CHARS: Final = r"^[A-Za-z0-9._:-]+$"
_IDEMPOTENCY_PATTERN: Final = re.compile(_IDEMPOTENCY_CHARS)
#: A request id used as the idempotency key must look chosen for it (a UUID), not be a counter.
_REQUEST_ID_MIN: Final = 16
_IDEMPOTENCY_SCHEMA: Final = {
    "type": "string",
    "minLength": _IDEMPOTENCY_MIN,
    "maxLength": _IDEMPOTENCY_MAX,
    "pattern": _IDEMPOTENCY_CHARS,
    "description": (
        "Recommended: a unique id for this intended change (e.g. a UUID; letters, digits and . _ : - only). "
        "Calling again with the same key returns the first result instead of doing it twice."
    ),
}


class ToolError(Exception):
    """A protocol-level refusal: answered as a JSON-RPC error, not as a tool result."""

    def __init__(self, code: int, message: str, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = dict(data) if data else None


@dataclass(frozen=True)
class ToolResult:
    """A tool call's answer: the action's output, or an error text for the model."""

    output: dict[str, Any] | None = None
    error: str | None = None
    #: The first call's result, returned again for a repeated idempotency key.
    replayed: bool = False


def config_values(action: Action[Any, Any], settings: BaseModel) -> dict[str, Any] | None:
    """The input fields the deployment sets for ``action``; ``None`` if one is not configured."""
    values: dict[str, Any] = {}
    for field, setting in action.config.items():
        value = getattr(settings, setting, None)
        if value in (None, "", (), []):
            return None
        values[field] = list(value) if isinstance(value, tuple) else value
    return values


def offered(settings: BaseModel) -> list[Action[Any, Any]]:
    """The actions this deployment offers as tools: every one whose config is set - and, for one that
    needs a person's approval, whose approval channel is set (else nobody could say yes)."""
    return [
        a
        for a in catalogue()
        if config_values(a, settings) is not None
        and (not approvals.required(a, settings) or getattr(settings, "approval_channel", None))
    ]


def visible(settings: BaseModel, key: ApiKey) -> list[Action[Any, Any]]:
    """The tools ``key`` sees (and may call): offered, and named in the key's tools."""
    return [a for a in offered(settings) if key.may_call(a.name)]


def definition(action: Action[Any, Any], *, approval: bool = False) -> dict[str, Any]:
    """The MCP ``Tool`` of an action (as JSON): schemas from its models, hints from its kind.

    A tool that needs approval (``approval``) says so in its description and declares no output
    schema: its answer is "pending approval" first and the action's output only once approved, and
    a declared schema would make clients reject the first answer.
    """
    schema = action.input_schema()
    if action.effect:
        schema.setdefault("properties", {})[IDEMPOTENCY_ARGUMENT] = dict(_IDEMPOTENCY_SCHEMA)
    description = action.description
    if approval:
        description += (
            " Needs a person's approval: the call answers status pending_approval with an approval_id; "
            "call again with the same idempotency_key to get the outcome once they decide."
        )
    tool: dict[str, Any] = {
        "name": action.tool_name,
        "title": action.name,
        "description": description,
        "inputSchema": schema,
    }
    if not approval:
        tool["outputSchema"] = action.output_schema()
    return tool | {
        "annotations": {
            "title": action.name,
            "readOnlyHint": not action.effect,
            "destructiveHint": action.destructive,
            "idempotentHint": not action.effect,
            "openWorldHint": True,  # it reaches a SaaS app outside Switchboard
        },
    }


def _find(name: str) -> Action[Any, Any] | None:
    return next((a for a in catalogue() if name in (a.tool_name, a.name)), None)


def _idempotency_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as an idempotency key, or ``None``: the schema's rule, enforced."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not _IDEMPOTENCY_MIN <= len(value) <= _IDEMPOTENCY_MAX:
        return f"must be {_IDEMPOTENCY_MIN} to {_IDEMPOTENCY_MAX} characters, not {len(value)}"
    if not _IDEMPOTENCY_PATTERN.match(value):
        return "may hold only letters, digits and . _ : - (a UUID fits)"
    return None


class InvalidIdempotencyKey(ToolError):
    """An idempotency key outside the schema's limits: ``-32602`` naming where it came from."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(INVALID_PARAMS, f"invalid {field}: it {problem}", {"field": field})


def _idempotency_key(
    arguments: dict[str, Any], meta: Mapping[str, Any] | None, request_id: Any, *, checked: bool
) -> tuple[str | None, str]:
    """The caller's idempotency key and where it came from (argument, _meta, request id, none).

    ``checked`` (a tool that takes one): a key the caller gave that breaks the rule is an
    :class:`InvalidIdempotencyKey`; a request id that breaks it is simply not used as one.
    """
    explicit = arguments.pop(IDEMPOTENCY_ARGUMENT, None)
    if explicit is not None:
        problem = _idempotency_problem(explicit)
        if problem is None:
            return str(explicit), "argument"
        if checked:
            raise InvalidIdempotencyKey(IDEMPOTENCY_ARGUMENT, problem)
    for name in _META_KEYS:
        value = (meta or {}).get(name)
        if value is None:
            continue
        problem = _idempotency_problem(value)
        if problem is None:
            return str(value), "meta"
        if checked:
            raise InvalidIdempotencyKey(f'_meta["{name}"]', problem)
    if (
        isinstance(request_id, str)
        and len(request_id) >= _REQUEST_ID_MIN
        and _idempotency_problem(request_id) is None
    ):
        return request_id, "request_id"
    return None, "none"


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def call(
    ctx: RouteContext,
    key: ApiKey,
    name: str,
    arguments: Mapping[str, Any] | None,
    *,
    meta: Mapping[str, Any] | None = None,
    request_id: Any = None,
    clock: Callable[[], float] = time.time,
) -> ToolResult:
    """One ``tools/call``, audited whatever happens. Raises :class:`ToolError` for protocol refusals.

    ``clock`` dates the quota windows (tests pass their own).
    """
    started = time.perf_counter()
    rt = ctx.rt
    ddb = rt.aws("dynamodb")
    settings = rt.settings
    args = dict(arguments or {})
    action = _find(name)
    tool = action.tool_name if action else name[:100]
    idem: str | None = None
    idem_source = "none"

    def record(outcome: str, detail: str | None = None) -> None:
        audit.write(
            ddb,
            rt.table,
            key_id=key.id,
            tool=tool,
            arguments=args,
            outcome=outcome,
            duration_ms=(time.perf_counter() - started) * 1000,
            retention_days=int(getattr(settings, "audit_days", 90)),
            request_id=None if request_id is None else str(request_id),
            idempotency=_sha(idem) if idem else None,
            detail=detail,
            logger=ctx.logger,
        )
        ctx.metrics.add_metric(name="ToolCalls", unit="Count", value=1)
        ctx.logger.info(
            "tool call",
            extra={"tool": tool, "key_id": key.id, "outcome": outcome, "idempotency": idem_source},
        )

    def refused(outcome: str, detail: str | None = None) -> None:
        """Audit a refusal - unless the key has made too many this minute, which ends the call."""
        try:
            count_refusal(ddb, rt.table, key, now=clock())
        except QuotaExceeded as exc:
            record("refusal_limit", f"{outcome}: {exc}")
            raise ToolError(
                QUOTA_EXCEEDED,
                f"too many refused calls: {exc.limit} per {exc.window} (unknown or forbidden tools, "
                f"invalid arguments); retry in {exc.retry_after_s} s with corrected calls",
                {
                    "window": exc.window,
                    "limit": exc.limit,
                    "retry_after_s": exc.retry_after_s,
                    "counted": exc.counted,
                },
            ) from exc
        record(outcome, detail)

    config = config_values(action, settings) if action else None
    needs_approval = action is not None and approvals.required(action, settings)
    if needs_approval and not getattr(settings, "approval_channel", None):
        config = None  # not offered: nobody could approve it
    if action is None or config is None:
        args.pop(IDEMPOTENCY_ARGUMENT, None)
        refused("unknown_tool")
        raise ToolError(UNKNOWN_TOOL, f"unknown tool {name!r}; list the tools with tools/list")
    if not key.may_call(action.tool_name):
        args.pop(IDEMPOTENCY_ARGUMENT, None)
        refused("denied")
        raise ToolError(
            FORBIDDEN,
            f"this API key ({key.display}) may not call {action.tool_name}; "
            "ask the operator for a key that includes it (switchboard keys create --tools ...)",
            {"tool": action.tool_name, "allowed": sorted(key.tools)},
        )
    try:
        idem, idem_source = _idempotency_key(args, meta, request_id, checked=action.effect)
    except InvalidIdempotencyKey as exc:
        refused("invalid_idempotency_key", exc.message)
        raise
    if not action.effect:
        idem, idem_source = None, "none"  # a read changes nothing: there is nothing to do once

    try:
        data = action.input.model_validate({**args, **config})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        refused("invalid_arguments", problems)
        return ToolResult(error=f"invalid arguments for {action.tool_name}: {problems}")

    if needs_approval and not idem:
        refused("invalid_arguments", "approval needs an idempotency key")
        return ToolResult(
            error=f"{action.tool_name} needs a person's approval: pass an idempotency_key (a UUID), then "
            "call again with the same key to learn the outcome"
        )

    def run() -> dict[str, Any]:
        consume_quota(ddb, rt.table, key, now=clock())  # only a call about to reach the target counts
        output = action(ctx, data).model_dump(mode="json")
        return {"output": output, "arguments_sha256": _sha(args)}

    def ask() -> dict[str, Any]:
        """Instead of running: one quota unit, the approval record and its Slack request."""
        if idem is None:  # checked before; keeps mypy's narrowing inside the closure
            raise ValueError("an approval needs an idempotency key")
        consume_quota(ddb, rt.table, key, now=clock())
        found = approvals.request(
            ledger_table(rt),
            approval=approvals.approval_id(key.id, action.name, idem),
            action=action,
            arguments=args,
            key_id=key.id,
            key_name=key.name,
            hours=int(getattr(settings, "approval_hours", 24)),
            post=lambda text, blocks: approvals.post_request(
                ctx, str(getattr(settings, "approval_channel", "")), text, blocks
            ),
        )
        return {"approval_id": found.id, "arguments_sha256": _sha(args)}

    try:
        if needs_approval and idem:
            from shared.ledger import DeadlineContext, Ledger

            ledger = Ledger(rt, DeadlineContext(rt.spec.timeout_s))
            saved, ran = ledger.run_event(f"{key.id}:{action.name}:{idem}", ask)
            if saved.get("arguments_sha256") != _sha(args):
                record("idempotency_conflict")
                return ToolResult(
                    error=f"idempotency key already used for {action.tool_name} with other arguments; "
                    "use a new key for a new change"
                )
            output, error = approvals.answer(approvals.get(ledger_table(rt), saved["approval_id"]))
            record("pending_approval" if ran else "duplicate", saved["approval_id"])
            return ToolResult(output=output, error=error, replayed=not ran)
        if action.effect and idem:
            from shared.ledger import DeadlineContext, Ledger

            ledger = Ledger(rt, DeadlineContext(rt.spec.timeout_s))
            saved, ran = ledger.run_event(f"{key.id}:{action.name}:{idem}", run)
            if saved.get("arguments_sha256") != _sha(args):
                record("idempotency_conflict")
                return ToolResult(
                    error=f"idempotency key already used for {action.tool_name} with other arguments; "
                    "use a new key for a new change"
                )
            record("ok" if ran else "duplicate")
            return ToolResult(output=saved["output"], replayed=not ran)
        result = run()
    except QuotaExceeded as exc:
        record("quota_exceeded", str(exc))
        raise ToolError(
            QUOTA_EXCEEDED,
            str(exc),
            {
                "window": exc.window,
                "limit": exc.limit,
                "retry_after_s": exc.retry_after_s,
                "counted": exc.counted,
            },
        ) from exc
    except EventInProgress:
        record("in_progress")
        return ToolResult(error="the same call (idempotency key) is still running; retry in a few seconds")
    except RetryableError as exc:
        record(f"error:{exc.code}", exc.message)
        wait = f" (the app asked to wait {int(exc.retry_after)} s)" if exc.retry_after else ""
        return ToolResult(error=f"{action.app} is temporarily unavailable{wait}; retry later")
    except ConfigurationError as exc:
        ctx.logger.error(
            "tool misconfigured", extra={"tool": tool, "reason": exc.code, "detail": exc.message}
        )
        record(f"error:{exc.code}", exc.message)
        return ToolResult(error="the server is misconfigured for this tool; the operator was alerted")
    except (PermanentError, SwitchboardError) as exc:
        record(f"error:{exc.code}", exc.message)
        return ToolResult(error=f"{action.app} refused: {redact_text(exc.message)}")
    except Exception as exc:  # a bug: audited, then answered as an internal error by the SDK
        record("error:internal", type(exc).__name__)
        raise
    record("ok")
    return ToolResult(output=result["output"])
