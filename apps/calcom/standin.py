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

The v2 webhooks API (``Authorization: Bearer cal_...``), in Cal.com's shapes - a webhook is
``{id, payloadTemplate, triggers, subscriberUrl, active, secret, userId}``, answers are
``{"status": "success", "data": ...}`` and errors ``{"status": "error", "timestamp", "path",
"error": {"code", "message"}}`` - and the bookings' webhooks go to the active webhooks whose
``triggers`` name them, signed with each one's ``secret`` (``no-secret-provided`` without one):

* ``POST /v2/webhooks`` ``{subscriberUrl, triggers, active, secret?, payloadTemplate?}`` - 201; a
  second webhook of the user for the same URL is 409;
* ``GET /v2/webhooks?skip=&take=`` (take default 250); ``GET|PATCH|DELETE /v2/webhooks/{webhookId}``
  (PATCH takes any of the create fields; DELETE answers the deleted webhook).

A ``payloadTemplate`` is kept and answered; deliveries here always use the default payload.
Rate limit (:mod:`sandbox.limits`; enforced unless lifted): API v2 allows 120 requests per 60 seconds
per API key (https://cal.com/docs/api-reference/v2/introduction#rate-limits; "API Key: 120 requests
per 60 seconds"). Past it: 429 ``ThrottlerException`` in the API's error shape with ``Retry-After``;
every answer carries ``X-RateLimit-Limit-Default``, ``X-RateLimit-Remaining-Default`` and
``X-RateLimit-Reset-Default`` (Unix time the window ends).

Sources: ``calcom/cal.com`` ``apps/api/v2/src/modules/webhooks/`` (``controllers/webhooks.controller.ts``,
``inputs/webhook.input.ts``, ``outputs/webhook.output.ts``, ``outputs/user-webhook.output.ts``,
``services/user-webhooks.service.ts``) and ``apps/api/v2/src/filters/http-exception.filter.ts``.

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
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final, Unpack

from apps.calcom import CONNECTION, NO_SECRET
from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse
from sandbox.limits import Hit, RateLimit
from sandbox.sender import Subscription, WebhookSender

__all__ = [
    "DEFAULT_API_KEY",
    "ORGANIZER_EMAIL",
    "PAYLOAD_VERSION",
    "TRIGGERS",
    "CalcomSandbox",
    "calcom_signature",
]

ORGANIZER_EMAIL: Final = "owner@bramble-bakery.example"
ORGANIZER_NAME: Final = "Rosa Bramble"
PAYLOAD_VERSION: Final = "2021-10-20"
_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789"
DEFAULT_API_KEY: Final = CONNECTION.local["api_key"]
#: The organizer's user id (``userId`` of their webhooks, ``organizer.id`` of their bookings).
USER_ID: Final = 1
#: ``WebhookTriggerEvents`` a webhook may name.
TRIGGERS: Final = (
    "BOOKING_CANCELLED",
    "BOOKING_CREATED",
    "BOOKING_RESCHEDULED",
    "BOOKING_REQUESTED",
    "BOOKING_REJECTED",
    "BOOKING_PAYMENT_INITIATED",
    "BOOKING_PAID",
    "BOOKING_NO_SHOW_UPDATED",
    "MEETING_STARTED",
    "MEETING_ENDED",
    "RECORDING_READY",
    "INSTANT_MEETING",
    "RECORDING_TRANSCRIPTION_GENERATED",
    "OOO_CREATED",
    "FORM_SUBMITTED",
    "FORM_SUBMITTED_NO_EVENT",
)


def calcom_signature(body: bytes, secret: str) -> str:
    """The ``X-Cal-Signature-256`` value for ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _sign(url: str, body: bytes, secret: str, now: float) -> dict[str, str]:
    """A webhook without a secret sends the literal ``no-secret-provided``, as Cal.com does."""
    signature = calcom_signature(body, secret) if secret else NO_SECRET
    return {"X-Cal-Signature-256": signature, "x-cal-webhook-version": PAYLOAD_VERSION}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uid() -> str:
    """Cal.com's booking uids are 22 characters of a base58-like alphabet."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


def _event_id(payload: Mapping[str, Any]) -> str:
    return f"{payload.get('triggerEvent')}:{payload.get('payload', {}).get('uid', '')}"


#: Cal.com API v2: 120 requests per 60 seconds per API key (the throttler's "default" limit).
API_KEY_LIMIT: Final = RateLimit(
    "default",
    120,
    60.0,
    scope="API key",
    window="fixed",
    source="https://cal.com/docs/api-reference/v2/introduction#rate-limits",
)


class CalcomSandbox(SandboxApp):
    """Cal.com as a webhook sender. See the module docstring."""

    name: ClassVar[str] = "calcom"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (API_KEY_LIMIT,)

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        clock: Callable[[], float] = time.time,
        **options: Unpack[SandboxOptions],
    ) -> None:
        self.api_key = api_key
        self.webhooks = WebhookSender(
            _sign,
            event_id=_event_id,
            event_type=lambda p: str(p.get("triggerEvent", "")),
            new_id=lambda: str(uuid.uuid4()),
            clock=clock,
        )
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("POST", "/v2/webhooks", self._create_webhook),
            ("GET", "/v2/webhooks", self._list_webhooks),
            ("GET", "/v2/webhooks/{webhook_id}", self._get_webhook),
            ("PATCH", "/v2/webhooks/{webhook_id}", self._update_webhook),
            ("DELETE", "/v2/webhooks/{webhook_id}", self._delete_webhook),
        )

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        scheme, _, key = (req.header("authorization") or "").partition(" ")
        if scheme != "Bearer" or key.strip() != self.api_key:
            return _calcom_error(
                req, 401, "UnauthorizedException", "ApiAuthStrategy - api key - Invalid API Key"
            )
        return None

    def limited_response(self, hit: Hit) -> SandboxResponse:
        resp = _calcom_error(
            SandboxRequest("GET", ""), 429, "ThrottlerException", "ThrottlerException: Too Many Requests"
        )
        return resp.with_headers({"retry-after": str(hit.retry_after_s)})

    def limit_headers(self, hits: list[Hit], refused: Hit | None) -> Mapping[str, str]:
        hit = refused or (hits[0] if hits else None)
        if hit is None:
            return {}
        return {
            "x-ratelimit-limit-default": str(hit.limit.requests),
            "x-ratelimit-remaining-default": "0" if refused is not None else str(hit.remaining),
            "x-ratelimit-reset-default": str(int(self.clock() + hit.reset_s)),
        }

    def error_response(self, status: int, message: str) -> SandboxResponse:
        codes = {400: "BadRequestException", 401: "UnauthorizedException", 404: "NotFoundException"}
        code = codes.get(status, "InternalServerErrorException")
        return _calcom_error(SandboxRequest("GET", ""), status, code, message)

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

    # --- the v2 webhooks API -----------------------------------------------------------------------

    def _sender(self) -> WebhookSender:
        if self.webhooks is None:  # pragma: no cover - CalcomSandbox always has its sender
            raise RuntimeError("the Cal.com stand-in has no webhook sender")
        return self.webhooks

    @staticmethod
    def _webhook_json(sub: Subscription) -> dict[str, Any]:
        return {
            "id": sub.id,
            "payloadTemplate": sub.fields.get("payloadTemplate"),
            "triggers": list(sub.events or TRIGGERS),
            "subscriberUrl": sub.url,
            "active": sub.enabled,
            "secret": sub.secret or None,
            "userId": USER_ID,
        }

    @staticmethod
    def _checked(args: Mapping[str, Any], *, creating: bool) -> list[str]:
        """class-validator's messages for what is wrong with a create or update body."""
        problems: list[str] = []
        url = args.get("subscriberUrl")
        if ("subscriberUrl" in args or creating) and (not isinstance(url, str) or not url):
            problems.append("subscriberUrl must be a string")
        if ("active" in args or creating) and not isinstance(args.get("active"), bool):
            problems.append("active must be a boolean value")
        if "triggers" in args or creating:
            triggers = args.get("triggers")
            if not isinstance(triggers, list):
                problems.append("triggers must be an array")
            elif any(t not in TRIGGERS for t in triggers):
                problems.append(
                    f"each value in triggers must be one of the following values: {', '.join(TRIGGERS)}"
                )
        for name in ("secret", "payloadTemplate"):
            if args.get(name) is not None and not isinstance(args[name], str):
                problems.append(f"{name} must be a string")
        return problems

    def _create_webhook(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        args = _args(req)
        problems = self._checked(args, creating=True)
        if problems:
            return _calcom_error(req, 400, "BadRequestException", ", ".join(problems))
        url = str(args["subscriberUrl"])
        if any(s.url == url for s in self._sender().subscriptions):
            return _calcom_error(
                req, 409, "ConflictException", "Webhook with this subscriber url already exists for this user"
            )
        sub = self._sender().add(
            url,
            args.get("secret") or "",
            events=tuple(dict.fromkeys(args["triggers"])),
            enabled=bool(args["active"]),
            fields={"payloadTemplate": args.get("payloadTemplate")},
        )
        return SandboxResponse.json({"status": "success", "data": self._webhook_json(sub)}, 201)

    def _list_webhooks(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        skip_text, take_text = req.param("skip") or "0", req.param("take") or "250"
        if not skip_text.isdigit() or not take_text.isdigit():
            return _calcom_error(req, 400, "BadRequestException", "skip and take must be integers")
        skip, take = int(skip_text), int(take_text)
        page = self._sender().subscriptions[skip : skip + take]
        return SandboxResponse.json({"status": "success", "data": [self._webhook_json(s) for s in page]})

    def _found(self, req: SandboxRequest, webhook_id: str) -> Subscription | SandboxResponse:
        sub = self._sender().find(webhook_id)
        if sub is None:
            return _calcom_error(req, 404, "NotFoundException", f"Webhook ({webhook_id}) not found")
        return sub

    def _get_webhook(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        sub = self._found(req, params["webhook_id"])
        if isinstance(sub, SandboxResponse):
            return sub
        return SandboxResponse.json({"status": "success", "data": self._webhook_json(sub)})

    def _update_webhook(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        sub = self._found(req, params["webhook_id"])
        if isinstance(sub, SandboxResponse):
            return sub
        args = _args(req)
        problems = self._checked(args, creating=False)
        if problems:
            return _calcom_error(req, 400, "BadRequestException", ", ".join(problems))
        if "subscriberUrl" in args:
            sub.url = str(args["subscriberUrl"])
        if "triggers" in args:
            sub.events = tuple(dict.fromkeys(args["triggers"]))
        if "active" in args:
            sub.enabled = bool(args["active"])
        if "secret" in args:
            sub.secret = args["secret"] or ""
        if "payloadTemplate" in args:
            sub.fields["payloadTemplate"] = args["payloadTemplate"]
        self._sender().touch(sub)
        return SandboxResponse.json({"status": "success", "data": self._webhook_json(sub)})

    def _delete_webhook(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        sub = self._found(req, params["webhook_id"])
        if isinstance(sub, SandboxResponse):
            return sub
        self._sender().remove(sub.id)
        return SandboxResponse.json({"status": "success", "data": self._webhook_json(sub)})


def _calcom_error(req: SandboxRequest, status: int, code: str, message: str) -> SandboxResponse:
    """Cal.com API v2's ``HttpExceptionFilter`` answer."""
    body = {
        "status": "error",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "path": req.path,
        "error": {"code": code, "message": message},
    }
    return SandboxResponse.json(body, status)


def _args(req: SandboxRequest) -> dict[str, Any]:
    try:
        data = req.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
