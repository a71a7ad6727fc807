"""Everything Switchboard knows about the Google Calendar API v3: OAuth, limits, ids, event calls.

Sources (Google's reference for Calendar API v3):

* Events ``insert`` / ``get`` / ``patch`` / ``delete``:
  https://developers.google.com/workspace/calendar/api/v3/reference/events (paths
  ``/calendar/v3/calendars/{calendarId}/events[/{eventId}]``, ``sendUpdates`` = ``all`` |
  ``externalOnly`` | ``none``; ``delete`` answers 204 with no body).
* Client-chosen event ids (the Event resource, ``id``): "characters allowed in the ID are those used
  in base32hex encoding, i.e. lowercase letters a-v and digits 0-9 ... the length of the ID must be
  between 5 and 1024 characters ... must be unique per calendar". Inserting an id that exists answers
  ``409`` with reason ``duplicate`` - Google Calendar's idempotency feature, which :func:`event_id`
  and :meth:`GoogleCalendarClient.insert_event` build on. A malformed id is ``400`` ``invalid``
  ("Invalid resource id value."). A deleted event keeps its id (``status: "cancelled"``): deleting it
  again answers ``410`` ``deleted``, re-using the id answers ``409``.
* Errors: https://developers.google.com/workspace/calendar/api/guides/errors - the body is
  ``{"error": {"errors": [{"domain", "reason", "message"}], "code", "message"}}``. ``403`` with
  reason ``rateLimitExceeded`` / ``userRateLimitExceeded`` (domain ``usageLimits``) and ``429`` mean
  "slow down" (exponential back-off); ``403`` ``quotaExceeded`` / ``dailyLimitExceeded`` means the
  project's quota is spent for now; other ``403`` reasons (``forbiddenForNonOrganizer``,
  ``requiredAccessLevel`` - no write access to the calendar) are permanent; ``401`` is an access
  token that stopped working (the OAuth layer refreshes it).
* OAuth 2.0 for web server apps: https://developers.google.com/identity/protocols/oauth2/web-server -
  refresh at ``https://oauth2.googleapis.com/token`` with ``client_id`` / ``client_secret`` in the
  form body; Google does not rotate refresh tokens. Scope ``https://www.googleapis.com/auth/calendar.events``.
* Quotas: https://developers.google.com/workspace/calendar/api/guides/quota - per-project and
  per-user per-minute limits (600 requests/minute per user by default); bursts are answered with
  the 403/429 above.

Importing this module must stay cheap (specs import it on the ingress path for :data:`CONNECTION`):
httpx, via :mod:`shared.http`, is imported for type checking only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.app import App
from shared.errors import RateLimited, TargetRejected

if TYPE_CHECKING:
    import httpx

    from shared.http import ApiClient

__all__ = [
    "API_ROOT",
    "APP",
    "CONNECTION",
    "EVENT_ID",
    "SCOPE",
    "EventAttendee",
    "EventTime",
    "GoogleCalendarClient",
    "GoogleError",
    "GoogleEvent",
    "SendUpdates",
    "attendees_body",
    "error_reason",
    "event_id",
    "parse_error",
]

API_ROOT: Final = "/calendar/v3"
SCOPE: Final = "https://www.googleapis.com/auth/calendar.events"
#: Google's rule for client-chosen ids: base32hex characters, 5 to 1024 of them.
EVENT_ID: Final = re.compile(r"^[a-v0-9]{5,1024}$")
#: 403 reasons that mean "too fast" or "quota spent for now": retried with back-off.
_SLOW_DOWN: Final = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)

SendUpdates = Literal["all", "externalOnly", "none"]

APP = App(
    name="google_calendar",
    base_url="https://www.googleapis.com",
    auth="oauth2",
    token_url="https://oauth2.googleapis.com/token",
    token_auth="body",
    token_field="access_token",
    # Google sends Retry-After on some 429s; when it does, it wins over the computed back-off.
    retry_after_headers=("retry-after",),
    # A booking is one or two calls; a handful in flight stays far below the per-user minute quota.
    max_concurrency=4,
    read_timeout_s=10.0,
    idempotency="client-chosen event id (events.insert with id; 409 duplicate when it exists)",
    docs_url="https://developers.google.com/workspace/calendar/api/v3/reference/events",
)

CONNECTION = APP.connection(
    description=(
        "Google OAuth 2.0 client (Google Cloud console > APIs & Services > Credentials, type 'Web "
        "application') and a refresh token of the calendar's owner, granted the scope "
        f"{SCOPE} with access_type=offline."
    )
)


def event_id(key: str) -> str:
    """A Google event id for ``key`` (``"calendly:<event uuid>"``): the same key, the same id.

    base32hex (RFC 4648 section 7, lower-cased, unpadded) of the SHA-256 of the key: 52 characters
    from ``0-9a-v``, exactly Google's rule, and no two keys in practice share one. Deriving the id
    instead of storing Google's makes ``insert`` idempotent: a retry after a lost answer inserts the
    same id and is told ``409 duplicate`` instead of creating a second event.
    """
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


# --- models ----------------------------------------------------------------------------------------


class _Model(BaseModel):
    # Google adds fields freely; unknown ones are ignored, never refused.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class EventTime(_Model):
    """``start`` / ``end``: ``dateTime`` (RFC 3339 with offset) and the zone it is shown in."""

    date_time: datetime | None = Field(default=None, alias="dateTime")
    date: str | None = None
    time_zone: str | None = Field(default=None, alias="timeZone")


class EventAttendee(_Model):
    email: str
    display_name: str | None = Field(default=None, alias="displayName")
    response_status: str | None = Field(default=None, alias="responseStatus")
    organizer: bool = False


class _ExtendedProperties(_Model):
    private: dict[str, str] = Field(default_factory=dict)
    shared: dict[str, str] = Field(default_factory=dict)


class GoogleEvent(_Model):
    """An Event resource, the fields Switchboard reads."""

    id: str
    status: str = "confirmed"
    html_link: str | None = Field(default=None, alias="htmlLink")
    ical_uid: str | None = Field(default=None, alias="iCalUID")
    sequence: int = 0
    summary: str | None = None
    start: EventTime | None = None
    end: EventTime | None = None
    attendees: tuple[EventAttendee, ...] = ()
    extended_properties: _ExtendedProperties | None = Field(default=None, alias="extendedProperties")
    updated: datetime | None = None

    def private(self, name: str) -> str | None:
        return self.extended_properties.private.get(name) if self.extended_properties else None


class GoogleError(_Model):
    domain: str | None = None
    reason: str | None = None
    message: str | None = None


class _ErrorDetail(_Model):
    code: int | None = None
    message: str | None = None
    errors: tuple[GoogleError, ...] = ()
    status: str | None = None


class _ErrorBody(_Model):
    error: _ErrorDetail


def parse_error(text: str | bytes) -> _ErrorDetail | None:
    """Google's error body, or ``None`` if the answer is not one (a proxy's HTML page ...)."""
    try:
        return _ErrorBody.model_validate_json(text).error
    except ValidationError:
        return None


def error_reason(text: str | bytes) -> str | None:
    """The first ``errors[].reason`` of an error body (``duplicate``, ``deleted`` ...)."""
    detail = parse_error(text)
    if detail is None or not detail.errors:
        return None
    return detail.errors[0].reason


# --- the client ------------------------------------------------------------------------------------


class GoogleCalendarClient:
    """Typed Events calls on :class:`shared.http.ApiClient`, which owns auth, timeouts and 5xx/429.

    Each method answers what the caller needs to stay idempotent: ``insert_event`` returns ``None``
    for "that id exists already" (409), ``delete_event`` returns ``False`` for "already gone" (404,
    410), ``patch_event`` / ``get_event`` return ``None`` for "no such event" (404).
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def insert_event(
        self, calendar_id: str, body: Mapping[str, Any], *, send_updates: SendUpdates = "none"
    ) -> GoogleEvent | None:
        """``events.insert`` with the client-chosen ``body["id"]``; ``None`` if that id exists."""
        if not EVENT_ID.match(str(body.get("id", ""))):
            raise ValueError("event id must be 5-1024 base32hex characters (a-v, 0-9)")
        response = self._call(
            "POST",
            self._events(calendar_id),
            "/calendars/{calendarId}/events",
            json=body,
            params={"sendUpdates": send_updates},
        )
        if response.status_code == 409:
            return None
        return self._api.parse(GoogleEvent, response, "/calendars/{calendarId}/events")

    def get_event(self, calendar_id: str, event_id: str) -> GoogleEvent | None:
        """``events.get``; a deleted event is returned with ``status: "cancelled"``, 404 is ``None``."""
        template = "/calendars/{calendarId}/events/{eventId}"
        response = self._call("GET", self._event(calendar_id, event_id), template)
        if response.status_code in (404, 410):
            return None
        return self._api.parse(GoogleEvent, response, template)

    def patch_event(
        self,
        calendar_id: str,
        event_id: str,
        body: Mapping[str, Any],
        *,
        send_updates: SendUpdates = "none",
    ) -> GoogleEvent | None:
        """``events.patch`` (only the fields given change); ``None`` if there is no such event."""
        template = "/calendars/{calendarId}/events/{eventId}"
        response = self._call(
            "PATCH",
            self._event(calendar_id, event_id),
            template,
            json=body,
            params={"sendUpdates": send_updates},
        )
        if response.status_code in (404, 410):
            return None
        return self._api.parse(GoogleEvent, response, template)

    def delete_event(self, calendar_id: str, event_id: str, *, send_updates: SendUpdates = "none") -> bool:
        """``events.delete``: ``True`` if this call deleted it, ``False`` if it was already gone."""
        template = "/calendars/{calendarId}/events/{eventId}"
        response = self._call(
            "DELETE",
            self._event(calendar_id, event_id),
            template,
            params={"sendUpdates": send_updates},
        )
        return response.status_code not in (404, 410)

    # --- plumbing -------------------------------------------------------------------------------

    @staticmethod
    def _events(calendar_id: str) -> str:
        # A calendar id is often an email address ("...@group.calendar.google.com"): escape it whole.
        return f"{API_ROOT}/calendars/{quote(calendar_id, safe='')}/events"

    def _event(self, calendar_id: str, event_id: str) -> str:
        return f"{self._events(calendar_id)}/{quote(event_id, safe='')}"

    def _call(
        self,
        method: str,
        path: str,
        template: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request; 403 is classified by its reason, 404/409/410 are handed back to the caller."""
        from shared.http import parse_retry_after

        handed_back = (403, 409) if method == "POST" else (403, 404, 410)
        response = self._api.request(
            method, path, json=json, params=params, template=template, ok=handed_back
        )
        if response.status_code == 403:
            reason = error_reason(response.content) or ""
            where = f"{APP.name} {method} {template}: 403 {reason}".rstrip()
            if reason in _SLOW_DOWN:
                raise RateLimited(where, retry_after=parse_retry_after(response.headers.get("retry-after")))
            raise TargetRejected(where, status=403, app=APP.name)
        return response


def attendees_body(people: Sequence[tuple[str, str | None]]) -> list[dict[str, str]]:
    """``attendees`` for an insert/patch from (email, name) pairs, first occurrence of an email wins."""
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for email, name in people:
        key = email.strip().lower()
        if not key or key in seen:
            continue
        seen.add(key)
        out.append({"email": email.strip(), **({"displayName": name} if name else {})})
    return out
