"""Google Calendar's typed client: the Events calls, over :class:`shared.http.ApiClient`.

Sources (the Events calls and the id rule are in :mod:`apps.google_calendar`):

* Errors: https://developers.google.com/workspace/calendar/api/guides/errors - the body is
  ``{"error": {"errors": [{"domain", "reason", "message"}], "code", "message"}}``. ``403`` with
  reason ``rateLimitExceeded`` / ``userRateLimitExceeded`` (domain ``usageLimits``) and ``429`` mean
  "slow down" (exponential back-off); ``403`` ``quotaExceeded`` / ``dailyLimitExceeded`` means the
  project's quota is spent for now; other ``403`` reasons (``forbiddenForNonOrganizer``,
  ``requiredAccessLevel`` - no write access to the calendar) are permanent; ``401`` is an access
  token that stopped working (the OAuth layer refreshes it).

So a 403 is "slow down" for some reasons and permanent for others, and 404/409/410 are answers the
caller needs to stay idempotent, not failures. Worker path only; httpx (via :mod:`shared.http`) is
imported for type checking only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from shared.errors import RateLimited, TargetRejected

from . import API_ROOT, APP, EVENT_ID, SendUpdates
from .models import FreeBusyAnswer, FreeBusyCalendar, GoogleEvent, error_reason

if TYPE_CHECKING:
    import httpx

    from shared.http import ApiClient

__all__ = ["FREEBUSY_SCOPE", "GoogleCalendarClient", "attendees_body"]

#: The narrowest scope ``freebusy.query`` accepts (also: ``calendar.freebusy``, ``calendar.readonly``,
#: ``calendar``; https://developers.google.com/workspace/calendar/api/v3/reference/freebusy/query) -
#: ``calendar.events``, which the event actions use, is not among them.
FREEBUSY_SCOPE: Final = "https://www.googleapis.com/auth/calendar.events.freebusy"

#: 403 reasons that mean "too fast" or "quota spent for now": retried with back-off.
_SLOW_DOWN: Final = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)


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

    def free_busy(self, calendar_id: str, time_min: datetime, time_max: datetime) -> FreeBusyCalendar:
        """``freebusy.query`` for one calendar: its busy periods between two aware instants.

        Google answers a calendar it cannot read (unknown, not shared) with ``errors`` inside a 200
        (``{"domain": "global", "reason": "notFound"}``): that is a :class:`TargetRejected`, since
        "no busy periods" would be a lie that books over someone's meetings.
        """
        path = f"{API_ROOT}/freeBusy"
        body = {
            "timeMin": _rfc3339(time_min),
            "timeMax": _rfc3339(time_max),
            "items": [{"id": calendar_id}],
        }
        try:
            response = self._call("POST", path, path, json=body, safe=True)  # a query: a read
        except TargetRejected as exc:
            if exc.status == 403 and "insufficientPermissions" in str(exc):
                raise TargetRejected(
                    f"{exc} - the calendar's connection was not granted {FREEBUSY_SCOPE}: connect it again "
                    "with that scope (switchboard connect google_calendar)",
                    status=403,
                    app=APP.name,
                ) from exc
            raise
        answer = self._api.parse(FreeBusyAnswer, response, path)
        found = answer.calendars.get(calendar_id)
        if found is None or found.errors:
            reason = found.errors[0].get("reason", "?") if found is not None else "missing from the answer"
            raise TargetRejected(
                f"{APP.name} POST {path}: calendar {calendar_id!r}: {reason}", status=404, app=APP.name
            )
        return found

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
        safe: bool | None = None,
    ) -> httpx.Response:
        """One request; 403 is classified by its reason, 404/409/410 are handed back to the caller."""
        from shared.http import parse_retry_after

        handed_back = (403, 409) if method == "POST" else (403, 404, 410)
        response = self._api.request(
            method, path, json=json, params=params, template=template, ok=handed_back, safe=safe
        )
        if response.status_code == 403:
            reason = error_reason(response.content) or ""
            where = f"{APP.name} {method} {template}: 403 {reason}".rstrip()
            if reason in _SLOW_DOWN:
                raise RateLimited(where, retry_after=parse_retry_after(response.headers.get("retry-after")))
            raise TargetRejected(where, status=403, app=APP.name)
        return response


def _rfc3339(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("free/busy times must be timezone-aware")
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


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
