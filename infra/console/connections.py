"""The connections page: which fields each connection has (never a value), OAuth state, webhooks.

Per connection (:func:`infra.ops.target.connections`: the stored ones, which the functions use), the
secret (or, for a signing secret or an own key, its SSM parameter: :mod:`shared.store`) is read once and reduced at once to *names*: the required and optional fields that are set or
not. For an OAuth connection it adds when the stored access token stops being valid (``expires_at``),
when the secret last changed (Secrets Manager's ``LastChangedDate``: the last refresh or connect), and
whether an event was dead-lettered ``connection_revoked`` since. The fix is the doctor's own
(:mod:`infra.ops.doctor.connections`), so the page and ``switchboard doctor`` never advise differently.

Webhook registrations are asked of the providers (:func:`infra.ops.webhooks.status`, as ``switchboard
webhooks list`` does), on request only: those are calls to other services.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.console.events import EventRow
from infra.ops.doctor.connections import _fix
from infra.ops.doctor.core import Context
from infra.ops.secrets import connection_kind, read_secret
from infra.ops.target import CliError, NotDeployed, OperationFailed, Target, aws_errors, connections
from shared.redact import redact_text
from shared.registry import load_specs
from shared.spec import WebhookTrigger

__all__ = ["ConnectionView", "WebhookView", "connection_views", "webhook_views"]


@dataclass
class ConnectionView:
    name: str
    app: str
    kind: str
    used_by: list[str]
    secret: str
    exists: bool
    #: ``(field, required, set)`` for every declared field; never the value.
    fields: list[tuple[str, bool, bool]] = field(default_factory=list)
    oauth_valid_until: str = ""
    last_changed: str = ""
    revoked: str = ""
    fix: str = ""

    @property
    def missing(self) -> list[str]:
        return [name for name, required, present in self.fields if required and not present]


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    with contextlib.suppress(TypeError, ValueError):
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return ""


def connection_views(target: Target, rows: list[EventRow]) -> list[ConnectionView]:
    ctx = Context(target, tuple(load_specs()))
    views = []
    for name, (conn, used_by) in connections().items():
        view = ConnectionView(
            name, conn.app, connection_kind(conn), list(used_by), target.stored_name(conn), exists=True
        )
        try:
            value = read_secret(target, conn)
        except NotDeployed:
            view.exists = False
            view.fix = (
                f"make deploy STAGE={target.stage} creates it"
                if not target.is_local
                else "restart `make dev` (it creates every connection's secret)"
            )
            views.append(view)
            continue
        view.fields = [(f, True, bool(value.get(f))) for f in conn.fields] + [
            (f, False, bool(value.get(f))) for f in conn.optional
        ]
        if conn.kind == "oauth2":
            view.oauth_valid_until = _iso(value.get("expires_at")) if value.get("expires_at") else ""
            with aws_errors(target, f"describing secret {view.secret}"):
                described = target.client("secretsmanager").describe_secret(SecretId=view.secret)
            changed = described.get("LastChangedDate")
            view.last_changed = _iso(changed) if changed else ""
            since = changed.timestamp() if isinstance(changed, datetime) else 0.0
            revoked = [
                r
                for r in rows
                if r.integration in used_by and r.error == "connection_revoked" and r.last >= since
            ]
            if revoked:
                view.revoked = (
                    f"{len(revoked)} event(s) dead-lettered connection_revoked since the last change"
                )
        if view.missing:
            view.fix = _fix(ctx, conn, view.missing)
        elif view.revoked:
            view.fix = _fix(ctx, conn, ["refresh_token"])
        views.append(view)
    return views


@dataclass(frozen=True)
class WebhookView:
    integration: str
    trigger: str
    provider: str
    url: str
    state: str
    detail: str
    fix: str


def webhook_views(target: Target) -> list[WebhookView]:
    """Each webhook trigger's registration at its provider, with the command that fixes it."""
    from infra.ops.webhooks import status

    flag = "" if target.is_local else f" --stage {target.stage}"
    found: list[WebhookView] = []
    for spec in load_specs():
        if not any(isinstance(t, WebhookTrigger) for t in spec.triggers):
            continue
        register = f"switchboard webhooks register {spec.name}{flag}"
        try:
            rows = status(target, spec)
        except (CliError, OperationFailed) as exc:
            found.append(
                WebhookView(spec.name, "-", "-", "-", "unknown", str(redact_text(str(exc))), register)
            )
            continue
        for row in rows:
            fix = "" if row.state == "current" else register
            found.append(
                WebhookView(
                    row.integration,
                    row.trigger,
                    row.provider,
                    row.url,
                    row.state,
                    str(redact_text(row.detail)),
                    fix,
                )
            )
    return found
