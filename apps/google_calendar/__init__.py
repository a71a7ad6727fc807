"""Google Calendar API v3, declared once: OAuth, limits, client-chosen event ids - cheap to import.

The package: this module (the app and its OAuth connection, the event-id rule and :func:`event_id`),
:mod:`.models` (the Event resource, error bodies), :mod:`.client` (the typed Events calls),
:mod:`.actions` (``calendar.*``) and the local stand-in :mod:`.standin`.

Sources (Google's reference for Calendar API v3):

* Events ``insert`` / ``get`` / ``patch`` / ``delete``:
  https://developers.google.com/workspace/calendar/api/v3/reference/events (paths
  ``/calendar/v3/calendars/{calendarId}/events[/{eventId}]``, ``sendUpdates`` = ``all`` |
  ``externalOnly`` | ``none``; ``delete`` answers 204 with no body).
* Client-chosen event ids (the Event resource, ``id``): "characters allowed in the ID are those used
  in base32hex encoding, i.e. lowercase letters a-v and digits 0-9 ... the length of the ID must be
  between 5 and 1024 characters ... must be unique per calendar". Inserting an id that exists answers
  ``409`` with reason ``duplicate`` - Google Calendar's idempotency feature, which :func:`event_id`
  and :meth:`.client.GoogleCalendarClient.insert_event` build on. A malformed id is ``400`` ``invalid``
  ("Invalid resource id value."). A deleted event keeps its id (``status: "cancelled"``): deleting it
  again answers ``410`` ``deleted``, re-using the id answers ``409``.
* OAuth 2.0 for web server apps: https://developers.google.com/identity/protocols/oauth2/web-server -
  refresh at ``https://oauth2.googleapis.com/token`` with ``client_id`` / ``client_secret`` in the
  form body; Google does not rotate refresh tokens. Scope ``https://www.googleapis.com/auth/calendar.events``.
  Connecting (authorization code grant): ``https://accounts.google.com/o/oauth2/v2/auth`` with
  ``client_id``, ``redirect_uri``, ``response_type=code``, ``scope``, ``state``, ``access_type=offline``
  (a refresh token is returned only then), ``prompt=consent`` and PKCE (``code_challenge``,
  ``code_challenge_method=S256``); the callback carries ``code``, ``state`` and ``scope`` (what the
  user granted - with granular consent possibly less than asked) or ``error=access_denied``.
* Quotas: https://developers.google.com/workspace/calendar/api/guides/quota - per-project and
  per-user per-minute limits (600 requests/minute per user by default); bursts are answered with
  403 ``rateLimitExceeded`` or 429 (see :mod:`.client`).

Importing this module must stay cheap (specs import it on the ingress path for :data:`CONNECTION`):
no pydantic model, no HTTP library.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final, Literal

from shared.app import App

__all__ = [
    "API_ROOT",
    "APP",
    "CONNECTION",
    "EVENT_ID",
    "FREEBUSY_SCOPE",
    "SCOPE",
    "SendUpdates",
    "event_id",
]

API_ROOT: Final = "/calendar/v3"
SCOPE: Final = "https://www.googleapis.com/auth/calendar.events"
#: Free/busy (calendar.free_busy, calendar.find_slots): ``calendar.events`` does not cover
#: ``freebusy.query`` (https://developers.google.com/workspace/calendar/api/v3/reference/freebusy/query).
FREEBUSY_SCOPE: Final = "https://www.googleapis.com/auth/calendar.events.freebusy"
#: Google's rule for client-chosen ids: base32hex characters, 5 to 1024 of them.
EVENT_ID: Final = re.compile(r"^[a-v0-9]{5,1024}$")

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
    rate_per_s=10.0,  # Google Calendar: 600 requests per minute per user (default quota)
    read_timeout_s=10.0,
    idempotency="client-chosen event id (events.insert with id; 409 duplicate when it exists)",
    docs_url="https://developers.google.com/workspace/calendar/api/v3/reference/events",
    title="Google Calendar",
    # Connect links (switchboard connect google_calendar): Google's authorization endpoint with PKCE
    # (S256); access_type=offline is what makes Google hand out a refresh token, and prompt=consent
    # makes it hand out one again when the owner connects a second time.
    authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
    scopes=(SCOPE, FREEBUSY_SCOPE),
    pkce=True,
    authorize_params={"access_type": "offline", "prompt": "consent"},
    redirect_setup=(
        "Google Cloud console > APIs & Services > Credentials > your OAuth client (Web application) "
        "> Authorized redirect URIs"
    ),
)

CONNECTION = APP.connection(
    description=(
        "Google OAuth 2.0 client (Google Cloud console > APIs & Services > Credentials, type 'Web "
        "application') and a refresh token of the calendar's owner, granted the scope "
        f"{SCOPE} and {FREEBUSY_SCOPE} (the free/busy tools: calendar.free_busy, calendar.find_slots) "
        "with access_type=offline."
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
