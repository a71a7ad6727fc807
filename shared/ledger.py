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

Powertools stores the event records (status, expiry, in-progress lease, saved result). Its decorator
is synchronous and its persistence layer is re-configured with the key prefix on every call, so each
key prefix gets its own persistence layer (sharing one boto3 client): records of one batch run on
several threads at once and must not race on that configuration. Step records are written directly,
once each, in the same shape (see :meth:`Ledger.run_step`).

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
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)

from shared.errors import EventInProgress, TargetUnavailable
from shared.table import ledger_table

if TYPE_CHECKING:
    from shared.runtime import Runtime

__all__ = [
    "CLOCK_SKEW_S",
    "COMPLETED",
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


_stores: dict[tuple[str, str], DynamoDBPersistenceLayer] = {}


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


_stores_lock = threading.Lock()


@contextmanager
def _table_errors() -> Iterator[None]:
    """botocore errors reading or writing the table: the ledger is unavailable, try again later."""
    try:
        yield
    except Exception as exc:
        raise TargetUnavailable(f"ledger table unavailable: {type(exc).__name__}") from exc


class DeadlineContext:
    """Stands in for the Lambda context outside Lambda: in-progress records must expire.

    Without a deadline Powertools would keep a crashed event "in progress" until the record's
    retention ends - days - and block every retry of it.
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
        self._config = IdempotencyConfig(
            event_key_jmespath="event_id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=RETENTION_S,
        )
        self._config.register_lambda_context(lambda_context or DeadlineContext(rt.spec.timeout_s))  # type: ignore[arg-type]

    def run_event(self, event_id: str, fn: Callable[[], T]) -> tuple[T, bool]:
        """Run ``fn`` once per event id; returns (result, ran). ``ran`` is False for a duplicate."""
        return self._run(f"{self._rt.name}#event", event_id, fn)

    def run_step(
        self, event_id: str, step: str, fn: Callable[[], T], *, binding_after: Sequence[str] = ()
    ) -> tuple[T, bool]:
        """Run one side effect once per event id; a completed step returns its saved result.

        A step record is written once, when the step completed: one strongly consistent read and one
        write per step, where a Powertools record would take two writes (in progress, then done).
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
        with _table_errors():
            item = table.get(key, consistent=True)
        if item and item.get("status") == COMPLETED and self._acted_on(event_id, binding_after):
            raw = item.get("data")
            return (json.loads(raw) if raw else None), False  # type: ignore[return-value]
        result = fn()
        record = {
            "id": key,
            "status": COMPLETED,
            "data": json.dumps(result, separators=(",", ":"), default=str),
            "expiration": int(time.time()) + RETENTION_S,
        }
        # If this fails, the effect happened but is not recorded: the retry repeats it, which the
        # target's own idempotency (upsert, request ids, client-chosen ids) must absorb - as after a crash.
        with _table_errors():
            table.put(record)
        return result, True

    def _acted_on(self, event_id: str, steps: Sequence[str]) -> bool:
        """Whether any of ``steps`` completed for the event (no steps named: always)."""
        if not steps:
            return True
        table = ledger_table(self._rt)
        for step in steps:
            with _table_errors():
                item = table.get(step_key(self._rt.name, step, event_id), consistent=True)
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

    def _store(self, prefix: str) -> DynamoDBPersistenceLayer:
        key = (self._rt.table, prefix)
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                store = DynamoDBPersistenceLayer(
                    table_name=self._rt.table, boto3_client=self._rt.aws("dynamodb")
                )
                _stores[key] = store
            return store

    def _run(self, prefix: str, event_id: str, fn: Callable[[], T]) -> tuple[T, bool]:
        ran = False

        def call(key: dict[str, str]) -> Any:
            nonlocal ran
            ran = True
            return fn()

        guarded = idempotent_function(
            call,
            data_keyword_argument="key",
            persistence_store=self._store(prefix),
            config=self._config,
            key_prefix=prefix,
        )
        try:
            result = guarded(key={"event_id": event_id})
        except IdempotencyAlreadyInProgressError as exc:
            raise EventInProgress(f"{prefix}: another worker is processing this event") from exc
        except IdempotencyPersistenceLayerError as exc:
            raise TargetUnavailable(f"idempotency table unavailable: {type(exc.__cause__).__name__}") from exc
        return result, ran
