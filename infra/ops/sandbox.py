"""The local stand-ins from the command line: which run, what they hold, and making one fail on purpose.

A newcomer's first question after "it works" is "what happens when HubSpot is down?". Faults already
exist on every stand-in (``POST /_sandbox/<app>/_faults``, :mod:`sandbox.base`); this module gives
them words a person can type — ``break`` and ``fix`` — so the quick start can show a dead letter and
its replay without a hand-written JSON fault. Stand-ins exist only in the local runtime: a deployed
stage talks to the real apps, and breaking those is not ours to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from infra.ops.target import CliError, OperationFailed, Target

__all__ = ["Breakage", "break_app", "fix_app", "standin_state", "standins"]

_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Breakage:
    """What ``break`` set up, in words for the confirmation line."""

    app: str
    status: int
    times: int | None
    path: str | None

    def describe(self) -> str:
        which = f"requests to paths containing {self.path}" if self.path else "requests"
        how_long = f"the next {self.times} {which}" if self.times else f"every {which[:-1]}"
        kind = "permanent: events dead-letter at once" if self.status < 500 else "retryable: events wait"
        return f"{self.app} now answers {how_long} with HTTP {self.status} ({kind})"


def standins(target: Target) -> list[str]:
    """The stand-in apps the running local runtime serves."""
    answer = _call(target, "GET", "/_sandbox/")
    apps = answer.json().get("apps") if answer.status_code == 404 else None
    if not isinstance(apps, list):
        raise OperationFailed(f"the local gateway did not list its stand-ins (HTTP {answer.status_code})")
    return sorted(str(a) for a in apps)


def break_app(
    target: Target, app: str, *, status: int, times: int | None = None, path: str | None = None
) -> Breakage:
    """Make ``app``'s stand-in answer ``status`` — for ``times`` requests, or until :func:`fix_app`."""
    if not 400 <= status <= 599:
        raise CliError(f"--status {status}: a failure is an HTTP status from 400 to 599")
    if times is not None and times < 1:
        raise CliError(f"--times {times}: say how many requests should fail (1 or more), or leave it out")
    fault: dict[str, Any] = {"kind": "status", "status": status}
    fault |= {"count": times} if times else {"rate": 1}
    if path:
        fault["path"] = path
    _control(target, app, "POST", "/_faults", json=[fault])
    return Breakage(app, status, times, path)


def fix_app(target: Target, app: str) -> int:
    """Clear every fault of ``app``'s stand-in; how many there were."""
    before = _control(target, app, "GET", "/_faults").get("faults", [])
    _control(target, app, "DELETE", "/_faults")
    return len(before)


def standin_state(target: Target, app: str) -> Any:
    """What ``app``'s stand-in holds (its ``/_state``): contacts, receipts, events, messages …"""
    return _control(target, app, "GET", "/_state")


def _control(target: Target, app: str, method: str, path: str, **kwargs: Any) -> Any:
    answer = _call(target, method, f"/_sandbox/{app}{path}", **kwargs)
    if answer.status_code == 404 and "apps" in _json(answer):
        known = ", ".join(_json(answer)["apps"])
        raise CliError(f"no stand-in named {app!r} in the local runtime; it has: {known}")
    if answer.status_code >= 400:
        raise OperationFailed(f"the {app} stand-in refused {method} {path}: {answer.text[:300]}")
    return _json(answer)


def _call(target: Target, method: str, path: str, **kwargs: Any) -> httpx.Response:
    if not target.is_local or target.gateway is None:
        raise CliError(
            f"stand-ins exist only in the local runtime (`make dev`); {target.where} talks to the real apps"
        )
    try:
        return httpx.request(method, target.gateway + path, timeout=_TIMEOUT_S, **kwargs)
    except httpx.HTTPError as exc:
        raise CliError(
            f"the local runtime at {target.gateway} is not answering ({exc}): is `make dev` still running?"
        ) from exc


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return {}
