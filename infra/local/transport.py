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

A Lambda timeout ends the whole invocation, not the one record that was running when it struck: the
records of a batch run on several threads, and a crash must stop them all. The poller runs each
invocation inside :func:`invocation`; the crash marks it ended (:meth:`Invocation.end`), and from then
on every outbound call its other records make raises :class:`InvocationCrashed` too - HTTP through
this transport, AWS calls through the botocore hook :func:`guard_aws_calls` installs - before the
request is sent, or when the answer of a call already under way comes back (the target may have
acted; the process that asked is gone). Threads cannot be killed, so a sibling runs on until its next
call: what it does in between touches nothing outside the process, as if it had never run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpx

from sandbox.base import CRASH_HEADER

__all__ = ["Invocation", "InvocationCrashed", "LocalTransport", "guard_aws_calls", "invocation"]


class InvocationCrashed(BaseException):
    """The invocation ends here, as if Lambda had killed it (raised by :class:`LocalTransport`)."""


class Invocation:
    """One simulated Lambda invocation, shared by the threads of its records: once one of them
    crashes, the invocation is over for all of them (see the module docstring)."""

    def __init__(self) -> None:
        self._ended = threading.Event()
        #: What ended it (the first crash), for the exception the other records raise.
        self.cause = ""

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def end(self, cause: str) -> None:
        if not self._ended.is_set():
            self.cause = cause
            self._ended.set()

    def check(self, what: str) -> None:
        """Raise :class:`InvocationCrashed` if the invocation has ended (``what``: the call stopped)."""
        if self._ended.is_set():
            raise InvocationCrashed(f"{what}: the invocation already ended ({self.cause})")


#: The invocation the current thread works for; records' threads inherit it (their context is a
#: copy of the invoking thread's, through asyncio and ``contextvars.copy_context``).
_current: ContextVar[Invocation | None] = ContextVar("switchboard_local_invocation", default=None)


@contextmanager
def invocation() -> Iterator[Invocation]:
    """Run one invocation inside this block: a crash in any of its records ends all of them."""
    current = Invocation()
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)


def _check_aws_call(event_name: str = "", **_: Any) -> None:
    current = _current.get()
    if current is not None:
        current.check(f"AWS call {event_name.split('.', 1)[-1]}")


def guard_aws_calls() -> None:
    """Make every boto3 client made from now on by the default session (the functions' clients,
    :func:`shared.runtime.Runtime.aws`) refuse calls from an ended invocation, before sending and
    when the answer comes back. Outside an invocation the hook does nothing. Idempotent."""
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("before-send", _check_aws_call, unique_id="switchboard-local-invocation-before")
    events.register("after-call", _check_aws_call, unique_id="switchboard-local-invocation-after")


class LocalTransport(httpx.BaseTransport):
    """httpx's own transport, plus two things only the local runtime needs.

    * A ``crash`` fault's answer raises :class:`InvocationCrashed` after the target acted, and ends
      the current :class:`Invocation`: its other records' calls raise it too.
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
        current = _current.get()
        what = f"{request.method} {request.url.path}"
        if current is not None:
            current.check(what)
        if self._read_timeout_s is not None:
            timeout: dict[str, Any] = dict(request.extensions.get("timeout") or {})
            read = timeout.get("read")
            timeout["read"] = self._read_timeout_s if read is None else min(read, self._read_timeout_s)
            request.extensions["timeout"] = timeout
        response = self._inner.handle_request(request)
        if response.headers.get(CRASH_HEADER):
            response.read()
            response.close()
            cause = f"crash fault after {what}"
            if current is not None:
                current.end(cause)
            raise InvocationCrashed(cause)
        if current is not None and current.ended:
            response.close()  # the target may have acted; the process that asked is gone
            current.check(what)
        return response

    def close(self) -> None:
        """Nothing: the pool belongs to the runtime (see the class docstring)."""

    def shutdown(self) -> None:
        self._inner.close()
