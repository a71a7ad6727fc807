"""Are the credentials there: every connection's required fields set, every OAuth connection able to
refresh.

The connections are those the functions use (signing secrets, target credentials), as ``switchboard
secrets list`` shows them; the operator's own provider keys (``webhooks register``'s) are not stored,
so there is nothing to check here - the ``webhooks`` check says when one is needed. A field counts as
set when it is present and not empty; only field names are ever printed. The fix depends on where a
value comes from: an OAuth connection's refresh token from ``switchboard connect`` (the owner's
consent), a signing secret of a provider with a subscription API from ``switchboard webhooks
register``, anything else from ``switchboard secrets set``.

"Able to refresh" is tested by refreshing: the connection's stored access token is set aside
(:func:`shared.oauth.forget_access_token`) and :func:`shared.oauth.access_token` makes a real
``refresh_token`` grant at the provider (or its stand-in), single-flight under the ledger lease and
stored back exactly as a worker's refresh would be - so it is safe with rotating refresh tokens. A
refusal means the owner has to connect again; an unreachable token endpoint is a failure too, since
every call of that app would fail the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from functions.oauth_connect.providers import providers
from infra.ops.doctor.core import Check, Context, Result
from infra.ops.secrets import read_secret
from infra.ops.target import NotDeployed, connections
from shared.spec import Connection, WebhookTrigger

__all__ = ["CONNECTIONS", "OAUTH"]


def _stored(ctx: Context, conn: Connection) -> dict[str, Any] | None:
    """The connection's secret, ``None`` if it does not exist on the target."""
    try:
        return read_secret(ctx.target, conn)
    except NotDeployed:
        return None


def _connect_fix(ctx: Context, conn: Connection) -> str | None:
    """``switchboard connect <app>`` for a connection a link can connect, else ``None``."""
    provider = providers().get(conn.app)
    if provider is None or not provider.app.authorize_url or provider.connection(conn.name) is None:
        return None
    which = f" --connection {conn.name}" if len(provider.connections) > 1 else ""
    return f"switchboard connect {conn.app}{which}{ctx.flag}"


def _registered_by(ctx: Context, conn: Connection) -> list[str]:
    """Integrations whose webhook trigger verifies with ``conn`` and is registered through an API."""
    return sorted(
        {
            s.name
            for s in ctx.specs
            for t in s.triggers
            if isinstance(t, WebhookTrigger) and t.secret.name == conn.name and t.registration is not None
        }
    )


def _fix(ctx: Context, conn: Connection, missing: list[str]) -> str:
    if conn.kind == "oauth2":
        client = [f for f in missing if f in ("client_id", "client_secret")]
        if client:
            values = " ".join(f"{f}=-" for f in client)
            then = _connect_fix(ctx, conn)
            return f"switchboard secrets set {conn.name} {values}{ctx.flag}" + (
                f", then {then}" if then else ""
            )
        connect = _connect_fix(ctx, conn)
        if connect:
            return connect
    if conn.kind == "signing" and missing == ["secret"]:
        registered = _registered_by(ctx, conn)
        if registered:
            return f"switchboard webhooks register {registered[0]}{ctx.flag} (it stores the provider's signing secret)"
    return f"switchboard secrets set {conn.name} {' '.join(f + '=-' for f in missing)}{ctx.flag}"


def check_connections(ctx: Context) -> list[Result]:
    known = connections()
    results: list[Result] = []
    for name, (conn, used_by) in known.items():
        value = _stored(ctx, conn)
        secret = ctx.target.stored_name(conn)
        if value is None:
            fix = (
                f"make deploy STAGE={ctx.target.stage} creates it"
                if not ctx.target.is_local
                else "restart `make dev` (it creates every connection's secret)"
            )
            results.append(Result("connections", "FAIL", f"{name}: secret {secret} does not exist", fix))
            continue
        missing = [f for f in conn.fields if not value.get(f)]
        if missing:
            role = ", ".join(used_by)
            results.append(
                Result(
                    "connections",
                    "FAIL",
                    f"{name}: {', '.join(missing)} not set ({conn.app}; needed by {role})",
                    _fix(ctx, conn, missing),
                )
            )
    if not results:
        results.append(
            Result("connections", "ok", f"all {len(known)} connections have their required fields set")
        )
    return results


