"""booking_to_calendar: an online booking lands in the business's Google Calendar, with a confirmation.

Two ways in, one per booking tool:

* Calendly (``POST /hooks/booking_to_calendar/calendly``, ``Calendly-Webhook-Signature``):
  ``invitee.created`` and ``invitee.canceled``;
* Cal.com (``POST /hooks/booking_to_calendar/calcom``, ``X-Cal-Signature-256``):
  ``BOOKING_CREATED``, ``BOOKING_RESCHEDULED`` and ``BOOKING_CANCELLED``.

The event id (idempotency key) of each work item is the provider's webhook, named by what the
provider re-sends unchanged: ``calendly:<event>:<invitee uuid>`` and ``calcom:<triggerEvent>:<uid>``.
A redelivery is therefore a duplicate (nothing happens twice), while a reschedule and a cancel of the
same booking are distinct work items: Calendly's reschedule is a *new* invitee (new uuid) and
Cal.com's a *new* booking (new uid), and a cancel carries another event name.

The *booking* key (``calendly:<scheduled event uuid>``, ``calcom:<uid>``) names the calendar event:
the Google event id is derived from it (:func:`apps.google_calendar.event_id`), so a retried
insert can never create a second event.

Calendly reports a reschedule twice - ``invitee.canceled`` (``rescheduled: true``) for the old
invitee and ``invitee.created`` (``old_invitee``) for the new one. The created one is the move; the
canceled one is ignored (for one-on-one events), so the move is never a delete + create. In a group
event (several seats) an invitee's reschedule is them leaving one event and joining another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from apps import calcom, calendly, google_calendar
from shared.events import derived_id
from shared.spec import Accepted, EmailSender, IntegrationSpec, RetryPolicy, WebhookTrigger
from shared.webhooks.base import WebhookRequest

from .models import BookingChange, CalcomWebhook, CalendlyWebhook, Person, Settings

#: Webhooks of other kinds (no-shows, routing forms, payments ...) are accepted and ignored.
IGNORED = "ignored"


def _body_hash(request: WebhookRequest) -> str:
    return hashlib.sha256(request.body).hexdigest()[:32]


# --- Calendly -----------------------------------------------------------------------------------------


def accept_calendly(hook: CalendlyWebhook, request: WebhookRequest) -> Sequence[Accepted]:
    invitee = hook.payload
    if invitee is None:
        return [_ignore("calendly", f"{hook.event}:{_body_hash(request)}", hook.event)]
    event = invitee.scheduled_event
    event_id = derived_id("calendly", f"{hook.event}:{invitee.uuid}")
    key = f"calendly:{event.uuid}"
    if hook.event == calendly.INVITEE_CANCELED and invitee.rescheduled and not event.is_group:
        reason = "rescheduled: the new invitee's invitee.created moves the calendar event"
        return [_ignore("calendly", f"{hook.event}:{invitee.uuid}", hook.event, reason)]

    guests = tuple(Person(email=g.email) for g in event.event_guests)
    host = event.event_memberships[0] if event.event_memberships else None
    person = Person(email=invitee.email, name=invitee.name, time_zone=invitee.timezone)
    answers = "\n".join(f"{qa.question}: {qa.answer}" for qa in invitee.questions_and_answers if qa.answer)
    action = "cancel" if hook.event == calendly.INVITEE_CANCELED else "create"
    previous: str | None = None
    if invitee.old_invitee and not event.is_group:
        # The booking this invitee's replaced: a created one moves its event; a canceled one (the
        # invitee resource keeps ``old_invitee``) ends the whole chain, also if processed first.
        old_event = calendly.event_uuid_of_invitee(invitee.old_invitee)
        if old_event and f"calendly:{old_event}" != key:
            previous = f"calendly:{old_event}"
            if action == "create":
                action = "reschedule"
    change = BookingChange(
        action=action,
        provider="calendly",
        booking_key=key,
        previous_key=previous,
        title=(event.name or "Booking")[:500],
        start=event.start_time,
        end=event.end_time,
        location=event.location.text() if event.location else None,
        notes=answers[:8000] or None,
        organizer=Person(email=host.user_email, name=host.user_name) if host and host.user_email else None,
        invitee=person,
        attendees=(person, *guests) if not event.is_group else (person,),
        # A group event stays on the calendar while other invitees remain: only this seat changes.
        seat_only=event.is_group and event.status == "active",
        cancel_url=invitee.cancel_url,
        reschedule_url=invitee.reschedule_url,
        reason=invitee.cancellation.reason if invitee.cancellation else None,
    )
    return [Accepted(event_id=event_id, type=hook.event, data=change)]


# --- Cal.com ------------------------------------------------------------------------------------------


def accept_calcom(hook: CalcomWebhook, request: WebhookRequest) -> Sequence[Accepted]:
    booking = hook.payload
    trigger = hook.trigger_event
    if booking is None:
        return [_ignore("calcom", f"{trigger}:{_body_hash(request)}", trigger)]
    seated = booking.seats_per_time_slot is not None
    attendees = tuple(Person(email=a.email, name=a.name, time_zone=a.time_zone) for a in booking.attendees)
    # A seat is its own work item: the uid is shared by every seat of a seated booking.
    seat = (
        f":{hashlib.sha256(attendees[0].email.lower().encode()).hexdigest()[:12]}"
        if seated and attendees
        else ""
    )
    event_id = derived_id("calcom", f"{trigger}:{booking.uid}{seat}")
    if not attendees:
        return [_ignore("calcom", f"{trigger}:{booking.uid}", trigger, "booking without attendees")]
    action = {
        calcom.BOOKING_CREATED: "create",
        calcom.BOOKING_RESCHEDULED: "reschedule",
        calcom.BOOKING_CANCELLED: "cancel",
    }[trigger]
    previous = booking.reschedule_uid if not seated and booking.reschedule_uid != booking.uid else None
    if action == "reschedule" and previous is None:
        action = "create"  # nothing to move (or a seat joining a new time): create / join
    location = booking.location
    if location and location.startswith("integrations:"):
        location = booking.video_url  # "integrations:daily" names an app, not a place
    notes = booking.additional_notes or booking.description
    change = BookingChange(
        action=action,
        provider="calcom",
        booking_key=f"calcom:{booking.uid}",
        # A cancel of a rescheduled booking names the booking it replaced too (when the payload
        # carries rescheduleUid / fromReschedule): the whole chain ends, whichever order they arrive.
        previous_key=f"calcom:{previous}" if previous and action != "create" else None,
        title=(booking.title or "Booking")[:500],
        start=booking.start_time,
        end=booking.end_time,
        location=location,
        notes=notes[:8000] if notes else None,
        organizer=Person(email=booking.organizer.email, name=booking.organizer.name),
        invitee=attendees[0],
        attendees=attendees,
        seat_only=seated,
        time_zone=booking.organizer.time_zone,
        reason=booking.cancellation_reason,
    )
    return [Accepted(event_id=event_id, type=trigger, data=change)]


def _ignore(
    provider: Literal["calendly", "calcom"], key: str, kind: str, reason: str | None = None
) -> Accepted:
    """A webhook that needs no work, queued anyway so that it shows in traces as handled."""
    return Accepted(
        event_id=derived_id(provider, key),
        type=kind,
        data=BookingChange(
            action="ignore", provider=provider, reason=reason or f"{kind} needs no calendar change"
        ),
    )


SPEC = IntegrationSpec(
    name="booking_to_calendar",
    description="Calendly / Cal.com booking -> Google Calendar event (created, moved, deleted) + email with .ics",
    input_model=BookingChange,
    settings=Settings,
    worker="functions.booking_to_calendar.worker:process",
    triggers=(
        WebhookTrigger(
            name="calendly",
            path="/hooks/booking_to_calendar/calendly",
            verifier=calendly.VERIFIER,
            secret=calendly.SIGNING,
            model=CalendlyWebhook,
            accept=accept_calendly,
            description="Calendly webhook subscription v2: invitee.created, invitee.canceled",
            events=(calendly.INVITEE_CREATED, calendly.INVITEE_CANCELED),
            registration=calendly.CONNECTION,
        ),
        WebhookTrigger(
            name="calcom",
            path="/hooks/booking_to_calendar/calcom",
            verifier=calcom.VERIFIER,
            secret=calcom.SIGNING,
            model=CalcomWebhook,
            accept=accept_calcom,
            description="Cal.com webhook: BOOKING_CREATED, BOOKING_RESCHEDULED, BOOKING_CANCELLED",
            events=calcom.BOOKING_EVENTS,
            registration=calcom.CONNECTION,
        ),
    ),
    connections=(google_calendar.CONNECTION,),
    email=EmailSender(from_setting="from_address"),
    timeout_s=30,
    memory_mb=256,
    batch_size=10,
    # One record at a time per invocation: the changes of one booking (created, then moved a minute
    # later) should reach the calendar in the order they were queued whenever SQS keeps that order;
    # bookings are a handful a day, so this costs nothing.
    max_concurrency=1,
    max_invocations=2,
    # A Google or SES outage of up to ~20 minutes is ridden out (10 s doubling, 8 tries in all).
    retry=RetryPolicy(max_attempts=8, base_delay_s=10, max_delay_s=900),
)
