"""Free slots from busy periods: the pure rule behind ``calendar.find_slots``, the same for every calendar.

Working hours are wall-clock times in the search's time zone, so a slot "at 09:00" is at 09:00 local
time on both sides of a daylight-saving change (08:00 UTC in a London summer, 09:00 UTC in winter).
Each day's openings are made in local time and turned into instants with :mod:`zoneinfo`; a local
time a spring-forward skips is read with the offset before the change (``fold=0``), and everything
after that - steps, lengths, buffers, notice - is arithmetic on instants, so a slot is always
``duration`` of real time long.

A slot is free when no busy period comes within ``buffer`` of it on either side. Slots start at
the opening and every ``step`` after it; they are alternatives for one meeting, so two of them may
overlap each other. No slot in the horizon is an empty answer, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .calendar import WEEKDAYS, FindSlots, FreeSlots, Period

__all__ = ["find_slots", "merge", "search_window"]


def merge(periods: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Busy periods sorted and joined where they overlap or touch, as UTC instants."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted((s.astimezone(UTC), e.astimezone(UTC)) for s, e in periods):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def search_window(rules: FindSlots, now: datetime) -> tuple[datetime, datetime]:
    """From the later of ``after`` and ``now + notice``, for ``horizon_days``: the instants searched."""
    earliest = now + timedelta(minutes=rules.notice_minutes)
    if rules.after is not None and rules.after > earliest:
        earliest = rules.after
    earliest = earliest.astimezone(UTC)
    return earliest, earliest + timedelta(days=rules.horizon_days)


def _clock(text: str) -> tuple[time, int]:
    """``"09:30"`` -> (09:30, 0 days); ``"24:00"`` -> (00:00, 1 day)."""
    if text == "24:00":
        return time(0, 0), 1
    hours, minutes = (int(p) for p in text.split(":"))
    return time(hours, minutes), 0


def _openings(rules: FindSlots, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The working-hour stretches of every local day touching [start, end), as UTC instants, in order."""
    zone = ZoneInfo(rules.time_zone)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        name = WEEKDAYS[day.weekday()]
        stretches = []
        for hours in rules.working_hours:
            if hours.day != name:
                continue
            (t0, d0), (t1, d1) = _clock(hours.start), _clock(hours.end)
            local0 = datetime.combine(day + timedelta(days=d0), t0, tzinfo=zone)
            local1 = datetime.combine(day + timedelta(days=d1), t1, tzinfo=zone)
            stretches.append((local0.astimezone(UTC), local1.astimezone(UTC)))
        yield from sorted(stretches)
        day += timedelta(days=1)


def find_slots(rules: FindSlots, busy: Iterable[tuple[datetime, datetime]], now: datetime) -> FreeSlots:
    """The first ``rules.count`` free slots after ``now`` (aware), given the calendar's busy periods."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    start, end = search_window(rules, now)
    length = timedelta(minutes=rules.duration_minutes)
    step = timedelta(minutes=rules.step_minutes)
    gap = timedelta(minutes=rules.buffer_minutes)
    blocked = merge(busy)
    found: list[Period] = []
    seen: set[datetime] = set()
    for opening, closing in _openings(rules, start, end):
        slot = opening
        while slot + length <= closing and len(found) < rules.count:
            if slot >= start and slot + length <= end and slot not in seen:
                clash = next((b for b in blocked if b[0] < slot + length + gap and b[1] > slot - gap), None)
                if clash is None:
                    found.append(Period(start=slot, end=slot + length))
                    seen.add(slot)
                elif clash[1] + gap > slot + step:
                    # Jump past the clash (then back onto the step grid) instead of stepping through it.
                    steps = -(-(clash[1] + gap - opening) // step)
                    slot = opening + steps * step
                    continue
            slot += step
        if len(found) >= rules.count:
            break
    found.sort(key=lambda p: p.start)  # overlapping working-hour stretches of one day
    return FreeSlots(slots=found, searched_from=start, searched_until=end, time_zone=rules.time_zone)
