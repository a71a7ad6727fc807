"""Outages: a target app down for good for a while - every request answered 503 - then back.

An outage is longer than any retry budget (days, where the budget is half an hour), so it can only
end well if the work waits for the target instead of spending attempts on it: the run takes the app
down in the middle of the sending, brings it back after ``duration x time scale`` of wall time, and
the judge then wants every effect once, nothing but poison in the DLQs, and no redrive.

Each outage starts when its share of the deliveries has been sent (the i-th of n at ``(i+1)/(n+1)``
of them), so that events arrive before, during and after it - and not before the one before it has
ended, and three simulated days (:data:`GAP_S`) after it (the sending waits for it meanwhile):
outages never overlap nor follow each other closely, since an event that meets two in a row waits
through both, which is one longer outage, not two - past the retry horizon for two of three days. The ones that waited are counted from
the workers' trace (:class:`WaitLog`): events of the integrations that call the app which arrived or
were held back (a retry, a wait) while it was down and completed after it came back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from infra.ops.chaos.config import Outage

__all__ = ["OUTAGE_FAULT", "OutageRun", "Outages", "WaitLog"]

#: What a down app answers to every request (its API and its token endpoint alike).
OUTAGE_FAULT: Mapping[str, Any] = {"kind": "status", "status": 503, "rate": 1}
#: Trace stages that are not "held back": the rest (``retry``, a breaker's wait ...) are.
_NOT_HELD = frozenset({"queued", "processing", "processed", "duplicate", "dlq", "spam", "scheduled", "crash"})


@dataclass
class OutageRun:
    """One outage as it happened (epoch seconds, as the trace keeps time)."""

    outage: Outage
    #: The delivery index it starts at.
    start_at: int
    wall_s: float
    started: float | None = None
    ended: float | None = None
    #: Events that waited through it (filled in at the end from the :class:`WaitLog`).
    waited: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.outage.app,
            "duration": self.outage.text or f"{self.outage.duration_s:g}s",
            "simulated_s": self.outage.duration_s,
            "wall_s": round(self.wall_s, 1),
            "events_waited": self.waited,
        }


@dataclass
class WaitLog:
    """The workers' trace, kept per event: when it was queued or held back, when it was processed."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    #: (integration, event id) -> epoch seconds it was queued or held back.
    held: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    #: (integration, event id) -> epoch seconds it was processed (the last time).
    processed: dict[tuple[str, str], float] = field(default_factory=dict)

    def __call__(self, entry: dict[str, Any]) -> None:
        event_id, name, stage = entry.get("event_id"), entry.get("integration"), entry.get("stage")
        if not isinstance(event_id, str) or not isinstance(name, str):
            return
        at = float(entry.get("time") or time.time())
        with self.lock:
            if stage == "processed":
                self.processed[(name, event_id)] = at
            elif stage == "queued" or stage not in _NOT_HELD:
                self.held.setdefault((name, event_id), []).append(at)

    def waited(self, integrations: Sequence[str], started: float, ended: float) -> int:
        """Events of ``integrations`` queued or held back in ``[started, ended]``, processed after it."""
        wanted = set(integrations)
        with self.lock:
            return sum(
                1
                for key, times in self.held.items()
                if key[0] in wanted
                and any(started <= t <= ended for t in times)
                and self.processed.get(key, 0.0) > ended
            )


#: Simulated seconds between two outages: three days. Outages of different apps close together add
#: up on a flow that calls both (new_lead_notify reads HubSpot, then posts to Slack): an event queued
#: as the first began has the horizon (5 days) less that outage left for its backlog to drain and for
#: its later steps, so the next outage must start after that. With one day, a 4,000-event soak
#: dead-lettered 12 events as ``rate_limited``: still in HubSpot's backlog when Slack's outage began.
GAP_S: Final = 3 * 24 * 3600.0


class Outages:
    """Starts each outage at its delivery index and ends it after its wall time, on timers.

    ``down(app, on)`` sets or lifts the app's 503 fault; it is called from the send loop (start) and
    from a timer thread (end), never at once for one app.
    """

    def __init__(
        self,
        outages: Sequence[Outage],
        deliveries: int,
        scale: float,
        down: Callable[[str, bool], None],
        *,
        gap_s: float = GAP_S,
    ) -> None:
        n = len(outages)
        self.runs = [
            OutageRun(o, start_at=(i + 1) * deliveries // (n + 1), wall_s=o.duration_s * scale)
            for i, o in enumerate(outages)
        ]
        #: Wall seconds between one outage's end and the next one's start.
        self.gap_s = gap_s * scale
        self._last_end: float | None = None
        self._down = down
        self._timers: list[threading.Timer] = []
        self._done = threading.Event()
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        #: The last delivery index sent (``None``: the sending is over, start whatever is left).
        self._reached: int | None = -1
        if not self.runs:
            self._done.set()

    @property
    def active(self) -> list[str]:
        return [r.outage.app for r in self.runs if r.started is not None and r.ended is None]

    @property
    def wall_s(self) -> float:
        """All outages end to end with the gaps between them, in wall seconds."""
        return sum(r.wall_s for r in self.runs) + self.gap_s * max(0, len(self.runs) - 1)

    def at(self, delivery: int) -> None:
        """Delivery index ``delivery`` is about to be sent: start the next outage if it is due.

        If it is due but cannot start yet (the last one is still on, or its gap not over), the
        sending waits for it: sending that outran the outages would leave the later ones meeting an
        already drained system - a 400-event run sent everything in 131 s while six three-day
        outages took half an hour, and five of them saw no event. Bounded by the outages' own time.
        """
        with self._lock:
            self._reached = max(self._reached, delivery) if self._reached is not None else None
        self._start_due()
        until = time.monotonic() + self.wall_s + 60
        while not self._cancelled.is_set() and time.monotonic() < until:
            with self._lock:
                due = next((r for r in self.runs if r.started is None), None)
            if due is None or due.start_at > delivery:
                return
            self._cancelled.wait(0.1)

    def _start_due(self) -> None:
        with self._lock:
            if any(r.started is not None and r.ended is None for r in self.runs):
                return
            due = next((r for r in self.runs if r.started is None), None)
            if due is None or (self._reached is not None and self._reached < due.start_at):
                return
            rest = 0.0 if self._last_end is None else self._last_end + self.gap_s - time.time()
            if rest > 0:  # the last outage's backlog is still draining: start this one after the gap
                timer = threading.Timer(rest, self._start_due)
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
                return
            due.started = time.time()
        self._down(due.outage.app, True)
        timer = threading.Timer(due.wall_s, self._end, args=(due,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _end(self, r: OutageRun) -> None:
        try:
            self._down(r.outage.app, False)
        finally:
            r.ended = time.time()
            with self._lock:
                self._last_end = r.ended
            if all(x.ended is not None for x in self.runs):
                self._done.set()
            else:
                self._start_due()

    def finish(self, timeout_s: float) -> bool:
        """Start the outages not started yet (the sending stopped early), one after another, and
        wait for all to end."""
        with self._lock:
            self._reached = None
        self._start_due()
        return self._done.wait(timeout_s)

    def cancel(self) -> None:
        """Stop the timers (the run is being torn down)."""
        self._cancelled.set()
        for timer in self._timers:
            timer.cancel()

    def count_waits(self, log: WaitLog, users: Mapping[str, Sequence[str]]) -> None:
        """Fill in each outage's ``waited`` from ``log``; ``users`` is app -> integrations calling it."""
        for r in self.runs:
            if r.started is not None and r.ended is not None:
                r.waited = log.waited(users.get(r.outage.app, ()), r.started, r.ended)
