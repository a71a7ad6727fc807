"""A tiny framework for sandbox apps: offline stand-ins of the SaaS APIs Switchboard calls.

A sandbox app answers with the real API's request and response shapes, so the same client code runs
against it and against production. Every app also gets the same control endpoints, which tests and
``make dev`` use to look inside and to misbehave on purpose:

* ``GET /_requests`` - the requests the app received, newest last (``?path=`` filters by substring);
* ``POST /_faults`` - queue faults; ``GET /_faults`` lists them; ``DELETE /_faults`` clears them;
  ``GET /_faults/served`` counts the requests each fault kind hit;
* ``POST /_reset`` - clear data, faults and recorded requests;
* ``GET /_state`` - the app's data, as the app chooses to show it;
* ``GET /_limits`` - the provider's published rate limits the app enforces, and how much of each was
  used; ``POST /_limits {"enforce": false}`` lifts them (see :mod:`sandbox.limits`);
* ``GET /_consistency`` - the eventual-consistency lag of its list reads; ``POST /_consistency
  {"lag_s": 2}`` sets it (see :mod:`sandbox.consistency`);
* an app that sends webhooks (:attr:`SandboxApp.webhooks`, see :mod:`sandbox.sender`) also has
  ``GET|POST|DELETE /_webhooks/subscriptions`` and ``GET /_webhooks`` (the deliveries made);
* an app's own control endpoints, from :meth:`SandboxApp.controls`.

A fault is ``{"kind": "status", "status": 503, "count": 2, "path": "/notes"}``,
``{"kind": "rate_limit", "retry_after": 1}``, ``{"kind": "slow", "delay_s": 2.0}`` or
``{"kind": "crash"}`` (``count`` defaults to 1; ``path``, ``method`` and ``body_contains`` optionally
narrow which requests it hits). Before routing, the first queued fault that matches a request applies
to it and uses up one count. A slow request is still served after its delay, like a slow server: if the
client gives up first, the work was done anyway; with ``"serve_first": true`` the work is done at once
and only the answer is late, so a client that times out has certainly caused the effect.

A fault with a ``rate`` (0 < rate <= 1) is not used up: it hits that share of the matching requests,
drawn from the app's random generator (:meth:`SandboxApp.reseed` makes a run repeatable), until the
faults are cleared. Counted faults are served first; the rates of several rate faults add up (one draw
per request), so ``5xx`` at 0.2 and ``429`` at 0.05 fail a quarter of the requests. This is how the
chaos harness (``switchboard chaos``) makes a target flaky, and how it marks a payload as poison:
``{"kind": "status", "status": 400, "rate": 1, "body_contains": "chaos-poison"}``.

Apart from faults, every app enforces its provider's published rate limits (its
:attr:`SandboxApp.rate_limits`), on by default: past one it answers :meth:`SandboxApp.limited_response`,
the provider's own 429. Faults are the harness's misbehaviour and are served first; a request a status
or rate-limit fault answered was never served, so it counts against no limit.

A ``crash`` fault serves the request normally and adds the :data:`CRASH_HEADER` to the answer. The
sandbox cannot kill the caller; the local runtime's HTTP transport (:mod:`infra.local.transport`) reads
the header and ends the invocation there, as a Lambda timeout or out-of-memory kill would - after the
target acted, before the worker recorded it.

No web framework: the local gateway (a ``ThreadingHTTPServer``) and :func:`as_transport` both call
:meth:`SandboxApp.handle`, from many threads at once, so an app's state is guarded by one lock.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypedDict
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from sandbox.consistency import InvalidLagSetting, Visibility, checked_lag, lag_from_env
from sandbox.limits import Hit, Limiter, RateLimit, limits_enabled
from shared.redact import SENSITIVE_KEYS

if TYPE_CHECKING:
    import httpx

    from sandbox.sender import WebhookSender

__all__ = [
    "CRASH_HEADER",
    "CrashFault",
    "Fault",
    "Handler",
    "RateLimitFault",
    "SandboxApp",
    "SandboxOptions",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxTimeout",
    "SlowFault",
    "StatusFault",
    "as_transport",
    "iso_ms",
]

JSON_TYPE = "application/json;charset=utf-8"
#: Added to an answer by a ``crash`` fault: "the caller dies now, after the target acted".
CRASH_HEADER = "x-sandbox-crash"
_MAX_RECORDS = 2000


def iso_ms(epoch_s: float) -> str:
    """``2024-05-01T12:00:00.123Z``: ISO 8601 in UTC with milliseconds, as most SaaS APIs write it."""
    when = datetime.fromtimestamp(epoch_s, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class SandboxRequest:
    """One request, relative to the app's mount (the gateway strips ``/_sandbox/<app>``).

    ``path`` is as sent (still percent-encoded); route parameters are decoded when matched.
    ``headers`` keys are lower-case; a repeated header is joined with ``","``.
    """

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def param(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON; ``ValueError`` if it is not JSON."""
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class SandboxResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> SandboxResponse:
        """A JSON answer, compact like real APIs send it."""
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, {"content-type": JSON_TYPE, **(headers or {})}, body)

    def with_headers(self, headers: Mapping[str, str]) -> SandboxResponse:
        return SandboxResponse(self.status, {**self.headers, **headers}, self.body)

    def parsed(self) -> Any:
        """The body as JSON (tests use this on direct ``handle`` calls)."""
        return json.loads(self.body.decode("utf-8")) if self.body else None


