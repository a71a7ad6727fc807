"""Target health per app: a circuit breaker every container shares, kept in the ledger table.

Retrying an event against a target that is down only spends the event's attempts: an outage longer
than the back-off would dead-letter every event, page someone, and need a person to press redrive
- while the providers themselves keep re-sending a webhook for days. So a target's health is kept
apart from any one event's, per app, in one item of the ledger table that every integration calling
the app reads and writes (``health#<app>``; the functions that call the app are granted exactly
those keys, see :mod:`infra.cdk.access`):

* **closed** - calls go through. Each retryable failure of a call (a 5xx, no answer, a timeout)
  adds one to ``failures``; any answer below 500 (a 2xx, a 4xx, a 429: the target is there) sets
  it back to 0. :data:`OPEN_AFTER` failures in a row, from any container, open the circuit.
* **open** - ``opened_at`` says since when. Workers do not call the app: a record that needs it
  raises :class:`~shared.errors.CircuitOpen` before its first call and *waits* on its queue - no
  attempt is spent (:mod:`shared.worker`). Its visibility runs to the next probe plus a spread of
  ``waiting / rate_per_s`` seconds, so that when the target is back the waiting work returns at the
  app's sustainable rate instead of all at once.
* **half-open** - once ``next_probe_at`` has passed, the first record to win a conditional write of
  the probe lease (``probe_owner``, ``probe_until``) calls the target; exactly one container
  probes at a time. An answer closes the circuit; a failure re-arms the next probe
  (:data:`PROBE_INTERVAL_S` later) and that record waits too. A lease whose holder crashed expires
  at the function's timeout.

The item also counts the events that waited during the current outage, per integration
(``waiting_<integration>``), for the ``Waiting`` metric, the log line ("QuickBooks unavailable since
09:12 UTC, 134 events waiting") and ``switchboard status``.

Health bookkeeping never changes what a call returns: a breaker that cannot be read lets the call
through (the ledger's own errors stop the record anyway), one that cannot be written is logged.
"""

from __future__ import annotations

import random
import time
from contextlib import suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from shared import trace
from shared.errors import CircuitOpen
from shared.table import ConditionFailed, Item, ledger_table

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from shared.app import App
    from shared.runtime import Runtime

__all__ = [
    "CLOSED",
    "HEALTH_PREFIX",
    "OPEN",
    "OPEN_AFTER",
    "PROBE_INTERVAL_S",
    "RecordHealth",
    "current_health",
    "describe",
    "health_key",
    "note_wait",
    "publish",
    "waiting_counts",
    "waits_key",
    "waits_so_far",
]

#: Key prefix of the breaker items (``health#<app>``), shared by every integration calling the app.
HEALTH_PREFIX: Final = "health#"
CLOSED: Final = "closed"
OPEN: Final = "open"
#: Consecutive retryable failures of an app's calls, from any container, that open its circuit.
OPEN_AFTER: Final = 5
#: Seconds between probes of an open circuit (times the runtime's ``retry_scale``).
PROBE_INTERVAL_S: Final = 60.0
_WAITING: Final = "waiting_"

#: The health of the record being processed on this thread (set by :mod:`shared.worker`).
current_health: ContextVar[RecordHealth | None] = ContextVar("switchboard_health", default=None)


def health_key(app: str) -> str:
    return f"{HEALTH_PREFIX}{app}"


def waits_key(integration: str, message_id: str) -> str:
    """One queued message's waits: the SQS message id is the same on every receive of it."""
    return f"{integration}#waits#{message_id}"


def waiting_counts(item: Item) -> dict[str, int]:
    """integration -> events that waited during the breaker's current (or last) outage."""
    return {k[len(_WAITING) :]: int(v) for k, v in item.items() if k.startswith(_WAITING)}


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "unknown"


