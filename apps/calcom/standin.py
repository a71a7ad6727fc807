"""Cal.com, offline, as a *webhook sender*: bookings made here reach Switchboard as Cal.com's webhooks.

Control endpoints (besides the common ones and ``/_webhooks/*`` from :mod:`sandbox.sender`):

* ``POST /_bookings`` ``{"name", "email", "start_time", "duration_minutes"?, "title"?,
  "timezone"?, "location"?}`` - an attendee books: ``BOOKING_CREATED``;
* ``POST /_bookings/cancel`` ``{"uid", "reason"?}`` - ``BOOKING_CANCELLED`` (status ``CANCELLED``,
  ``cancellationReason``);
* ``POST /_bookings/reschedule`` ``{"uid", "start_time"}`` - a *new* booking (new ``uid`` and
  ``bookingId``, the same ``iCalUID`` with ``iCalSequence`` + 1) replacing the old one:
  ``BOOKING_RESCHEDULED`` with ``rescheduleUid`` / ``rescheduleId`` / ``rescheduleStartTime`` /
  ``rescheduleEndTime``; the old booking becomes ``CANCELLED`` without a webhook of its own.

Each answers ``{"uid": ..., "booking_id": ..., "deliveries": [...]}``.

The signature is written here from Cal.com's documentation, independently of :mod:`shared.webhooks`:
``X-Cal-Signature-256`` = hex HMAC-SHA256 of the raw body with the webhook's secret, plus
``x-cal-webhook-version: 2021-10-20`` (https://cal.com/docs/developing/guides/automation/webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

from sandbox.base import Handler, SandboxApp, SandboxRequest, SandboxResponse
from sandbox.sender import WebhookSender

__all__ = ["ORGANIZER_EMAIL", "PAYLOAD_VERSION", "CalcomSandbox", "calcom_signature"]

ORGANIZER_EMAIL: Final = "owner@bramble-bakery.example"
ORGANIZER_NAME: Final = "Rosa Bramble"
PAYLOAD_VERSION: Final = "2021-10-20"
_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789"


def calcom_signature(body: bytes, secret: str) -> str:
    """The ``X-Cal-Signature-256`` value for ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _sign(url: str, body: bytes, secret: str, now: float) -> dict[str, str]:
    return {"X-Cal-Signature-256": calcom_signature(body, secret), "x-cal-webhook-version": PAYLOAD_VERSION}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uid() -> str:
    """Cal.com's booking uids are 22 characters of a base58-like alphabet."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


def _event_id(payload: Mapping[str, Any]) -> str:
    return f"{payload.get('triggerEvent')}:{payload.get('payload', {}).get('uid', '')}"


class CalcomSandbox(SandboxApp):
    """Cal.com as a webhook sender. See the module docstring."""

    name: ClassVar[str] = "calcom"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.webhooks = WebhookSender(_sign, event_id=_event_id, clock=clock)
        super().__init__(clock=clock)

    def reset_data(self) -> None:
        self.bookings: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(4_210_001)

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        return {
            ("POST", "/_bookings"): self._book,
            ("POST", "/_bookings/cancel"): self._cancel,
            ("POST", "/_bookings/reschedule"): self._reschedule,
        }

    def state(self) -> Any:
        return {"bookings": list(self.bookings.values())}

    def _book(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        args = _args(req)
        try:
            start = datetime.fromisoformat(str(args["start_time"]).replace("Z", "+00:00"))
            email, name = str(args["email"]), str(args["name"])
        except (KeyError, ValueError):
            return SandboxResponse.json({"error": "need name, email and start_time (ISO 8601)"}, 400)
        minutes = int(args.get("duration_minutes", 30))
        uid = _uid()
        booking: dict[str, Any] = {
            "uid": uid,
            "bookingId": next(self._ids),
            "title": str(args.get("title", f"Cake tasting between {ORGANIZER_NAME} and {name}")),
            "eventTitle": "Cake tasting",
            "type": "cake-tasting",
            "description": "",
            "additionalNotes": str(args.get("notes", "")),
            "startTime": _iso(start),
            "endTime": _iso(start + timedelta(minutes=minutes)),
            "length": minutes,
            "organizer": {
                "id": 1,
                "name": ORGANIZER_NAME,
                "email": ORGANIZER_EMAIL,
                "username": "bramble",
                "timeZone": "Europe/London",
                "language": {"locale": "en"},
                "timeFormat": "h:mma",
                "utcOffset": 0,
            },
            "attendees": [
                {
                    "email": email,
                    "name": name,
                    "firstName": name.partition(" ")[0],
                    "lastName": name.partition(" ")[2],
                    "timeZone": str(args.get("timezone", "Europe/London")),
                    "language": {"locale": "en"},
                    "utcOffset": 0,
                }
            ],
            "location": str(args.get("location", "Bramble Bakery, 12 Mill Lane, Bath")),
            "iCalUID": f"{uid}@Cal.com",
            "iCalSequence": 0,
            "seatsPerTimeSlot": None,
            "requiresConfirmation": False,
            "metadata": {},
            "status": "ACCEPTED",
        }
        self.bookings[uid] = booking
        return self._send("BOOKING_CREATED", booking)

    def _cancel(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        args = _args(req)
        booking = self.bookings.get(str(args.get("uid", "")))
        if booking is None or booking["status"] != "ACCEPTED":
            return SandboxResponse.json({"error": "no accepted booking with that uid"}, 404)
        booking.update(status="CANCELLED", cancellationReason=args.get("reason"), requestReschedule=False)
        booking["iCalSequence"] += 1
        return self._send("BOOKING_CANCELLED", booking)

    def _reschedule(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        args = _args(req)
        old = self.bookings.get(str(args.get("uid", "")))
        if old is None or old["status"] != "ACCEPTED":
            return SandboxResponse.json({"error": "no accepted booking with that uid"}, 404)
        try:
            start = datetime.fromisoformat(str(args["start_time"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return SandboxResponse.json({"error": "need start_time (ISO 8601)"}, 400)
        uid = _uid()
        new = {
            **old,
            "uid": uid,
            "bookingId": next(self._ids),
            "startTime": _iso(start),
            "endTime": _iso(start + timedelta(minutes=int(old["length"]))),
            "iCalSequence": old["iCalSequence"] + 1,
            "rescheduleId": old["bookingId"],
            "rescheduleUid": old["uid"],
            "rescheduleStartTime": old["startTime"],
            "rescheduleEndTime": old["endTime"],
        }
        old["status"] = "CANCELLED"
        old["rescheduled"] = True
        self.bookings[uid] = new
        return self._send("BOOKING_RESCHEDULED", new)

    def _send(self, trigger: str, booking: Mapping[str, Any]) -> SandboxResponse:
        created = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        payload = {"triggerEvent": trigger, "createdAt": created, "payload": dict(booking)}
        deliveries = self.webhooks.send(payload) if self.webhooks is not None else []
        return SandboxResponse.json(
            {
                "uid": booking["uid"],
                "booking_id": booking["bookingId"],
                "deliveries": [d.as_json() for d in deliveries],
            },
            201,
        )


def _args(req: SandboxRequest) -> dict[str, Any]:
    try:
        data = req.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
