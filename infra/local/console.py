"""The readable trace ``make dev`` prints: received -> queued -> processed -> effect, or -> DLQ.

One line per step, ids printed whole (people paste them into ``switchboard trace`` and ``dlq show``),
details cut to the line width so a line never wraps into the next. Output goes through a ``rich``
console: colour on a terminal, plain text when stdout is a file or a pipe (CI, tests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from typing import Any

from rich.console import Console
from rich.text import Text

from .deliveries import Delivery, DeliveryLog

__all__ = ["ID_WIDTH", "PLAIN_WIDTH", "TracePrinter", "fit", "format_entry", "line_width"]

#: Line width when stdout is not a terminal (a log file, CI): wide enough for a whole event id.
PLAIN_WIDTH = 160
#: The event id column: most ids fit; a longer one is printed whole and pushes the rest right.
ID_WIDTH = 48
#: How long the live console holds a ``processing`` line for its ``queued`` line. The gateway
#: records ``queued`` microseconds after SQS took the message; a message that never had one
#: (put back by ``dlq replay``) is shown after this.
HOLD_S = 1.0

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
_STYLES = {
    "rejected": "yellow",
    "spam": "dim",
    "effect-skipped": "dim",
    "duplicate": "dim",
    "retry": "yellow",
    "dlq": "bold red",
    "crash": "bold red",
    "processed": "green",
}


def line_width(console: Console) -> int:
    """The terminal's width, or :data:`PLAIN_WIDTH` when writing to a file or a pipe."""
    return console.width if console.is_terminal else PLAIN_WIDTH


def fit(text: str, width: int, keep: int = 0) -> str:
    """``text`` cut to ``width`` characters with an ellipsis; the first ``keep`` are never cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, keep)].rstrip() + "…"


def format_entry(entry: dict[str, Any], *, integration_width: int = 16, width: int = PLAIN_WIDTH) -> str:
    """One trace entry as one line: time, integration, the whole event id, what happened, details."""
    stage = entry["stage"]
    clock = time.strftime("%H:%M:%S", time.localtime(entry["time"]))
    event = entry.get("event_id") or ""
    head = (
        f"{clock}  {entry['integration']:<{integration_width}} {event:<{ID_WIDTH}} {_MARKS.get(stage, stage)}"
    )
    return fit(head + _detail(entry), width, keep=len(head))


def _detail(entry: dict[str, Any]) -> str:
    stage = entry["stage"]
    if stage in ("effect", "effect-skipped"):
        text = f" {entry.get('step')}"
        return text + (f"  ({entry['summary']})" if entry.get("summary") else "")
    if stage == "queued":
        return f"  via {entry.get('trigger')}"
    if stage == "rejected":
        return f"  {entry.get('status')} {entry.get('reason')}: {entry.get('detail')}"
    if stage == "processing" and int(entry.get("attempt", 1)) > 1:
        return f"  (attempt {entry['attempt']})"
    if stage == "retry":
        return f"  in {entry.get('delay_s')} s: {entry.get('reason')}"
    if stage == "dlq":
        return f"  {entry.get('error')}: {entry.get('reason')}"
    if stage == "answered":
        return f"  {entry.get('status', '')} {entry.get('route', '')} {entry.get('detail', '')}".rstrip()
    if stage == "processed" and entry.get("summary"):
        return f"  ({entry['summary']})"
    return ""


class TracePrinter:
    """A trace sink: keeps every entry (grouped into deliveries) and, when live, prints one line per
    step, a delivery's ``queued`` line always before its ``processing`` line."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        quiet: bool = False,
        ingress: Collection[tuple[str, str]] = (),
        integration_width: int = 16,
        hold_s: float = HOLD_S,
    ) -> None:
        self.entries: list[dict[str, Any]] = []
        self.console = console or Console(highlight=False)
        #: Print as entries come (``make dev`` while serving); quiet keeps them for the summary.
        self.live = not quiet
        self.integration_width = integration_width
        self.log = DeliveryLog(ingress)
        self._hold_s = hold_s
        #: hold it to read ``entries`` and ``log`` while events may still come in
        self.lock = threading.RLock()

    def __call__(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.entries.append(entry)
            shown = self.log.add(entry, threading.get_ident())
            self._print(shown)
            if self.log.new_hold is not None:
                self._release_later(self.log.new_hold)

    def stages_for(self, event_id: str) -> list[str]:
        with self.lock:
            return [e["stage"] for e in self.entries if e.get("event_id") == event_id]

    def line(self, entry: dict[str, Any], width: int | None = None) -> Text:
        """An entry as a (styled) line of this console's width."""
        text = format_entry(
            entry,
            integration_width=self.integration_width,
            width=width or line_width(self.console),
        )
        return Text(text, style=_STYLES.get(entry["stage"], ""))

    def _print(self, entries: list[dict[str, Any]]) -> None:
        if not self.live:
            return
        for entry in entries:
            self.console.print(self.line(entry), soft_wrap=True)

    def _release_later(self, delivery: Delivery) -> None:
        def release() -> None:
            with self.lock:
                self._print(self.log.release(delivery))

        timer = threading.Timer(self._hold_s, release)
        timer.daemon = True
        timer.start()
