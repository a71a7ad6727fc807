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

An access token the API refuses (401) is forgotten (:func:`forget_access_token`): the next attempt
refreshes even if the stored expiry says the token is still good.

Worker path only: imports httpx.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from shared.errors import ConnectionRevoked, EventInProgress, TargetTimeout, TargetUnavailable
from shared.secrets import get_connection, put_connection
from shared.table import ConditionFailed, ledger_table

if TYPE_CHECKING:
    from shared.app import App
    from shared.runtime import Runtime
    from shared.spec import Connection

__all__ = ["Tokens", "access_token", "forget_access_token"]

#: How long a refresh may hold the lease. A refresh is one HTTP call (timeouts below) and one
#: Secrets Manager write; the lease outlives both several times over.
LEASE_S = 60
#: How long a worker waits for another worker's refresh before giving up (retryable) for now.
WAIT_S = 20.0
_POLL_S = 0.25
#: The token call waits longer than API calls do: with a rotating provider, an answer the client gave
#: up on may have spent the refresh token it carried (see :func:`_exchange`).
TOKEN_TIMEOUT = httpx.Timeout(30.0, connect=3.05)
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
    headers = {"accept": "application/json", "content-type": "application/x-www-form-urlencoded"}
    client_id, client_secret = credentials["client_id"], credentials["client_secret"]
    if app.token_auth == "basic":
        pair = f"{client_id}:{client_secret}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    else:
        form |= {"client_id": client_id, "client_secret": client_secret}
    url = credentials.get("token_url") or app.token_url
    where = f"{app.name} token refresh"
    try:
        with httpx.Client(timeout=TOKEN_TIMEOUT, transport=rt.http_transport) as client:
            response = client.post(url, data=form, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never sent: nothing spent
        raise TargetUnavailable(f"{where}: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        # Sent, answer lost. A provider that rotates refresh tokens may have spent ours in that
        # answer; no client can get it back. Remember it, so that an invalid_grant next time says why.
        _Lease(rt, _unknown_key(rt, connection)).mark()
        if isinstance(exc, httpx.TimeoutException):
            raise TargetTimeout(f"{where}: timed out waiting for the answer") from exc
        raise TargetUnavailable(f"{where}: {type(exc).__name__}") from exc
    body = _json(response)
    error = str(body.get("error", "")) if body else ""
    if response.status_code == 429 or response.status_code >= 500:
        raise TargetUnavailable(f"{where}: {response.status_code} {error}".strip())
    if error in ("invalid_grant", "invalid_client", "unauthorized_client"):
        stored = get_connection(rt, connection, fresh=True)
        if error == "invalid_grant" and stored.get("refresh_token") != refresh_token:
            # Another worker rotated the token after we read it (its lease ran out): not revoked.
            raise TargetUnavailable(f"{where}: refresh token was rotated meanwhile; trying again")
        _count("OAuthRefreshFailed")
        lost = _Lease(rt, _unknown_key(rt, connection)).marked_at()
        cause = (
            f"an earlier refresh got no answer ({lost}); the app probably rotated the refresh token "
            "in that answer"
            if lost
            else "the app was disconnected or its refresh token expired"
        )
        raise ConnectionRevoked(
            f"{app.name} refused to refresh connection {connection.name!r} ({error}): {cause}. "
            f"Authorise it again, store the new refresh token with "
            f"`switchboard secrets set {connection.name} refresh_token=...`, then "
            f"`switchboard dlq redrive <integration>`"
        )
    if not response.is_success or body is None or not body.get("access_token"):
        _count("OAuthRefreshFailed")
        raise TargetUnavailable(f"{where}: unexpected {response.status_code} answer {error}".strip())
    try:
        expires_in = float(body.get("expires_in", 3600))
    except (TypeError, ValueError):
        expires_in = 3600.0
    updated = dict(credentials)
    updated["access_token"] = str(body["access_token"])
    updated["expires_at"] = str(int(time.time() + expires_in))
    if body.get("refresh_token"):  # rotated (Intuit); Google keeps the old one
        updated["refresh_token"] = str(body["refresh_token"])
    _count("OAuthRefreshed")
    return updated


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
