"""booking_to_calendar's worker: put a booking change on the calendar (Google), then email the invitee.

Every change is a few ledger steps, so a retry resumes where the last attempt failed - when SES is
down after the calendar event was made, the retry emails and does not touch the calendar again:

* create: ``booking.resolve`` (the event and revision, from :mod:`.links`), ``calendar.insert``
  (``calendar.create_event`` under the booking's key - the calendar's idempotency: an event made
  under that key before is read back, and it is compared here), ``email.confirmation``
  (``METHOD:REQUEST``, ``SEQUENCE`` 0);
* reschedule: ``booking.resolve`` (the event the replaced booking is on), ``calendar.move``
  (``calendar.move_event`` of the times and details - or ``create_event`` under the replaced
  booking's key if the event never made it to the calendar), ``email.rescheduled``
  (``METHOD:REQUEST``, the same ``UID``, ``SEQUENCE`` + 1);
* cancel: ``booking.resolve`` (also leaves a tombstone), ``calendar.delete``
  (``calendar.cancel_event``; already gone is done), ``email.cancellation`` (``METHOD:CANCEL``,
  ``SEQUENCE`` + 1).

An event is named by the id the calendar answered for it once it is linked, and by the key of the
booking that created it until then; the action maps the key onto the calendar's own id (Google: the
same id for the same key, so a booking finds the event an earlier attempt made).

Each email is the ``email.send`` action with the ``.ics`` as a text attachment. The calendar and
email work goes through :mod:`shared.actions` - the operations an AI tool calls too - while the
step names stay those of the first version: they are the ledger keys of changes already made.

A seat of a group or seated event (``seat_only``) never moves or deletes the shared event: joining
adds the invitee to its attendees, leaving removes them (``calendar.set_attendees``).

Order: a booking's webhooks are processed in any order. Each change holds the leases of its booking
and of the one it replaced (:meth:`shared.ordering.EntityVersions.hold`) while it reads and writes
the links, and the links' states decide (:mod:`.links`): a create of a booking already ``cancelled``
or ``moved`` does nothing; a reschedule whose new booking is already cancelled deletes the old
booking's event instead of moving it (:func:`_end_chain`); a reschedule whose new booking is already
on the calendar - its own reschedule came first - deletes only the old booking's separate event
(:func:`_merge`); a cancel of a ``moved`` booking leaves the booking that replaced it alone, and a
cancel tombstones the booking it replaced too. Emails follow: an invitation only for a live booking,
a cancellation only for an invitation sent (or an event deleted), ``replaced`` to withdraw an
invitation to an event a merge deleted - so the invitee's calendar ends like the business's.
Two windows the leases cannot close, both after a calendar write: the attempt ends before its links
are written and another change runs before its retry (:func:`_overtaken`: the retry does what
deciding now would do), or an insert's answer is lost and the retry, deciding again, works on
another event (:func:`_drop_orphan` deletes the one the lost insert made).

Why the checks on an existing event: an event already under the key is either this booking's (a retry
after an answer got lost - carry on and send the email that is still owed), or it was moved on by a
later reschedule already processed (this create is stale: nothing to do, no email about an old
time), or it was deleted by a cancel processed first (nothing to do).

Step results hold ids and states only: they are stored in the ledger and printed in traces, where
names and addresses do not belong. Imported on the worker path only (``spec.worker``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps import google_calendar
from apps.google_calendar.actions import CANCEL_EVENT, CREATE_EVENT, GET_EVENT, MOVE_EVENT, SET_ATTENDEES
from shared import ics
from shared.actions import calendar
from shared.actions import email as email_actions
from shared.email import Templates
from shared.ordering import EntityVersions
from shared.worker import WorkContext

from .links import Link, Links
from .models import BookingChange, Person, Settings

TEMPLATES: Final = Templates(Path(__file__).parent / "templates")
#: Private extended properties on the calendar event: which booking it is for (compared on 409).
BOOKING_PROPERTY: Final = "switchboardBooking"
SOURCE_PROPERTY: Final = "switchboardSource"
_PROVIDERS: Final = {"calendly": "Calendly", "calcom": "Cal.com"}


def process(change: BookingChange, ctx: WorkContext) -> dict[str, Any]:
    if change.action == "ignore":
        return {"ignored": change.reason or "nothing to do"}
    # One change of a booking (and of the booking it replaces) at a time: the links are read, the
    # calendar written and the links written again without another delivery of the chain between.
    keys = [_key(change), *([change.previous_key] if change.previous_key else [])]
    with EntityVersions(ctx.rt, "booking").hold(keys):
        if change.action == "create":
            return create(change, ctx)
        if change.action == "reschedule":
            return reschedule(change, ctx)
        return cancel(change, ctx)


# --- the three changes ---------------------------------------------------------------------------------


def create(change: BookingChange, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    key = _key(change)

    def resolve() -> dict[str, Any]:
        link = Links(ctx.rt).get(key)
        return {
            "event_id": link.event_id if link else None,
            "key": key,
            "sequence": link.sequence if link else 0,
            "cancelled": _dead(link),
            "moved": link is not None and link.status == "moved",
        }

    # Taken again on a retry until the calendar write happened: meanwhile a cancel or a move of the
    # booking may have been processed, and a saved "not cancelled" would put a dead booking back.
    resolved = ctx.step("booking.resolve", resolve, binding_after=("calendar.insert",))
    if resolved["cancelled"]:
        return {"event_id": resolved["event_id"], "state": "cancelled before it was created"}
    if resolved.get("moved"):  # its reschedule was processed first and put the new time on the calendar
        return {"event_id": resolved["event_id"], "state": "moved before it was created"}

    def insert() -> dict[str, Any]:
        # calendar.create_event reads an event made under the key before back (and retries while
        # it cannot be read yet).
        made = CREATE_EVENT(ctx, _create_event(change, settings, resolved))
        if made.created:
            return _result(made.event, "created")
        existing = made.event
        if existing.status == "cancelled":
            return _result(existing, "deleted")
        if existing.private_properties.get(BOOKING_PROPERTY) not in (None, key):
            return _result(existing, "superseded")
        if change.seat_only and not _has_attendee(existing, change.invitee):
            joined = SET_ATTENDEES(
                ctx, _set_attendees(settings, existing.event_id, _attendees(existing, add=change.invitee))
            )
            return _result(joined.event or existing, "joined")
        return _result(existing, "exists")

    inserted = ctx.step("calendar.insert", insert)
    event_id: str = inserted["event_id"]
    if inserted["state"] in ("deleted", "superseded"):
        return {"event_id": event_id, "state": inserted["state"]}
    found = Links(ctx.rt).claim(
        key, Link(event_id, resolved["sequence"], "active", inserted.get("ical_uid")), ends=_end(change)
    )
    if _overtaken(found, event_id):
        assert found is not None  # _overtaken says so; for mypy
        return _unmake(change, ctx, found, event_id)
    emailed = ctx.step(
        "email.confirmation",
        lambda: _email(ctx, change, "confirmation", "REQUEST", _uid(inserted), resolved["sequence"]),
    )
    return {"event_id": event_id, "state": inserted["state"], "email_message_id": emailed["message_id"]}


def reschedule(change: BookingChange, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    key, previous = _key(change), change.previous_key or ""

    def resolve() -> dict[str, Any]:
        links = Links(ctx.rt)
        own, link = links.get(key), links.get(previous)
        chain: dict[str, Any] = {
            "event_id": link.event_id if link else None,
            "key": previous,
            "sequence": (link.sequence if link else 0) + 1,
            "ical_uid": link.ical_uid if link else None,
        }
        if own is not None and own.status == "cancelled":
            # The new booking was cancelled before this move was processed: the chain ends here.
            # The replaced booking's event goes (:func:`_end_chain`, which then tombstones it so
            # that its late "created" creates nothing). Nothing is written here: this decision is
            # taken again until the delete happened, and must not find its own tombstone then.
            invited = link is not None and link.status == "active"
            return {**chain, "outcome": "cancelled", "gone": _dead(link), "invited": invited, "fresh": False}
        if own is not None:
            # A later change of the new booking is on the calendar already (its own reschedule was
            # processed first and made the event under this booking's key): that event is the
            # booking's; the replaced booking's own event, if it made one, goes.
            invited = link is not None and link.status == "active"
            return {**chain, "outcome": "merged", "keep": own.event_id, "invited": invited, "fresh": False}
        if _dead(link):  # the replaced booking was cancelled (Cal.com "request reschedule"): start anew
            return {"event_id": None, "key": key, "sequence": 0, "fresh": True}
        # Whether the invitee holds an invitation to the event this moves (:func:`_overtaken_move`).
        return {**chain, "fresh": False, "invited": link is not None and link.status == "active"}

    # Taken again on a retry until a calendar write acted on it (the move, or the delete of a merge
    # or of a chain's end): another change of the chain processed meanwhile changes the answer.
    resolved = ctx.step("booking.resolve", resolve, binding_after=("calendar.move", "calendar.delete"))
    if resolved.get("outcome") == "cancelled":
        return _end_chain(change, ctx, resolved)
    if resolved.get("outcome") == "merged":
        return _merge(change, ctx, resolved)

    def move() -> dict[str, Any]:
        if not resolved["fresh"]:
            _drop_orphan(ctx, change, resolved)
            # Every detail is sent again with the new times (and status confirmed): the event shows
            # the booking as it is now, whatever the earlier revision said.
            where = {**_deployment(settings), **_which(resolved, key)}
            moved = MOVE_EVENT(ctx, calendar.MoveEvent(**where, **_details(change, settings)))
            if moved.event is not None:
                return _result(moved.event, "moved")
        # The replaced booking never reached this calendar (made before Switchboard, or its create
        # is still queued): put the booking there under the chain's key; its create will find it.
        made = CREATE_EVENT(ctx, _create_event(change, settings, resolved))
        return _result(made.event, "created" if made.created else "exists")

    moved = ctx.step("calendar.move", move)
    event_id: str = moved["event_id"]
    links = Links(ctx.rt)
    link = Link(event_id, resolved["sequence"], "active", moved.get("ical_uid"))
    found = links.claim(key, link, ends=_end(change))
    if _overtaken(found, event_id):
        assert found is not None  # _overtaken says so; for mypy
        return _overtaken_move(change, ctx, resolved, moved, found)
    if not resolved["fresh"]:  # the replaced booking now lives on as this one
        links.put(previous, replace(link, status="moved", moved_to=key), ends=_end(change))
    emailed = ctx.step(
        "email.rescheduled",
        lambda: _email(ctx, change, "rescheduled", "REQUEST", _uid(moved), resolved["sequence"]),
    )
    return {"event_id": event_id, "state": moved["state"], "email_message_id": emailed["message_id"]}


def _overtaken(found: Link | None, event_id: str) -> bool:
    """Whether the link found where a change meant to write its booking's own is another change's.

    Under the leases nothing comes between a change's decision and its links - unless the attempt
    that wrote the calendar ended before writing them (Lambda's timeout, the links write throttled,
    another record's crash ending the invocation): its leases run out, another change of the chain
    may move the booking on or cancel it, and the retry takes the saved decision (it binds once the
    calendar write happened). A link an earlier attempt of this change wrote is ``active`` on the
    same event.
    """
    return found is not None and not (found.status == "active" and found.event_id == event_id)


def _unmake(change: BookingChange, ctx: WorkContext, found: Link, event_id: str) -> dict[str, Any]:
    """A create overtaken after its insert: the booking lives on elsewhere, or was cancelled.

    Its event stays only if a reschedule moved that very event on. Otherwise it goes (gone already
    when the change that overtook it found it under the booking's key; deleting is then a no-op).
    No confirmation either way: the invitee heard of the booking's later state from that change.
    """
    if found.status == "moved" and found.event_id == event_id:
        return {"event_id": event_id, "state": "moved on before it was linked"}
    settings: Settings = ctx.settings

    def remove() -> dict[str, Any]:
        cancelled = CANCEL_EVENT(ctx, calendar.CancelEvent(**_deployment(settings), event_id=event_id))
        return {"event_id": event_id, "state": "deleted" if cancelled.deleted else "already gone"}

    removed = ctx.step("calendar.delete", remove)
    return {"event_id": event_id, "state": f"{found.status} before it was linked: {removed['state']}"}


def _overtaken_move(
    change: BookingChange,
    ctx: WorkContext,
    resolved: Mapping[str, Any],
    moved: Mapping[str, Any],
    found: Link,
) -> dict[str, Any]:
    """A reschedule overtaken after its calendar write: do what deciding now would have done.

    The event it moved (or made) is the replaced booking's, and the new booking is no longer free:
    cancelled, the chain ends (:func:`_end_chain` deletes that event - the cancel deleted it only if
    it knew it, and withdrew the invitation only then); moved on by a later reschedule, that change's
    event is the booking's (:func:`_merge` deletes this one). Left as it was, the moved event would
    stay on the calendar beside the booking's real one, or after its cancel.
    """
    ours = str(moved["event_id"])
    if resolved["fresh"]:
        # Made under the new booking's own key, which a later reschedule moves on by that key.
        return _unmake(change, ctx, found, ours)
    chain = {
        "event_id": ours,
        "ical_uid": moved.get("ical_uid"),
        "key": resolved["key"],
        "sequence": resolved["sequence"],
    }
    invited = bool(resolved.get("invited"))
    if found.status == "cancelled":
        knew = found.event_id == ours
        return _end_chain(change, ctx, {**chain, "gone": False, "invited": invited and not knew})
    return _merge(change, ctx, {**chain, "keep": found.event_id, "invited": invited})


def _orphan_possible(change: BookingChange, resolved: Mapping[str, Any]) -> bool:
    """Whether an earlier run of this reschedule may have made an event the chain does not use.

    While the replaced booking has no link, a reschedule makes its event under that booking's key
    (:func:`reschedule`'s ``move``). If that insert's answer is lost - a timeout, a crash after the
    target acted - the next run decides again; if meanwhile the replaced booking's own reschedule
    moved the booked event and linked it, that run works on the linked event, and the one the lost
    insert made stays beside it at the new time (issue 17: R7N240, ``gcal.booking x2``). Only then
    does the replaced booking's link name another event than the one under its key.
    """
    linked = resolved.get("event_id")
    previous = change.previous_key
    return bool(previous and linked and linked != google_calendar.event_id(previous))


def _drop_orphan(ctx: WorkContext, change: BookingChange, resolved: Mapping[str, Any]) -> str | None:
    """Delete the event an earlier run made under the replaced booking's key (:func:`_orphan_possible`);
    its id if there was one.

    One read when an orphan is possible: the event under that key is this reschedule's only if it
    carries this booking's key (every event a reschedule writes does) - then no invitation was sent
    for it (the email comes after the links, which that run never wrote).
    """
    if not _orphan_possible(change, resolved) or change.previous_key is None:
        return None
    settings: Settings = ctx.settings
    found = GET_EVENT(ctx, calendar.EventRef(calendar_id=settings.calendar_id, key=change.previous_key))
    event = found.event
    if event is None or event.status == "cancelled":
        return None
    theirs = event.private_properties.get(BOOKING_PROPERTY) != _key(change)
    if theirs or event.event_id == resolved.get("keep"):
        return None
    CANCEL_EVENT(ctx, calendar.CancelEvent(**_deployment(settings), event_id=event.event_id))
    return event.event_id


def _end_chain(change: BookingChange, ctx: WorkContext, resolved: Mapping[str, Any]) -> dict[str, Any]:
    """A reschedule whose new booking is cancelled already: delete the replaced booking's event.

    The invitee is sent a cancellation only if they were sent an invitation for the replaced booking
    (its link was active): the cancel processed first knew nothing of that event to cancel.
    """
    settings: Settings = ctx.settings
    if resolved["gone"]:
        if _orphan_possible(change, resolved):
            ctx.step("calendar.delete", lambda: {"orphan": _drop_orphan(ctx, change, resolved)})
        return {"event_id": resolved["event_id"], "state": "cancelled before it was moved"}

    def remove() -> dict[str, Any]:
        _drop_orphan(ctx, change, resolved)
        which = _which(resolved, resolved["key"])
        cancelled = CANCEL_EVENT(ctx, calendar.CancelEvent(**_deployment(settings), **which))
        state = "deleted" if cancelled.deleted else "already gone"
        return {"event_id": cancelled.event_id, "ical_uid": cancelled.ical_uid, "state": state}

    removed = ctx.step("calendar.delete", remove)
    Links(ctx.rt).put(
        str(resolved["key"]),
        Link(resolved["event_id"], int(resolved["sequence"]), "cancelled", resolved.get("ical_uid")),
        ends=_end(change),
    )
    result = {"event_id": removed["event_id"], "state": f"cancelled before it was moved: {removed['state']}"}
    if not resolved["invited"]:
        return result
    emailed = ctx.step(
        "email.cancellation",
        lambda: _email(ctx, change, "cancellation", "CANCEL", _uid(resolved, removed), resolved["sequence"]),
    )
    return {**result, "email_message_id": emailed["message_id"]}


def _merge(change: BookingChange, ctx: WorkContext, resolved: Mapping[str, Any]) -> dict[str, Any]:
    """A reschedule processed after a later change of its new booking: only the replaced event goes."""
    settings: Settings = ctx.settings
    key, previous = _key(change), str(resolved["key"])
    keep = resolved.get("keep")

    def remove() -> dict[str, Any]:
        _drop_orphan(ctx, change, resolved)
        which = _which(resolved, previous)
        target = which.get("event_id") or google_calendar.event_id(which["key"])
        if keep and target == keep:  # the replaced booking's event is the one the new booking is on
            return {"event_id": target, "state": "kept"}
        cancelled = CANCEL_EVENT(ctx, calendar.CancelEvent(**_deployment(settings), **which))
        state = "deleted" if cancelled.deleted else "none"
        return {"event_id": cancelled.event_id, "ical_uid": cancelled.ical_uid, "state": state}

    removed = ctx.step("calendar.delete", remove)
    Links(ctx.rt).put(
        previous,
        Link(keep, int(resolved["sequence"]), "moved", None, moved_to=key),
        ends=_end(change),
    )
    result = {
        "event_id": keep,
        "state": f"newer change already on the calendar; replaced event {removed['state']}",
    }
    if not resolved.get("invited") or removed["state"] == "kept":
        return result
    # The invitee was invited to the replaced event: withdraw that invitation; the one for the
    # booking's current time went out with the change that made it.
    emailed = ctx.step(
        "email.replaced",
        lambda: _email(ctx, change, "replaced", "CANCEL", _uid(resolved, removed), int(resolved["sequence"])),
    )
    return {**result, "email_message_id": emailed["message_id"]}


def cancel(change: BookingChange, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    key, previous = _key(change), change.previous_key

    def resolve() -> dict[str, Any]:
        links = Links(ctx.rt)
        link = links.get(key)
        if link is not None and link.status == "moved" and not change.seat_only:
            # The booking lives on as the one that replaced it: a late cancel of the old one is not
            # the booking's end.
            return {"event_id": link.event_id, "key": key, "moved_to": link.moved_to}
        chain, chain_key = link, key
        if link is None and previous and not change.seat_only:
            # Not on the calendar under its own key yet: the event, if any, is the replaced booking's.
            chain, chain_key = links.get(previous), previous
        event_id = chain.event_id if chain else None
        sequence = (chain.sequence if chain else 0) + 1
        ical_uid = chain.ical_uid if chain else None
        if not change.seat_only:  # the tombstones: a late "created" or move of the chain creates nothing
            links.put(key, Link(event_id, sequence, "cancelled", ical_uid), ends=_end(change))
            if previous:
                old = links.get(previous) if chain_key != previous else chain
                if not _dead(old):
                    links.put(previous, Link(event_id, sequence, "cancelled", ical_uid), ends=_end(change))
        return {
            "event_id": event_id,
            "key": chain_key,
            "sequence": sequence,
            "ical_uid": ical_uid,
            # Whether the invitee was sent an invitation that this cancellation withdraws.
            "invited": chain is not None and chain.status in ("active", "moved"),
        }

    resolved = ctx.step("booking.resolve", resolve)
    if "moved_to" in resolved:
        return {"event_id": resolved["event_id"], "state": "moved on: the booking that replaced it stands"}

    def remove() -> dict[str, Any]:
        which = _which(resolved, key)
        if not change.seat_only:
            # Gone on a retry after an earlier attempt of this step: that attempt deleted it and its
            # answer was lost (a timeout) - the invitee's calendar still holds the invitation.
            from shared.http import current_work

            stamp = current_work.get()
            earlier = stamp.earlier_attempt() if stamp is not None else None
            cancelled = CANCEL_EVENT(ctx, calendar.CancelEvent(**_deployment(settings), **which))
            state = "deleted" if cancelled.deleted or earlier is not None else "already gone"
            return {"event_id": cancelled.event_id, "ical_uid": cancelled.ical_uid, "state": state}
        found = GET_EVENT(ctx, calendar.EventRef(calendar_id=settings.calendar_id, **which))
        existing = found.event
        if existing is None or existing.status == "cancelled" or not _has_attendee(existing, change.invitee):
            return {"event_id": found.event_id, "state": "not on the event"}
        guests = _attendees(existing, remove=change.invitee)
        SET_ATTENDEES(ctx, _set_attendees(settings, existing.event_id, guests))
        return {"event_id": existing.event_id, "ical_uid": existing.ical_uid, "state": "left"}

    removed = ctx.step("calendar.delete", remove)
    event_id = removed.get("event_id") or resolved["event_id"]
    # Results the first version of booking.resolve recorded carry no "invited": it always emailed.
    if not resolved.get("invited", True) and removed["state"] != "deleted":
        return {"event_id": event_id, "state": f"{removed['state']}; never on the invitee's calendar"}
    emailed = ctx.step(
        "email.cancellation",
        lambda: _email(ctx, change, "cancellation", "CANCEL", _uid(resolved, removed), resolved["sequence"]),
    )
    return {"event_id": event_id, "state": removed["state"], "email_message_id": emailed["message_id"]}


# --- the calendar event --------------------------------------------------------------------------------


def _key(change: BookingChange) -> str:
    if change.booking_key is None:  # BookingChange validates this; mypy cannot see it
        raise ValueError("booking change without a booking key")
    return change.booking_key


def _dead(link: Link | None) -> bool:
    return link is not None and link.status == "cancelled"


def _end(change: BookingChange) -> datetime:
    return change.end or datetime.now(UTC)


def _zone(name: str | None, fallback: str) -> str:
    for candidate in (name, fallback):
        if candidate:
            try:
                ZoneInfo(candidate)
                return candidate
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return "UTC"


def _deployment(settings: Settings) -> dict[str, Any]:
    """The calendar and whom it notifies: the deployment's settings."""
    return {"calendar_id": settings.calendar_id, "notify": settings.google_send_updates}


def _which(resolved: Mapping[str, Any], key: str) -> dict[str, str]:
    """The event a resolved booking is on: its linked id, else the key it was (or will be) made under.

    ``key`` is for results the first version of ``booking.resolve`` recorded: they always hold an id.
    """
    if resolved.get("event_id"):
        return {"event_id": resolved["event_id"]}
    return {"key": resolved.get("key") or key}


def _create_event(
    change: BookingChange, settings: Settings, resolved: Mapping[str, Any]
) -> calendar.CreateEvent:
    """The ``calendar.create_event`` input: under the resolved key, again under a linked event's id."""
    return calendar.CreateEvent(
        **_deployment(settings),
        key=resolved.get("key") or _key(change),
        event_id=resolved.get("event_id"),
        **_details(change, settings),
    )


def _details(change: BookingChange, settings: Settings) -> dict[str, Any]:
    """What the event says about a booking (``create_event`` and ``move_event`` take the same)."""
    zone = _zone(change.time_zone, settings.time_zone)
    who = (change.invitee.name or change.invitee.email) if change.invitee else ""
    lines = [f"Booked by {who} via {_PROVIDERS[change.provider]}."]
    if change.notes:
        lines += ["", change.notes]
    if change.reschedule_url or change.cancel_url:
        lines.append("")
    if change.reschedule_url:
        lines.append(f"Reschedule: {change.reschedule_url}")
    if change.cancel_url:
        lines.append(f"Cancel: {change.cancel_url}")
    return {
        "summary": f"{change.title} - {who}" if who and who not in change.title else change.title,
        "description": "\n".join(lines),
        "start": change.start or datetime.now(UTC),
        "end": change.end or datetime.now(UTC),
        "time_zone": zone,
        "attendees": [calendar.Guest(email=p.email, name=p.name) for p in change.attendees],
        "private_properties": {BOOKING_PROPERTY: _key(change), SOURCE_PROPERTY: change.provider},
        "location": change.location or None,
    }


def _set_attendees(settings: Settings, event_id: str, guests: list[calendar.Guest]) -> calendar.SetAttendees:
    return calendar.SetAttendees(**_deployment(settings), event_id=event_id, attendees=guests)


def _result(event: calendar.CalendarEvent, state: str) -> dict[str, Any]:
    return {"event_id": event.event_id, "ical_uid": event.ical_uid, "state": state}


def _has_attendee(event: calendar.CalendarEvent, person: Person | None) -> bool:
    wanted = (person.email if person else "").strip().lower()
    return any(a.email.strip().lower() == wanted for a in event.attendees)


def _attendees(
    event: calendar.CalendarEvent, *, add: Person | None = None, remove: Person | None = None
) -> list[calendar.Guest]:
    """The event's guests with one added or removed (``set_attendees`` drops repeated emails)."""
    people = [(a.email, a.name) for a in event.attendees]
    if remove is not None:
        people = [p for p in people if p[0].strip().lower() != remove.email.strip().lower()]
    if add is not None:
        people.append((add.email, add.name))
    return [calendar.Guest(email=email, name=name) for email, name in people]


# --- the email -----------------------------------------------------------------------------------------


def _email(
    ctx: WorkContext,
    change: BookingChange,
    template: str,
    method: ics.Method,
    uid: str,
    sequence: int,
) -> dict[str, str]:
    """Render and send one email with its .ics; the result is SES's message id only."""
    settings: Settings = ctx.settings
    invitee = change.invitee
    if invitee is None or change.start is None or change.end is None:
        raise ValueError("booking change without invitee or times")
    # DTSTAMP is when this revision was made: the queued event's time, the same on every retry.
    stamp = _parse_time(ctx.envelope.received_at)
    organizer = change.organizer
    calendar_event = ics.CalendarEvent(
        uid=uid,
        start=change.start,
        end=change.end,
        summary=change.title,
        stamp=stamp,
        sequence=sequence,
        description=_ics_description(change, settings),
        location=change.location,
        organizer=ics.Organizer(organizer.email, organizer.name or settings.business_name)
        if organizer
        else None,
        attendees=[
            ics.Attendee(p.email, p.name, partstat="ACCEPTED")
            for p in (change.attendees if not change.seat_only else (invitee,))
        ],
    )
    text = ics.to_ics(calendar_event, method=method)
    mail = TEMPLATES.email(template, _context(change, settings, invitee))
    reply_to = settings.reply_to or (organizer.email if organizer else None)
    message = email_actions.SendEmail(
        from_address=settings.from_address,
        to=[invitee.email],
        subject=mail.subject,
        html=mail.html,
        text=mail.text,
        reply_to=[reply_to] if reply_to else [],
        attachments=[
            email_actions.EmailAttachment(
                filename="cancel.ics" if method == "CANCEL" else "invite.ics",
                content_type=ics.content_type(method),
                text=text,
            )
        ],
    )
    return email_actions.SEND(ctx, message).model_dump(mode="json")


def _uid(*results: Mapping[str, Any]) -> str:
    """The UID the invitee's calendar knows the event by: the first one the steps' results name.

    Results the first version of these steps recorded may name only the event's id: that version
    wrote to Google Calendar alone, which gives an event it made the UID ``<id>@google.com``.
    """
    for result in results:
        if result.get("ical_uid"):
            return str(result["ical_uid"])
    event_id = next((r["event_id"] for r in results if r.get("event_id")), None)
    if event_id is None:  # a calendar that names no event a booking could have been invited to
        raise ValueError("the calendar named no event for this booking: no invitation to refer to")
    return f"{event_id}@google.com"


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ics_description(change: BookingChange, settings: Settings) -> str:
    parts = [f"{change.title} with {settings.business_name}"]
    if change.reschedule_url:
        parts.append(f"Reschedule: {change.reschedule_url}")
    if change.cancel_url:
        parts.append(f"Cancel: {change.cancel_url}")
    return "\n".join(parts)


def _context(change: BookingChange, settings: Settings, invitee: Person) -> dict[str, Any]:
    zone_name = _zone(invitee.time_zone, settings.time_zone)
    zone = ZoneInfo(zone_name)
    start = (change.start or datetime.now(UTC)).astimezone(zone)
    end = (change.end or datetime.now(UTC)).astimezone(zone)
    when = f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}-{end:%H:%M} ({zone_name})"
    return {
        "business_name": settings.business_name,
        "booking": {
            "title": change.title,
            "first_name": invitee.first_name,
            "when": when,
            "location": change.location,
            "reschedule_url": change.reschedule_url if _https(change.reschedule_url) else None,
            "cancel_url": change.cancel_url if _https(change.cancel_url) else None,
            "reason": change.reason,
            "provider": _PROVIDERS[change.provider],
        },
    }


def _https(url: str | None) -> bool:
    return bool(url) and str(url).startswith("https://") and not any(c in str(url) for c in '"<> ')
