"""A readable account of what happened to each event, for people watching (the local runtime).

On Lambda there are no sinks and this costs a function call; the same facts are in the JSON logs.
The local runtime adds a sink that prints ``received -> queued -> processed -> effect`` lines and
records them for ``switchboard dev --once`` to summarise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["add_sink", "record", "remove_sink"]

Sink = Callable[[dict[str, Any]], None]

_sinks: list[Sink] = []
_lock = threading.Lock()


def add_sink(sink: Sink) -> None:
    with _lock:
        _sinks.append(sink)


def remove_sink(sink: Sink) -> None:
    with _lock:
        if sink in _sinks:
            _sinks.remove(sink)


def record(integration: str, event_id: str | None, stage: str, **detail: Any) -> None:
    if not _sinks:
        return
    entry = {"time": time.time(), "integration": integration, "event_id": event_id, "stage": stage, **detail}
    with _lock:
        sinks = list(_sinks)
    for sink in sinks:
        sink(entry)
