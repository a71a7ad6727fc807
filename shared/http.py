"""Outbound HTTP to target apps, on httpx, with Switchboard's error model applied to every answer.

Worker path only: importing this module imports httpx, which the ingress path must not pay for.

Every request has a timeout (connect and read, from the app). Answers map onto the error tree once,
here, so integrations never look at status codes to decide whether to retry:

* timeout -> :class:`~shared.errors.TargetTimeout`; connection failure or 5xx ->
  :class:`~shared.errors.TargetUnavailable` (``Retry-After`` kept when the target sent one);
* 429 -> :class:`~shared.errors.RateLimited` carrying the app's ``Retry-After``;
* any other 4xx -> :class:`~shared.errors.TargetRejected` with the target's error text, redacted.

A request that is safe to repeat - a read (``GET``/``HEAD``), or one the app's client marks ``safe``
(a search or a batch read sent as ``POST``, a GraphQL query) - is repeated
up to :data:`SAFE_RETRIES` times within the attempt after a 5xx, a timeout or a lost connection, with
a short jittered pause, as AWS's and Google's SDKs do: one flaky read otherwise fails the whole
attempt and repeats every read before it. It stops as soon as the app's circuit is open (the health
breaker, :mod:`shared.health`). Writes are never repeated here, not even under an idempotency key:
whether a write whose answer was lost went through is the ledger's question, asked across attempts
with the look-up of what an earlier attempt did, not left to how long a provider keeps its keys.

A client is thread-safe and shared by all records of a batch (one connection pool per app and
connection); a per-client semaphore keeps requests in flight within the app's concurrency cap.

A request made inside a ledger step (:meth:`shared.worker.WorkContext.step` sets :data:`current_work`)
carries the event id and the step name as ``x-switchboard-event`` / ``x-switchboard-step``: the
target's request logs then say which event and step a call belongs to, and a client of a target
without an idempotency key uses the same pair to find what an earlier, unrecorded attempt already did
(see :meth:`apps.hubspot.client.HubSpotClient.create_note`).
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from shared.app import App
from shared.errors import MissingSecret, RateLimited, TargetRejected, TargetTimeout, TargetUnavailable
from shared.redact import redact_text

if TYPE_CHECKING:
    from shared.ledger import AttemptWindow

__all__ = [
    "EVENT_HEADER",
    "SAFE_RETRIES",
    "STEP_HEADER",
    "ApiClient",
    "RequestObserver",
    "TokenSource",
    "WorkStamp",
    "current_work",
    "parse_retry_after",
]

M = TypeVar("M", bound=BaseModel)

#: Called after every request with (app, method, path template, status or None, seconds).
RequestObserver = Callable[[str, str, str, int | None, float], None]


class TokenSource(Protocol):
    """An OAuth 2.0 connection's access tokens, as a client needs them on a 401."""

    def refused(self, token: str) -> None:
        """The API refused ``token``: never hand it out again, whatever its stated expiry."""

    def current(self) -> str:
        """A token the API has not refused (refreshed if need be)."""


_MAX_ERROR_TEXT = 500

#: Repeats of a request that is safe to repeat, within one attempt (so at most 3 tries).
SAFE_RETRIES = 2
#: The pause before the first repeat, doubled for the next, with full jitter (times ``pause_scale``).
_FIRST_PAUSE_S = 0.2
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EVENT_HEADER = "x-switchboard-event"
STEP_HEADER = "x-switchboard-step"


@dataclass(frozen=True)
class WorkStamp:
    """The event and the ledger step a target call is made for.

    Not the SQS receive count nor the delivery's receive time: a re-sent webhook and a redriven dead
    letter start both again, so neither says whether the step ran before - :meth:`earlier_attempt` does.
    """

    event_id: str
    step: str
    #: Records that an attempt of this step starts and returns the earlier ones' window, if any
    #: (:meth:`shared.ledger.Ledger.note_attempt`); set by the worker, called at most once per run.
    tried: Callable[[], AttemptWindow | None] | None = field(default=None, compare=False, repr=False)

    def earlier_attempt(self) -> AttemptWindow | None:
        """When earlier attempts of this step ran, if any did - they may have acted.

        ``None`` means none did: no attempt of this event's step - in any delivery, before or after a
        DLQ redrive - got this far before. A client of a target without idempotency keys calls it
        just *before* its write (so that a write whose answer is lost is on record as attempted):
        ``None`` lets it write straight away, a window bounds the search for what an earlier attempt
        may have written. Outside a worker (no ledger) it is ``None``.
        """
        return self.tried() if self.tried is not None else None

    def headers(self) -> dict[str, str]:
        """As request headers: percent-encoded (an event id is the provider's, any characters)."""
        return {
            EVENT_HEADER: quote(self.event_id[:200], safe=":/@#_.~-"),
            STEP_HEADER: quote(self.step[:100], safe=":/@#_.~-"),
        }


