"""Idempotency per event and the effects ledger per step, on Powertools idempotency + DynamoDB.

SQS delivers at least once and providers re-send, so every event is processed at most once *per
step*, keyed on the provider's own event id (never the SQS message id, which differs per delivery):

* the event record (``<integration>#event#<hash>``) makes a re-sent or re-delivered event a no-op
  once it completed, and makes a concurrent duplicate back off while the first is in progress;
* a step record (``<integration>#step#<step>#<hash>``) per side effect makes a retry resume at the
  failed step: the email that went out is not sent again because Slack failed afterwards;
* an attempt record (``<integration>#tried#<step>#<hash>``: first and last start, count), written
  just before a write by steps whose target has no idempotency key, says whether and when earlier
  attempts of the step ran (:meth:`Ledger.note_attempt`).

The event record is a lease in Powertools' record shape (``id``, ``status``, ``expiration``,
``in_progress_expiration`` in ms, ``data``), written here rather than by Powertools' decorator for
two reasons that each save DynamoDB requests on every event: the lease's conditional put returns the
record it replaced (``ALL_OLD``) and, when refused, the record that refused it - so one request says
whether this is the event's first attempt; and a failed attempt *releases* its lease
(``ATTEMPT_FAILED``) instead of deleting the record, so "no earlier record" really means "no earlier
attempt". On a first attempt no step can have completed, so its steps skip their reads: a
website_to_crm lead makes four requests fewer. Step records are written directly, once each, in the
same shape (see :meth:`Ledger.run_step`), and expire no later than their event's record.

A crash mid-step (Lambda timeout) leaves the record in progress until the invocation's deadline;
after that the next delivery retries the step. The window between a target call and its record is
closed by the target's own idempotency feature where it has one (upsert by email, request ids),
and where it has none by reconciling within the attempt record's window (Slack posts, HubSpot notes).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from shared.errors import EventInProgress, TargetUnavailable
from shared.table import ConditionFailed, Item, ledger_table

if TYPE_CHECKING:
    from shared.runtime import Runtime

__all__ = [
    "ATTEMPT_FAILED",
    "CLOCK_SKEW_S",
    "COMPLETED",
    "INPROGRESS",
    "RETENTION_S",
    "AttemptWindow",
    "DeadlineContext",
    "Ledger",
    "attempt_key",
    "event_key",
    "ledger_hash",
    "step_key",
]

T = TypeVar("T")

#: How long completed records are kept: longer than providers re-send (Stripe: 3 days) and than
#: the DLQ keeps messages (14 days), so a replay from the DLQ is still recognised.
RETENTION_S = 15 * 24 * 3600

#: Status of a finished record, as Powertools writes it (``trace`` reads both kinds alike).
COMPLETED = "COMPLETED"
#: Status of an event record while an attempt holds its lease (until ``in_progress_expiration``).
INPROGRESS = "INPROGRESS"
#: Status of an event record whose last attempt failed and gave its lease back: the next attempt may
#: take it at once, and knows from it that steps may have completed.
ATTEMPT_FAILED = "ATTEMPT_FAILED"

#: The lease is taken when there is no record, the record expired, the last attempt failed, or the
#: attempt holding it is past its deadline (a crash, a timeout).
_LEASE_FREE = (
    "attribute_not_exists(id) OR expiration < :now OR #s = :failed "
    "OR (#s = :inprogress AND in_progress_expiration < :now_ms)"
)

#: Seconds allowed between clocks - ours, the target's - when a target's record time is compared
#: with when attempts ran (:class:`AttemptWindow`).
CLOCK_SKEW_S = 30.0


@dataclass(frozen=True)
class AttemptWindow:
    """When earlier attempts of a step may have acted (Unix times, clock skew not included).

    From the first attempt's start to the last earlier attempt's start plus the function's timeout:
    a write an earlier attempt made lies inside, a record the target made outside it is not this
    step's. Bounded on both sides, so a DLQ redrive days later looks at those minutes, not the days.
    """

    start: float
    end: float

    def widened(self, by: float = CLOCK_SKEW_S) -> tuple[float, float]:
        """``(start - by, end + by)``: the window as seen from a target with its own clock."""
        return self.start - by, self.end + by


@dataclass
class _Attempt:
    """One event's attempt in this invocation: whether it is the first, and the steps it completed."""

    first: bool
    expiration: int
    done: dict[str, Item]


