"""The readable trace ``make dev`` prints: received -> queued -> processed -> effect, or -> DLQ."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

__all__ = ["TracePrinter"]

_MARKS = {
    "queued": "→ queued",
    "rejected": "✗ rejected",
    "spam": "· spam dropped",
    "processing": "▶ processing",
    "effect": "  ✓",
    "effect-skipped": "  ↷ already done:",
    "processed": "✔ processed",
    "duplicate": "= duplicate, skipped",
    "retry": "↻ retry",
    "dlq": "✖ DLQ",
    "scheduled": "⏰ schedule fired",
    "crash": "‼ handler crashed",
    "answered": "⇄ answered",
}


class TracePrinter:
    """A trace sink that prints one line per step and keeps every entry for the summary."""

    def __init__(self, out: TextIO | None = None, *, quiet: bool = False) -> None:
        self.entries: list[dict[str, Any]] = []
        self._out = out or sys.stdout
        self._quiet = quiet
        self._lock = threading.Lock()

    def __call__(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries.append(entry)
            if not self._quiet:
                self._out.write(self.format(entry) + "\n")
                self._out.flush()

    @staticmethod
    def format(entry: dict[str, Any]) -> str:
        stage = entry["stage"]
        clock = time.strftime("%H:%M:%S", time.localtime(entry["time"]))
        event = (entry.get("event_id") or "")[:24]
        text = f"{clock}  {entry['integration']:<16} {event:<24} {_MARKS.get(stage, stage)}"
        if stage in ("effect", "effect-skipped"):
            text += f" {entry.get('step')}"
            if entry.get("summary"):
                text += f"  ({entry['summary']})"
        elif stage == "queued":
            text += f"  via {entry.get('trigger')}"
        elif stage == "rejected":
            text += f"  {entry.get('status')} {entry.get('reason')}: {entry.get('detail')}"
        elif stage == "processing" and int(entry.get("attempt", 1)) > 1:
            text += f"  (attempt {entry['attempt']})"
        elif stage == "retry":
            text += f"  in {entry.get('delay_s')} s: {entry.get('reason')}"
        elif stage == "dlq":
            text += f"  {entry.get('error')}: {entry.get('reason')}"
        elif stage == "answered":
            text += f"  {entry.get('status', '')} {entry.get('route', '')} {entry.get('detail', '')}".rstrip()
        elif stage == "processed" and entry.get("summary"):
            text += f"  ({entry['summary']})"
        return text

    def stages_for(self, event_id: str) -> list[str]:
        with self._lock:
            return [e["stage"] for e in self.entries if e.get("event_id") == event_id]