#: Set by :meth:`shared.worker.WorkContext.step` while a step runs (per thread: a contextvar).
current_work: ContextVar[WorkStamp | None] = ContextVar("switchboard_work", default=None)
_SECONDS = re.compile(r"\d{1,9}(\.\d{1,6})?")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); ``None`` if absent."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):  # delta-seconds (some APIs add a fraction); never "inf" or "1e999"
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class ApiClient:
    """An app's HTTP client for one connection: base URL, auth, timeouts, error mapping."""

    def __init__(
        self,
        app: App,
        credentials: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        observer: RequestObserver | None = None,
        tokens: TokenSource | None = None,
        pause_scale: float = 1.0,
    ) -> None:
        self.app = app
        #: Share of real time the pauses between repeats of a safe request last (the runtime's
        #: ``retry_scale``: compressed under chaos, 0 in tests that retry at once).
        self._pause_scale = pause_scale
        #: OAuth 2.0: where a refused access token is reported and a fresh one comes from.
        self._tokens = tokens
        base_url = credentials.get("base_url") or app.base_url
        headers = {"user-agent": "switchboard/0.1", "accept": "application/json", **app.default_headers}
        if app.auth in ("bearer", "oauth2", "header"):
            field = "access_token" if app.auth == "oauth2" else app.token_field
            token = credentials.get(field)
            if not token:
                raise MissingSecret(f"connection for {app.name} has no {field!r}")
            if app.auth == "header":
                headers[app.auth_header] = token
            else:
                headers["authorization"] = f"Bearer {token}"
        self._observer = observer
        self._slots = threading.BoundedSemaphore(app.max_concurrency)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(app.read_timeout_s, connect=app.connect_timeout_s),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        template: str | None = None,
        ok: tuple[int, ...] = (),
        safe: bool | None = None,
    ) -> httpx.Response:
        """Send one request; return the response if it is 2xx (or in ``ok``), else raise.

        ``template`` names the endpoint in metrics (``/crm/v3/objects/contacts/{id}``) so that ids
        do not become metric dimensions. ``safe`` says the request may be repeated after a 5xx or no
        answer (default: only ``GET``/``HEAD``/``OPTIONS``).
        """
        stamp = current_work.get()
        if stamp is not None:
            headers = {**(headers or {}), **stamp.headers()}
        repeats = SAFE_RETRIES if (method.upper() in _SAFE_METHODS if safe is None else safe) else 0
        renewed = False
        tried = 0
        while True:
            try:
                response = self._send(method, path, json, params, headers, template)
            except (TargetTimeout, TargetUnavailable):
                if tried == repeats or not self._may_repeat(tried):
                    raise
                tried += 1
                continue
            if response.is_success or response.status_code in ok:
                return response
            if response.status_code == 401 and self._tokens is not None:
                sent = response.request.headers.get("authorization", "").removeprefix("Bearer ")
                self._tokens.refused(sent)
                if not renewed:
                    # The token (revoked, or expired before its stated time) was refused before the
                    # API acted on the request, so any method may be sent again - once, with a
                    # refreshed token; a refresh the provider refuses raises ConnectionRevoked here.
                    renewed = True
                    headers = {**(headers or {}), "authorization": f"Bearer {self._tokens.current()}"}
                    continue
            if (
                response.status_code < 500
                or self._retry_after(response) is not None  # the target said when: the queue waits
                or tried == repeats
                or not self._may_repeat(tried)
            ):
                break
            tried += 1
        self._raise_for(response, method, template or path)
        raise AssertionError("unreachable")  # pragma: no cover

    def _may_repeat(self, tried: int) -> bool:
        """Pause before repeating a safe request, unless the app's circuit opened meanwhile."""
        from shared.health import current_health

        guard = current_health.get()
        if guard is not None and guard.blocked is not None and guard.blocked.app == self.app.name:
            return False
        pause = random.uniform(0, _FIRST_PAUSE_S * 2**tried) * self._pause_scale
        if pause > 0:
            time.sleep(pause)
        return True

    def _send(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        template: str | None,
    ) -> httpx.Response:
        """One request on the wire; no answer raises, any answer is returned (and observed)."""
        started = time.perf_counter()
        status: int | None = None
        try:
            with self._slots:
                response = self._http.request(method, path, json=json, params=params, headers=headers)
            status = response.status_code
        except httpx.TimeoutException as exc:
            raise TargetTimeout(f"{self.app.name} {method} {template or path}: timed out") from exc
        except httpx.TransportError as exc:
            raise TargetUnavailable(
                f"{self.app.name} {method} {template or path}: {type(exc).__name__}"
            ) from exc
        finally:
            if self._observer is not None:
                self._observer(self.app.name, method, template or path, status, time.perf_counter() - started)
        return response

    def parse(self, model: type[M], response: httpx.Response, where: str) -> M:
        """A 2xx body validated into ``model``.

        A body the app did not mean - a proxy's HTML error page with a 200, a truncated answer - is
        retryable, not a crash and not a permanent rejection.
        """
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise TargetUnavailable(
                f"{self.app.name} {response.request.method} {where}: unexpected {response.status_code} body"
            ) from exc

    def _retry_after(self, response: httpx.Response) -> float | None:
        for name in self.app.retry_after_headers:
            seconds = parse_retry_after(response.headers.get(name))
            if seconds is not None:
                return seconds
        return None

    def _raise_for(self, response: httpx.Response, method: str, path: str) -> None:
        where = f"{self.app.name} {method} {path}"
        text = redact_text(response.text[:_MAX_ERROR_TEXT])
        if response.status_code == 401 and self._tokens is not None:
            # Refused right after a refresh too: the provider's token store may lag its token
            # endpoint, so the next attempt refreshes once more rather than dead-letter yet.
            raise TargetUnavailable(f"{where}: 401 access token refused after a refresh")
        if response.status_code == 429:
            raise RateLimited(f"{where}: 429 rate limited", retry_after=self._retry_after(response))
        if response.status_code >= 500 or response.status_code in self.app.retryable_statuses:
            raise TargetUnavailable(
                f"{where}: {response.status_code} {text}".strip(), retry_after=self._retry_after(response)
            )
        raise TargetRejected(
            f"{where}: {response.status_code} {text}".strip(), status=response.status_code, app=self.app.name
        )
