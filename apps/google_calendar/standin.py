"""Google Calendar API v3 (events) and Google's OAuth token endpoint, offline, in Google's shapes.

Served (paths as on ``https://www.googleapis.com`` and ``https://oauth2.googleapis.com``):

* ``GET|POST /o/oauth2/v2/auth`` - Google's consent page (the authorization endpoint on
  ``https://accounts.google.com``) with granular consent (each scope a checkbox) and PKCE: Allow
  redirects to the ``redirect_uri`` with ``code``, ``state`` and the granted ``scope``, Deny with
  ``error=access_denied``;
* ``POST /token`` - the authorization-code grant (``redirect_uri_mismatch``, "Missing code verifier."
  / "Invalid code verifier." as Google answers them) and the refresh-token grant (client id and
  secret in the form body, no rotation), from :class:`sandbox.oauth.OAuthServer`;
* ``POST /calendar/v3/calendars/{calendarId}/events`` - insert, honouring a client-chosen ``id``
  (base32hex, 5-1024 characters, else ``400 invalid`` "Invalid resource id value."), ``409
  duplicate`` when the id exists in that calendar - deleted events included, as Google keeps them;
* ``GET|PATCH|DELETE /calendar/v3/calendars/{calendarId}/events/{eventId}`` - a deleted event is
  still returned by ``get`` (``status: "cancelled"``), deleting it again is ``410 deleted``, an
  unknown id ``404 notFound``; ``patch`` merges objects and replaces arrays, and bumps ``sequence``
  when ``start`` or ``end`` change (as Google does for a significant change);
* ``GET /calendar/v3/calendars/{calendarId}/events`` - the calendar's events (``showDeleted``);
* ``POST /calendar/v3/freeBusy`` - ``freebusy.query``
  (https://developers.google.com/workspace/calendar/api/v3/reference/freebusy/query): ``timeMin``,
  ``timeMax`` (RFC 3339, required; a reversed range is ``400 timeRangeEmpty``) and ``items`` ``[{"id"}]``;
  the answer is ``{"kind": "calendar#freeBusy", "timeMin", "timeMax", "calendars": {id: {"busy":
  [{"start", "end"}]}}}`` - the calendar's confirmed and tentative events that are not
  ``transparency: "transparent"`` (shown as available), clipped to the window and merged, in UTC -
  and a calendar it cannot read is answered inside the 200 as ``{"errors": [{"domain": "global",
  "reason": "notFound"}], "busy": []}``, as Google does.

Every API call needs ``Authorization: Bearer <access token>`` issued by the token endpoint and not
expired; otherwise Google's own ``401 UNAUTHENTICATED`` body. Calendars: ``primary`` (the owner's,
also reachable by :data:`OWNER`) and :data:`BOOKINGS_CALENDAR`; any other id is ``404 notFound``.

Errors are Google's shape ``{"error": {"errors": [{"domain", "reason", "message"}], "code",
"message"}}``. Faults from :mod:`sandbox.base`: a 5xx ``status`` fault answers ``backendError``; a
``rate_limit`` fault is ``429 rateLimitExceeded``; Google's ``403 rateLimitExceeded`` is a status
fault with its body (see :func:`rate_limit_403`).

Rate limit (:mod:`sandbox.limits`; enforced unless lifted): Google's default quota of 600 requests
per minute per user per project, counted over a sliding minute
(https://developers.google.com/workspace/calendar/api/guides/quota); the stand-in has one user, the
calendar owner, so every API request counts against it (the project's 10,000 a minute cannot bind
first). Past it: ``403 usageLimits userRateLimitExceeded`` "User Rate Limit Exceeded", as the errors
guide shows it, without ``Retry-After`` (Google asks for exponential back-off).

Sources: https://developers.google.com/workspace/calendar/api/v3/reference/events and
https://developers.google.com/workspace/calendar/api/guides/errors.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Unpack

from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse, iso_ms
from sandbox.limits import Hit, RateLimit
from sandbox.oauth import OAuthServer

__all__ = ["BOOKINGS_CALENDAR", "OWNER", "GoogleCalendarSandbox", "google_error", "rate_limit_403"]

OWNER: Final = "owner@bramble-bakery.example"
BOOKINGS_CALENDAR: Final = "c_bookings1234@group.calendar.google.com"
_ID: Final = re.compile(r"^[a-v0-9]{5,1024}$")
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEND_UPDATES: Final = frozenset({"all", "externalOnly", "none"})
_AUTHORIZE_PATH: Final = "/o/oauth2/v2/auth"
_TOKEN_PATH: Final = "/token"
#: Scopes the consent page knows (Calendar's, and the sign-in ones).
_SCOPES: Final = (
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.events.readonly",
    "https://www.googleapis.com/auth/calendar.events.freebusy",
    "openid",
    "email",
    "profile",
)
_REASONS: Final = {
    400: ("global", "badRequest", "Bad Request"),
    403: ("global", "forbidden", "Forbidden"),
    404: ("global", "notFound", "Not Found"),
    405: ("global", "httpMethodNotAllowed", "Method Not Allowed"),
    409: ("global", "duplicate", "The requested identifier already exists."),
    410: ("global", "deleted", "Resource has been deleted"),
    429: ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("global", "backendError", "Backend Error"),
    502: ("global", "backendError", "Backend Error"),
    503: ("global", "backendError", "Backend Error"),
}
_UNAUTHENTICATED: Final = {
    "error": {
        "code": 401,
        "message": (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
            "cookie or other valid authentication credential. See "
            "https://developers.google.com/identity/sign-in/web/devconsole-project."
        ),
        "errors": [
            {
                "message": "Invalid Credentials",
                "domain": "global",
                "reason": "authError",
                "location": "Authorization",
                "locationType": "header",
            }
        ],
        "status": "UNAUTHENTICATED",
    }
}


def google_error(status: int, reason: str, message: str, domain: str = "global") -> dict[str, Any]:
    """Google's error body."""
    return {
        "error": {
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "code": status,
            "message": message,
        }
    }


