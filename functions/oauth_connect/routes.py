"""``GET /oauth/{app}/callback``: finish a connect link - check the state, exchange the code, store.

In order, each step refusing with its own page (:mod:`.pages`) and nothing stored:

1. the app must be an OAuth 2.0 app (:mod:`.providers`), else 404;
2. the query must be a bounded authorization response (:class:`.models.CallbackQuery`);
3. the ``state`` must be genuine, unexpired and made for this app (:func:`.link.verify_state`), and
   is then spent at once (:func:`.link.use_link`): whatever follows, the same link never works twice;
4. a provider error (``error=access_denied`` when the owner chose Deny) ends it there;
5. the callback must carry the code and the fields the app declares (Intuit's ``realmId``);
6. the code is exchanged at the app's token endpoint with the client authenticated as the app wants
   it, the link's own ``redirect_uri`` and, where the app takes PKCE, the verifier kept when the link
   was made (:func:`shared.oauth.exchange_code`);
7. the granted scopes must cover what the app needs (Google lets the owner untick some);
8. an app that learns more through its API after the exchange (``App.after_connect``: Xero's
   organisation, from ``/connections``) asks it with the new access token;
9. refresh token, access token, expiry and the callback fields go into the connection's secret under
   the refresh lease, the client fields kept (:func:`shared.oauth.store_authorization`).

Logs say which app, which step and why - never the code, the state, a token or the provider's
free-text description.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.errors import MissingSecret, RetryableError
from shared.openapi import RouteDoc

from .link import STATE_KEY, StateRefused, use_link, verify_state
from .models import CallbackQuery
from .pages import Page
from .providers import Provider, providers

if TYPE_CHECKING:
    from shared.app import App
    from shared.spec import Connection
    from shared.sync import RouteContext
    from shared.webhooks.base import WebhookRequest

__all__ = ["callback"]

Answer = tuple[int, Any, Mapping[str, str]]

#: What a provider's ``error`` may look like to be shown (RFC 6749's codes are lower-case words).
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")
#: A callback field's value (a QuickBooks realm id is digits; anything printable and short is kept).
_FIELD_VALUE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


def callback(ctx: RouteContext, request: WebhookRequest, params: Mapping[str, str]) -> Answer:
    """The redirect URI of every connect link."""
    name = params.get("app", "")
    provider = providers().get(name)
    page = _no_such_app(name) if provider is None else _finish(ctx, provider, request)
    level = ctx.logger.info if page.status == 200 else ctx.logger.warning
    level("oauth connect", extra={"app": name if provider else "(unknown)", "outcome": page.outcome})
    ctx.metrics.add_metric(
        name="OAuthConnectSucceeded" if page.status == 200 else "OAuthConnectRefused", unit="Count", value=1
    )
    return page.answer()


def _finish(ctx: RouteContext, provider: Provider, request: WebhookRequest) -> Page:
    app = provider.app
    command = f"switchboard connect {app.name}"
    try:
        query = CallbackQuery.model_validate(request.query)
    except ValidationError:
        return Page(400, "malformed", "This answer cannot be used", (_not_changed(app),), command)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        key = _state_key(ctx)
        link = verify_state(key, query.state, app=app.name, now=time.time())
        connection = provider.connection(link.connection)
        if connection is None:
            raise StateRefused("unknown")
        record = use_link(_table(ctx), link, time.time())
    except StateRefused as exc:
        return _state_page(app, exc.reason, command)
    except (ClientError, BotoCoreError) as exc:
        ctx.logger.error(
            "oauth connect state not checked", extra={"app": app.name, "error": type(exc).__name__}
        )
        return Page(
            503,
            "state_unchecked",
            f"{app.display_name} could not be connected just now",
            (f"Switchboard could not check the link. {_not_changed(app)} Try again in a minute.",),
            command,
        )
    if query.error:
        return _provider_error(app, query.error, command)
    if not query.code:
        return Page(
            400,
            "no_code",
            f"{app.display_name} was not connected",
            (f"The answer from {app.display_name} holds no authorization code.", _not_changed(app)),
            command,
        )
    extra: dict[str, str] = {}
    for param, field in app.callback_fields.items():
        value = request.query.get(param, "")
        if not _FIELD_VALUE.match(value):
            return Page(
                400,
                "missing_callback_field",
                f"{app.display_name} was not connected",
                (f"The answer from {app.display_name} lacks a valid {param}.", _not_changed(app)),
                command,
            )
        extra[field] = value
    return _exchange_and_store(
        ctx, app, connection, query.code, record.redirect_uri, record.code_verifier, extra
    )


def _exchange_and_store(
    ctx: RouteContext,
    app: App,
    connection: Connection,
    code: str,
    redirect_uri: str,
    verifier: str,
    extra: Mapping[str, str],
) -> Page:
    from botocore.exceptions import BotoCoreError, ClientError

    from shared.oauth import GrantRefused, exchange_code, read_authorization, store_authorization

    command = f"switchboard connect {app.name}"
    try:
        credentials = read_authorization(ctx.rt, connection)
    except MissingSecret:
        credentials = {}
    if not credentials.get("client_id") or not credentials.get("client_secret"):
        return Page(
            500,
            "client_not_set",
            f"Switchboard is not set up to connect {app.display_name} yet",
            (
                f"The {app.display_name} app's client id and secret are not stored. Whoever set up "
                f"Switchboard runs `switchboard secrets set {connection.name} client_id=... client_secret=-` "
                "and makes a new link.",
                _not_changed(app),
            ),
        )
    try:
        grant = exchange_code(
            ctx.rt, app, credentials, code=code, redirect_uri=redirect_uri, code_verifier=verifier or None
        )
    except GrantRefused as exc:
        shown = exc.error if _ERROR_CODE.match(exc.error) else "an error"
        return Page(
            502,
            "code_refused",
            f"{app.display_name} refused to finish connecting",
            (
                f"It answered {shown} when Switchboard exchanged the authorization. {_not_changed(app)} "
                "If a new link fails the same way, check the app's client id and secret.",
            ),
            command,
        )
    except RetryableError:
        return Page(
            502,
            "provider_unavailable",
            f"{app.display_name} could not be reached",
            (f"{app.display_name} did not answer in time. {_not_changed(app)} Try again in a few minutes.",),
            command,
        )
    missing = [s for s in app.scopes if grant.scopes and s not in grant.scopes]
    if missing:
        return Page(
            400,
            "scope_not_granted",
            f"{app.display_name} was not connected",
            (
                f"Access was granted without a permission Switchboard needs ({', '.join(missing)}). "
                f"{_not_changed(app)} On the next link, leave every permission ticked.",
            ),
            command,
        )
    if app.after_connect:
        try:
            extra = {**extra, **_after_connect(ctx, app, credentials, grant.fields)}
        except RetryableError:
            return Page(
                502,
                "provider_unavailable",
                f"{app.display_name} could not be reached",
                (
                    f"{app.display_name} did not answer in time. {_not_changed(app)} Try again in a few minutes.",
                ),
                command,
            )
    try:
        store_authorization(ctx.rt, app, connection, {**grant.fields, **extra})
    except (RetryableError, ClientError, BotoCoreError) as exc:
        ctx.logger.error("oauth connect not stored", extra={"app": app.name, "error": type(exc).__name__})
        return Page(
            503,
            "not_stored",
            f"{app.display_name} could not be connected just now",
            (f"Switchboard could not store the connection. {_not_changed(app)} Try again in a minute.",),
            command,
        )
    return Page(
        200,
        "connected",
        f"{app.display_name} is connected",
        (f"Switchboard can now work with {app.display_name}. You can close this page.",),
    )


def _after_connect(
    ctx: RouteContext, app: App, credentials: Mapping[str, str], tokens: Mapping[str, str]
) -> Mapping[str, str]:
    """The fields ``app.after_connect`` finds with the new access token (see :class:`~shared.app.App`)."""
    import importlib

    from shared.http import ApiClient

    module, _, name = app.after_connect.partition(":")
    hook = getattr(importlib.import_module(module), name)
    api = ApiClient(app, {**credentials, **tokens}, transport=ctx.rt.http_transport)
    try:
        found = hook(api, credentials)
    finally:
        api.close()
    return {str(k): str(v) for k, v in dict(found).items()}


def _state_page(app: App, reason: str, command: str) -> Page:
    if reason == "expired":
        return Page(400, "state_expired", "This link has expired", (_not_changed(app),), command)
    if reason == "used":
        return Page(
            400,
            "state_used",
            "This link was already used",
            (f"Each link works once. If {app.display_name} is not connected yet, make a new one.",),
            command,
        )
    if reason == "wrong_app":
        return Page(
            400,
            "state_wrong_app",
            "This link was made for another app",
            (f"It came back to {app.display_name}'s address. {_not_changed(app)}",),
            command,
        )
    return Page(
        400,
        f"state_{reason}",
        "This link is not valid",
        (
            "It was not made by `switchboard connect` for this Switchboard, or it was changed on the way.",
            _not_changed(app),
        ),
        command,
    )


def _provider_error(app: App, error: str, command: str) -> Page:
    if error == "access_denied":
        return Page(
            400,
            "access_denied",
            f"{app.display_name} was not connected",
            (
                f"Access was not allowed (Deny). {_not_changed(app)} To connect it, choose Allow on a new link.",
            ),
            command,
        )
    shown = error if _ERROR_CODE.match(error) else "an error"
    return Page(
        400,
        "provider_error",
        f"{app.display_name} was not connected",
        (f"{app.display_name} answered {shown}. {_not_changed(app)}",),
        command,
    )


def _no_such_app(name: str) -> Page:
    apps = ", ".join(providers()) or "none"
    return Page(
        404,
        "unknown_app",
        "There is nothing to connect here",
        (f"No app called {name[:64]!r} can be connected. The apps that can: {apps}.",),
    )


def _not_changed(app: App) -> str:
    return f"Nothing was changed in Switchboard's connection to {app.display_name}."


def _state_key(ctx: RouteContext) -> str:
    """The link-signing key; none stored yet means no link was ever made here (every state is forged)."""
    from shared.oauth import read_authorization

    try:
        return read_authorization(ctx.rt, STATE_KEY).get("state_key", "")
    except MissingSecret:
        return ""


def _table(ctx: RouteContext) -> Any:
    from shared.table import ledger_table

    return ledger_table(ctx.rt)


callback.openapi = RouteDoc(  # type: ignore[attr-defined]
    summary="Finish a connect link (OAuth 2.0 redirect URI): an HTML page for the business owner",
    description=(
        "Where the provider sends the business owner back after a `switchboard connect <app>` link: "
        "query code, state (+ the app's own, e.g. realmId) or error, error_description. The signed, "
        "single-use, expiring state is checked, the code exchanged and the tokens stored in the app's "
        "connection. Every answer is a small HTML page saying what happened."
    ),
    responses={
        code: {"description": why, "content": {"text/html": {"schema": {"type": "string"}}}}
        for code, why in (
            ("200", "connected: the tokens are stored"),
            ("400", "the link is forged, expired, used or for another app; access denied; a bad answer"),
            ("404", "no OAuth app by that name"),
            ("500", "the app's client id and secret are not stored"),
            ("502", "the provider refused the code or could not be reached"),
            ("503", "the connection could not be stored just now"),
        )
    },
)
