"""Target API clients for a runtime: one per connection, rebuilt only when its credentials change.

Shared by the worker path (:class:`shared.worker.WorkContext`) and synchronous routes
(:class:`shared.sync.RouteContext`). Imports httpx (through :mod:`shared.http`) when first called,
never at import time of the ingress path.
"""

from __future__ import annotations

import contextvars
import threading
from typing import TYPE_CHECKING

from shared.secrets import get_connection

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics import EphemeralMetrics

    from shared.app import App
    from shared.http import ApiClient
    from shared.runtime import Runtime
    from shared.spec import Connection

__all__ = ["api_client", "current_metrics"]

#: The metric set of the invocation running on this thread/task: target latency and 429s go there.
current_metrics: contextvars.ContextVar[EphemeralMetrics | None] = contextvars.ContextVar(
    "switchboard_metrics", default=None
)
_lock = threading.Lock()


def api_client(rt: Runtime, app: App, connection: Connection) -> ApiClient:
    """The app's HTTP client for a connection, reused across invocations while credentials hold.

    Credentials come from Secrets Manager (cached); a rotated token makes a new client, so a rotation
    takes effect within the secret cache's max age without a restart. An OAuth 2.0 connection's
    bearer token comes from :func:`shared.oauth.access_token` (refreshed ahead of expiry, once for all
    workers); a 401 refreshes it and sends the request once more.
    """
    from shared.http import ApiClient

    credentials = get_connection(rt, connection)
    tokens = None
    if connection.kind == "oauth2":
        tokens = _OAuthTokens(rt, app, connection)
        credentials = {**credentials, "access_token": tokens.current()}

    prefix = f"api:{connection.name}:"
    key = prefix + str(hash(tuple(sorted(credentials.items()))))
    with _lock:
        client = rt._clients.get(key)
        if client is None:
            for old in [k for k in rt._clients if k.startswith(prefix)]:
                del rt._clients[old]  # credentials changed; requests in flight finish on the old one
            client = ApiClient(
                app,
                credentials,
                transport=rt.http_transport,
                observer=_observe,
                tokens=tokens,
                pause_scale=rt.retry_scale,
            )
            rt._clients[key] = client
    return client


class _OAuthTokens:
    """:class:`shared.http.TokenSource` over :mod:`shared.oauth`'s single-flight refresh."""

    def __init__(self, rt: Runtime, app: App, connection: Connection) -> None:
        self._rt, self._app, self._connection = rt, app, connection

    def refused(self, token: str) -> None:
        from shared import oauth

        oauth.forget_access_token(self._rt, self._connection, token)

    def current(self) -> str:
        from shared import oauth

        return oauth.access_token(self._rt, self._app, self._connection)


def _observe(app: str, method: str, path: str, status: int | None, seconds: float) -> None:
    from shared.health import current_health

    guard = current_health.get()  # a worker's record: the app's breaker learns how the call went
    if guard is not None:
        guard.observe(app, status)
    metrics = current_metrics.get()
    if metrics is None:
        return
    metrics.add_metric(name="TargetLatency", unit="Milliseconds", value=seconds * 1000)
    if status == 429:
        metrics.add_metric(name="TargetRateLimited", unit="Count", value=1)
    elif status is None or status >= 500:
        metrics.add_metric(name="TargetErrors", unit="Count", value=1)