class RecordHealth:
    """The breakers one record's calls went through: read once per app, written on what happened."""

    def __init__(self, rt: Runtime, logger: Logger) -> None:
        self._rt = rt
        self._logger = logger
        self._seen: dict[str, Item] = {}
        self._apps: dict[str, App] = {}
        self._probing: set[str] = set()
        self._confirmed: set[str] = set()
        self._owner = f"{rt.name}-{random.getrandbits(48):012x}"
        #: Set when this record must wait for an app: its circuit was open, or a call failed and the
        #: circuit is open now (this failure opened it, or a probe failed).
        self.blocked: CircuitOpen | None = None

    # --- before a call -------------------------------------------------------------------------

    def admit(self, app: App) -> None:
        """Let the record call ``app``, or raise :class:`CircuitOpen` (once per app per record)."""
        if self.blocked is not None and self.blocked.app == app.name:
            raise self.blocked
        if app.name in self._seen:
            return
        self._apps[app.name] = app
        item = self._read(app.name)
        self._seen[app.name] = item
        if item.get("state") != OPEN:
            return
        now = time.time()
        if now >= float(item.get("next_probe_at", 0)) and self._take_probe(app.name, now):
            self._probing.add(app.name)
            self._logger.info("probing an open circuit", extra={"app": app.name})
            trace.record(self._rt.name, None, "probe", app=app.name)
            return
        self.blocked = self._open_error(app.name, item, now)
        raise self.blocked

    def _read(self, app: str) -> Item:
        try:
            return ledger_table(self._rt).get(health_key(app)) or {}
        except Exception as exc:  # the call goes ahead: health must not become a new failure mode
            self._logger.warning("target health unreadable", extra={"app": app, "error": type(exc).__name__})
            return {}

    def _take_probe(self, app: str, now: float) -> bool:
        """The probe lease, by a conditional write: exactly one container wins it."""
        try:
            ledger_table(self._rt).update(
                health_key(app),
                "SET probe_until = :until, probe_owner = :me",
                condition=(
                    "#s = :open AND next_probe_at <= :now "
                    "AND (attribute_not_exists(probe_until) OR probe_until < :now)"
                ),
                names={"#s": "state"},
                values={
                    ":open": OPEN,
                    ":now": _num(now),
                    ":until": _num(now + self._rt.spec.timeout_s),
                    ":me": self._owner,
                },
            )
        except ConditionFailed:
            return False
        except Exception as exc:
            self._logger.warning("probe lease not taken", extra={"app": app, "error": type(exc).__name__})
            return False
        return True

    def _open_error(self, app: str, item: Item, now: float) -> CircuitOpen:
        since = float(item["opened_at"]) if "opened_at" in item else None
        waiting = sum(waiting_counts(item).values())
        rate = self._apps[app].rate_per_s if app in self._apps else 1.0
        until_probe = max(0.0, float(item.get("next_probe_at", now)) - now)
        # The spread is the app's rate limit turned into time, so it runs on the runtime's clock as
        # the probe interval does: unscaled under chaos's compressed time, 300 waiting Slack events
        # were spread over 300 wall seconds - most of the compressed retry horizon - and the last of
        # them dead-lettered past it.
        spread = random.uniform(0, waiting / rate) * self._rt.retry_scale
        title = self._apps[app].display_name if app in self._apps else app
        return CircuitOpen(
            f"{title} unavailable since {_when(since)}, {waiting} events waiting",
            app=app,
            since=since,
            waiting=waiting,
            retry_after=until_probe + spread,
        )

    # --- after a call ---------------------------------------------------------------------------

    def observe(self, app: str, status: int | None) -> None:
        """What a call to ``app`` answered (``None``: no answer). Never raises."""
        try:
            if status is not None and status < 500:
                self._answered(app)
            else:
                self._failed(app, "no answer" if status is None else f"answered {status}")
        except Exception as exc:
            self._logger.warning("target health not written", extra={"app": app, "error": type(exc).__name__})

    def _answered(self, app: str) -> None:
        if app not in self._probing:
            if app in self._confirmed:
                return  # this record already saw the app answer and set its breaker right
            # Read again, not the copy from before the call: other containers' failures since then
            # must be reset too, or interleaved failures would add up to a streak that never was.
            item = self._read(app)
            self._confirmed.add(app)
            if item.get("state") != OPEN and not int(item.get("failures", 0)):
                return  # the usual case: healthy, nothing to write
        old = ledger_table(self._rt).update(
            health_key(app),
            "SET #s = :closed, failures = :zero, closed_at = :now REMOVE probe_until, probe_owner, next_probe_at",
            names={"#s": "state"},
            values={":closed": CLOSED, ":zero": 0, ":now": _num(time.time())},
            returns="ALL_OLD",
        )
        self._seen[app] = {"state": CLOSED, "failures": 0}
        self._probing.discard(app)
        if old.get("state") == OPEN:
            since = float(old.get("opened_at", time.time()))
            waited = sum(waiting_counts(old).values())
            self._logger.info(
                "circuit closed: target answers again",
                extra={"app": app, "open_s": round(time.time() - since, 1), "events_waited": waited},
            )
            trace.record(self._rt.name, None, "circuit-closed", app=app, events_waited=waited)

    def _failed(self, app: str, what: str) -> None:
        self._confirmed.discard(app)
        table = ledger_table(self._rt)
        now = time.time()
        item = table.update(
            health_key(app),
            "SET last_error = :e, last_failure_at = :now ADD failures :one",
            values={":e": what, ":now": _num(now), ":one": 1},
            returns="ALL_NEW",
        )
        if app in self._probing:
            self._probing.discard(app)
            next_probe = now + PROBE_INTERVAL_S * self._rt.retry_scale
            with suppress(ConditionFailed):  # the lease had expired and another took it
                table.update(
                    health_key(app),
                    "SET next_probe_at = :next REMOVE probe_until, probe_owner",
                    condition="probe_owner = :me",
                    values={":next": _num(next_probe), ":me": self._owner},
                )
            item["next_probe_at"] = next_probe
            self._logger.warning("probe failed: circuit stays open", extra={"app": app, "reason": what})
        elif item.get("state") != OPEN:
            if int(item.get("failures", 0)) < OPEN_AFTER:
                return  # not yet: this failure spends an attempt like any other
            if not self._open(app, item, now, what):
                item = self._read(app)
                if item.get("state") != OPEN:
                    return
        self._seen[app] = item
        self.blocked = self._open_error(app, item, now)

    def _open(self, app: str, item: Item, now: float, what: str) -> bool:
        """Open the circuit (once: a conditional write); whether this call opened it."""
        stale = [k for k in item if k.startswith(_WAITING)]
        names = {"#s": "state", **{f"#w{i}": k for i, k in enumerate(stale)}}
        expression = "SET #s = :open, opened_at = :now, next_probe_at = :next"
        if stale:
            expression += " REMOVE " + ", ".join(f"#w{i}" for i in range(len(stale)))
        next_probe = now + PROBE_INTERVAL_S * self._rt.retry_scale
        try:
            ledger_table(self._rt).update(
                health_key(app),
                expression,
                condition="attribute_not_exists(#s) OR #s = :closed",
                names=names,
                values={":open": OPEN, ":closed": CLOSED, ":now": _num(now), ":next": _num(next_probe)},
            )
        except ConditionFailed:
            return False
        for k in stale:
            item.pop(k, None)
        item.update(state=OPEN, opened_at=now, next_probe_at=next_probe)
        self._logger.error(
            "circuit opened: target unavailable; events wait instead of spending attempts",
            extra={"app": app, "failures": int(item.get("failures", 0)), "reason": what},
        )
        trace.record(self._rt.name, None, "circuit-open", app=app, reason=what)
        return True

    # --- after the record -----------------------------------------------------------------------

    def finish(self) -> None:
        """Give back a probe lease the record took but never used (it needed no call after all)."""
        for app in list(self._probing):
            with suppress(Exception):  # else the lease expires at the function's timeout
                ledger_table(self._rt).update(
                    health_key(app),
                    "REMOVE probe_until, probe_owner",
                    condition="probe_owner = :me",
                    values={":me": self._owner},
                )
        self._probing.clear()


