"""oauth_connect: the redirect URI of ``switchboard connect <app>`` links, for every OAuth 2.0 app.

The business owner opens the link the CLI printed, allows access at the provider (QuickBooks, Google
...), and is sent back here: ``GET /oauth/{app}/callback`` checks the signed, single-use, expiring
``state``, exchanges the authorization code (with PKCE where the provider takes it) and stores the
refresh token, access token and the app's callback fields (QuickBooks' company) in the app's
connection - then answers a small page saying what happened. See ``README.md`` beside this file.

A synchronous route only: nothing is queued, so there is no worker. Its connections are the key
that signs link states (read) and every OAuth 2.0 connection of every OAuth app package (read for
the client, written with the new tokens - the construct grants ``PutSecretValue`` on ``oauth2``
connections, as it does for the refresh that rotates them). Apps are discovered, so a new OAuth app
is connectable without a change here.
"""

from __future__ import annotations

from shared.spec import IntegrationSpec, RetryPolicy, RouteTrigger

from .link import STATE_KEY
from .models import CallbackQuery
from .providers import oauth_connections

SPEC = IntegrationSpec(
    name="oauth_connect",
    description="Connect links for OAuth 2.0 apps: the callback that stores the business's tokens",
    input_model=CallbackQuery,
    triggers=(
        RouteTrigger(
            name="callback",
            path="/oauth/{app}/callback",
            handler="functions.oauth_connect.routes:callback",
            method="GET",
            # A person's browser, once per connect; a few a second is ample and caps what guessing
            # states could cost (each one is an HMAC and at most one table read).
            throttle_rate=2.0,
            throttle_burst=10,
            description="Where a provider sends the business owner back after a connect link",
        ),
    ),
    connections=(STATE_KEY, *oauth_connections()),
    # The code exchange waits at most 20 s (shared.oauth.CODE_TIMEOUT); the lease wait and the table
    # and secret calls fit in the rest, inside API Gateway's 30 s integration limit.
    timeout_s=29,
    memory_mb=256,
    max_concurrency=2,
    retry=RetryPolicy(max_attempts=3, base_delay_s=10, max_delay_s=60),
)
