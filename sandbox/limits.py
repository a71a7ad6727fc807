"""Rate limits the stand-ins enforce, as their providers publish them - on unless lifted.

A stand-in that accepts hundreds of calls a second proves nothing about a flow that must live inside
HubSpot's 100 requests per 10 seconds or Slack's message a second per channel. So every stand-in
declares its provider's published limits (:class:`RateLimit`, in its ``rate_limits``) and the shared
:class:`Limiter` counts each API request against them, per the key the provider counts by (the token,
the token and channel, the QuickBooks company). Past a limit the stand-in answers with its provider's
own 429 body and headers (:meth:`sandbox.base.SandboxApp.limited_response`); the request is not
served and does not count.

Limits are on by default - in ``make dev``, chaos and load runs. A unit test that needs speed lifts
them for its stand-ins with ``limits=False`` (constructor), ``SWITCHBOARD_SANDBOX_LIMITS=off`` (the
environment, read when a stand-in is made) or ``POST /_limits {"enforce": false}`` (a running
stand-in). Lifted, requests are still counted (the rate-limit headers stay true), just never refused.

``GET /_limits`` shows what a stand-in allows and how much of it was used; :func:`describe` and
:func:`report` say the same for a set of stand-ins, for the chaos and load reports.

Two kinds of window, as providers use them: ``rolling`` (a request counts for ``per_s`` seconds after
it was made: HubSpot's ``TEN_SECONDLY_ROLLING``, Google's sliding minute) and ``fixed`` (the count
starts again at each multiple of ``per_s`` since the epoch: People Data Labs' minute, HubSpot's day).
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sandbox.base import SandboxApp, SandboxRequest

__all__ = [
    "LIMITS_ENV",
    "Hit",
    "KeyFn",
    "Limiter",
    "RateLimit",
    "bearer_token",
    "describe",
    "header_token",
    "limits_enabled",
    "report",
]

#: ``off`` (or ``0``, ``false``, ``no``) lifts the limits of stand-ins made while it is set.
LIMITS_ENV = "SWITCHBOARD_SANDBOX_LIMITS"
_OFF = frozenset({"0", "off", "false", "no"})

#: What a limit counts a request by (a token, a token and channel ...); ``None``: not counted.
KeyFn = Callable[["SandboxRequest"], "str | None"]


class InvalidLimitsSetting(ValueError):
    """``SWITCHBOARD_SANDBOX_LIMITS`` holds something other than on/off."""


def limits_enabled(explicit: bool | None = None) -> bool:
    """``explicit`` if given, else what :data:`LIMITS_ENV` says (on when unset)."""
    if explicit is not None:
        return explicit
    value = os.environ.get(LIMITS_ENV, "").strip().lower()
    if value in ("", "1", "on", "true", "yes"):
        return True
    if value in _OFF:
        return False
    raise InvalidLimitsSetting(f"{LIMITS_ENV}={value!r}: use on or off")


def bearer_token(req: SandboxRequest) -> str | None:
    """The bearer token of ``Authorization`` (most providers count per token)."""
    scheme, _, token = (req.header("authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def header_token(name: str) -> KeyFn:
    """A key function reading an API key from header ``name`` (People Data Labs' ``X-Api-Key``)."""

    def key(req: SandboxRequest) -> str | None:
        return (req.header(name) or "").strip() or None

    return key


@dataclass(frozen=True)
class RateLimit:
    """One published limit: at most ``requests`` per ``per_s`` seconds for each key.

    ``name`` is the provider's own name for it where it has one (``TEN_SECONDLY_ROLLING``). ``path``
    (a substring) and ``method`` narrow the requests it counts; ``scope`` says in words what the key
    is, and ``source`` where the provider publishes the number.
    """

    name: str
    requests: int
    per_s: float
    scope: str = "token"
    window: Literal["rolling", "fixed"] = "rolling"
    key: KeyFn = bearer_token
    path: str | None = None
    method: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_s <= 0:
            raise ValueError(f"rate limit {self.name}: requests >= 1 and per_s > 0, not {self}")

    def applies(self, req: SandboxRequest) -> bool:
        if self.method is not None and self.method.upper() != req.method.upper():
            return False
        return self.path is None or self.path in req.path.split("?", 1)[0]

    def sentence(self) -> str:
        """``100 per 10 s per token (rolling)``."""
        return f"{self.requests:,} per {_duration(self.per_s)} per {self.scope} ({self.window})"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": self.requests,
            "per_s": self.per_s,
            "per_second": round(self.requests / self.per_s, 4),
            "scope": self.scope,
            "window": self.window,
            "path": self.path,
            "method": self.method,
            "source": self.source,
        }


@dataclass(frozen=True)
class Hit:
    """Where one key stands against one limit once a request was (or would have been) counted."""

    limit: RateLimit
    key: str
    #: Requests counted in the current window (with this one, if it was let through).
    used: int
    #: Seconds until the window has room again (rolling) or starts again (fixed).
    reset_s: float

    @property
    def remaining(self) -> int:
        return max(0, self.limit.requests - self.used)

    @property
    def retry_after_s(self) -> int:
        """Whole seconds a client should wait: never 0, so that it does not come straight back."""
        return max(1, math.ceil(self.reset_s))


