"""booking_to_calendar under the chaos harness: Calendly and Cal.com bookings -> Google Calendar +
confirmation email.

Half the bookings are new, a quarter reschedules and a quarter cancels (fixed by the seed). A new or
moved booking must leave one live calendar event at the booked times and one email; a cancel, its
event deleted and one email. The calendar side is counted by the Google observer
(``apps/google_calendar/chaos.py``) against what :func:`booking_of` tells it to expect; the emails
by :func:`mail_seen`.

Under ``--reorder`` (``SEQUENCES``), one booking is changed several times - created, moved once or
twice, maybe cancelled (Calendly: a move is ``invitee.canceled`` with ``rescheduled: true`` plus
``invitee.created`` naming the ``old_invitee``, which the invitee keeps on its later webhooks;
Cal.com: ``BOOKING_RESCHEDULED`` with a new uid naming the ``rescheduleUid``, and a cancel of a moved
booking naming it as ``fromReschedule``) - and the changes arrive shuffled and duplicated. Judged by the final
state only (:func:`apps.google_calendar.chaos.expect_booking`): one live event at the latest times,
or none if the latest version is a cancel. Their invitees are at another domain than
:data:`BOOKING_DOMAIN` and their names carry no event key, so their emails and calendar titles are
not counted by the one-change observers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.google_calendar.chaos import (
    ExpectedBooking,
    ExpectedEvent,
    expect_booking,
    expect_event,
    organizer_only_delete,
)
from infra.ops.chaos.config import POISON_MARK
from infra.ops.chaos.generate import ALNUM, compact, rng, sample, token, uuid4
from infra.ops.chaos.mail import sent_mail
from infra.ops.chaos.protocol import EffectKey, EventFactory, Outgoing, Planned, event_keys
from infra.ops.chaos.state import ChaosRun

__all__ = ["FACTORIES", "OBSERVERS", "SEQUENCES"]

#: Invitees of the run get addresses at this domain: the mail observer tells booking emails by it.
BOOKING_DOMAIN = "chaos-bookings.example"
#: Invitees of booking sequences (``--reorder``): their emails are not counted by :func:`mail_seen`.
SEQUENCE_DOMAIN = "chaos-sequences.example"
#: Where the run's bookings start (one slot of 30 minutes per event index, from here on).
_FIRST_SLOT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
_CALENDLY_API = "https://api.calendly.com"
_BOOKINGS = "booking_to_calendar.bookings"
#: Booking emails by the start of their subject (the templates of booking_to_calendar).
_MAILS: dict[str, str] = {
    "Confirmed": "confirmation",
    "New time": "rescheduled",
    "Cancelled": "cancellation",
}


def _booking_kind(p: Planned) -> str:
    """``create`` (half), ``reschedule`` or ``cancel`` (a quarter each), fixed by the seed."""
    draw = rng(p, "booking-kind").random()
    return "create" if draw < 0.5 else "reschedule" if draw < 0.75 else "cancel"


@dataclass(frozen=True)
class _Booking:
    """One booking_to_calendar event: the webhook, the calendar event it acts on and its times."""

    event_id: str
    body: bytes
    kind: str
    #: The Google event id the change must land on (derived from the booking that created it).
    google_id: str
    #: The booking key the calendar event was made for (the replaced one, for a reschedule).
    booking_key: str
    provider: str
    start: datetime
    end: datetime
    #: Where the calendar event was before the run (reschedule, cancel); ``None`` for a create.
    before: tuple[datetime, datetime] | None
    title: str
    email: str


def _slot(p: Planned) -> tuple[datetime, datetime]:
    start = _FIRST_SLOT + timedelta(days=p.seed % 7, minutes=30 * p.index)
    return start, start + timedelta(minutes=30)


def _guest(p: Planned) -> tuple[str, str]:
    """The invitee's name and email; the poison mark in the name makes Google refuse the event."""
    name = f"{POISON_MARK} {p.key}" if p.poison else f"Chaos Guest {p.key}"
    return name, f"guest-{p.key.lower()}@{BOOKING_DOMAIN}"