def rate_limit_403() -> dict[str, Any]:
    """The body of Google's ``403 rateLimitExceeded`` (for a status fault's ``body``)."""
    return google_error(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits")


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Patch semantics: objects merge field by field, anything else (arrays too) is replaced."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _instant(value: Any) -> datetime | None:
    """``start``/``end`` as an instant (``dateTime`` with offset, or a ``date``)."""
    if not isinstance(value, Mapping):
        return None
    text = value.get("dateTime") or value.get("date")
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None and value.get("dateTime"):
        return None  # a dateTime needs an offset unless timeZone is given; keep the sandbox strict
    return parsed


def _utc(when: datetime) -> str:
    """An instant as Google writes free/busy times: UTC, ``Z``, no fraction."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _calendar_user(req: SandboxRequest) -> str | None:
    """The one user an API request acts for (the calendar owner); token-endpoint calls are not counted."""
    scheme, _, token = (req.header("authorization") or "").partition(" ")
    return OWNER if scheme.lower() == "bearer" and token.strip() else None


#: Google Calendar's default per-user quota: 600 requests per minute per user per project.
USER_QUOTA: Final = RateLimit(
    "per minute per user per project",
    600,
    60.0,
    scope="user",
    key=_calendar_user,
    path="/calendar/v3/",
    source="https://developers.google.com/workspace/calendar/api/guides/quota",
)


class GoogleCalendarSandbox(SandboxApp):
    """Google Calendar API v3 events + OAuth token endpoint. See the module docstring."""

    name: ClassVar[str] = "google_calendar"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (USER_QUOTA,)

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        access_ttl_s: int = 3599,
        **options: Unpack[SandboxOptions],
    ) -> None:
        self.oauth = OAuthServer(
            "google_calendar",
            client_auth="body",
            rotate=False,
            access_ttl_s=access_ttl_s,
            scope="https://www.googleapis.com/auth/calendar.events",
            clock=clock,
            provider="Google",
            scopes_supported=_SCOPES,
            pkce=True,
            granular=True,
            scope_in_callback=True,
            bearer_spelling="Bearer",
            redirect_mismatch_error="redirect_uri_mismatch",
        )
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        events = "/calendar/v3/calendars/{calendarId}/events"
        return (
            *self.oauth.routes(_AUTHORIZE_PATH, _TOKEN_PATH),
            ("POST", events, self._insert),
            ("GET", events, self._list),
            ("GET", events + "/{eventId}", self._get),
            ("PATCH", events + "/{eventId}", self._patch),
            ("DELETE", events + "/{eventId}", self._delete),
            ("POST", "/calendar/v3/freeBusy", self._free_busy),
        )

    def reset_data(self) -> None:
        self.oauth.reset()
        #: calendar id -> event id -> the stored Event resource.
        self.calendars: dict[str, dict[str, dict[str, Any]]] = {OWNER: {}, BOOKINGS_CALENDAR: {}}
        self._etags = itertools.count(1)

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        return self.oauth.controls()

    def state(self) -> Any:
        return {
            "calendars": {cid: list(events.values()) for cid, events in self.calendars.items()},
            "oauth": self.oauth.state(),
        }

    def events(self, calendar_id: str = "primary", *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The calendar's events (tests read this)."""
        with self.lock:
            found = self.calendars.get(OWNER if calendar_id == "primary" else calendar_id, {})
            return [copy.deepcopy(e) for e in found.values() if include_deleted or e["status"] != "cancelled"]

    # --- hooks -------------------------------------------------------------------------------------

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        if req.path.split("?", 1)[0] in (_AUTHORIZE_PATH, _TOKEN_PATH):
            return None  # the consent page is the owner's; the token endpoint checks the client itself
        if not self.oauth.bearer_ok(req):
            return SandboxResponse.json(
                _UNAUTHENTICATED, 401, {"www-authenticate": 'Bearer realm="https://accounts.google.com/"'}
            )
        return None

    def error_response(self, status: int, message: str) -> SandboxResponse:
        domain, reason, text = _REASONS.get(
            status, ("global", "backendError" if status >= 500 else "badRequest", message)
        )
        return SandboxResponse.json(google_error(status, reason, text, domain), status)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return self.error_response(429, "rate limited")

    def limited_response(self, hit: Hit) -> SandboxResponse:
        """Over the per-user quota: Google's ``403 userRateLimitExceeded``."""
        body = google_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits")
        return SandboxResponse.json(body, 403)

    # --- events ------------------------------------------------------------------------------------

    def _calendar(self, calendar_id: str) -> dict[str, dict[str, Any]] | None:
        return self.calendars.get(OWNER if calendar_id == "primary" else calendar_id)

    def _bad(self, message: str, reason: str = "invalid") -> SandboxResponse:
        return SandboxResponse.json(google_error(400, reason, message), 400)

    def _body(self, req: SandboxRequest) -> dict[str, Any] | SandboxResponse:
        try:
            data = req.json()
        except ValueError:
            return self._bad("Parse Error", "parseError")
        if not isinstance(data, dict):
            return self._bad("Parse Error", "parseError")
        updates = req.param("sendUpdates")
        if updates is not None and updates not in _SEND_UPDATES:
            return self._bad(f"Invalid value for: {updates!r} is not a valid value", "invalidParameter")
        return data

    def _check(self, event: Mapping[str, Any]) -> SandboxResponse | None:
        """Google's validation of an event as it would be stored."""
        if "start" not in event:
            return self._bad("Missing start time.", "required")
        if "end" not in event:
            return self._bad("Missing end time.", "required")
        start, end = _instant(event["start"]), _instant(event["end"])
        if start is None or end is None:
            return self._bad("Invalid start time." if start is None else "Invalid end time.")
        if end < start:
            return self._bad("The specified time range is empty.", "timeRangeEmpty")
        for attendee in event.get("attendees") or []:
            if not isinstance(attendee, Mapping) or not _EMAIL.match(str(attendee.get("email", ""))):
                return self._bad("Invalid attendee email.")
        return None

    def _insert(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        calendar = self._calendar(params["calendarId"])
        if calendar is None:
            return self.error_response(404, "Not Found")
        body = self._body(req)
        if isinstance(body, SandboxResponse):
            return body
        event_id = body.get("id")
        if event_id is None:
            event_id = base64.b32hexencode(secrets.token_bytes(16)).decode().rstrip("=").lower()
        elif not isinstance(event_id, str) or not _ID.match(event_id):
            return self._bad("Invalid resource id value.")
        if event_id in calendar:
            return self.error_response(409, "duplicate")
        problem = self._check(body)
        if problem is not None:
            return problem
        now = iso_ms(self.clock())
        owner = OWNER if params["calendarId"] in ("primary", OWNER) else params["calendarId"]
        eid = base64.b64encode(f"{event_id} {owner}".encode()).decode().rstrip("=")
        event: dict[str, Any] = {
            "kind": "calendar#event",
            "etag": "",
            "id": event_id,
            "status": body.get("status", "confirmed"),
            "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
            "created": now,
            "updated": now,
            "summary": body.get("summary", ""),
            "creator": {"email": OWNER, "self": True},
            "organizer": {"email": owner, "self": True},
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        event = _merge(event, {k: v for k, v in body.items() if k not in ("id", "kind", "etag", "iCalUID")})
        if event.get("attendees"):
            event["attendees"] = [
                {**a, "responseStatus": a.get("responseStatus", "needsAction")} for a in event["attendees"]
            ]
        else:
            event.pop("attendees", None)
        event["etag"] = self._etag()
        calendar[event_id] = event
        return SandboxResponse.json(event)

    def _list(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        calendar = self._calendar(params["calendarId"])
        if calendar is None:
            return self.error_response(404, "Not Found")
        deleted = req.param("showDeleted") == "true"
        items = [e for e in calendar.values() if deleted or e["status"] != "cancelled"]
        return SandboxResponse.json(
            {
                "kind": "calendar#events",
                "etag": self._etag(),
                "summary": params["calendarId"],
                "updated": iso_ms(self.clock()),
                "timeZone": "Europe/London",
                "accessRole": "owner",
                "items": items,
            }
        )

    def _free_busy(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        body = self._body(req)
        if isinstance(body, SandboxResponse):
            return body
        for name in ("timeMin", "timeMax"):
            if not body.get(name):
                return self._bad(f"Missing {name}.", "required")
        low, high = _instant({"dateTime": body["timeMin"]}), _instant({"dateTime": body["timeMax"]})
        if low is None or high is None:
            return self._bad("Invalid timeMin." if low is None else "Invalid timeMax.")
        if high <= low:
            return self._bad("The specified time range is empty.", "timeRangeEmpty")
        items = body.get("items")
        if not isinstance(items, list):
            return self._bad("Missing items.", "required")
        calendars: dict[str, Any] = {}
        for item in items:
            cid = str(item.get("id", "")) if isinstance(item, Mapping) else ""
            calendar = self._calendar(cid)
            if calendar is None:
                calendars[cid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            spans: list[tuple[datetime, datetime]] = []
            for event in calendar.values():
                if event["status"] == "cancelled" or event.get("transparency") == "transparent":
                    continue
                start, end = _instant(event["start"]), _instant(event["end"])
                if start is None or end is None:
                    continue
                # An all-day event (``date``) blocks the whole day; the sandbox takes its days in UTC.
                start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end))
                if end <= low or start >= high:
                    continue
                spans.append((max(start, low), min(end, high)))
            merged: list[tuple[datetime, datetime]] = []
            for start, end in sorted(spans):
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            calendars[cid] = {"busy": [{"start": _utc(a), "end": _utc(b)} for a, b in merged]}
        return SandboxResponse.json(
            {"kind": "calendar#freeBusy", "timeMin": _utc(low), "timeMax": _utc(high), "calendars": calendars}
        )

    def _get(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        calendar = self._calendar(params["calendarId"])
        event = calendar.get(params["eventId"]) if calendar is not None else None
        if event is None:
            return self.error_response(404, "Not Found")
        return SandboxResponse.json(event)

    def _patch(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        calendar = self._calendar(params["calendarId"])
        event = calendar.get(params["eventId"]) if calendar is not None else None
        if calendar is None or event is None:
            return self.error_response(404, "Not Found")
        body = self._body(req)
        if isinstance(body, SandboxResponse):
            return body
        if "id" in body and body["id"] != event["id"]:
            return self._bad("Invalid resource id value.")
        changed = _merge(event, {k: v for k, v in body.items() if k not in ("id", "kind", "etag", "iCalUID")})
        problem = self._check(changed)
        if problem is not None:
            return problem
        if _instant(changed["start"]) != _instant(event["start"]) or _instant(changed["end"]) != _instant(
            event["end"]
        ):
            changed["sequence"] = int(event.get("sequence", 0)) + 1
        changed["updated"] = iso_ms(self.clock())
        changed["etag"] = self._etag()
        calendar[event["id"]] = changed
        return SandboxResponse.json(changed)

    def _delete(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        calendar = self._calendar(params["calendarId"])
        event = calendar.get(params["eventId"]) if calendar is not None else None
        if calendar is None or event is None:
            return self.error_response(404, "Not Found")
        if event["status"] == "cancelled":
            return self.error_response(410, "deleted")
        calendar[event["id"]] = {
            **event,
            "status": "cancelled",
            "updated": iso_ms(self.clock()),
            "etag": self._etag(),
        }
        return SandboxResponse(204)

    def _etag(self) -> str:
        return json.dumps(str(3_400_000_000_000_000 + next(self._etags)))