@dataclass
class _Counter:
    """One key's requests under one limit: timestamps (rolling) or a window start and count (fixed)."""

    times: deque[float] = field(default_factory=deque)
    window_start: float = 0.0
    count: int = 0


class Limiter:
    """Counts requests against a stand-in's limits. Not thread-safe: the stand-in's lock guards it."""

    def __init__(self, limits: Sequence[RateLimit], clock: Callable[[], float], *, enforce: bool) -> None:
        self.limits = tuple(limits)
        self.clock = clock
        self.enforce = enforce
        #: Wall seconds per second of the limits' windows: 1 is real time. A time-compressed run (a
        #: three-day outage in four minutes, ``switchboard chaos --outage``) sets its compression, so
        #: "100 per 10 s" holds per *simulated* 10 s - as the back-offs and the retry horizon do. In
        #: real time the backlog an outage leaves would drain 1,000 times too slowly against them.
        self.time_scale = 1.0
        self._counters: dict[tuple[str, str], _Counter] = {}
        #: Requests counted, and requests refused with a 429, per limit name since the last reset.
        self.counted: dict[str, int] = {}
        self.refused: dict[str, int] = {}

    def reset(self) -> None:
        self._counters.clear()
        self.counted.clear()
        self.refused.clear()

    def admit(self, req: SandboxRequest) -> tuple[list[Hit], Hit | None]:
        """Count ``req``; returns where each applying limit stands, and the one it broke (if enforced).

        A refused request counts against nothing: the provider did not serve it.
        """
        now = self.clock() / self.time_scale
        standing: list[tuple[RateLimit, str, _Counter, int, float]] = []
        for limit in self.limits:
            if not limit.applies(req):
                continue
            key = limit.key(req)
            if key is None:
                continue
            counter = self._counters.setdefault((limit.name, key), _Counter())
            used, reset_s = self._standing(limit, counter, now)
            standing.append((limit, key, counter, used, reset_s))
        if self.enforce:
            for limit, key, _, used, reset_s in standing:
                if used >= limit.requests:
                    self.refused[limit.name] = self.refused.get(limit.name, 0) + 1
                    hits = [Hit(lim, k, u, r) for lim, k, _, u, r in standing]
                    return hits, Hit(limit, key, used, reset_s)
        hits = []
        for limit, key, counter, used, window_reset_s in standing:
            reset_s = window_reset_s
            if limit.window == "rolling":
                counter.times.append(now)
                reset_s = counter.times[0] + limit.per_s - now
            else:
                counter.count += 1
            self.counted[limit.name] = self.counted.get(limit.name, 0) + 1
            hits.append(Hit(limit, key, used + 1, reset_s))
        return hits, None

    @staticmethod
    def _standing(limit: RateLimit, counter: _Counter, now: float) -> tuple[int, float]:
        """Requests in the window now, and seconds until it has room (rolling) or restarts (fixed)."""
        if limit.window == "rolling":
            horizon = now - limit.per_s
            while counter.times and counter.times[0] <= horizon:
                counter.times.popleft()
            reset = counter.times[0] + limit.per_s - now if counter.times else 0.0
            return len(counter.times), reset
        start = math.floor(now / limit.per_s) * limit.per_s
        if start != counter.window_start:
            counter.window_start, counter.count = start, 0
        return counter.count, start + limit.per_s - now

    def as_json(self) -> dict[str, Any]:
        return {
            "enforce": self.enforce,
            "limits": [
                {
                    **limit.as_json(),
                    "counted": self.counted.get(limit.name, 0),
                    "refused": self.refused.get(limit.name, 0),
                }
                for limit in self.limits
            ],
        }


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86_400.0), ("h", 3_600.0), ("min", 60.0)):
        if seconds >= size and seconds % size == 0:
            count = seconds / size
            return f"{count:g} {unit}" if count != 1 or unit != "day" else "day"
    return f"{seconds:g} s"


def report(sandboxes: Mapping[str, SandboxApp]) -> dict[str, dict[str, Any]]:
    """Per stand-in: whether its limits were enforced, each limit, how many requests it counted and
    refused - what a chaos or load report needs to say what rate each target allowed."""
    out: dict[str, dict[str, Any]] = {}
    for name, app in sorted(sandboxes.items()):
        with app.lock:
            out[name] = app.limiter.as_json()
    return out


def describe(sandboxes: Mapping[str, SandboxApp]) -> list[str]:
    """One line per stand-in for a human report::

    hubspot: enforced - TEN_SECONDLY_ROLLING 100 per 10 s per token (rolling), 812 counted, 3 refused; ...
    """
    lines: list[str] = []
    for name, state in report(sandboxes).items():
        limits: Iterable[dict[str, Any]] = state["limits"]
        parts = [
            f"{lim['name']} {_sentence(lim)}, {lim['counted']:,} counted, {lim['refused']:,} refused"
            for lim in limits
        ]
        mode = "enforced" if state["enforce"] else "lifted"
        lines.append(f"{name}: {mode} - " + ("; ".join(parts) if parts else "no published limit"))
    return lines


def _sentence(limit: Mapping[str, Any]) -> str:
    where = f" on {limit['method'] + ' ' if limit['method'] else ''}{limit['path']}" if limit["path"] else ""
    per = _duration(float(limit["per_s"]))
    return f"{int(limit['requests']):,} per {per} per {limit['scope']} ({limit['window']}){where}"