def _calendly_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _calendly_booking(run: ChaosRun, p: Planned) -> _Booking:
    """``invitee.created`` (new, or the second half of a reschedule) or ``invitee.canceled``."""
    from apps import google_calendar
    from shared.events import derived_id

    kind = _booking_kind(p)
    draw = rng(p, "calendly")
    start, end = _slot(p)
    name, email = _guest(p)
    template = {
        "create": "calendly_1_invitee_created",
        "reschedule": "calendly_2_reschedule_b_invitee_created",
        "cancel": "calendly_3_invitee_canceled",
    }[kind]
    body = sample("booking_to_calendar", template)
    event_uuid, invitee_uuid = uuid4(p, "calendly-event"), uuid4(p, "calendly-invitee")
    event_uri = f"{_CALENDLY_API}/scheduled_events/{event_uuid}"
    invitee_uri = f"{event_uri}/invitees/{invitee_uuid}"
    booking_key = f"calendly:{event_uuid}"
    before: tuple[datetime, datetime] | None = None
    payload, event = body["payload"], body["payload"]["scheduled_event"]
    first, _, last = name.rpartition(" ")
    booked_at = _calendly_time(datetime.fromtimestamp(run.t0 - 600, UTC))
    payload |= {
        "uri": invitee_uri,
        "event": event_uri,
        "name": name,
        "first_name": first,
        "last_name": last,
        "email": email,
        "timezone": draw.choice(("Europe/London", "Europe/Warsaw", "America/New_York")),
        "cancel_url": f"https://calendly.com/cancellations/{invitee_uuid}",
        "reschedule_url": f"https://calendly.com/reschedulings/{invitee_uuid}",
        "created_at": booked_at,
        "updated_at": booked_at,
        "questions_and_answers": [
            {"question": "What are we celebrating?", "answer": f"Chaos booking {p.key}", "position": 0}
        ],
    }
    event |= {
        "uri": event_uri,
        "start_time": _calendly_time(start),
        "end_time": _calendly_time(end),
        "created_at": booked_at,
        "updated_at": booked_at,
    }
    if kind == "reschedule":
        old_event = uuid4(p, "calendly-old-event")
        payload["old_invitee"] = (
            f"{_CALENDLY_API}/scheduled_events/{old_event}/invitees/{uuid4(p, 'calendly-old')}"
        )
        booking_key = f"calendly:{old_event}"
        before = (start - timedelta(days=2), end - timedelta(days=2))
    elif kind == "cancel":
        before = (start, end)
        # The sample cancels a booking that was itself a reschedule; this one was booked directly
        # (prepared on the calendar), so it replaced no invitee.
        payload["old_invitee"] = None
        payload["cancellation"] = {
            "canceled_by": name,
            "reason": f"Chaos cancel {p.key}",
            "canceler_type": "invitee",
            "created_at": _calendly_time(datetime.fromtimestamp(run.t0 - 60, UTC)),
        }
    body["created_at"] = _calendly_time(datetime.fromtimestamp(run.t0, UTC))
    return _Booking(
        event_id=derived_id("calendly", f"{body['event']}:{invitee_uuid}"),
        body=compact(body),
        kind=kind,
        google_id=google_calendar.event_id(booking_key),
        booking_key=booking_key,
        provider="calendly",
        start=start,
        end=end,
        before=before,
        title=str(event["name"]),
        email=email,
    )


