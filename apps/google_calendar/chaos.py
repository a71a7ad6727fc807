"""Google Calendar under the chaos harness: its error bodies for poison, its API path (the token
endpoint is spared late answers and crashes), and the calendar events per booking.

Generators that make booking events say where each booking's calendar event must end up
(:func:`expect_event`): at the booked times, or cancelled.

A booking changed several times (``--reorder``: created, moved, maybe cancelled, the changes
delivered in any order) is told with :func:`expect_booking`, by its invitee's address: the calendar
must hold exactly one live event with that attendee, at the latest version's times, if the latest
version is live (``gcal.booking`` once, ``gcal.final``) - and none if it is cancelled (``gcal.final``;
a live event is then an unexpected ``gcal.booking``). Which event id it lives under is the flow's
business; what the owner sees on the calendar is the judge's.

``gcal.event`` is *structural*: the event id is chosen by the client from the booking's key and a
second insert of it is ``409 duplicate``, so the calendar cannot hold it twice - judged as any effect,
counted apart from the headline. ``gcal.booking`` (by attendee, whatever the id) is not.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.google_calendar.standin import google_error
from infra.ops.chaos.protocol import AppChaos, EffectKey, event_keys
from infra.ops.chaos.state import ChaosRun

__all__ = [
    "CHAOS",
    "ExpectedBooking",
    "ExpectedEvent",
    "expect_booking",
    "expect_event",
    "organizer_only_delete",
]

_EVENTS = "google_calendar.events"
_BOOKINGS = "google_calendar.expected_bookings"


@dataclass(frozen=True)
class ExpectedBooking:
    """Where a booking changed several times must leave the calendar: its latest version."""

    key: str
    #: The invitee's address: an attendee of the booking's event, and of no other.
    attendee: str
    cancelled: bool
    start: datetime
    end: datetime


def expect_booking(run: ChaosRun, booking: ExpectedBooking) -> None:
    run.remember(_BOOKINGS, booking.key, lambda: booking)


@dataclass(frozen=True)
class ExpectedEvent:
    """Where one booking change must leave its calendar event."""

    #: The event key of the booking change.
    key: str
    google_id: str
    #: Whether the change cancels the booking (the event must be deleted, whatever its times).
    cancelled: bool
    start: datetime
    end: datetime


def expect_event(run: ChaosRun, event: ExpectedEvent) -> None:
    run.remember(_EVENTS, event.key, lambda: event)


def organizer_only_delete(google_id: str) -> dict[str, Any]:
    """A path fault: deleting event ``google_id`` answers ``403 forbiddenForNonOrganizer`` for good
    (the event's shared properties belong to someone else)."""
    message = "Shared properties can only be changed by the organizer of the event."
    return {
        "kind": "status",
        "status": 403,
        "rate": 1,
        "method": "DELETE",
        "path": google_id,
        "body": google_error(403, "forbiddenForNonOrganizer", message),
    }


def _when(value: Any) -> datetime | None:
    text = value.get("dateTime") if isinstance(value, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    """Live events by the event key in their title (``gcal.event``); per expected booking, whether its
    event is at the booked times (``gcal.at_time``) or deleted (``gcal.deleted``) - two checks."""
    seen: Counter[EffectKey] = Counter()
    sandbox: Any = run.runtime.sandboxes.get("google_calendar")
    if sandbox is None:
        return seen
    with sandbox.lock:
        events = [copy.deepcopy(e) for calendar in sandbox.calendars.values() for e in calendar.values()]
    by_id = {e["id"]: e for e in events}
    for event in events:
        if event.get("status") != "cancelled":
            seen.update(("gcal.event", k) for k in event_keys(str(event.get("summary", "")))[:1])
    expected: Mapping[str, ExpectedEvent] = run.memory(_EVENTS)
    for key, booking in expected.items():
        event = by_id.get(booking.google_id)
        if event is None:
            continue
        if booking.cancelled:
            if event.get("status") == "cancelled":
                seen[("gcal.deleted", key)] += 1
        elif (
            event.get("status") != "cancelled"
            and _when(event.get("start")) == booking.start
            and _when(event.get("end")) == booking.end
        ):
            seen[("gcal.at_time", key)] += 1
    _final_states(run, [e for e in events if e.get("status") != "cancelled"], seen)
    return seen


def _final_states(run: ChaosRun, live: list[dict[str, Any]], seen: Counter[EffectKey]) -> None:
    """``gcal.booking`` per live event of each expected booking; ``gcal.final`` if the calendar
    holds what the booking's latest version says (one event at its times, or none)."""
    expected: Mapping[str, ExpectedBooking] = run.memory(_BOOKINGS)
    if not expected:
        return
    by_attendee: dict[str, list[dict[str, Any]]] = {}
    for event in live:
        for guest in event.get("attendees") or []:
            by_attendee.setdefault(str(guest.get("email", "")).lower(), []).append(event)
    for key, booking in expected.items():
        found = by_attendee.get(booking.attendee.lower(), [])
        seen[("gcal.booking", key)] += len(found)
        if booking.cancelled:
            final = not found
        else:
            final = len(found) == 1 and (
                _when(found[0].get("start")) == booking.start and _when(found[0].get("end")) == booking.end
            )
        if final:
            seen[("gcal.final", key)] += 1


CHAOS = AppChaos(
    poison_body=google_error(400, "invalid", "Invalid attendee email."),
    api_path="/calendar/v3/",
    observe=effects_seen,
    checks=("gcal.at_time", "gcal.deleted", "gcal.final"),
    # A client-chosen id per booking: a second insert is 409 duplicate, so the target holds one.
    structural=("gcal.event",),
)
