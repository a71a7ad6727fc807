"""What Switchboard knows about a SaaS app, as data: base URL, auth, rate limits, idempotency.

One :class:`App` per ``apps/<app>/``. Importing an app module must stay cheap (no httpx):
specs import app modules for their verifiers and connections on the ingress path. The typed client
of an app takes a :class:`shared.http.ApiClient`, built on the worker path only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from shared.spec import Connection

__all__ = ["App"]


@dataclass(frozen=True)
class App:
    name: str
    #: Production base URL; a connection's secret may override it with ``base_url`` (sandbox, EU hosts).
    base_url: str
    #: How requests are authenticated: ``bearer`` sends ``Authorization: Bearer <token>``,
    #: ``header`` sends ``<auth_header>: <token>``, ``oauth2`` gets the bearer token from a refresh.
    auth: Literal["bearer", "header", "oauth2", "none"] = "bearer"
    auth_header: str = "authorization"
    token_field: str = "token"
    #: Extra secret fields the connection needs besides the token.
    extra_fields: tuple[str, ...] = ()
    #: Headers sent on every request (API version pins ...).
    default_headers: Mapping[str, str] = field(default_factory=dict)
    #: Headers that tell how long to wait after a 429, in order of preference (seconds).
    retry_after_headers: tuple[str, ...] = ("retry-after",)
    #: 4xx statuses this app uses for "try again later" (HubSpot: 423 Locked, 477 Migration in progress).
    retryable_statuses: tuple[int, ...] = ()
    #: Requests in flight at once per worker (keeps us inside the app's rate limit).
    max_concurrency: int = 5
    #: Requests per second the app sustains for one connection (its published rate limit): work that
    #: waited for an open circuit comes back spread over ``waiting / rate_per_s`` seconds, not at once.
    rate_per_s: float = 5.0
    connect_timeout_s: float = 3.05
    read_timeout_s: float = 10.0
    #: The app's own idempotency feature, in words (for docs); the client uses it.
    idempotency: str = ""
    docs_url: str = ""
    #: OAuth 2.0 only: the token endpoint a refresh token is exchanged at.
    token_url: str = ""
    #: OAuth 2.0 only: how the client authenticates at the token endpoint (RFC 6749 section 2.3.1):
    #: ``basic`` sends client id and secret as HTTP Basic (Intuit), ``body`` as form fields (Google).
    token_auth: Literal["basic", "body"] = "basic"
    #: OAuth 2.0 only: refresh this many seconds before the access token expires, so a token never
    #: runs out in the middle of a batch (a Lambda runs up to 15 minutes; most batches take seconds).
    refresh_margin_s: int = 300
    #: Local (sandbox) values for fields that need a realistic shape (a QuickBooks realm id ...).
    local_overrides: Mapping[str, str] = field(default_factory=dict)
    #: The app's name as its users know it, for pages and messages ("QuickBooks").
    title: str = ""
    #: OAuth 2.0 only: the authorization endpoint the business owner is sent to by a connect link
    #: (``switchboard connect <app>``, served back by ``functions/oauth_connect``).
    authorize_url: str = ""
    #: OAuth 2.0 only: the scopes a connect link asks for (space-separated in the link, RFC 6749 3.3).
    scopes: tuple[str, ...] = ()
    #: OAuth 2.0 only: whether the authorization server takes PKCE (RFC 7636, ``S256``); a connect
    #: link then carries a code challenge and the code exchange its verifier.
    pkce: bool = False
    #: OAuth 2.0 only: further authorization request parameters the provider needs to hand out a
    #: refresh token (Google: ``access_type=offline``, ``prompt=consent``).
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    #: OAuth 2.0 only: callback query parameters kept in the connection's secret, parameter -> field
    #: (Intuit sends the company as ``realmId``: ``{"realmId": "realm_id"}``); all are required.
    callback_fields: Mapping[str, str] = field(default_factory=dict)
    #: OAuth 2.0 only: where the connect link's redirect URI must be registered, in words.
    redirect_setup: str = ""
    #: OAuth 2.0 only: ``"module:function"`` a connect link runs after its code exchange, for what the
    #: provider tells only through its API (Xero: the organisation connected, from ``/connections``).
    #: Called with an :class:`~shared.http.ApiClient` on the new access token and the connection's
    #: current secret; returns further fields to keep in the secret. Imported on the callback only.
    after_connect: str = ""

    def __post_init__(self) -> None:
        if not self.rate_per_s > 0:
            raise ValueError(f"{self.name}: rate_per_s must be positive")
        if self.auth == "oauth2" and not self.token_url:
            raise ValueError(f"{self.name}: an oauth2 app needs a token_url")

    @property
    def display_name(self) -> str:
        """``title``, or the package name in words (``google_calendar`` -> ``Google Calendar``)."""
        return self.title or self.name.replace("_", " ").title()

    def connection(self, name: str | None = None, *, description: str = "") -> Connection:
        """The credentials connection for this app; ``local`` points it at the sandbox.

        An OAuth 2.0 connection holds the client and the refresh token (required) and the current
        access token with its expiry (optional: written by the refresh, see :mod:`shared.oauth`).
        """
        optional: tuple[str, ...] = ("base_url",)
        if self.auth == "oauth2":
            fields = ("client_id", "client_secret", "refresh_token", *self.extra_fields)
            optional = ("access_token", "expires_at", "token_url", "base_url")
            if self.authorize_url:
                optional += ("authorize_url",)
        elif self.auth == "none":
            fields = self.extra_fields
        else:
            fields = (self.token_field, *self.extra_fields)
        local = {f: f"sandbox-{self.name}-{f}" for f in fields}
        local["base_url"] = "{sandbox}/" + self.name
        if self.auth == "oauth2":
            local["token_url"] = "{sandbox}/" + self.name + urlsplit(self.token_url).path
            if self.authorize_url:  # the stand-in's consent page, at the provider's own path
                local["authorize_url"] = "{sandbox}/" + self.name + urlsplit(self.authorize_url).path
        local.update(self.local_overrides)
        return Connection(
            name=name or self.name,
            app=self.name,
            description=description or f"{self.name} API credentials",
            fields=fields,
            optional=optional,
            local=local,
            kind="oauth2" if self.auth == "oauth2" else "api",
        )