class SandboxTimeout(Exception):
    """The request took longer than the caller's read timeout (raised only when one is given)."""


# --- faults --------------------------------------------------------------------------------------


class _FaultBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(default=1, ge=1, le=10_000)
    #: Substring of the request path the fault applies to; every path if absent.
    path: str | None = None
    method: str | None = None
    #: Substring of the request body: the fault hits only requests carrying it (a "poison" marker).
    body_contains: str | None = Field(default=None, min_length=1)
    #: Share of matching requests hit, drawn per request; a rate fault is never used up (``count``
    #: is ignored) and stays until the faults are cleared.
    rate: float | None = Field(default=None, gt=0, le=1)

    def matches(self, req: SandboxRequest) -> bool:
        if self.method and self.method.upper() != req.method.upper():
            return False
        if self.body_contains is not None and self.body_contains.encode("utf-8") not in req.body:
            return False
        return self.path is None or self.path in req.path


class StatusFault(_FaultBase):
    """Answer with ``status`` (and the app's error body, or ``body`` if given) instead of routing."""

    kind: Literal["status"]
    status: int = Field(ge=400, le=599)
    body: dict[str, Any] | None = None


class RateLimitFault(_FaultBase):
    """Answer 429 with ``Retry-After: retry_after`` and the app's rate-limit body."""

    kind: Literal["rate_limit"]
    retry_after: float = Field(default=1.0, ge=0, le=3600)


class SlowFault(_FaultBase):
    """Wait ``delay_s`` before serving the request normally.

    ``serve_first``: serve at once and hold only the answer back (a slow network on the way back), so
    the effect has certainly happened when a client with a shorter timeout gives up.
    """

    kind: Literal["slow"]
    delay_s: float = Field(gt=0, le=120)
    serve_first: bool = False


class CrashFault(_FaultBase):
    """Serve normally and add :data:`CRASH_HEADER`: the caller's runtime ends the invocation there."""

    kind: Literal["crash"]


_AnyFault = StatusFault | RateLimitFault | SlowFault | CrashFault
Fault = Annotated[_AnyFault, Field(discriminator="kind")]
_FAULTS: TypeAdapter[list[Fault]] = TypeAdapter(list[Fault])


@dataclass
class _Queued:
    fault: _AnyFault
    remaining: int

    def as_json(self) -> dict[str, Any]:
        return {**self.fault.model_dump(exclude_none=True), "count": self.remaining}


# --- options every app takes ---------------------------------------------------------------------


