"""Fires the specs' EventBridge Scheduler expressions locally (moto never fires schedules).

Understands what EventBridge Scheduler accepts for recurring schedules: ``rate(5 minutes)`` and
six-field ``cron(minutes hours day-of-month month day-of-week year)`` in the schedule's time zone,
with ``*``, ``?``, lists, ranges, steps and month/day names. ``L``, ``W`` and ``#`` are refused with
a clear error rather than silently misread. Each tick is queued as the same message the deployed
schedule sends, so it gets the same retries, DLQ and idempotency.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.spec import IntegrationSpec, ScheduleTrigger

__all__ = ["Scheduler", "next_fire", "schedule_message"]

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """Values a cron field allows; ``None`` for ``*``/``?`` (anything)."""
    if text in ("*", "?"):
        return None
    residue = text.upper()
    for name in names or {}:
        residue = residue.replace(name, "")  # JUL, WED are names, not the L and W operators
    if any(c in residue for c in "LW#"):
        raise ValueError(f"cron field {text!r}: L, W and # are not supported by the local scheduler")
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(base, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ValueError(f"cron field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    upper = text.upper()
    if names and upper in names:
        return names[upper]
    return int(text)


def next_fire(expression: str, timezone: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` (aware) that the expression fires, in ``timezone``."""
    tz = ZoneInfo(timezone)
    local = after.astimezone(tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
    rate = _RATE.match(expression)
    if rate:
        amount = int(rate.group(1))
        unit = rate.group(2).rstrip("s")
        minutes = amount * {"minute": 1, "hour": 60, "day": 1440}[unit]
        if minutes < 1:
            raise ValueError("rate must be at least 1 minute")
        # A rate is elapsed time (AWS counts it in UTC): a day is 24 h even across a DST change.
        return after.astimezone(UTC) + timedelta(minutes=minutes)
    cron = _CRON.match(expression)
    if not cron:
        raise ValueError(f"schedule {expression!r} must be rate(...) or cron(...)")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ValueError(
            f"cron {expression!r} needs 6 fields: minutes hours day-of-month month day-of-week year"
        )
    minutes_f = _field(fields[0], 0, 59)
    hours_f = _field(fields[1], 0, 23)
    dom_f = _field(fields[2], 1, 31)
    month_f = _field(fields[3], 1, 12, _MONTHS)
    dow_f = _field(fields[4], 1, 7, _DAYS)
    year_f = _field(fields[5], 1970, 2199)
    day = local.replace(hour=0, minute=0)
    for _ in range(366 * 5):
        dow = (day.isoweekday() % 7) + 1  # AWS: 1 = Sunday
        if (
            (year_f is None or day.year in year_f)
            and (month_f is None or day.month in month_f)
            and (dom_f is None or day.day in dom_f)
            and (dow_f is None or dow in dow_f)
        ):
            for hour in sorted(hours_f) if hours_f is not None else range(24):
                for minute in sorted(minutes_f) if minutes_f is not None else range(60):
                    candidate = day.replace(hour=hour, minute=minute)
                    if candidate >= local and _exists(candidate):
                        return candidate
        day = (day + timedelta(days=1)).replace(hour=0, minute=0)
    raise ValueError(f"cron {expression!r} never fires in the next five years")


def _exists(local: datetime) -> bool:
    """False for a wall-clock time skipped by a DST change; EventBridge Scheduler skips those runs."""
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(tzinfo=None)


def schedule_message(integration: str, trigger: ScheduleTrigger, due: datetime) -> str:
    """The body the deployed EventBridge Scheduler target sends to the queue."""
    return json.dumps(
        {"switchboard_schedule": trigger.name, "integration": integration, "scheduled_at": due.isoformat()}
    )


class Scheduler:
    def __init__(
        self,
        specs: tuple[IntegrationSpec, ...],
        send: Callable[[str, str], None],
        now: Callable[[], datetime],
    ) -> None:
        self._send = send
        self._now = now
        self._stop = threading.Event()
        self._due: list[tuple[str, ScheduleTrigger, datetime]] = []
        start = now()
        for spec in specs:
            for trigger in spec.triggers:
                if isinstance(trigger, ScheduleTrigger):
                    self._due.append(
                        (spec.name, trigger, next_fire(trigger.expression, trigger.timezone, start))
                    )
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    @property
    def schedules(self) -> list[tuple[str, str, datetime]]:
        return [(name, t.name, due) for name, t, due in self._due]

    def start(self) -> None:
        if self._due:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def fire_due(self) -> int:
        fired = 0
        now = self._now()
        for i, (name, trigger, due) in enumerate(self._due):
            if due <= now:
                self._send(name, schedule_message(name, trigger, due))
                self._due[i] = (name, trigger, next_fire(trigger.expression, trigger.timezone, due))
                fired += 1
        return fired

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.fire_due()
