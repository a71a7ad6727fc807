"""One chaos run's shared state: what generators, observers and the run loop all reach through."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import httpx

from infra.ops.chaos.config import ChaosConfig
from infra.ops.chaos.outage import WaitLog

if TYPE_CHECKING:
    from infra.local.runtime import LocalRuntime
    from shared.spec import WebhookTrigger

__all__ = ["ChaosRun", "Progress"]

T = TypeVar("T")


class Progress:
    """Counts what the workers report (``shared.trace``), for the progress line."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stages: Counter[str] = Counter()

    def __call__(self, entry: dict[str, Any]) -> None:
        stage = str(entry.get("stage"))
        if stage in ("processed", "duplicate", "dlq", "retry"):
            with self.lock:
                self.stages[stage] += 1


class ChaosRun:
    """One run's shared state: the runtime, an HTTP client, and what the generators remember.

    Generators run on several sender threads: what they remember between building an event and
    judging it goes through :meth:`remember` (under :attr:`lock`), never straight into a dict.
    """

    def __init__(self, runtime: LocalRuntime, config: ChaosConfig, err: TextIO) -> None:
        self.runtime = runtime
        self.config = config
        self.err = err
        self.http = httpx.Client(timeout=15)
        self.progress = Progress()
        self.started = time.monotonic()
        #: Messages waiting in the work queues, as the monitor last read them.
        self.backlog = 0
        self.lock = threading.Lock()
        #: Event index -> the statuses its deliveries were answered with.
        self.results: dict[int, list[int]] = {}
        #: Event index -> the versions of it answered 2xx (a sequence is accepted when all were).
        self.versions_ok: dict[int, set[int]] = {}
        #: The workers' trace per event, for counting who waited through an outage.
        self.waits = WaitLog()
        #: When the run started (epoch seconds): the events' own timestamps are taken from it.
        self.t0 = time.time()
        #: The webhook triggers the run sends to, by ``(integration, trigger)``.
        self.triggers: dict[tuple[str, str], WebhookTrigger] = {}
        #: Sandbox apps with an OAuth token endpoint that the run's integrations use.
        self.oauth_apps: tuple[str, ...] = ()
        self.token_expiries = 0
        #: Sandbox apps whose idempotency keys the run forgets every ``key_expiry_s``, with the
        #: control path that does it; how often it did, and how many keys each forgot.
        self.key_apps: dict[str, str] = {}
        self.key_expiries = 0
        self.keys_forgotten: Counter[str] = Counter()
        self._memory: dict[str, dict[Any, Any]] = {}
        #: One lock per value being made (:meth:`remember`), so each is made once.
        self._making: dict[tuple[str, Any], threading.Lock] = {}
        self._poison_faults: dict[str, list[dict[str, Any]]] = {}

    def say(self, text: str) -> None:
        print(f"[chaos {time.monotonic() - self.started:6.1f}s] {text}", file=self.err, flush=True)

    def read_backlog(self) -> int:
        return sum(self.runtime.queued().values())

    def memory(self, name: str) -> dict[Any, Any]:
        """Everything remembered under ``name``, by key (observers read it once the sending is over)."""
        return self._memory.setdefault(name, {})

    def remember(self, name: str, key: Any, make: Callable[[], T]) -> T:
        """The value remembered under ``name`` and ``key``, made (once) with ``make`` if there is none.

        ``make`` runs outside the run's lock (it may call a sandbox) but under one of its own per
        ``name`` and ``key``, so it runs once: a delivery and its re-send are built by two threads at
        once, and a value made twice is an effect made twice (two till sales under one idempotency
        key - Square refused the second, with a newer timestamp - ended a 10,000-event soak).
        """
        with self.lock:
            found: T | None = self._memory.setdefault(name, {}).get(key)
            gate = self._making.setdefault((name, key), threading.Lock()) if found is None else None
        if gate is None:
            return found  # type: ignore[return-value]
        with gate:
            with self.lock:
                found = self._memory[name].get(key)
            return found if found is not None else self.keep(name, key, make())

    def keep(self, name: str, key: Any, value: T) -> T:
        """Remember ``value`` under ``name`` and ``key`` unless a value is there already; the one kept."""
        with self.lock:
            kept: T = self._memory.setdefault(name, {}).setdefault(key, value)
        return kept

    def add_poison_fault(self, app: str, fault: dict[str, Any]) -> None:
        """A permanent fault of ``app`` that makes one prepared poison event fail for good (a path
        rule, for a request that carries no body to mark); it stays when the other faults are cleared."""
        with self.lock:
            self._poison_faults.setdefault(app, []).append(fault)

    def poison_faults(self, app: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self._poison_faults.get(app, []))
