"""``switchboard connect <app>``: a link the business owner opens to connect an OAuth 2.0 app.

The link is the provider's authorization URL (RFC 6749 section 4.1.1) for the app's client, asking
for the app's scopes, with ``redirect_uri`` = the deployment's ``/oauth/<app>/callback`` (the local
gateway, or the stage's API URL from its stack outputs), a signed single-use ``state`` that expires
(:mod:`functions.oauth_connect.link`) and, where the provider takes PKCE, an ``S256`` challenge whose
verifier is kept in the ledger table for the callback - it never leaves the deployment.

What it needs and says when it is missing: the app's client id and secret in its connection's secret
(``switchboard secrets set``), the link-signing key (created here, once, with 256 random bits, if
the stage has none yet), and the deployed callback. It also says where the redirect URI must be
registered at the provider: a provider sends the owner back only to a URI registered for the client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlencode

from functions.oauth_connect.link import (
    LINK_TTL_S,
    MAX_LINK_TTL_S,
    STATE_KEY,
    new_link,
    new_state_key,
    pkce_pair,
    record_link,
    sign_state,
)
from functions.oauth_connect.providers import Provider, providers
from infra.ops.secrets import read_secret, write_secret
from infra.ops.target import CliError, NotDeployed, Target, aws_errors
from shared.spec import Connection
from shared.table import Table

__all__ = ["ConnectLink", "callback_url", "connect", "make_link"]

CALLBACK_PATH = "/oauth/{app}/callback"


@dataclass(frozen=True)
class ConnectLink:
    """A link made: the URL to open, where it comes back, until when it works, for which connection."""

    url: str
    redirect_uri: str
    expires_at: int
    connection: str


def connect(
    target: Target,
    app_name: str,
    out: TextIO,
    *,
    connection: str | None = None,
    valid_for_s: int = LINK_TTL_S,
) -> ConnectLink:
    """Make a link and print it with what the operator needs to know."""
    provider = _provider(app_name)
    link = make_link(target, provider, connection=connection, valid_for_s=valid_for_s)
    app = provider.app
    minutes = max(1, round(valid_for_s / 60))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(link.expires_at))
    out.write(
        f"Open this link to connect {app.display_name} to {target.where} "
        f"(or send it to whoever can allow access there):\n\n  {link.url}\n\n"
        f"It works once, for {minutes} minutes (until {when}).\n"
        f"It comes back to {link.redirect_uri}\n"
    )
    if not target.is_local and app.redirect_setup:
        out.write(f"  - that address must be registered once at {app.redirect_setup}\n")
    out.write(
        f"After Allow, the page says whether it worked; `switchboard secrets show {link.connection}` "
        "then lists the new refresh token (masked).\n"
    )
    return link


def make_link(
    target: Target, provider: Provider, *, connection: str | None = None, valid_for_s: int = LINK_TTL_S
) -> ConnectLink:
    """The authorization URL for ``provider``'s connection on ``target``, its state recorded."""
    if not 60 <= valid_for_s <= MAX_LINK_TTL_S:
        raise CliError(f"a link must work between 1 minute and {MAX_LINK_TTL_S // 86_400} days")
    app = provider.app
    if not app.authorize_url:
        raise CliError(
            f"app {app.name} declares no authorize_url: add its authorization endpoint to APP in "
            f"apps/{app.name}/__init__.py"
        )
    conn = _connection(provider, connection)
    credentials = read_secret(target, conn)
    missing = [f for f in ("client_id", "client_secret") if not credentials.get(f)]
    if missing:
        raise CliError(
            f"connection {conn.name} has no {' or '.join(missing)} yet: set the {app.display_name} app's "
            f"client first: switchboard secrets set {conn.name} client_id=... client_secret=-"
        )
    redirect_uri = callback_url(target, app.name)
    key = _state_key(target)
    link = new_link(app.name, conn.name, time.time(), valid_for_s)
    query: dict[str, str] = {
        "client_id": credentials["client_id"],
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(app.scopes),
        "state": sign_state(key, link),
        **app.authorize_params,
    }
    verifier = ""
    if app.pkce:
        verifier, challenge = pkce_pair()
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    table = Table(target.client("dynamodb"), target.table)
    with aws_errors(target, f"recording the link in {target.table}"):
        record_link(table, link, redirect_uri=redirect_uri, code_verifier=verifier)
    authorize_url = credentials.get("authorize_url") or app.authorize_url
    joiner = "&" if "?" in authorize_url else "?"
    return ConnectLink(authorize_url + joiner + urlencode(query), redirect_uri, link.expires_at, conn.name)


def callback_url(target: Target, app: str) -> str:
    """Where the provider sends the owner back: the gateway locally, the stage's API URL on AWS."""
    path = CALLBACK_PATH.format(app=app)
    if target.is_local:
        return (target.gateway or "").rstrip("/") + path
    from infra.ops.urls import stack_outputs

    api = stack_outputs(target).get("ApiUrl")
    if not api:
        raise NotDeployed(
            f"stage {target.stage} has no ApiUrl output: deploy it with `make deploy STAGE={target.stage}`"
        )
    return api.rstrip("/") + path


def _provider(name: str) -> Provider:
    known = providers()
    if name not in known:
        choices = ", ".join(known) or "none"
        raise CliError(f"no OAuth 2.0 app {name!r} to connect; the apps connected by a link are: {choices}")
    return known[name]


def _connection(provider: Provider, name: str | None) -> Connection:
    names = ", ".join(c.name for c in provider.connections)
    if name is not None:
        found = provider.connection(name)
        if found is None:
            raise CliError(f"{provider.app.name} has no OAuth connection {name!r}; its connections: {names}")
        return found
    if len(provider.connections) > 1:
        raise CliError(f"{provider.app.name} has several connections ({names}): name one with --connection")
    return provider.connections[0]


def _state_key(target: Target) -> str:
    """The link-signing key of the stage; made (256 random bits) and stored on first use."""
    current = read_secret(target, STATE_KEY)
    key = current.get("state_key")
    if isinstance(key, str) and key:
        return key
    key = new_state_key()
    write_secret(target, STATE_KEY, {**current, "state_key": key})
    return key