class SandboxOptions(TypedDict, total=False):
    """What every stand-in's constructor passes on to :class:`SandboxApp` (``**options``).

    ``limits``: enforce the provider's rate limits (``None``: as ``SWITCHBOARD_SANDBOX_LIMITS`` says,
    on when unset). ``consistency_lag_s``: how long new records stay out of list reads (``None``: as
    ``SWITCHBOARD_SANDBOX_LAG_S`` says, 0 when unset).
    """

    limits: bool | None
    consistency_lag_s: float | None


# --- routing -------------------------------------------------------------------------------------

#: A route handler: the request and the decoded path parameters.
Handler = Callable[[SandboxRequest, dict[str, str]], SandboxResponse]


@dataclass(frozen=True)
class _Route:
    method: str
    regex: re.Pattern[str]
    handler: Handler

    @classmethod
    def compile(cls, method: str, pattern: str, handler: Handler) -> _Route:
        """``/crm/v3/objects/contacts/{id}`` -> a regex where ``{id}`` is one path segment."""
        parts = re.split(r"\{(\w+)\}", pattern)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
        return cls(method.upper(), re.compile(f"^{regex}$"), handler)


class SandboxApp:
    """Base of every sandbox app: routing, control endpoints, faults, request records, one lock.

    Subclasses set ``name``, list their routes in :meth:`routes`, keep their data in attributes that
    :meth:`reset_data` (re)creates, and may override the hooks (:meth:`authorize`, :meth:`finish`,
    :meth:`error_response`, :meth:`rate_limit_response`, :meth:`not_found`, :meth:`state`) to answer
    in the real API's shapes. Handlers and hooks run under :attr:`lock`; they need no locking of
    their own. A subclass sets its configuration first and then calls ``super().__init__()``, which
    builds the routes and calls :meth:`reset_data`.
    """

    name: ClassVar[str] = ""
    #: Set by apps that send webhooks (a provider's "webhook sender"); see :mod:`sandbox.sender`.
    webhooks: WebhookSender | None = None
    #: The provider's published rate limits, with their sources (see :mod:`sandbox.limits`).
    rate_limits: ClassVar[tuple[RateLimit, ...]] = ()

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        limits: bool | None = None,
        consistency_lag_s: float | None = None,
    ) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        # ``self._sandbox_now``, not ``clock``: a test may swap ``self.clock`` and the limits must follow it.
        self.limiter = Limiter(self.rate_limits, self._sandbox_now, enforce=limits_enabled(limits))
        self.visibility = Visibility(self._sandbox_now, lag_from_env(consistency_lag_s))
        self._rng = random.Random()
        #: How many requests each fault kind hit since the last reset (``GET /_faults/served``).
        self.faults_served: dict[str, int] = {}
        self._faults: list[_Queued] = []
        self._records: deque[dict[str, Any]] = deque(maxlen=_MAX_RECORDS)
        self._routes = tuple(_Route.compile(m, p, h) for m, p, h in self.routes())
        with self.lock:
            self.reset_data()

    def _sandbox_now(self) -> float:
        return self.clock()

    # --- to override -------------------------------------------------------------------------

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        """``(method, path pattern, handler)`` for each endpoint the app serves."""
        return ()

    def reset_data(self) -> None:
        """(Re)create the app's data: called at construction and on ``POST /_reset``."""

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        """The app's own control endpoints, ``{(method, "/_path"): handler}``; run under the lock."""
        return {}

    def state(self) -> Any:
        """What ``GET /_state`` shows."""
        return {}

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        """The answer to an unauthenticated request, or ``None`` to let it through."""
        return None

    def finish(self, req: SandboxRequest, resp: SandboxResponse) -> SandboxResponse:
        """Last touch on every API answer (not control endpoints): rate-limit headers and the like."""
        return resp

    def error_response(self, status: int, message: str) -> SandboxResponse:
        """An error in the app's own shape (used for status faults and unknown routes)."""
        return SandboxResponse.json({"error": status, "message": message}, status)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        """A 429 in the app's own shape; the ``Retry-After`` header is added by the caller."""
        return self.error_response(429, "rate limited")

    def limited_response(self, hit: Hit) -> SandboxResponse:
        """The provider's 429 for a request past one of its published limits (``hit``).

        By default the app's rate-limit body without ``Retry-After``: most providers do not send one
        (they send their own rate-limit headers, :meth:`limit_headers`); those that do override this.
        """
        return self.rate_limit_response(hit.reset_s)

    def limit_headers(self, hits: list[Hit], refused: Hit | None) -> Mapping[str, str]:
        """Rate-limit headers for an API answer: where the request's key stands against each limit
        that applied (``hits``), and the limit it broke if it was refused."""
        return {}

    def not_found(self, req: SandboxRequest, *, path_known: bool) -> SandboxResponse:
        """404 for an unknown path; 405 for a known path with another method."""
        if path_known:
            return self.error_response(405, f"{req.method} is not allowed on {req.path}")
        return self.error_response(404, f"no route for {req.method} {req.path}")

    # --- serving -----------------------------------------------------------------------------

    def handle(self, req: SandboxRequest, *, read_timeout: float | None = None) -> SandboxResponse:
        """Answer one request. Thread-safe.

        ``read_timeout`` is the caller's (in-process callers cannot time out on their own): a slow
        fault longer than it serves the request, then raises :class:`SandboxTimeout`.
        """
        control = self._control(req)
        if control is not None:
            return control
        with self.lock:
            fault = self._take_fault(req)
        if isinstance(fault, SlowFault) and fault.serve_first:
            response = self._serve(req, fault)
            wait = fault.delay_s if read_timeout is None else min(fault.delay_s, read_timeout)
            time.sleep(wait)  # the work is done; only the answer is late
            if read_timeout is not None and fault.delay_s > read_timeout:
                raise SandboxTimeout(f"{req.method} {req.path} answered after more than {read_timeout} s")
            return response
        if isinstance(fault, SlowFault):
            wait = fault.delay_s if read_timeout is None else min(fault.delay_s, read_timeout)
            time.sleep(wait)  # outside the lock: other requests go on meanwhile
            response = self._serve(req, fault)
            if read_timeout is not None and fault.delay_s > read_timeout:
                raise SandboxTimeout(f"{req.method} {req.path} took longer than {read_timeout} s")
            return response
        return self._serve(req, fault)

    def _serve(self, req: SandboxRequest, fault: _FaultBase | None) -> SandboxResponse:
        with self.lock:
            hits: list[Hit] = []
            refused: Hit | None = None
            if not isinstance(fault, StatusFault | RateLimitFault):
                hits, refused = self.limiter.admit(req)
            if refused is not None:
                resp = self.limited_response(refused)
            elif isinstance(fault, StatusFault):
                resp = (
                    SandboxResponse.json(fault.body, fault.status)
                    if fault.body is not None
                    else self.error_response(fault.status, f"injected fault: {fault.status}")
                )
            elif isinstance(fault, RateLimitFault):
                resp = self.rate_limit_response(fault.retry_after).with_headers(
                    {"retry-after": f"{fault.retry_after:g}"}
                )
            elif isinstance(fault, CrashFault):
                resp = self._route(req).with_headers({CRASH_HEADER: "1"})
            else:
                resp = self._route(req)
            resp = self.finish(req, resp)
            if (hits or refused is not None) and resp.status != 401:
                # A refused credential gets no rate-limit headers: no one's limit was spent.
                resp = resp.with_headers(self.limit_headers(hits, refused))
            self._record(req, resp, fault, refused)
            return resp

    def _route(self, req: SandboxRequest) -> SandboxResponse:
        path = req.path.split("?", 1)[0]
        for route in self._routes:
            match = route.regex.match(path)
            if match is None or route.method != req.method.upper():
                continue
            denied = self.authorize(req)
            if denied is not None:
                return denied
            return route.handler(req, {k: unquote(v) for k, v in match.groupdict().items()})
        return self.not_found(req, path_known=any(r.regex.match(path) for r in self._routes))

    # --- faults and records ------------------------------------------------------------------

    def request_log(self) -> list[dict[str, Any]]:
        """The requests served, oldest first (the last 2,000), as ``GET /_requests`` shows them."""
        with self.lock:
            return list(self._records)

    def reseed(self, seed: int | None) -> None:
        """Seed the draws of rate faults, so that a chaos run with the same seed is repeatable."""
        with self.lock:
            self._rng.seed(seed)

    def _take_fault(self, req: SandboxRequest) -> _AnyFault | None:
        fault = self._pick_fault(req)
        if fault is not None:
            self.faults_served[fault.kind] = self.faults_served.get(fault.kind, 0) + 1
        return fault

    def _pick_fault(self, req: SandboxRequest) -> _AnyFault | None:
        for queued in self._faults:
            if queued.fault.rate is None and queued.fault.matches(req):
                queued.remaining -= 1
                if queued.remaining <= 0:
                    self._faults.remove(queued)
                return queued.fault
        rated = [q.fault for q in self._faults if q.fault.rate is not None and q.fault.matches(req)]
        if not rated:
            return None
        draw, share = self._rng.random(), 0.0
        for fault in rated:
            share += fault.rate or 0.0
            if draw < share:
                return fault
        return None

    def _record(
        self, req: SandboxRequest, resp: SandboxResponse, fault: _FaultBase | None, refused: Hit | None = None
    ) -> None:
        headers = {k: _mask(k, v) for k, v in req.headers.items()}
        record: dict[str, Any] = {
            "method": req.method.upper(),
            "path": req.path,
            "query": req.query,
            "headers": headers,
            "json": None,
            "time": iso_ms(self.clock()),
            "status": resp.status,
            "fault": getattr(fault, "kind", None),
            #: The published limit the request was refused under (not a fault: the provider's rule).
            "limit": refused.limit.name if refused is not None else None,
        }
        if req.body:
            try:
                record["json"] = req.json()
            except ValueError:
                record["body"] = _masked_body(req)
        self._records.append(record)

    # --- control endpoints -------------------------------------------------------------------

    def _control(self, req: SandboxRequest) -> SandboxResponse | None:
        path, method = req.path.split("?", 1)[0], req.method.upper()
        if not path.startswith("/_"):
            return None
        with self.lock:
            if path == "/_requests" and method == "GET":
                wanted = req.param("path")
                records = [r for r in self._records if wanted is None or wanted in r["path"]]
                return SandboxResponse.json({"requests": records})
            if path == "/_faults" and method == "GET":
                return SandboxResponse.json({"faults": [q.as_json() for q in self._faults]})
            if path == "/_faults/served" and method == "GET":
                return SandboxResponse.json({"served": dict(self.faults_served)})
            if path == "/_faults" and method == "POST":
                return self._add_faults(req)
            if path == "/_faults" and method == "DELETE":
                self._faults.clear()
                return SandboxResponse.json({"faults": []})
            if path == "/_reset" and method == "POST":
                self._faults.clear()
                self.faults_served.clear()
                self._records.clear()
                self.limiter.reset()  # the counts; whether limits are enforced and the lag stay
                self.visibility.reset()
                if self.webhooks is not None:
                    self.webhooks.clear_deliveries()  # subscriptions are wiring: they stay
                self.reset_data()
                return SandboxResponse.json({"reset": True})
            if path == "/_state" and method == "GET":
                return SandboxResponse.json(self.state())
            if path == "/_limits" and method in ("GET", "POST"):
                return self._limits_control(req) if method == "POST" else self._limits_json()
            if path == "/_consistency" and method in ("GET", "POST"):
                return self._consistency_control(req) if method == "POST" else self._consistency_json()
            if path.startswith("/_webhooks") and self.webhooks is not None:
                return self.webhooks.control(req)
            own = self.controls().get((method, path))
            if own is not None:
                return own(req, {})
        return SandboxResponse.json({"error": f"no control endpoint {method} {path}"}, 404)

    def _limits_json(self) -> SandboxResponse:
        return SandboxResponse.json(self.limiter.as_json())

    def _limits_control(self, req: SandboxRequest) -> SandboxResponse:
        try:
            data = req.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("enforce"), bool) or len(data) != 1:
            return SandboxResponse.json(
                {"error": "invalid limits setting", "detail": 'send {"enforce": true} or {"enforce": false}'},
                400,
            )
        self.limiter.enforce = data["enforce"]
        return self._limits_json()

    def _consistency_json(self) -> SandboxResponse:
        return SandboxResponse.json(self.visibility.as_json())

    def _consistency_control(self, req: SandboxRequest) -> SandboxResponse:
        try:
            data = req.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or set(data) != {"lag_s"} or isinstance(data["lag_s"], bool):
            return SandboxResponse.json(
                {"error": "invalid consistency setting", "detail": 'send {"lag_s": <seconds>}'}, 400
            )
        try:
            self.visibility.lag_s = checked_lag(data["lag_s"], "lag_s")
        except InvalidLagSetting as exc:
            return SandboxResponse.json({"error": "invalid consistency setting", "detail": str(exc)}, 400)
        return self._consistency_json()

    def _add_faults(self, req: SandboxRequest) -> SandboxResponse:
        try:
            data = req.json()
            faults = _FAULTS.validate_python(data if isinstance(data, list) else [data])
        except (ValueError, ValidationError) as exc:
            message = exc.errors(include_url=False) if isinstance(exc, ValidationError) else str(exc)
            return SandboxResponse.json({"error": "invalid fault", "detail": message}, 400)
        added = [_Queued(f, f.count) for f in faults]
        self._faults.extend(added)
        return SandboxResponse.json({"faults": [q.as_json() for q in added]}, 201)


