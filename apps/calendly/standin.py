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

The webhook subscriptions API (``Authorization: Bearer <personal access token>``), in Calendly's
shapes - a subscription is ``{uri, callback_url, created_at, updated_at, retry_started_at, state,
events, scope, organization, user, group, creator}`` - and the webhooks go to what it holds, for their
``events``, signed with each subscription's ``signing_key``:

* ``GET /users/me`` - the token's user, with its ``current_organization``;
* ``POST /webhook_subscriptions`` ``{url, events, organization, scope, user?, group?, signing_key?}``
  - 201 ``{"resource": ...}``; a second subscription of the same user (or the organization) to the
  same URL is 409 "Already Exists"; the signing key is write-only (never answered) and, when none is
  given, one is generated that the caller never learns, as for a token without an OAuth app;
* ``GET /webhook_subscriptions?organization=&scope=&user=&count=&page_token=&sort=`` - ``{"collection",
  "pagination"}``; ``GET /webhook_subscriptions/{uuid}`` - ``{"resource"}``;
* ``DELETE /webhook_subscriptions/{uuid}`` - 204. There is no update: Calendly's subscriptions are
  deleted and made again.

Errors are Calendly's ``{"title", "message", "details"?: [{"parameter", "message"}]}`` (400 "Invalid
Argument", 401 "Unauthenticated", 404 "Resource Not Found", 409 "Already Exists").
Rate limit (:mod:`sandbox.limits`; enforced unless lifted): 500 requests per user per minute on paid
plans (webhook subscriptions need one; the Free plan gets 50), per token here - a token is one user's
(https://developer.calendly.com/api-docs/overview/rate-limits). Past it: 429 in Calendly's error
shape; every answer carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (seconds until the window resets), as documented there.

Sources: https://developer.calendly.com/docs/webhooks/overview, the API reference pages
``webhooks/create-webhook-subscription``, ``list-webhook-subscriptions``, ``get-webhook-subscription``
and ``users/get-current-user``; the callback URL "must be public" there - here ``http://`` on loopback
is taken too, where the local runtime listens.

The signature is written here from Calendly's documentation, independently of
:mod:`shared.webhooks`: ``Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` (https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures).
Payload shapes: Calendly webhook subscriptions v2 (invitee + embedded ``scheduled_event``) and
https://developer.calendly.com/docs/api-guides/see-how-webhook-payloads-change-when-invitees-reschedule-events.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final, Unpack
from urllib.parse import urlencode, urlsplit

from apps.calendly import CONNECTION
from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse
from sandbox.limits import Hit, RateLimit
from sandbox.sender import Subscription, WebhookSender

__all__ = [
    "API",
    "DEFAULT_TOKEN",
    "EVENTS",
    "HOST_EMAIL",
    "HOST_USER",
    "ORGANIZATION",
    "CalendlySandbox",
    "calendly_signature",
]

API: Final = "https://api.calendly.com"
HOST_USER: Final = f"{API}/users/BRAMBLEHOST0001"
HOST_EMAIL: Final = "owner@bramble-bakery.example"
HOST_NAME: Final = "Rosa Bramble"
ORGANIZATION: Final = f"{API}/organizations/BRAMBLEORG00001"
EVENT_TYPE: Final = f"{API}/event_types/CONSULT30MIN001"
DEFAULT_TOKEN: Final = CONNECTION.local["token"]
#: The webhook events a subscription may name here.
EVENTS: Final = (
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
    "routing_form_submission.created",
)
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


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


#: Calendly's limit on paid plans: 500 requests per user per minute.
USER_LIMIT: Final = RateLimit(
    "per user per minute",
    500,
    60.0,
    scope="user token",
    source="https://developer.calendly.com/api-docs/overview/rate-limits",
)


class CalendlySandbox(SandboxApp):
    """Calendly as a webhook sender. See the module docstring."""

    name: ClassVar[str] = "calendly"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (USER_LIMIT,)

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        clock: Callable[[], float] = time.time,
        **options: Unpack[SandboxOptions],
    ) -> None:
        self.token = token
        self.webhooks = WebhookSender(
            _sign,
            event_id=_event_id,
            event_type=lambda p: str(p.get("event", "")),
            new_id=lambda: f"{API}/webhook_subscriptions/{uuid.uuid4()}",
            clock=clock,
        )
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("GET", "/users/me", self._me),
            ("POST", "/webhook_subscriptions", self._create_subscription),
            ("GET", "/webhook_subscriptions", self._list_subscriptions),
            ("GET", "/webhook_subscriptions/{uuid}", self._get_subscription),
            ("DELETE", "/webhook_subscriptions/{uuid}", self._delete_subscription),
        )

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        scheme, _, token = (req.header("authorization") or "").partition(" ")
        if scheme != "Bearer" or token.strip() != self.token:
            return _calendly_error(401, "Unauthenticated", "The access token is invalid")
        return None

    def error_response(self, status: int, message: str) -> SandboxResponse:
        titles = {
            400: "Invalid Argument",
            401: "Unauthenticated",
            403: "Permission Denied",
            404: "Resource Not Found",
        }
        return _calendly_error(status, titles.get(status, "Internal Server Error"), message)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return _calendly_error(429, "Too Many Requests", "You have exceeded the rate limit.")

    def limit_headers(self, hits: list[Hit], refused: Hit | None) -> Mapping[str, str]:
        hit = refused or (hits[0] if hits else None)
        if hit is None:
            return {}
        return {
            "x-ratelimit-limit": str(hit.limit.requests),
            "x-ratelimit-remaining": "0" if refused is not None else str(hit.remaining),
            "x-ratelimit-reset": str(hit.retry_after_s),
        }

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

    # --- the webhook subscriptions API -------------------------------------------------------------

    def _sender(self) -> WebhookSender:
        if self.webhooks is None:  # pragma: no cover - CalendlySandbox always has its sender
            raise RuntimeError("the Calendly stand-in has no webhook sender")
        return self.webhooks

    def _subscription_json(self, sub: Subscription) -> dict[str, Any]:
        return {
            "uri": sub.id,
            "callback_url": sub.url,
            "created_at": _iso(datetime.fromtimestamp(sub.created_at, UTC)),
            "updated_at": _iso(datetime.fromtimestamp(sub.updated_at, UTC)),
            "retry_started_at": None,
            "state": "active" if sub.enabled else "disabled",
            "events": list(sub.events or EVENTS),
            "scope": sub.fields.get("scope", "user"),
            "organization": ORGANIZATION,
            "user": sub.fields.get("user", HOST_USER),
            "group": sub.fields.get("group"),
            "creator": HOST_USER,
        }

    def _me(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        created = _iso(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
        return SandboxResponse.json(
            {
                "resource": {
                    "uri": HOST_USER,
                    "name": HOST_NAME,
                    "slug": "rosa-bramble",
                    "email": HOST_EMAIL,
                    "scheduling_url": "https://calendly.com/rosa-bramble",
                    "timezone": "Europe/London",
                    "avatar_url": None,
                    "created_at": created,
                    "updated_at": created,
                    "current_organization": ORGANIZATION,
                    "resource_type": "User",
                    "locale": "en",
                }
            }
        )

    def _create_subscription(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        args = _args(req)
        problems: list[dict[str, str]] = []
        url = args.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if (
            parts is None
            or not parts.netloc
            or not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK))
        ):
            problems.append({"parameter": "url", "message": "must be a valid public https URL"})
        events = args.get("events")
        if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
            problems.append(
                {"parameter": "events", "message": f"must be a non-empty list of: {', '.join(EVENTS)}"}
            )
        if args.get("organization") != ORGANIZATION:
            problems.append({"parameter": "organization", "message": "is not an organization of this user"})
        scope = args.get("scope")
        if scope not in ("user", "organization", "group"):
            problems.append({"parameter": "scope", "message": "must be one of user, organization, group"})
        elif scope == "user" and args.get("user") != HOST_USER:
            problems.append(
                {"parameter": "user", "message": "is required for the user scope and must be this user"}
            )
        elif scope == "group":
            problems.append({"parameter": "group", "message": "this organization has no groups"})
        key = args.get("signing_key")
        if key is not None and (not isinstance(key, str) or not key):
            problems.append({"parameter": "signing_key", "message": "must be a non-empty string"})
        if problems:
            return _calendly_error(400, "Invalid Argument", "The supplied parameters are invalid.", problems)
        for sub in self._sender().subscriptions:
            if sub.url == url and sub.fields.get("scope", "user") == scope:
                return _calendly_error(409, "Already Exists", "Hook with this url already exists")
        fields = {"scope": scope, "user": HOST_USER if scope == "user" else None}
        sub = self._sender().add(
            str(url),
            key or secrets.token_urlsafe(32),  # write-only: never answered
            events=tuple(dict.fromkeys(str(e) for e in events or ())),
            fields=fields,
        )
        return SandboxResponse.json({"resource": self._subscription_json(sub)}, 201)

    def _list_subscriptions(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        scope, organization = req.param("scope"), req.param("organization")
        problems: list[dict[str, str]] = []
        if organization != ORGANIZATION:
            problems.append(
                {"parameter": "organization", "message": "is required and must be your organization"}
            )
        if scope not in ("user", "organization", "group"):
            problems.append({"parameter": "scope", "message": "must be one of user, organization, group"})
        if scope == "user" and req.param("user") != HOST_USER:
            problems.append({"parameter": "user", "message": "is required for the user scope"})
        count_text = req.param("count") or "20"
        if not count_text.isdigit() or not 1 <= int(count_text) <= 100:
            problems.append({"parameter": "count", "message": "must be between 1 and 100"})
        sort = req.param("sort") or "created_at:asc"
        if sort not in ("created_at:asc", "created_at:desc"):
            problems.append({"parameter": "sort", "message": "must be created_at:asc or created_at:desc"})
        offset = _page_offset(req.param("page_token"))
        if offset is None:
            problems.append({"parameter": "page_token", "message": "is not valid"})
        if problems:
            return _calendly_error(400, "Invalid Argument", "The supplied parameters are invalid.", problems)
        count, start = int(count_text), offset or 0
        found = [s for s in self._sender().subscriptions if s.fields.get("scope", "user") == scope]
        found.sort(key=lambda s: s.created_at, reverse=sort.endswith("desc"))
        page = found[start : start + count]
        base = {k: v[0] for k, v in req.query.items() if k != "page_token" and v}
        nxt = _page_token(start + count) if start + count < len(found) else None
        prev = _page_token(max(0, start - count)) if start > 0 else None
        return SandboxResponse.json(
            {
                "collection": [self._subscription_json(s) for s in page],
                "pagination": {
                    "count": len(page),
                    "next_page": f"{API}/webhook_subscriptions?{urlencode({**base, 'page_token': nxt})}"
                    if nxt
                    else None,
                    "previous_page": f"{API}/webhook_subscriptions?{urlencode({**base, 'page_token': prev})}"
                    if prev
                    else None,
                    "next_page_token": nxt,
                    "previous_page_token": prev,
                },
            }
        )

    def _find(self, uuid_: str) -> Subscription | None:
        return self._sender().find(f"{API}/webhook_subscriptions/{uuid_}")

    def _get_subscription(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        sub = self._find(params["uuid"])
        if sub is None:
            return _calendly_error(
                404, "Resource Not Found", "The server could not find the requested resource."
            )
        return SandboxResponse.json({"resource": self._subscription_json(sub)})

    def _delete_subscription(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        sub = self._find(params["uuid"])
        if sub is None:
            return _calendly_error(
                404, "Resource Not Found", "The server could not find the requested resource."
            )
        self._sender().remove(sub.id)
        return SandboxResponse(204)


def _calendly_error(
    status: int, title: str, message: str, details: list[dict[str, str]] | None = None
) -> SandboxResponse:
    body: dict[str, Any] = {"title": title, "message": message}
    if details:
        body["details"] = details
    return SandboxResponse.json(body, status)


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _page_offset(token: str | None) -> int | None:
    """The offset a page token names; 0 without one; ``None`` if it is not one of ours."""
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["o"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return offset if isinstance(offset, int) and offset >= 0 else None


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