def ledger_hash(event_id: str) -> str:
    """The hash after a record's key prefix: Powertools' own, ``md5(json.dumps(event_id))``.

    Step records use it too, so one event's records (event and steps) share one searchable suffix.
    """
    return hashlib.md5(json.dumps(event_id, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


def event_key(integration: str, event_id: str) -> str:
    return f"{integration}#event#{ledger_hash(event_id)}"


def step_key(integration: str, step: str, event_id: str) -> str:
    return f"{integration}#step#{step}#{ledger_hash(event_id)}"


def attempt_key(integration: str, step: str, event_id: str) -> str:
    return f"{integration}#tried#{step}#{ledger_hash(event_id)}"


@contextmanager
def _table_errors() -> Iterator[None]:
    """botocore errors reading or writing the table: the ledger is unavailable, try again later."""
    try:
        yield
    except ConditionFailed:
        raise  # not unavailable: the write was refused, which the caller asked to know
    except Exception as exc:
        raise TargetUnavailable(f"ledger table unavailable: {type(exc).__name__}") from exc


class DeadlineContext:
    """Stands in for the Lambda context outside Lambda: in-progress records must expire.

    Without a deadline a crashed event would stay "in progress" until the record's retention ends -
    days - and block every retry of it.
    """

    def __init__(self, timeout_s: float, function_name: str = "switchboard-local") -> None:
        self._deadline = time.monotonic() + timeout_s
        self.function_name = function_name
        self.aws_request_id = f"local-{int(time.time() * 1000)}"

    def get_remaining_time_in_millis(self) -> int:
        return max(1, int((self._deadline - time.monotonic()) * 1000))


class Ledger:
    """The idempotency records of one invocation."""

    def __init__(self, rt: Runtime, lambda_context: Any) -> None:
        self._rt = rt
        self._context = lambda_context or DeadlineContext(rt.spec.timeout_s)
        #: event id -> its attempt, while this invocation holds the event's lease. Records of one
        #: batch run on several threads, each on its own event ids.
        self._attempts: dict[str, _Attempt] = {}
        self._lock = threading.Lock()

    def run_event(self, event_id: str, fn: Callable[[], T]) -> tuple[T, bool]:
        """Run ``fn`` once per event id; returns (result, ran). ``ran`` is False for a duplicate.

        A completed event returns its saved result; one whose lease another attempt holds raises
        :class:`EventInProgress` (contention: the worker waits without spending an attempt). If
        ``fn`` raises, the lease is given back so that the retry need not wait for its deadline.
        """
        table = ledger_table(self._rt)
        key = event_key(self._rt.name, event_id)
        now = time.time()
        lease_ms = int(now * 1000) + int(self._context.get_remaining_time_in_millis())
        expiration = int(now) + RETENTION_S
        try:
            with _table_errors():
                old = table.put(
                    {
                        "id": key,
                        "status": INPROGRESS,
                        "expiration": expiration,
                        "in_progress_expiration": lease_ms,
                    },
                    condition=_LEASE_FREE,
                    names={"#s": "status"},
                    values={
                        ":now": int(now),
                        ":now_ms": int(now * 1000),
                        ":failed": ATTEMPT_FAILED,
                        ":inprogress": INPROGRESS,
                    },
                    returns="ALL_OLD",
                    returns_on_failure=True,
                )
        except ConditionFailed as refused:
            held = refused.item
            if held.get("status") == COMPLETED:
                raw = held.get("data")
                return (json.loads(raw) if raw else None), False  # type: ignore[return-value]
            raise EventInProgress(f"{self._rt.name}#event: another worker is processing this event") from None
        with self._lock:
            self._attempts[event_id] = _Attempt(first=not old, expiration=expiration, done={})
        try:
            result = fn()
        except Exception:
            self._release(key, lease_ms)
            raise
        finally:
            with self._lock:
                self._attempts.pop(event_id, None)
        with _table_errors():
            table.put(
                {
                    "id": key,
                    "status": COMPLETED,
                    "data": json.dumps(result, separators=(",", ":"), default=str),
                    "expiration": int(time.time()) + RETENTION_S,
                }
            )
        return result, True

    def _release(self, key: str, lease_ms: int) -> None:
        """Give the lease back after a failed attempt - only if still ours (an attempt that overran its
        deadline may have lost it to another). If this cannot be written the lease ends at its deadline."""
        with suppress(Exception):
            ledger_table(self._rt).update(
                key,
                "SET #s = :failed REMOVE in_progress_expiration",
                condition="#s = :inprogress AND in_progress_expiration = :mine",
                names={"#s": "status"},
                values={":failed": ATTEMPT_FAILED, ":inprogress": INPROGRESS, ":mine": lease_ms},
            )

    def run_step(
        self, event_id: str, step: str, fn: Callable[[], T], *, binding_after: Sequence[str] = ()
    ) -> tuple[T, bool]:
        """Run one side effect once per event id; a completed step returns its saved result.

        A step record is written once, when the step completed: one write per step (a Powertools
        record would take two: in progress, then done), and on a retry one strongly consistent read -
        a first attempt reads nothing (:meth:`_step_record`).
        A step needs no lease of its own - steps only ever run inside their event's in-progress lease,
        so no two workers run the same event's steps at once.

        ``binding_after`` makes the step a *decision* taken from state other deliveries change (a
        booking's links): its saved result binds only once one of those later steps has completed,
        i.e. once something was done on the strength of it. Until then a retry takes the decision
        again from what is true now - the saved one may be stale, as when a booking's create failed
        its calendar write and its cancel was processed before the retry.
        """
        table = ledger_table(self._rt)
        key = step_key(self._rt.name, step, event_id)
        attempt = self._attempts.get(event_id)
        item = self._step_record(attempt, key)
        if item and item.get("status") == COMPLETED and self._acted_on(event_id, binding_after):
            raw = item.get("data")
            return (json.loads(raw) if raw else None), False  # type: ignore[return-value]
        result = fn()
        record = {
            "id": key,
            "status": COMPLETED,
            "data": json.dumps(result, separators=(",", ":"), default=str),
            # No later than the event's record: a step record must never outlive it, or a delivery
            # after the event's record expired would be taken for a first attempt and skip reading it.
            "expiration": attempt.expiration if attempt else int(time.time()) + RETENTION_S,
        }
        # If this fails, the effect happened but is not recorded: the retry repeats it, which the
        # target's own idempotency (upsert, request ids, client-chosen ids) must absorb - as after a crash.
        with _table_errors():
            table.put(record)
        if attempt is not None:
            attempt.done[key] = record
        return result, True

    def _step_record(self, attempt: _Attempt | None, key: str) -> Item | None:
        """A step's record: on the event's first attempt, what this attempt wrote (nothing earlier can
        exist, so DynamoDB is not asked); else the table's, strongly consistent."""
        if attempt is not None and attempt.first:
            return attempt.done.get(key)
        with _table_errors():
            found = ledger_table(self._rt).get(key, consistent=True)
        if found and attempt is not None:
            attempt.done[key] = found
        return found

    def _acted_on(self, event_id: str, steps: Sequence[str]) -> bool:
        """Whether any of ``steps`` completed for the event (no steps named: always)."""
        if not steps:
            return True
        attempt = self._attempts.get(event_id)
        for step in steps:
            item = self._step_record(attempt, step_key(self._rt.name, step, event_id))
            if item and item.get("status") == COMPLETED:
                return True
        return False

    def note_attempt(self, event_id: str, step: str, run_s: float) -> AttemptWindow | None:
        """Record that an attempt of ``step`` starts now; when earlier ones ran, if there were any.

        For steps whose target has no idempotency key (a Slack post, a HubSpot upsert or note): the
        SQS receive count restarts at 1 after a DLQ redrive and a re-sent webhook is a new delivery,
        so neither says whether an earlier attempt may already have acted - this record does, across
        deliveries and redrives, for as long as the ledger keeps records. One update without a
        condition: ``first_at`` is kept (``if_not_exists``), ``last_at`` moves to now, and the old
        values give the window - the first start to the last earlier start plus ``run_s`` (the
        function's timeout: no attempt acts later than that). Written only by steps that ask, just
        before their write. If it cannot be written the step does not run.
        """
        now = time.time()
        with _table_errors():
            old = ledger_table(self._rt).update(
                attempt_key(self._rt.name, step, event_id),
                "SET first_at = if_not_exists(first_at, :now), last_at = :now, expiration = :exp ADD tries :one",
                values={":now": Decimal(f"{now:.3f}"), ":exp": int(now) + RETENTION_S, ":one": 1},
                returns="ALL_OLD",
            )
        first, last = old.get("first_at"), old.get("last_at")
        if first is None:
            return None
        return AttemptWindow(float(first), float(first if last is None else last) + run_s)