#: Form fields that are credentials at an OAuth token endpoint besides :data:`SENSITIVE_KEYS`: the
#: authorization code and the PKCE verifier are as good as a token until they are used.
_SENSITIVE_FORM_FIELDS = SENSITIVE_KEYS | {"code", "code_verifier"}


def _masked_body(req: SandboxRequest) -> str:
    """A non-JSON body for the request log; a form's credential fields (a token request) masked."""
    text = req.body.decode("utf-8", errors="replace")
    if not (req.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(key.lower() in _SENSITIVE_FORM_FIELDS for key, _ in pairs):
        return text  # recorded as sent
    return urlencode([(k, "***" if k.lower() in _SENSITIVE_FORM_FIELDS else v) for k, v in pairs])


def _mask(name: str, value: str) -> str:
    """Credentials never land in the request log; the auth scheme stays visible."""
    if name.lower() not in SENSITIVE_KEYS:
        return value
    scheme, _, secret = value.partition(" ")
    return f"{scheme} ***" if secret else "***"


def as_transport(app: SandboxApp, *, mount: str | None = None) -> httpx.MockTransport:
    """An httpx transport that answers from ``app`` in-process (unit tests; no sockets).

    ``mount`` is a path prefix to strip (default ``/_sandbox/<app name>``, where the local gateway
    mounts the app; a base URL without it works as is). The request's read timeout is passed on, so a
    slow fault raises :class:`httpx.ReadTimeout` the way a real slow server would.
    """
    import httpx

    prefix = f"/_sandbox/{app.name}" if mount is None else mount.rstrip("/")

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :] or "/"
        headers: dict[str, str] = {}
        for key, value in request.headers.multi_items():
            name = key.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        req = SandboxRequest(
            method=request.method,
            path=path,
            query=parse_qs(request.url.query.decode("ascii"), keep_blank_values=True),
            headers=headers,
            body=request.read(),
        )
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            resp = app.handle(req, read_timeout=timeout)
        except SandboxTimeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        return httpx.Response(resp.status, headers=resp.headers, content=resp.body)

    return httpx.MockTransport(handler)


def transport_for(apps: Mapping[str, SandboxApp]) -> httpx.MockTransport:
    """One transport answering for several sandbox apps, each under ``/_sandbox/<name>/``.

    An integration that calls several apps (CRM + Slack + email) gets one ``http_transport``.
    """
    import httpx

    transports = {f"/_sandbox/{name}/": as_transport(app) for name, app in apps.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii")
        for prefix, transport in transports.items():
            if path.startswith(prefix):
                return transport.handle_request(request)
        return httpx.Response(404, json={"message": f"no sandbox app serves {path}"})

    return httpx.MockTransport(handler)