def _calcom_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _calcom_booking(run: ChaosRun, p: Planned) -> _Booking:
    """``BOOKING_CREATED``, ``BOOKING_RESCHEDULED`` (a new uid, ``rescheduleUid``) or ``BOOKING_CANCELLED``."""
    from apps import google_calendar
    from shared.events import derived_id

    kind = _booking_kind(p)
    start, end = _slot(p)
    name, email = _guest(p)
    template = {
        "create": "calcom_1_booking_created",
        "reschedule": "calcom_3_booking_rescheduled",
        "cancel": "calcom_4_booking_cancelled",
    }[kind]
    body = sample("booking_to_calendar", template)
    payload = body["payload"]
    uid = token(p, "calcom-uid", 22, ALNUM)
    booking_key = f"calcom:{uid}"
    before: tuple[datetime, datetime] | None = None
    first, _, last = name.rpartition(" ")
    attendee = {
        "email": email,
        "name": name,
        "firstName": first,
        "lastName": last,
        "timeZone": "Europe/London",
        "language": {"locale": "en"},
        "utcOffset": 0,
    }
    title = f"Wedding cake tasting between Rosa Bramble and {name}"
    payload |= {
        "title": title,
        "startTime": _calcom_time(start),
        "endTime": _calcom_time(end),
        "attendees": [attendee],
        "uid": uid,
        "iCalUID": f"{uid}@Cal.com",
        "bookingId": 5_000_000 + p.index,
        "additionalNotes": f"Chaos booking {p.key}",
        "description": f"Chaos booking {p.key}",
    }
    payload["responses"]["name"]["value"] = name
    payload["responses"]["email"]["value"] = email
    payload["responses"]["guests"]["value"] = []
    payload["responses"]["notes"]["value"] = f"Chaos booking {p.key}"
    if kind == "reschedule":
        previous = token(p, "calcom-previous", 22, ALNUM)
        before = (start - timedelta(days=2), end - timedelta(days=2))
        payload |= {
            "rescheduleUid": previous,
            "rescheduleId": 4_000_000 + p.index,
            "rescheduleStartTime": _calcom_time(before[0]),
            "rescheduleEndTime": _calcom_time(before[1]),
        }
        booking_key = f"calcom:{previous}"
    elif kind == "cancel":
        before = (start, end)
        payload["cancellationReason"] = f"Chaos cancel {p.key}"
    body["createdAt"] = (
        datetime.fromtimestamp(run.t0, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    return _Booking(
        event_id=derived_id("calcom", f"{body['triggerEvent']}:{uid}"),
        body=compact(body),
        kind=kind,
        google_id=google_calendar.event_id(booking_key),
        booking_key=booking_key,
        provider="calcom",
        start=start,
        end=end,
        before=before,
        title=title,
        email=email,
    )


_BUILDERS: dict[str, Callable[[ChaosRun, Planned], _Booking]] = {
    "calendly": _calendly_booking,
    "calcom": _calcom_booking,
}


def booking_of(run: ChaosRun, p: Planned) -> _Booking:
    """``p``'s booking, built once; the Google observer is told where its calendar event must end up."""
    found: _Booking | None = run.memory(_BOOKINGS).get(p.index)
    if found is not None:
        return found
    booking = run.remember(_BOOKINGS, p.index, lambda: _BUILDERS[p.factory.trigger](run, p))
    expect_event(
        run, ExpectedEvent(p.key, booking.google_id, booking.kind == "cancel", booking.start, booking.end)
    )
    return booking


def booking_event(run: ChaosRun, p: Planned) -> Outgoing:
    booking = booking_of(run, p)
    return Outgoing(booking.event_id, booking.body)


def effects(p: Planned) -> Sequence[EffectKey]:
    kind = _booking_kind(p)
    if kind == "cancel":
        return [("gcal.deleted", p.key), ("ses.booking.cancellation", p.key)]
    email = "ses.booking.rescheduled" if kind == "reschedule" else "ses.booking.confirmation"
    return [("gcal.event", p.key), ("gcal.at_time", p.key), (email, p.key)]


def _google_headers(run: ChaosRun, base: str) -> dict[str, str]:
    """A bearer token of the Google sandbox, got as the connection would (its refresh token)."""
    app = "google_calendar"
    form = {
        "grant_type": "refresh_token",
        "client_id": f"sandbox-{app}-client_id",
        "client_secret": f"sandbox-{app}-client_secret",
        "refresh_token": f"sandbox-{app}-refresh_token",
    }
    answer = run.http.post(f"{base}/token", data=form)
    if answer.status_code != 200:
        raise RuntimeError(
            f"could not get a Google token for the set-up: {answer.status_code} {answer.text[:200]}"
        )
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


def prepare_bookings(run: ChaosRun, planned: Sequence[Planned]) -> None:
    """Bookings made before the run: on the calendar already, so that a reschedule or cancel has one.

    Each is inserted through the Google Calendar sandbox's API under the id the integration derives
    from the booking (as its earlier create would have), titled without the event key so that it
    counts as set-up, not as an effect. A poison cancel's event cannot be deleted: Google answers
    ``403 forbiddenForNonOrganizer`` for it (a path fault, kept when the other faults are cleared).
    """
    bookings = [booking_of(run, p) for p in planned]
    earlier = [(p, b) for p, b in zip(planned, bookings, strict=True) if b.before is not None]
    if not earlier:
        return
    base = f"{run.runtime.url}/_sandbox/google_calendar"
    headers = _google_headers(run, base)
    for p, b in earlier:
        assert b.before is not None  # filtered above; for mypy
        event: dict[str, Any] = {
            "id": b.google_id,
            "summary": f"{b.title.split(' between ')[0]} - booked before the chaos run",
            "start": {"dateTime": b.before[0].isoformat(), "timeZone": "Europe/London"},
            "end": {"dateTime": b.before[1].isoformat(), "timeZone": "Europe/London"},
            "attendees": [{"email": b.email}],
            "extendedProperties": {
                "private": {"switchboardBooking": b.booking_key, "switchboardSource": b.provider}
            },
        }
        made = run.http.post(
            f"{base}/calendar/v3/calendars/primary/events",
            params={"sendUpdates": "none"},
            json=event,
            headers=headers,
        )
        if made.status_code != 200:
            raise RuntimeError(
                f"could not put {p.key}'s earlier booking on the calendar: {made.status_code} {made.text[:200]}"
            )
        if p.poison and b.kind == "cancel":
            run.add_poison_fault("google_calendar", organizer_only_delete(b.google_id))


def mail_seen(run: ChaosRun) -> Counter[EffectKey]:
    """``ses.booking.<kind>`` per email to an invitee of the run, the kind by the subject's start."""
    seen: Counter[EffectKey] = Counter()
    for mail in sent_mail(run):
        if BOOKING_DOMAIN in mail.to:
            kind = _MAILS.get(mail.subject.split(":", 1)[0].strip(), "other")
            seen.update((f"ses.booking.{kind}", k) for k in event_keys(mail.to)[:1])
    return seen


# --- sequences (--reorder) --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Story:
    """One booking's changes: how often it is moved, whether it ends cancelled."""

    moves: int
    cancelled: bool

    def start(self, p: Planned, version: int) -> datetime:
        """The start of booking ``version`` (0: as created; each move a day later, at another hour)."""
        first, _ = _slot(p)
        return first + timedelta(days=30 + version, hours=version)


def _story(p: Planned) -> _Story:
    draw = rng(p, "booking-story")
    moves = draw.choice((0, 1, 1, 2))
    cancelled = draw.random() < 0.4 or moves == 0
    return _Story(moves, cancelled)


def _calendly_changes(p: Planned) -> int:
    story = _story(p)
    return 1 + 2 * story.moves + int(story.cancelled)


def _calcom_changes(p: Planned) -> int:
    story = _story(p)
    return 1 + story.moves + int(story.cancelled)


def _sequence_guest(p: Planned) -> tuple[str, str]:
    """Name and address of a sequence's invitee: no event key in either."""
    return f"Seq Guest {p.seed}x{p.index}", f"seq-{p.seed}x{p.index}@{SEQUENCE_DOMAIN}"


def _expect_final(run: ChaosRun, p: Planned) -> None:
    story = _story(p)
    start = story.start(p, story.moves)
    expect_booking(
        run,
        ExpectedBooking(p.key, _sequence_guest(p)[1], story.cancelled, start, start + timedelta(minutes=30)),
    )


def _calendly_change(run: ChaosRun, p: Planned, n: int) -> Outgoing:
    """Change ``n`` of a Calendly booking, in true order: created; per move the old invitee
    canceled (``rescheduled``) and the new one created (``old_invitee``); maybe a last cancel."""
    _expect_final(run, p)
    story = _story(p)
    if n == 0:
        version, kind = 0, "created"
    elif n <= 2 * story.moves:
        version, kind = (n + 1) // 2, "created" if n % 2 == 0 else "moved-away"
        if kind == "moved-away":
            version -= 1  # the old invitee of the move to version (n + 1) // 2
    else:
        version, kind = story.moves, "canceled"
    name, email = _sequence_guest(p)
    event_uri = f"{_CALENDLY_API}/scheduled_events/{uuid4(p, f'seq-event-{version}')}"
    invitee_uuid = uuid4(p, f"seq-invitee-{version}")
    template = "calendly_1_invitee_created" if kind == "created" else "calendly_3_invitee_canceled"
    body = sample("booking_to_calendar", template)
    payload, event = body["payload"], body["payload"]["scheduled_event"]
    start = story.start(p, version)
    first, _, last = name.rpartition(" ")
    at = _calendly_time(datetime.fromtimestamp(run.t0 - 3600 + 60 * n, UTC))
    payload |= {
        "uri": f"{event_uri}/invitees/{invitee_uuid}",
        "event": event_uri,
        "name": name,
        "first_name": first,
        "last_name": last,
        "email": email,
        "timezone": "Europe/London",
        "cancel_url": f"https://calendly.com/cancellations/{invitee_uuid}",
        "reschedule_url": f"https://calendly.com/reschedulings/{invitee_uuid}",
        "created_at": at,
        "updated_at": at,
        "questions_and_answers": [],
        "rescheduled": kind == "moved-away",
        "old_invitee": None,
        "new_invitee": None,
    }
    event |= {
        "uri": event_uri,
        "start_time": _calendly_time(start),
        "end_time": _calendly_time(start + timedelta(minutes=30)),
        "created_at": at,
        "updated_at": at,
        "status": "active" if kind == "created" else "canceled",
    }
    if version > 0:  # the invitee resource keeps the invitee it replaced, canceled or not
        old_event = f"{_CALENDLY_API}/scheduled_events/{uuid4(p, f'seq-event-{version - 1}')}"
        payload["old_invitee"] = f"{old_event}/invitees/{uuid4(p, f'seq-invitee-{version - 1}')}"
    if kind == "moved-away":
        new_event = f"{_CALENDLY_API}/scheduled_events/{uuid4(p, f'seq-event-{version + 1}')}"
        payload["new_invitee"] = f"{new_event}/invitees/{uuid4(p, f'seq-invitee-{version + 1}')}"
    if kind != "created":
        payload["cancellation"] = {
            "canceled_by": name,
            "reason": "Rescheduled" if kind == "moved-away" else "Plans changed",
            "canceler_type": "invitee",
            "created_at": at,
        }
    body["created_at"] = at
    from shared.events import derived_id

    return Outgoing(derived_id("calendly", f"{body['event']}:{invitee_uuid}"), compact(body))


def _calcom_change(run: ChaosRun, p: Planned, n: int) -> Outgoing:
    """Change ``n`` of a Cal.com booking, in true order: created; each move a new uid naming the
    last (``rescheduleUid``); maybe a last cancel of the latest uid."""
    _expect_final(run, p)
    story = _story(p)
    kind = "create" if n == 0 else "reschedule" if n <= story.moves else "cancel"
    version = min(n, story.moves)
    template = {
        "create": "calcom_1_booking_created",
        "reschedule": "calcom_3_booking_rescheduled",
        "cancel": "calcom_4_booking_cancelled",
    }[kind]
    body = sample("booking_to_calendar", template)
    payload = body["payload"]
    uid = token(p, f"seq-uid-{version}", 22, ALNUM)
    name, email = _sequence_guest(p)
    first, _, last = name.rpartition(" ")
    start = story.start(p, version)
    payload |= {
        "title": f"Wedding cake tasting between Rosa Bramble and {name}",
        "startTime": _calcom_time(start),
        "endTime": _calcom_time(start + timedelta(minutes=30)),
        "attendees": [
            {
                "email": email,
                "name": name,
                "firstName": first,
                "lastName": last,
                "timeZone": "Europe/London",
                "language": {"locale": "en"},
                "utcOffset": 0,
            }
        ],
        "uid": uid,
        "iCalUID": f"{uid}@Cal.com",
        "bookingId": 6_000_000 + 10 * p.index + version,
        "additionalNotes": "A booking that changed",
        "description": "A booking that changed",
    }
    payload["responses"]["name"]["value"] = name
    payload["responses"]["email"]["value"] = email
    payload["responses"]["guests"]["value"] = []
    payload["responses"]["notes"]["value"] = "A booking that changed"
    if kind == "reschedule":
        before = story.start(p, version - 1)
        payload |= {
            "rescheduleUid": token(p, f"seq-uid-{version - 1}", 22, ALNUM),
            "rescheduleId": 6_000_000 + 10 * p.index + version - 1,
            "rescheduleStartTime": _calcom_time(before),
            "rescheduleEndTime": _calcom_time(before + timedelta(minutes=30)),
        }
    elif kind == "cancel":
        payload["cancellationReason"] = "Plans changed"
        if version > 0:  # the Booking row keeps the booking it replaced
            payload["fromReschedule"] = token(p, f"seq-uid-{version - 1}", 22, ALNUM)
    body["createdAt"] = (
        datetime.fromtimestamp(run.t0 - 3600 + 60 * n, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
    from shared.events import derived_id

    return Outgoing(derived_id("calcom", f"{body['triggerEvent']}:{uid}"), compact(body))


def _final_booking(p: Planned) -> Sequence[EffectKey]:
    if _story(p).cancelled:
        return [("gcal.final", p.key)]
    return [("gcal.booking", p.key), ("gcal.final", p.key)]


FACTORIES = (
    EventFactory(
        "booking_to_calendar",
        "calendly",
        weight=1.0,
        build=booking_event,
        effects=effects,
        prepare=prepare_bookings,
    ),
    EventFactory(
        "booking_to_calendar",
        "calcom",
        weight=1.0,
        build=booking_event,
        effects=effects,
        prepare=prepare_bookings,
    ),
)
OBSERVERS = (mail_seen,)
SEQUENCES = (
    EventFactory(
        "booking_to_calendar",
        "calendly",
        weight=1.0,
        build=lambda run, p: _calendly_change(run, p, 0),
        effects=_final_booking,
        versions=_calendly_changes,
        build_version=_calendly_change,
    ),
    EventFactory(
        "booking_to_calendar",
        "calcom",
        weight=1.0,
        build=lambda run, p: _calcom_change(run, p, 0),
        effects=_final_booking,
        versions=_calcom_changes,
        build_version=_calcom_change,
    ),
)
