"""Calendly, offline, as a *webhook sender*: bookings made here reach Switchboard as Calendly's webhooks.

Control endpoints (besides the common ones and ``/_webhooks/*`` from :mod:`sandbox.sender`):

* ``POST /_bookings`` ``{"name", "email", "start_time", "duration_minutes"?, "event_name"?,
  "timezone"?, "location"?}`` - an invitee books a one-on-one event: ``invitee.created``;
* ``POST /_bookings/cancel`` ``{"invitee": <uri>, "reason"?}`` - the invitee cancels:
  ``invitee.canceled`` with the event ``canceled`` and a ``cancellation`` object;
* ``POST /_bookings/reschedule`` ``{"invitee": <uri>, "start_time"}`` - the invitee picks a new time:
  ``invitee.canceled`` for the old invitee (``rescheduled: true``, ``new_invitee``), then
  ``invitee.created`` for a new invitee on a new scheduled event (``old_invitee``) - both, as
  Calendly sends them.

Each answers ``{"invitee": <uri>, "event": <uri>, "deliveries": [...]}``.

The signature is written here from Calendly's documentation, independently of
:mod:`shared.webhooks`: ``Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` (https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures).
Payload shapes: Calendly webhook subscriptions v2 (invitee + embedded ``scheduled_event``) and
https://developer.calendly.com/docs/api-guides/see-how-webhook-payloads-change-when-invitees-reschedule-events.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

from sandbox.base import Handler, SandboxApp, SandboxRequest, SandboxResponse
from sandbox.sender import WebhookSender

__all__ = ["API", "HOST_EMAIL", "CalendlySandbox", "calendly_signature"]

API: Final = "https://api.calendly.com"
HOST_USER: Final = f"{API}/users/BRAMBLEHOST0001"
HOST_EMAIL: Final = "owner@bramble-bakery.example"
HOST_NAME: Final = "Rosa Bramble"
ORGANIZATION: Final = f"{API}/organizations/BRAMBLEORG00001"
EVENT_TYPE: Final = f"{API}/event_types/CONSULT30MIN001"


def calendly_signature(body: bytes, secret: str, now: float) -> str:
    """The ``Calendly-Webhook-Signature`` value for ``body`` at ``now``."""
    t = str(int(now))
    digest = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def _sign(url: str, body: bytes, secret: str, now: float) -> dict[str, str]:
    return {"Calendly-Webhook-Signature": calendly_signature(body, secret, now)}


def _iso(value: datetime) -> str:
    """Calendly writes times with microseconds: ``2026-12-01T10:00:00.000000Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_id(payload: Mapping[str, Any]) -> str:
    return f"{payload.get('event')}:{str(payload.get('payload', {}).get('uri', '')).rsplit('/', 1)[-1]}"