def waits_so_far(rt: Runtime, message_id: str) -> int:
    """How often this queued message waited (receives that spent no attempt); 0 if unknown."""
    item = ledger_table(rt).get(waits_key(rt.name, message_id), consistent=True)
    return int(item.get("waits", 0)) if item else 0


def note_wait(rt: Runtime, message_id: str, blocked: CircuitOpen | None, retention_s: int) -> int:
    """Count one wait of this message; the count after it.

    A message waiting on an open circuit is counted once per outage in the breaker's
    ``waiting_<integration>`` (the message's item remembers which outage it last counted in).
    """
    now = time.time()
    outage = f"{blocked.app}@{blocked.since:.3f}" if blocked is not None and blocked.since else ""
    old = ledger_table(rt).update(
        waits_key(rt.name, message_id),
        "SET outage = :o, expiration = :exp ADD waits :one",
        values={":o": outage, ":exp": int(now) + retention_s, ":one": 1},
        returns="ALL_OLD",
    )
    if outage and old.get("outage") != outage and blocked is not None:
        # Unless the circuit closed or reopened meanwhile: that outage's count is not ours to move.
        with suppress(ConditionFailed):
            ledger_table(rt).update(
                health_key(blocked.app),
                "ADD #w :one",
                condition="opened_at = :since",
                names={"#w": f"{_WAITING}{rt.name}"},
                values={":one": 1, ":since": _num(blocked.since or 0.0)},
            )
    return int(old.get("waits", 0)) + 1


def publish(app: str, name: str, value: float) -> None:
    """One metric with the single dimension ``app`` (the per-app alarm's), printed as EMF at once."""
    from aws_lambda_powertools.metrics import EphemeralMetrics
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    from shared.observability import NAMESPACE

    if is_metrics_disabled():
        return
    metrics = EphemeralMetrics(namespace=NAMESPACE)
    metrics.add_dimension(name="app", value=app)
    metrics.add_metric(name=name, unit="Count", value=value)
    metrics.flush_metrics()


def _num(value: float) -> Decimal:
    return Decimal(f"{value:.3f}")


def describe(item: Item) -> dict[str, Any]:
    """A breaker item as plain values, for ``switchboard status``."""
    return {
        "state": str(item.get("state", CLOSED)),
        "opened_at": float(item["opened_at"]) if "opened_at" in item else None,
        "closed_at": float(item["closed_at"]) if "closed_at" in item else None,
        "failures": int(item.get("failures", 0)),
        "last_error": str(item.get("last_error", "")),
        "waiting": waiting_counts(item),
    }
