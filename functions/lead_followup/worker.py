"""lead_followup's worker: offer a scored lead to its rep in Slack; book it in, or note "not now".

**offer** (``lead.scored``): below ``min_score`` (and ``every_lead`` off) nothing happens. Otherwise
the contact is read from HubSpot (name, company, owner - a read, not a step) and one step,
``slack.offer``, posts the offer to the owner's channel (``owner_channels``) or ``slack_channel``.

**book** ("Book them in"), each a ledger step so that a retry resumes where it failed:

1. ``calendar.book`` - the first free slot (``calendar.find_slots``: working hours, meeting length,
   buffer, notice, horizon, zone from settings); free/busy is asked again for that slot just before
   the create, and a slot taken meanwhile sends the search on past it (up to
   :data:`MAX_LOOKS` looks). The event is created with the lead as guest under the key
   ``lead_followup:<contact>:<message ts>`` (``calendar.create_event``): when an answer was lost,
   the retry finds the event made under the key - whatever slot it would pick now - and keeps it.
   No slot in the horizon is an outcome (``state: no_slot``), told to the rep, never a failure.
2. ``crm.meeting`` - ``crm.log_meeting`` on the contact under the same key (``SCHEDULED``);
3. ``email.confirmation`` - the lead gets the time and an ``invite.ics`` (``METHOD:REQUEST``, the
   calendar event's UID), ``email.send``;
4. ``slack.update`` - the offer becomes "Booked Tue 10:00 with <owner>" (``chat.update``, buttons
   gone; the same update twice is the same message).

**dismiss** ("Not now"): one step, ``slack.update``, and nothing else.

A contact gone from HubSpot, or without an email address, cannot be booked: the rep is told in the
message. Step results hold ids and times only (they are kept in the ledger and shown in traces).
Imported on the worker path only (``spec.worker``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from apps.google_calendar.actions import CREATE_EVENT, FIND_SLOTS, FREE_BUSY
from apps.hubspot.actions import GET_CONTACT, GET_OWNER, LOG_MEETING
from apps.slack.actions import POST_MESSAGE, UPDATE_MESSAGE
from shared import ics
from shared.actions import calendar, chat, crm
from shared.actions import email as email_actions
from shared.errors import TargetRejected
from shared.worker import WorkContext

from .models import FollowUp, Settings
from .slack_message import offer_message, outcome_message

#: How many times a slot taken between the search and the create sends the search on.
MAX_LOOKS: Final = 5
_PROPERTIES: Final = ("email", "firstname", "lastname", "company", "hubspot_owner_id")


def process(item: FollowUp, ctx: WorkContext) -> dict[str, Any]:
    if item.action == "offer":
        return offer(item, ctx)
    if item.action == "dismiss":
        return dismiss(item, ctx)
    return book(item, ctx)


# --- offer -------------------------------------------------------------------------------------


def offer(item: FollowUp, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    score = item.score or 0
    if score < settings.min_score and not settings.every_lead:
        return {"offered": False, "score": score, "reason": f"below min_score {settings.min_score}"}
    props = _contact(ctx, item.contact_id) or {}
    channel = settings.owner_channels.get(props.get("hubspot_owner_id") or "", settings.slack_channel)
    text, blocks = offer_message(
        name=_name(props) or f"HubSpot contact {item.contact_id}",
        company=props.get("company") or None,
        score=score,
        reason=item.reason,
        crm_url=item.crm_url,
        contact_id=item.contact_id,
    )
    posted = ctx.step(
        "slack.offer",
        lambda: POST_MESSAGE(ctx, chat.PostMessage(channel=channel, text=text, blocks=blocks)).model_dump(
            mode="json"
        ),
    )
    return {"offered": True, "score": score, "channel": posted["channel"], "ts": posted["ts"]}


# --- not now -----------------------------------------------------------------------------------


def dismiss(item: FollowUp, ctx: WorkContext) -> dict[str, Any]:
    who = f"<@{item.user_id}>" if item.user_id else "the rep"
    _update(ctx, item, "Not now", f"{who} chose not to book this lead in for now.")
    return {"dismissed": True, "contact_id": item.contact_id}


# --- book them in ------------------------------------------------------------------------------


def key_of(item: FollowUp) -> str:
    """The calendar and CRM key of the meeting: one per offer of one lead."""
    return f"lead_followup:{item.contact_id}:{item.message_ts}"


def book(item: FollowUp, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    props = _contact(ctx, item.contact_id)
    if props is None:
        _update(ctx, item, "Not booked", f"HubSpot contact {item.contact_id} no longer exists.")
        return {"booked": False, "reason": "contact not found"}
    address = props.get("email")
    if not address:
        _update(ctx, item, "Not booked", "The contact has no email address to invite.")
        return {"booked": False, "reason": "no email address"}
    name = _name(props)
    owner_id = props.get("hubspot_owner_id") or None
    owner = _owner(ctx, owner_id)
    key = key_of(item)

    booked = ctx.step("calendar.book", lambda: _book_slot(ctx, settings, key, address, name))
    if booked["state"] == "no_slot":
        _update(
            ctx,
            item,
            "No free slot",
            f"No free {settings.meeting_minutes}-minute slot in the next {settings.horizon_days} days: "
            "book this lead in by hand.",
        )
        return {"booked": False, "reason": "no free slot"}
    start = datetime.fromisoformat(booked["start"])
    end = datetime.fromisoformat(booked["end"])
    title = f"{settings.meeting_title} with {settings.business_name}"

    ctx.step(
        "crm.meeting",
        lambda: LOG_MEETING(
            ctx,
            crm.LogMeeting(
                key=key,
                contact_id=item.contact_id,
                title=title,
                start=start,
                end=end,
                outcome="SCHEDULED",
                owner_id=owner_id if owner else None,
            ),
        ).model_dump(mode="json"),
    )
    emailed = ctx.step(
        "email.confirmation",
        lambda: _confirm(ctx, settings, booked, address, name, owner, title),
    )
    local = start.astimezone(ZoneInfo(settings.time_zone))
    with_whom = owner["name"] if owner else settings.business_name
    _update(
        ctx,
        item,
        f"Booked {local:%a} {local:%H:%M} with {with_whom}",
        f"{name or address}: {local:%A} {local.day} {local:%B}, {local:%H:%M} ({settings.time_zone}). "
        "Invitation emailed; meeting logged in HubSpot.",
    )
    return {
        "booked": True,
        "event_id": booked["event_id"],
        "state": booked["state"],
        "start": booked["start"],
        "email_message_id": emailed["message_id"],
    }


def _book_slot(
    ctx: WorkContext, settings: Settings, key: str, address: str, name: str | None
) -> dict[str, Any]:
    """Find the first free slot, check it is still free, create the event under ``key``."""
    after: datetime | None = None
    for _ in range(MAX_LOOKS):
        found = FIND_SLOTS(
            ctx,
            calendar.FindSlots(
                calendar_id=settings.calendar_id,
                time_zone=settings.time_zone,
                duration_minutes=settings.meeting_minutes,
                working_hours=list(settings.working_hours),
                buffer_minutes=settings.buffer_minutes,
                notice_minutes=settings.notice_minutes,
                horizon_days=settings.horizon_days,
                count=1,
                after=after,
            ),
        )
        if not found.slots:
            return {"state": "no_slot"}
        slot = found.slots[0]
        # Asked for the slot itself: the search applied the buffer; this only catches a meeting
        # booked into the slot since the search (the calendar itself would accept a double booking).
        busy = FREE_BUSY(
            ctx, calendar.FreeBusyQuery(calendar_id=settings.calendar_id, start=slot.start, end=slot.end)
        ).busy
        made = None
        if not busy:
            made = CREATE_EVENT(
                ctx,
                calendar.CreateEvent(
                    calendar_id=settings.calendar_id,
                    notify=settings.google_send_updates,
                    key=key,
                    summary=f"{settings.meeting_title} with {settings.business_name}",
                    start=slot.start,
                    end=slot.end,
                    time_zone=settings.time_zone,
                    attendees=[calendar.Guest(email=address, name=name)],
                    private_properties={"switchboardFollowup": key},
                ),
            )
        else:
            # Busy with this very meeting? An earlier attempt made it and its answer was lost.
            made = _made_under(ctx, settings, key)
        if made is None:
            ctx.logger.info(
                "slot taken since the search; looking again", extra={"slot": slot.start.isoformat()}
            )
            after = max([p.end for p in busy] + [slot.start + timedelta(minutes=1)])
            continue
        event = made.event
        if event.status == "cancelled":
            return {"state": "no_slot"}
        return {
            "state": "created" if made.created else "exists",
            "event_id": event.event_id,
            "ical_uid": event.ical_uid,
            "start": (event.start or slot.start).astimezone(UTC).isoformat(),
            "end": (event.end or slot.end).astimezone(UTC).isoformat(),
        }
    return {"state": "no_slot"}


def _made_under(ctx: WorkContext, settings: Settings, key: str) -> calendar.CreatedEvent | None:
    """The event an earlier attempt made under ``key``, if there is a live one."""
    from apps.google_calendar.actions import GET_EVENT

    found = GET_EVENT(ctx, calendar.EventRef(calendar_id=settings.calendar_id, key=key))
    if not found.found or found.event is None or found.event.status == "cancelled":
        return None
    return calendar.CreatedEvent(created=False, event=found.event)


def _confirm(
    ctx: WorkContext,
    settings: Settings,
    booked: dict[str, Any],
    address: str,
    name: str | None,
    owner: dict[str, str] | None,
    title: str,
) -> dict[str, Any]:
    start = datetime.fromisoformat(booked["start"])
    end = datetime.fromisoformat(booked["end"])
    uid = booked.get("ical_uid") or f"{booked['event_id']}@google.com"
    organizer = ics.Organizer(owner["email"], owner["name"]) if owner and owner.get("email") else None
    invite = ics.to_ics(
        ics.CalendarEvent(
            uid=uid,
            start=start,
            end=end,
            summary=title,
            stamp=_received(ctx),
            description=f"{title}. Reply to this email to change the time.",
            organizer=organizer,
            attendees=[ics.Attendee(address, name, partstat="NEEDS-ACTION", rsvp=True)],
        ),
        method="REQUEST",
    )
    local = start.astimezone(ZoneInfo(settings.time_zone))
    when = f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} ({settings.time_zone})"
    greeting = f"Hello {name}," if name else "Hello,"
    body = (
        f"{greeting}\n\nThank you for getting in touch with {settings.business_name}. We have booked "
        f"a {settings.meeting_minutes}-minute call with you on {when}"
        f"{' with ' + owner['name'] if owner else ''}.\n\nThe invitation is attached; if the time does not "
        f"suit you, just reply to this email.\n\n{settings.business_name}\n"
    )
    message = email_actions.SendEmail(
        from_address=settings.from_address,
        to=[address],
        subject=f"{settings.meeting_title} with {settings.business_name}: {local:%a} {local.day} {local:%b}, {local:%H:%M}",
        text=body,
        reply_to=[owner["email"]] if owner and owner.get("email") else [],
        attachments=[
            email_actions.EmailAttachment(
                filename="invite.ics", content_type=ics.content_type("REQUEST"), text=invite
            )
        ],
    )
    return email_actions.SEND(ctx, message).model_dump(mode="json")


# --- shared pieces -----------------------------------------------------------------------------


def _update(ctx: WorkContext, item: FollowUp, headline: str, detail: str) -> dict[str, Any]:
    """Replace the offer with its outcome (``slack.update``)."""
    if not item.channel or not item.message_ts:
        raise ValueError("a click without the message's channel and ts")
    channel, ts = item.channel, item.message_ts
    text, blocks = outcome_message(headline, detail)

    def update() -> dict[str, Any]:
        change = chat.UpdateMessage(channel=channel, ts=ts, text=text, blocks=blocks)
        try:
            return UPDATE_MESSAGE(ctx, change).model_dump(mode="json")
        except TargetRejected as exc:
            if "message_not_found" not in str(exc):
                raise
        # The offer was deleted since the click: the rep still hears what became of it.
        ctx.logger.info("offer message gone; posting the outcome instead", extra={"channel": channel})
        posted = POST_MESSAGE(ctx, chat.PostMessage(channel=channel, text=text, blocks=blocks))
        return {**posted.model_dump(mode="json"), "reposted": True}

    result: dict[str, Any] = ctx.step("slack.update", update)
    return result


def _contact(ctx: WorkContext, contact_id: str) -> dict[str, str | None] | None:
    """The contact's properties, or ``None`` when HubSpot has no such contact (any more)."""
    try:
        found = GET_CONTACT(ctx, crm.GetContact(contact_id=contact_id, properties=list(_PROPERTIES)))
    except TargetRejected as exc:
        if exc.status == 404:
            return None
        raise
    return dict(found.properties) if found.found else None


def _owner(ctx: WorkContext, owner_id: str | None) -> dict[str, str] | None:
    if not owner_id:
        return None
    found = GET_OWNER(ctx, crm.GetOwner(owner_id=owner_id))
    if not found.found or found.owner is None:
        return None
    o = found.owner
    name = " ".join(p for p in (o.first_name, o.last_name) if p) or o.email or owner_id
    return {"name": name, "email": o.email or ""}


def _name(props: dict[str, str | None]) -> str | None:
    full = " ".join(p.strip() for p in (props.get("firstname"), props.get("lastname")) if p and p.strip())
    return full or None


def _received(ctx: WorkContext) -> datetime:
    """DTSTAMP: when the click was queued - the same on every retry of the email."""
    try:
        parsed = datetime.fromisoformat(ctx.envelope.received_at.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
