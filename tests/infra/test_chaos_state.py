"""The chaos run's memory makes each value once, however many threads ask for it at once."""

from __future__ import annotations

import threading
import time

from infra.ops.chaos.state import ChaosRun


def test_a_value_asked_for_by_two_threads_at_once_is_made_once() -> None:
    """A delivery and its re-send are built at once; the till sale behind them must happen once
    (two were made, and Square refused the second's reused idempotency key, ending a soak)."""
    run = ChaosRun.__new__(ChaosRun)  # only the memory is exercised: no runtime needed
    run.lock = threading.Lock()
    run._memory = {}
    run._making = {}
    made: list[int] = []
    start = threading.Barrier(4)
    got: list[int] = []

    def make() -> int:
        made.append(1)
        time.sleep(0.05)  # long enough for every other thread to ask meanwhile
        return len(made)

    def ask() -> None:
        start.wait()
        got.append(run.remember("sales", 7, make))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert made == [1] and got == [1, 1, 1, 1]
    assert run.remember("sales", 8, lambda: 99) == 99  # another key is made on its own