class CalendlySandbox(SandboxApp):
    """Calendly as a webhook sender. See the module docstring."""

    name: ClassVar[str] = "calendly"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.webhooks = WebhookSender(_sign, event_id=_event_id, clock=clock)
        super().__init__(clock=clock)

    def reset_data(self) -> None:
        self.scheduled_events: dict[str, dict[str, Any]] = {}
        self.invitees: dict[str, dict[str, Any]] = {}

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        return {
            ("POST", "/_bookings"): self._book,
            ("POST", "/_bookings/cancel"): self._cancel,
            ("POST", "/_bookings/reschedule"): self._reschedule,
        }

    def state(self) -> Any:
        return {
            "scheduled_events": list(self.scheduled_events.values()),
            "invitees": list(self.invitees.values()),
        }

    # --- control handlers --------------------------------------------------------------------------

    def _book(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        args = _args(req)
        try:
            start = datetime.fromisoformat(str(args["start_time"]).replace("Z", "+00:00"))
            email, name = str(args["email"]), str(args["name"])
        except (KeyError, ValueError):
            return SandboxResponse.json({"error": "need name, email and start_time (ISO 8601)"}, 400)
        minutes = int(args.get("duration_minutes", 30))
        event = self._new_event(
            start,
            start + timedelta(minutes=minutes),
            str(args.get("event_name", "30 Minute Consultation")),
            args.get("location"),
        )
        invitee = self._new_invitee(event, email, name, str(args.get("timezone", "Europe/London")))
        deliveries = (
            self.webhooks.send(self._envelope("invitee.created", invitee, event)) if self.webhooks else []
        )
        return _answer(invitee, event, deliveries)

    def _cancel(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        args = _args(req)
        invitee = self.invitees.get(str(args.get("invitee", "")))
        if invitee is None or invitee["status"] != "active":
            return SandboxResponse.json({"error": "no active invitee with that uri"}, 404)
        event = self.scheduled_events[invitee["event"]]
        self._cancel_invitee(invitee, event, reason=args.get("reason"), rescheduled=False)
        deliveries = (
            self.webhooks.send(self._envelope("invitee.canceled", invitee, event)) if self.webhooks else []
        )
        return _answer(invitee, event, deliveries)

    def _reschedule(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        args = _args(req)
        old = self.invitees.get(str(args.get("invitee", "")))
        if old is None or old["status"] != "active":
            return SandboxResponse.json({"error": "no active invitee with that uri"}, 404)
        try:
            start = datetime.fromisoformat(str(args["start_time"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return SandboxResponse.json({"error": "need start_time (ISO 8601)"}, 400)
        old_event = self.scheduled_events[old["event"]]
        length = datetime.fromisoformat(
            old_event["end_time"].replace("Z", "+00:00")
        ) - datetime.fromisoformat(old_event["start_time"].replace("Z", "+00:00"))
        event = self._new_event(
            start, start + length, old_event["name"], old_event["location"].get("location")
        )
        new = self._new_invitee(event, old["email"], old["name"], old["timezone"], old_invitee=old["uri"])
        old["new_invitee"] = new["uri"]
        self._cancel_invitee(old, old_event, reason=args.get("reason"), rescheduled=True)
        deliveries = []
        if self.webhooks is not None:
            deliveries += self.webhooks.send(self._envelope("invitee.canceled", old, old_event))
            deliveries += self.webhooks.send(self._envelope("invitee.created", new, event))
        return _answer(new, event, deliveries)

    # --- data --------------------------------------------------------------------------------------

    def _now(self) -> str:
        return _iso(datetime.fromtimestamp(self.clock(), UTC))

    def _new_event(self, start: datetime, end: datetime, name: str, location: Any) -> dict[str, Any]:
        uri = f"{API}/scheduled_events/{uuid.uuid4()}"
        now = self._now()
        event: dict[str, Any] = {
            "uri": uri,
            "name": name,
            "meeting_notes_plain": None,
            "meeting_notes_html": None,
            "status": "active",
            "start_time": _iso(start),
            "end_time": _iso(end),
            "event_type": EVENT_TYPE,
            "location": {"type": "physical", "location": location or "Bramble Bakery, 12 Mill Lane, Bath"},
            "invitees_counter": {"total": 1, "active": 1, "limit": 1},
            "created_at": now,
            "updated_at": now,
            "event_memberships": [{"user": HOST_USER, "user_email": HOST_EMAIL, "user_name": HOST_NAME}],
            "event_guests": [],
        }
        self.scheduled_events[uri] = event
        return event

    def _new_invitee(
        self, event: dict[str, Any], email: str, name: str, timezone: str, *, old_invitee: str | None = None
    ) -> dict[str, Any]:
        uri = f"{event['uri']}/invitees/{uuid.uuid4()}"
        first, _, last = name.partition(" ")
        now = self._now()
        token = uuid.uuid4()
        invitee: dict[str, Any] = {
            "uri": uri,
            "event": event["uri"],
            "email": email,
            "name": name,
            "first_name": first or None,
            "last_name": last or None,
            "status": "active",
            "timezone": timezone,
            "rescheduled": False,
            "old_invitee": old_invitee,
            "new_invitee": None,
            "cancel_url": f"https://calendly.com/cancellations/{token}",
            "reschedule_url": f"https://calendly.com/reschedulings/{token}",
            "questions_and_answers": [],
            "text_reminder_number": None,
            "tracking": {
                "utm_campaign": None,
                "utm_source": None,
                "utm_medium": None,
                "utm_content": None,
                "utm_term": None,
                "salesforce_uuid": None,
            },
            "routing_form_submission": None,
            "payment": None,
            "no_show": None,
            "reconfirmation": None,
            "scheduling_method": None,
            "invitee_scheduled_by": None,
            "created_at": now,
            "updated_at": now,
        }
        self.invitees[uri] = invitee
        return invitee

    def _cancel_invitee(
        self, invitee: dict[str, Any], event: dict[str, Any], *, reason: Any, rescheduled: bool
    ) -> None:
        now = self._now()
        invitee.update(status="canceled", rescheduled=rescheduled, updated_at=now)
        invitee["cancellation"] = {
            "canceled_by": invitee["name"],
            "reason": reason if isinstance(reason, str) else None,
            "canceler_type": "invitee",
            "created_at": now,
        }
        event.update(status="canceled", updated_at=now)
        event["invitees_counter"] = {**event["invitees_counter"], "active": 0}

    def _envelope(self, kind: str, invitee: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        payload = {k: v for k, v in invitee.items() if k != "event"}
        payload["event"] = event["uri"]
        payload["scheduled_event"] = dict(event)
        return {"created_at": self._now(), "created_by": HOST_USER, "event": kind, "payload": payload}


def _args(req: SandboxRequest) -> dict[str, Any]:
    try:
        data = req.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _answer(invitee: Mapping[str, Any], event: Mapping[str, Any], deliveries: list[Any]) -> SandboxResponse:
    return SandboxResponse.json(
        {"invitee": invitee["uri"], "event": event["uri"], "deliveries": [d.as_json() for d in deliveries]},
        201,
    )
