"""OAuth 2.0 connections: a valid access token for every call, refreshed once for all workers.

QuickBooks and Google hand out short-lived access tokens (about an hour) and a refresh token to get
new ones (RFC 6749 section 6). Intuit also *rotates* the refresh token: each refresh returns a new one
and the old one stops working. That turns a routine refresh into the easiest way to lose a business's
connection for good:

* two workers refreshing at once each spend the same refresh token; the second is refused and,
  worse, whichever writes last may store a refresh token that is already spent;
* a refresh whose new refresh token is not stored at once leaves only a spent one in Secrets Manager.

So, per connection:

1. An access token is used until ``app.refresh_margin_s`` before it expires (the secret keeps
   ``access_token`` and ``expires_at``, so every container shares one token instead of refreshing its
   own).
2. Refreshing takes a lease in the ledger table (``oauth#<secret name>``, a conditional put that only
   one worker wins). The winner re-reads the secret - a worker that finished a refresh a moment ago
   released the lease after storing fresh tokens - and refreshes only if they are still stale; the
   others wait for the winner's tokens to appear in the secret instead of refreshing themselves.
3. The new tokens are written back to Secrets Manager *before* the lease is released, and before
   anything uses them. If that write fails, the tokens are kept in this process and the write is tried
   again first thing on the next call; the lease is left to run out (others wait meanwhile) rather
   than let a second worker spend the refresh token again.
4. ``invalid_grant`` is believed only after re-reading the secret: if the stored refresh token
   changed meanwhile, another worker rotated it and the refresh is simply tried again with the new
   one. Otherwise the connection is revoked (or its refresh token expired): that is
   :class:`~shared.errors.ConnectionRevoked` - permanent, so the event goes to the DLQ at once with a
   reason that says what to do, and an ``OAuthRefreshFailed`` metric raises the alarm. Retrying until
   the DLQ would only delay the same answer by hours.

A refresh whose answer is lost (the request went out, nothing came back in time) may have spent a
rotating refresh token at the provider, and no client can get the new one back: the token call
therefore waits longer than API calls (:data:`TOKEN_TIMEOUT`), and the loss is noted in the table so
that the ``invalid_grant`` that follows says what happened instead of blaming the business owner.

An access token the API refuses (401) is forgotten (:func:`forget_access_token`) and the client
refreshes at once and sends the request once more (a 401 means the API did not act on it), even if
the stored expiry says the token is still good; refused again, the attempt ends retryable.

Connecting (``switchboard connect <app>``, served by ``functions/oauth_connect``) uses the same token
call for the ``authorization_code`` grant (:func:`exchange_code`) and stores what it got under the same
lease as a refresh (:func:`store_authorization`), so a new authorization and a running refresh never
overwrite each other.

Worker path and the connect callback only: imports httpx.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from shared.errors import (
    ConnectionRevoked,
    EventInProgress,
    MissingSecret,
    TargetRejected,
    TargetTimeout,
    TargetUnavailable,
)
from shared.observability import get_logger
from shared.secrets import get_connection, put_connection
from shared.table import ConditionFailed, ledger_table

if TYPE_CHECKING:
    from shared.app import App
    from shared.runtime import Runtime
    from shared.spec import Connection

__all__ = [
    "Grant",
    "GrantRefused",
    "Tokens",
    "access_token",
    "exchange_code",
    "forget_access_token",
    "read_authorization",
    "store_authorization",
]

#: How long a refresh may hold the lease. A refresh is one HTTP call (timeouts below) and one
#: Secrets Manager write; the lease outlives both several times over.
LEASE_S = 60
#: How long a worker waits for another worker's refresh before giving up (retryable) for now.
WAIT_S = 20.0
_POLL_S = 0.25
#: The token call waits longer than API calls do: with a rotating provider, an answer the client gave
#: up on may have spent the refresh token it carried (see :func:`_exchange`).
TOKEN_TIMEOUT = httpx.Timeout(30.0, connect=3.05)
#: An authorization code exchange answers a person's browser through API Gateway (30 s at most):
#: it gives up sooner, and a lost answer costs only a new link, never a connection.
CODE_TIMEOUT = httpx.Timeout(20.0, connect=3.05)
_WRITE_TRIES = 3


@dataclass(frozen=True)
class Tokens:
    access_token: str
    #: Epoch seconds at which the access token stops working.
    expires_at: float

    def fresh(self, margin_s: float, now: float) -> bool:
        return bool(self.access_token) and self.expires_at - margin_s > now


@dataclass
class _State:
    """What one process knows about one connection (one per runtime: a runtime is a container)."""

    tokens: Tokens | None = None
    #: An access token the API refused: never handed out again, whatever its stored expiry says.
    refused: str = ""
    #: Credentials refreshed but not yet stored (the write failed): stored before anything else.
    unsaved: dict[str, str] | None = None


_states_lock = threading.Lock()


def _state(rt: Runtime, connection: Connection) -> tuple[_State, threading.Lock]:
    key = f"oauth:{connection.name}"
    with _states_lock:
        entry = rt._clients.get(key)
        if entry is None:
            entry = (_State(), threading.Lock())
            rt._clients[key] = entry
        return entry


def access_token(rt: Runtime, app: App, connection: Connection) -> str:
    """A bearer token for ``connection`` that stays valid for at least ``app.refresh_margin_s``."""
    state, lock = _state(rt, connection)
    with lock:  # threads of one container wait for each other; containers, for the lease
        if state.unsaved is not None:
            _store(rt, connection, state, state.unsaved)
        now = time.time()
        tokens = state.tokens
        if (
            tokens is not None
            and tokens.fresh(app.refresh_margin_s, now)
            and tokens.access_token != state.refused
        ):
            return tokens.access_token
        tokens = _stored_tokens(rt, connection, state)
        if tokens is not None and tokens.fresh(app.refresh_margin_s, now):
            state.tokens = tokens
            return tokens.access_token
        state.tokens = _refresh_single_flight(rt, app, connection, state)
        return state.tokens.access_token


def forget_access_token(rt: Runtime, connection: Connection, token: str) -> None:
    """The API refused ``token`` (401): the next call refreshes instead of using it again."""
    state, lock = _state(rt, connection)
    with lock:
        state.refused = token
        if state.tokens is not None and state.tokens.access_token == token:
            state.tokens = None


# --- the single-flight refresh ---------------------------------------------------------------------


def _refresh_single_flight(rt: Runtime, app: App, connection: Connection, state: _State) -> Tokens:
    lease = _Lease(rt, f"oauth#{rt.secret_prefix}{connection.name}")
    deadline = time.monotonic() + WAIT_S
    while True:
        if lease.acquire():
            try:
                # Whoever held the lease before us stored fresh tokens before letting go of it.
                tokens = _stored_tokens(rt, connection, state)
                if tokens is not None and tokens.fresh(app.refresh_margin_s, time.time()):
                    return tokens
                credentials = get_connection(rt, connection, fresh=True)
                updated = _exchange(rt, app, connection, credentials)
                _store(rt, connection, state, updated)
                return Tokens(updated["access_token"], float(updated["expires_at"]))
            finally:
                if state.unsaved is None:  # an unsaved refresh keeps others out until the lease ends
                    lease.release()
        time.sleep(_POLL_S)
        tokens = _stored_tokens(rt, connection, state)
        if tokens is not None and tokens.fresh(app.refresh_margin_s, time.time()):
            return tokens
        if time.monotonic() > deadline:
            raise EventInProgress(
                f"OAuth refresh of {connection.name} is taking place elsewhere; tokens not stored yet"
            )


def _exchange(
    rt: Runtime, app: App, connection: Connection, credentials: Mapping[str, str]
) -> dict[str, str]:
    """One ``refresh_token`` grant; the secret's new value (all fields kept) on success."""
    refresh_token = credentials["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    where = f"{app.name} token refresh"

    def lost() -> None:
        # A provider that rotates refresh tokens may have spent ours in the lost answer; no client
        # can get it back. Remember it, so that an invalid_grant next time says why.
        _Lease(rt, _unknown_key(rt, connection)).mark()

    response, body = _token_call(rt, app, credentials, form, where, on_lost=lost)
    error = str(body.get("error", "")) if body else ""
    if response.status_code == 429 or response.status_code >= 500:
        raise TargetUnavailable(f"{where}: {response.status_code} {error}".strip())
    if error in ("invalid_grant", "invalid_client", "unauthorized_client"):
        stored = get_connection(rt, connection, fresh=True)
        if error == "invalid_grant" and stored.get("refresh_token") != refresh_token:
            # Another worker rotated the token after we read it (its lease ran out): not revoked.
            raise TargetUnavailable(f"{where}: refresh token was rotated meanwhile; trying again")
        _count("OAuthRefreshFailed")
        lost_at = _Lease(rt, _unknown_key(rt, connection)).marked_at()
        cause = (
            f"an earlier refresh got no answer ({lost_at}); the app probably rotated the refresh token "
            "in that answer"
            if lost_at
            else "the app was disconnected or its refresh token expired"
        )
        again = (
            f"Connect it again with `switchboard connect {app.name}`"
            if app.authorize_url
            else f"Authorise it again, store the new refresh token with "
            f"`switchboard secrets set {connection.name} refresh_token=-`"
        )
        raise ConnectionRevoked(
            f"{app.name} refused to refresh connection {connection.name!r} ({error}): {cause}. "
            f"{again}, then `switchboard dlq redrive <integration>`"
        )
    if not response.is_success or body is None or not body.get("access_token"):
        _count("OAuthRefreshFailed")
        raise TargetUnavailable(f"{where}: unexpected {response.status_code} answer {error}".strip())
    updated = dict(credentials) | _token_fields(body)
    # A log line, not a metric: a refresh is routine (about hourly per connection) and nothing alarms
    # on it; a failed one has its own metric and alarm (OAuthRefreshFailed).
    get_logger(rt.name).info(
        "oauth refreshed",
        extra={
            "app": app.name,
            "connection": connection.name,
            "expires_at": updated["expires_at"],
            "refresh_token_rotated": updated.get("refresh_token") != refresh_token,
        },
    )
    return updated


def _token_call(
    rt: Runtime,
    app: App,
    credentials: Mapping[str, str],
    form: dict[str, str],
    where: str,
    *,
    on_lost: Callable[[], None] | None = None,
    timeout: httpx.Timeout | None = None,
) -> tuple[httpx.Response, dict[str, Any] | None]:
    """POST one grant to the app's token endpoint, the client authenticated as the app wants it.

    Transport failures become retryable errors naming ``where`` (never the form: it carries the
    refresh token or the authorization code); ``on_lost`` runs when the request went out and its
    answer was lost. The answer is returned as it came, for the caller's own policy.
    """
    headers = {"accept": "application/json", "content-type": "application/x-www-form-urlencoded"}
    client_id, client_secret = credentials["client_id"], credentials["client_secret"]
    if app.token_auth == "basic":
        pair = f"{client_id}:{client_secret}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    else:
        form = form | {"client_id": client_id, "client_secret": client_secret}
    url = credentials.get("token_url") or app.token_url
    try:
        # Read at call time (not bound as a default): TOKEN_TIMEOUT is the module's to change.
        with httpx.Client(timeout=timeout or TOKEN_TIMEOUT, transport=rt.http_transport) as client:
            response = client.post(url, data=form, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never sent: nothing spent
        raise TargetUnavailable(f"{where}: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        if on_lost is not None:
            on_lost()
        if isinstance(exc, httpx.TimeoutException):
            raise TargetTimeout(f"{where}: timed out waiting for the answer") from exc
        raise TargetUnavailable(f"{where}: {type(exc).__name__}") from exc
    return response, _json(response)


def _token_fields(body: Mapping[str, Any]) -> dict[str, str]:
    """The secret fields a successful token answer sets: access token, its expiry, a new refresh token."""
    try:
        expires_in = float(body.get("expires_in", 3600))
    except (TypeError, ValueError):
        expires_in = 3600.0
    fields = {
        "access_token": str(body["access_token"]),
        "expires_at": str(int(time.time() + expires_in)),
    }
    if body.get("refresh_token"):  # rotated (Intuit); Google keeps the old one on a refresh
        fields["refresh_token"] = str(body["refresh_token"])
    return fields


# --- connecting: the authorization code grant --------------------------------------------------


class GrantRefused(TargetRejected):
    """The token endpoint refused an authorization code (``invalid_grant``, ``invalid_client`` ...).

    ``error`` is the provider's OAuth error code (RFC 6749 section 5.2), safe to show: it never
    carries the code or a token.
    """

    def __init__(self, message: str, *, status: int, app: str, error: str) -> None:
        super().__init__(message, status=status, app=app)
        self.error = error


@dataclass(frozen=True)
class Grant:
    """What an authorization code was exchanged for: the secret fields to store, and the scopes."""

    fields: dict[str, str]
    #: The scopes the provider says it granted (empty if it did not say: then what was asked).
    scopes: frozenset[str]


def exchange_code(
    rt: Runtime,
    app: App,
    credentials: Mapping[str, str],
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
) -> Grant:
    """One ``authorization_code`` grant (RFC 6749 section 4.1.3, RFC 7636 section 4.5).

    ``credentials`` needs ``client_id`` and ``client_secret`` (and may name a ``token_url``);
    ``redirect_uri`` must be the one the authorization request carried. The answer must hold a
    refresh token: a connection without one stops working within the hour, so its absence is a
    :class:`GrantRefused` (``no_refresh_token``) rather than a half-stored connection.
    Raises :class:`GrantRefused` when the provider refuses, :class:`TargetUnavailable` /
    :class:`TargetTimeout` when it cannot be asked or does not answer.
    """
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    where = f"{app.name} authorization code exchange"
    response, body = _token_call(rt, app, credentials, form, where, timeout=CODE_TIMEOUT)
    error = str(body.get("error", "")) if body else ""
    if response.status_code == 429 or response.status_code >= 500:
        _count("OAuthConnectFailed")
        raise TargetUnavailable(f"{where}: {response.status_code} {error}".strip())
    if not response.is_success or body is None or not body.get("access_token"):
        _count("OAuthConnectFailed")
        raise GrantRefused(
            f"{where}: refused ({response.status_code} {error or 'no access token'})",
            status=response.status_code,
            app=app.name,
            error=error or "unexpected_answer",
        )
    if not body.get("refresh_token"):
        _count("OAuthConnectFailed")
        raise GrantRefused(
            f"{where}: the answer holds no refresh token",
            status=response.status_code,
            app=app.name,
            error="no_refresh_token",
        )
    scope = body.get("scope")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    _count("OAuthConnected")
    return Grant(_token_fields(body), scopes)


def store_authorization(rt: Runtime, app: App, connection: Connection, values: Mapping[str, str]) -> None:
    """Store a new authorization (refresh token, access token, realm ...) in the connection's secret.

    The write happens under the connection's refresh lease, so it never interleaves with a worker's
    refresh: without it, a refresh that started with the old refresh token could store its answer
    over the new one a moment later. The lease is waited for (a refresh holds it for one HTTP call);
    ``values`` is merged over the current secret re-read inside the lease - the client fields stay -
    and the old access token and its expiry go with the old authorization unless ``values`` sets new
    ones. This process's cached tokens are forgotten and the lost-answer note is cleared: whatever
    happened to the old refresh token no longer matters.
    """
    lease = _Lease(rt, f"oauth#{rt.secret_prefix}{connection.name}")
    deadline = time.monotonic() + WAIT_S
    while not lease.acquire():
        if time.monotonic() > deadline:
            raise EventInProgress(f"a refresh of {connection.name} holds its lease; try again")
        time.sleep(_POLL_S)
    try:
        current = dict(read_authorization(rt, connection))
        for stale in ("access_token", "expires_at"):
            current.pop(stale, None)
        put_connection(rt, connection, current | dict(values))
    finally:
        lease.release()
    state, lock = _state(rt, connection)
    with lock:
        state.tokens = None
        state.unsaved = None
    _Lease(rt, _unknown_key(rt, connection)).clear()


def read_authorization(rt: Runtime, connection: Connection) -> Mapping[str, str]:
    """The connection's secret as stored, read now, without requiring its fields.

    A connection being connected for the first time has its client but no refresh token yet, which
    :func:`shared.secrets.get_connection` would call a missing secret. Read from the connection's
    store (:mod:`shared.store`): the connect links' state key is an SSM parameter.
    """
    import json

    from botocore.exceptions import ClientError

    from shared import store
    from shared.secrets import stored_name

    name = stored_name(rt, connection)
    what = store.describe(connection, name)
    try:
        raw = store.read_value(rt.aws(store.service(connection)), connection, name)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise MissingSecret(f"{what} could not be read ({code})") from exc
    if raw is None:
        raise MissingSecret(f"{what} does not exist; set it with `{store.set_command(connection)}`")
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise MissingSecret(f"{what} is not a JSON object")
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _store(rt: Runtime, connection: Connection, state: _State, value: dict[str, str]) -> None:
    """Write refreshed credentials back; on failure keep them in memory and say so (retryable)."""
    for attempt in range(_WRITE_TRIES):
        try:
            put_connection(rt, connection, value)
        except Exception as exc:  # boto3 errors of any kind: the tokens must not be lost
            if attempt + 1 < _WRITE_TRIES:
                time.sleep(0.2 * (attempt + 1))
                continue
            state.unsaved = value
            state.tokens = _tokens_of(value)
            _count("OAuthWriteBackFailed")
            raise TargetUnavailable(
                f"refreshed tokens of {connection.name} could not be stored ({type(exc).__name__}); "
                "kept in memory and stored on the next attempt"
            ) from exc
        state.unsaved = None
        _Lease(rt, _unknown_key(rt, connection)).clear()  # whatever was lost before, we are fine now
        return


def _stored_tokens(rt: Runtime, connection: Connection, state: _State) -> Tokens | None:
    tokens = _tokens_of(get_connection(rt, connection, fresh=True))
    if tokens is None or tokens.access_token == state.refused:
        return None
    return tokens


def _tokens_of(credentials: Mapping[str, str]) -> Tokens | None:
    token = credentials.get("access_token")
    if not token:
        return None
    try:
        expires_at = float(credentials.get("expires_at") or 0)
    except ValueError:
        expires_at = 0.0
    return Tokens(token, expires_at)


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _count(name: str) -> None:
    from shared.clients import current_metrics

    metrics = current_metrics.get()
    if metrics is not None:
        metrics.add_metric(name=name, unit="Count", value=1)


def _unknown_key(rt: Runtime, connection: Connection) -> str:
    return f"oauth#{rt.secret_prefix}{connection.name}#answer-lost"


# --- the lease ------------------------------------------------------------------------------------


class _Lease:
    """A lock in DynamoDB that expires on its own: a worker that dies holding it blocks no one for long.

    The same item shape also serves as a plain marker (:meth:`mark`), for the lost-answer note.
    """

    def __init__(self, rt: Runtime, key: str) -> None:
        self._rt = rt
        self._key = key
        self._owner = uuid.uuid4().hex

    def acquire(self) -> bool:
        from botocore.exceptions import ClientError

        now = time.time()
        try:
            ledger_table(self._rt).put(
                {
                    "id": self._key,
                    "owner": self._owner,
                    "lease_until": now + LEASE_S,
                    # TTL attribute of the table: a stale lease item is cleaned up by DynamoDB.
                    "expiration": int(now + LEASE_S + 3600),
                },
                condition="attribute_not_exists(id) OR lease_until < :now",
                values={":now": now},
            )
        except ConditionFailed:
            return False
        except ClientError as exc:
            raise TargetUnavailable(f"OAuth lease {self._key}: {exc.response['Error'].get('Code')}") from exc
        return True

    def mark(self) -> None:
        """Record that something happened now (an item with a time and a TTL, no lock semantics)."""
        now = time.time()
        with contextlib.suppress(Exception):  # a note for the diagnosis; never in the way
            ledger_table(self._rt).put(
                {
                    "id": self._key,
                    "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                    "expiration": int(now + 30 * 86_400),
                }
            )

    def marked_at(self) -> str:
        with contextlib.suppress(Exception):
            item = ledger_table(self._rt).get(self._key)
            return str((item or {}).get("at", ""))
        return ""

    def clear(self) -> None:
        with contextlib.suppress(Exception):
            ledger_table(self._rt).delete(self._key)

    def release(self) -> None:
        from botocore.exceptions import ClientError

        # The condition fails when someone took the lease over after it ran out: theirs now.
        with contextlib.suppress(ConditionFailed, ClientError):
            ledger_table(self._rt).delete(
                self._key, condition="#o = :me", names={"#o": "owner"}, values={":me": self._owner}
            )