@contextmanager
def _secrets_through(client: Any) -> Iterator[None]:
    """Let :func:`shared.secrets.get_connection` read through ``client`` (the target's) for a while.

    Powertools keeps one secrets provider per process; a CLI that points at a stage must not read
    through one made for another endpoint.
    """
    from aws_lambda_powertools.utilities.parameters import base
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

    providers_: dict[str, Any] = base.DEFAULT_PROVIDERS  # type: ignore[attr-defined]
    before = providers_.get("secrets")
    providers_["secrets"] = SecretsProvider(boto3_client=client)
    try:
        yield
    finally:
        if before is None:
            providers_.pop("secrets", None)
        else:
            providers_["secrets"] = before


def _refresh(ctx: Context, conn: Connection, spec_name: str) -> Result:
    from shared import oauth
    from shared.errors import ConnectionRevoked, EventInProgress, MissingSecret, RetryableError
    from shared.runtime import Runtime

    target = ctx.target
    app = providers()[conn.app].app
    spec = next(s for s in ctx.specs if s.name == spec_name)
    rt = Runtime(
        spec=spec,
        stage=target.stage,
        queue_url=None,
        dlq_url=None,
        table=target.table,
        bus="",
        secret_prefix=target.secret_prefix,
        secret_max_age_s=0,
        http_transport=ctx.transport,
    )
    rt._clients["secretsmanager"] = target.client("secretsmanager")
    rt._clients["dynamodb"] = target.client("dynamodb")
    again = _connect_fix(ctx, conn) or f"switchboard secrets set {conn.name} refresh_token=-{ctx.flag}"
    with _secrets_through(rt._clients["secretsmanager"]):
        try:
            stored = oauth.read_authorization(rt, conn)
            if not stored.get("refresh_token"):
                return Result("oauth", "FAIL", f"{conn.name}: {app.display_name} is not connected yet", again)
            oauth.forget_access_token(rt, conn, stored.get("access_token", ""))
            oauth.access_token(rt, app, conn)
        except ConnectionRevoked as exc:
            code = re.search(r"\((\w+)\)", str(exc))
            why = f" ({code.group(1)})" if code else ""
            return Result(
                "oauth",
                "FAIL",
                f"{conn.name}: {app.display_name} refused the refresh{why}: disconnected, or the refresh "
                "token expired - the owner must connect it again",
                again,
            )
        except EventInProgress:
            return Result(
                "oauth",
                "warn",
                f"{conn.name}: a refresh is running elsewhere right now",
                "run it again in a minute",
            )
        except MissingSecret as exc:
            return Result("oauth", "FAIL", f"{conn.name}: {exc}", again)
        except RetryableError as exc:
            return Result(
                "oauth",
                "FAIL",
                f"{conn.name}: could not refresh at {app.display_name}: {exc.message}",
                f"check that {app.display_name}'s token endpoint is reachable (the connection's token_url), then run it again",
            )
    return Result("oauth", "ok", f"{conn.name}: {app.display_name} refreshed its access token")


def check_oauth(ctx: Context) -> list[Result]:
    oauth_apps = providers()
    found = [
        (conn, used_by)
        for conn, used_by in connections().values()
        if conn.kind == "oauth2" and conn.app in oauth_apps and any(s.name in used_by for s in ctx.specs)
    ]
    if not found:
        return [Result("oauth", "skip", "no integration uses an OAuth 2.0 connection")]
    return [
        _refresh(ctx, conn, next(n for n in used_by if any(s.name == n for s in ctx.specs)))
        for conn, used_by in found
    ]


CONNECTIONS = Check("connections", "the connections' required fields", check_connections)
OAUTH = Check("oauth", "the OAuth connections' refresh", check_oauth)
