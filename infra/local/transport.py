"""The outbound HTTP transport the local runtime gives its integrations, and the crash it can cause.

On Lambda, an invocation can die at any instruction: a timeout, an out-of-memory kill, a host
failure. The dangerous moment is after a target acted and before the worker recorded that it did:
nothing is deleted from SQS, the Powertools idempotency record stays ``INPROGRESS`` until the
invocation's deadline, and a later delivery repeats the step - which the target's own idempotency
(or a reconciliation read) must absorb. Production code cannot be asked to crash on purpose, so the
local runtime does it from outside: a sandbox app with a ``crash`` fault (:mod:`sandbox.base`) serves
the request and marks its answer with :data:`~sandbox.base.CRASH_HEADER`, and this transport turns the
mark into :class:`InvocationCrashed`.

:class:`InvocationCrashed` is a ``BaseException``: it passes through the worker's ``except Exception``
handlers, Powertools' idempotency handler (which deletes its record only on ``Exception``) and the
batch processor, exactly like the process ending there. The local poller
(:class:`~infra.local.poller.Poller`) catches it and treats the invocation as crashed: nothing of the
batch is deleted, and the messages come back when their visibility timeout ends.
"""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.base import CRASH_HEADER

__all__ = ["InvocationCrashed", "LocalTransport"]


class InvocationCrashed(BaseException):
    """The invocation ends here, as if Lambda had killed it (raised by :class:`LocalTransport`)."""


class LocalTransport(httpx.BaseTransport):
    """httpx's own transport, plus two things only the local runtime needs.

    * A ``crash`` fault's answer raises :class:`InvocationCrashed` after the target acted.
    * ``read_timeout_s`` caps the client's read timeout: the chaos harness makes targets answer
      later than the timeout, and waiting out a real 10 s timeout thousands of times would turn a
      minute's run into an hour's. What a timeout means is unchanged: the caller gives up, the
      target may have acted.

    One per integration runtime, shared by its API clients (one connection pool). ``close`` is a
    no-op: clients are replaced when credentials rotate, and must not close the pool under the
    others; :meth:`shutdown` closes it when the runtime stops.
    """

    def __init__(self, *, read_timeout_s: float | None = None) -> None:
        self._inner = httpx.HTTPTransport()
        self._read_timeout_s = read_timeout_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._read_timeout_s is not None:
            timeout: dict[str, Any] = dict(request.extensions.get("timeout") or {})
            read = timeout.get("read")
            timeout["read"] = self._read_timeout_s if read is None else min(read, self._read_timeout_s)
            request.extensions["timeout"] = timeout
        response = self._inner.handle_request(request)
        if response.headers.get(CRASH_HEADER):
            response.read()
            response.close()
            raise InvocationCrashed(f"crash fault after {request.method} {request.url.path}")
        return response

    def close(self) -> None:
        """Nothing: the pool belongs to the runtime (see the class docstring)."""

    def shutdown(self) -> None:
        self._inner.close()
