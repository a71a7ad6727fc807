"""Everything Switchboard knows about HubSpot, written once: auth, limits, signing, CRM calls.

Sources (HubSpot's own documentation and SDKs):

* CRM objects, batch upsert by ``idProperty=email``, error bodies:
  https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide and
  https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts
* Notes (``hs_timestamp`` required, ``hs_note_body`` at most 65,536 characters, association type 202
  "note to contact", also ``noteToContact = 202`` in ``HubSpot/hubspot-api-nodejs``
  ``src/utils/AssociationTypesEnum.ts``): https://developers.hubspot.com/docs/api-reference/crm-notes-v3/guide
* Request validation v3 (``X-HubSpot-Signature-v3``, 5 minute window, URI decoding table):
  https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests
* Limits: https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines

Importing this module must stay cheap: the ingress path imports it for :data:`VERIFIER_V3` and
:data:`SIGNING`, so httpx (via :mod:`shared.http`) is imported only for type checking.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NotRequired, TypedDict, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.app import App
from shared.errors import TargetRejected
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

if TYPE_CHECKING:
    from shared.http import ApiClient
    from shared.ledger import AttemptWindow

__all__ = [
    "APP",
    "CONNECTION",
    "CUSTOM_PROPERTIES",
    "DEFAULT_LEAD_PROPERTIES",
    "LEAD_STATUSES",
    "LIFECYCLE_STAGES",
    "NOTE_BODY_MAX_CHARS",
    "NOTE_REFERENCE_PREFIX",
    "NOTE_SEARCH_LIMIT",
    "NOTE_TO_CONTACT",
    "SIGNING",
    "VERIFIER_V3",
    "AssociatedId",
    "AssociationPage",
    "Contact",
    "HubSpotClient",
    "HubSpotError",
    "Note",
    "Owner",
    "PropertyDefinition",
    "PropertyInfo",
    "hubspot_v3_uri",
    "note_html",
    "parse_error",
]

APP = App(
    name="hubspot",
    base_url="https://api.hubapi.com",
    auth="bearer",
    token_field="token",
    # HubSpot documents ``Retry-After`` (seconds) on throttled answers. Its other rate-limit header,
    # ``X-HubSpot-RateLimit-Interval-Milliseconds``, is in milliseconds and is the window length, not
    # a wait: ``parse_retry_after`` reads seconds, so listing it here would wait 1000x too long.
    retry_after_headers=("retry-after",),
    # 423: "Locked" while HubSpot syncs a record (documented: wait at least 2 s); 477: "Migration in
    # Progress" with Retry-After. Both are "later", not "never".
    retryable_statuses=(423, 477),
    # Private apps get a burst limit per 10 s rolling window, counted per app per account: 100 on
    # Free/Starter, 190 on Professional/Enterprise, 250 with the API limit increase pack (and a
    # separate 5 req/s for CRM search, which we do not use). We size for the lowest tier. A lead is
    # two writes (upsert, note) of typically 150-400 ms each, so 3 requests in flight is at most
    # ~10-20 req/s per worker: a full SQS batch (10 leads = 20 requests) finishes well inside one
    # 10 s window of 100, leaving room for a second concurrent worker and the portal's other
    # integrations. A 429 is retried with back-off anyway; this cap just keeps them rare.
    max_concurrency=3,
    idempotency="upsert by email (idProperty=email)",
    docs_url="https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide",
)

CONNECTION = APP.connection(
    description=(
        "HubSpot private app access token (Settings > Integrations > Private Apps). Scopes: "
        "crm.objects.contacts.read, crm.objects.contacts.write, crm.objects.owners.read, and "
        "crm.schemas.contacts.read/write for creating the custom properties."
    )
)

SIGNING = Connection(
    name="hubspot_signing",
    app="hubspot",
    description=(
        "The HubSpot app's client secret, which signs its webhooks (X-HubSpot-Signature-v3). "
        "During a rotation, keep the old one as previous_secret until HubSpot has switched."
    ),
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "sandbox-hubspot-client-secret"},
    kind="signing",
)

# HubSpot's v3 rule: before hashing, decode exactly these percent-escapes in the request URI (and no
# others: "%20" stays "%20"). Listed in the "Validate the v3 request signature" table of
# https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests.
_V3_DECODED: Final[Mapping[str, str]] = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
# Hex digits in a percent-escape are case-insensitive (RFC 3986 section 2.1), so "%3a" is ":" too.
# One left-to-right pass, so "%253A" stays "%253A" (a literal "%3A"; never decoded twice).
_V3_ESCAPES: Final = re.compile("|".join(re.escape(k) for k in _V3_DECODED), re.IGNORECASE)


def hubspot_v3_uri(url: str) -> str:
    """The URI as HubSpot hashes it for ``X-HubSpot-Signature-v3``: only the listed escapes decoded.

    The sender and the receiver may see the same URL with different escaping (a proxy that
    re-encodes ``@`` in a query string, say); decoding a fixed set on both sides makes them agree.
    """
    return _V3_ESCAPES.sub(lambda m: _V3_DECODED[m.group(0).upper()], url)


VERIFIER_V3 = HmacVerifier(
    scheme="hubspot-v3",
    header="x-hubspot-signature-v3",
    encoding="base64",
    # Source string: requestMethod + requestUri + requestBody + timestamp, UTF-8, HMAC-SHA256 with
    # the client secret, base64. The timestamp is X-HubSpot-Request-Timestamp in milliseconds.
    content="{method}{url}{body}{timestamp}",
    timestamp_header="x-hubspot-request-timestamp",
    timestamp_unit="ms",
    # "Reject the request if the timestamp is older than 5 minutes."
    tolerance_s=300,
    url_normalizer=hubspot_v3_uri,
)

# --- properties a lead sets ----------------------------------------------------------------------

#: HubSpot default contact properties a lead sets (they exist in every portal; nothing to create).
#: ``message`` is HubSpot's default "Message" textarea; ``hubspot_owner_id`` is "Contact owner".
DEFAULT_LEAD_PROPERTIES: Final = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "message",
)

#: Internal values of the default ``lifecyclestage`` options (the API takes internal names only).
LIFECYCLE_STAGES: Final = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)

#: Internal values of the default ``hs_lead_status`` options.
LEAD_STATUSES: Final = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)


class PropertyDefinition(TypedDict):
    """A property as ``POST /crm/v3/properties/contacts`` takes it (HubSpot's own field names)."""

    name: str
    label: str
    type: str
    fieldType: str
    groupName: str
    description: NotRequired[str]
    formField: NotRequired[bool]


def _text_property(name: str, label: str, description: str) -> PropertyDefinition:
    return {
        "name": name,
        "label": label,
        "type": "string",
        "fieldType": "text",
        # "contactinformation" exists in every portal; a custom group would have to be created first.
        "groupName": "contactinformation",
        "description": description,
        "formField": False,
    }


def _number_property(name: str, label: str, description: str) -> PropertyDefinition:
    # HubSpot's number properties are type "number" with fieldType "number"; values travel as strings.
    return {**_text_property(name, label, description), "type": "number", "fieldType": "number"}


#: Custom contact properties a portal must have before leads are written (HubSpot rejects unknown
#: property names with 400 PROPERTY_DOESNT_EXIST). HubSpot has no writable default for these: its
#: "Original Source" (``hs_analytics_source``) and the ``hs_analytics_*`` URL fields are computed by
#: HubSpot's own tracking and read-only through the API. Plain text (not dropdowns) so that a new
#: campaign or source value never becomes a rejected write. Treat as read-only data.
CUSTOM_PROPERTIES: Final[tuple[PropertyDefinition, ...]] = (
    _text_property("lead_source", "Lead source", "Where the lead came from (set by Switchboard)."),
    _text_property("utm_source", "UTM source", "utm_source of the page the lead was captured on."),
    _text_property("utm_medium", "UTM medium", "utm_medium of the page the lead was captured on."),
    _text_property("utm_campaign", "UTM campaign", "utm_campaign of the page the lead was captured on."),
    _text_property("utm_term", "UTM term", "utm_term of the page the lead was captured on."),
    _text_property("utm_content", "UTM content", "utm_content of the page the lead was captured on."),
    _number_property(
        "switchboard_lead_score",
        "Lead score (Switchboard)",
        "0-100, from the rules in functions/lead_enrichment/scoring.json (set by Switchboard).",
    ),
    _text_property(
        "switchboard_lead_score_reason",
        "Lead score reason (Switchboard)",
        "The rules that gave the lead score, e.g. +30 company 51-200 employees (set by Switchboard).",
    ),
)

#: ``associationTypeId`` of the HUBSPOT_DEFINED "note to contact" association.
NOTE_TO_CONTACT: Final = 202
#: HubSpot's documented limit for ``hs_note_body``.
NOTE_BODY_MAX_CHARS: Final = 65_536
#: Starts the line that names what a note was written for (see :meth:`HubSpotClient.create_note`).
NOTE_REFERENCE_PREFIX: Final = "Switchboard ref: "
#: How many of a contact's newest notes :meth:`HubSpotClient.find_note` reads at most.
NOTE_SEARCH_LIMIT: Final = 500
_READ_BATCH: Final = 100

# --- response models -----------------------------------------------------------------------------


class _Model(BaseModel):
    # HubSpot adds fields over time; ignoring unknown ones keeps old workers working.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class AssociatedId(_Model):
    id: str
    type: str


class AssociationPage(_Model):
    results: tuple[AssociatedId, ...] = ()


class Contact(_Model):
    """A contact record. Property values are strings (HubSpot sends every value as a string)."""

    id: str
    properties: dict[str, str | None]
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    archived: bool = False
    #: From an upsert: whether HubSpot created the record. ``None`` where HubSpot does not say.
    is_new: bool | None = Field(default=None, alias="new")
    #: Only when asked for (``associations=("notes",)``): object type -> associated record ids.
    associations: dict[str, AssociationPage] = Field(default_factory=dict)


class Note(_Model):
    id: str
    properties: dict[str, str | None]
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    archived: bool = False


class Owner(_Model):
    """A HubSpot user who can own records; ``id`` is what ``hubspot_owner_id`` takes."""

    id: str
    email: str | None = None
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    user_id: int | None = Field(default=None, alias="userId")
    archived: bool = False


class PropertyInfo(_Model):
    name: str
    label: str
    type: str
    field_type: str = Field(alias="fieldType")
    group_name: str = Field(alias="groupName")
    hubspot_defined: bool = Field(default=False, alias="hubspotDefined")


class HubSpotError(_Model):
    """HubSpot's error body: ``{"status":"error","message":...,"correlationId":...,"category":...}``.

    ``errors`` (per-field details such as ``PROPERTY_DOESNT_EXIST``), ``context`` and, on 429,
    ``policyName`` (``TEN_SECONDLY_ROLLING`` or ``DAILY``) are present only on some answers.
    """

    status: str = "error"
    message: str
    correlation_id: str | None = Field(default=None, alias="correlationId")
    category: str | None = None
    errors: tuple[dict[str, Any], ...] = ()
    context: dict[str, Any] = Field(default_factory=dict)
    policy_name: str | None = Field(default=None, alias="policyName")


def parse_error(text: str) -> HubSpotError | None:
    """The HubSpot error body in ``text``, or ``None`` if it is not one (HTML from an edge proxy ...)."""
    try:
        return HubSpotError.model_validate_json(text)
    except ValidationError:
        return None


class _BatchResult(_Model):
    status: str
    results: tuple[Contact, ...] = ()
    num_errors: int = Field(default=0, alias="numErrors")
    errors: tuple[HubSpotError, ...] = ()


class _AssociationV4(_Model):
    to_object_id: int | str = Field(alias="toObjectId")


class _AssociationsV4(_Model):
    """``GET /crm/v4/objects/{type}/{id}/associations/{to type}``'s answer (first page)."""

    results: tuple[_AssociationV4, ...] = ()


class _NoteBatch(_Model):
    """A batch read's answer (200, or 207 when some ids were not found - those are left out)."""

    results: tuple[Note, ...] = ()


class _Page(_Model):
    results: tuple[dict[str, Any], ...] = ()


# --- the client ----------------------------------------------------------------------------------

_M = TypeVar("_M", bound=BaseModel)


def _iso_ms(when: datetime) -> str:
    """``2024-05-01T12:00:00.000Z``: the UTC format HubSpot documents for ``hs_timestamp``."""
    if when.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware (a naive time is ambiguous)")
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def note_html(text: str, limit: int = NOTE_BODY_MAX_CHARS) -> str:
    """Plain text as a note body: HTML-escaped, line breaks kept, cut to ``limit`` (HubSpot's).

    HubSpot renders ``hs_note_body`` as HTML, and a website visitor wrote this text: escaping keeps
    their markup from becoming ours, and ``<br>`` keeps their paragraphs readable. An over-long message
    is cut (marked with an ellipsis) rather than rejected, so the lead is never lost over its note.
    """

    def render(t: str) -> str:
        return html.escape(t.replace("\r\n", "\n")).replace("\n", "<br>")

    body = render(text)
    if len(body) <= limit:
        return body
    # The longest prefix that still fits once escaped (escaping can grow a character to 6).
    low, high = 0, min(len(text), limit)
    while low < high:
        mid = (low + high + 1) // 2
        if len(render(text[:mid])) < limit:
            low = mid
        else:
            high = mid - 1
    return render(text[:low]) + "\u2026"


def _earlier_attempt() -> AttemptWindow | None:
    """When earlier attempts of the current ledger step ran, if any did; else ``None``.

    Asked *before* the write, so that the write is on record as attempted even if its answer is lost.
    """
    from shared.http import current_work

    stamp = current_work.get()
    return stamp.earlier_attempt() if stamp is not None else None


def _created_by_earlier_attempt(contact: Contact, earlier: AttemptWindow | None) -> bool:
    """Whether HubSpot created the record while earlier attempts of this step ran.

    Then one of them created it - its answer lost to a timeout, or its worker dead before the ledger
    recorded the step - or, rarely, another lead for the same email did in those minutes, and both
    count the contact as new (the owner is assigned twice, the second assignment winning). The
    window is the ledger's (:meth:`shared.http.WorkStamp.earlier_attempt`), bounded on both sides:
    not the SQS receive count or this delivery's receive time, which a re-sent webhook and a
    redriven dead letter start again, and not "since the first attempt", which after a redrive days
    later would take a contact another lead created meanwhile for this one's. On a first attempt,
    and outside a ledger step, HubSpot's ``new`` stands.
    """
    if earlier is None:
        return False
    start, end = earlier.widened()
    return start <= contact.created_at.timestamp() <= end


class HubSpotClient:
    """Typed HubSpot CRM calls on top of :class:`shared.http.ApiClient`.

    ApiClient owns transport, auth, timeouts and the error mapping (429 -> ``RateLimited``, 5xx ->
    ``TargetUnavailable``, other 4xx -> ``TargetRejected`` with HubSpot's error text); this class only
    knows HubSpot's paths and JSON shapes.
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def upsert_contact(self, email: str, properties: Mapping[str, str]) -> Contact:
        """Create or update the contact with this email, in one idempotent call.

        Batch upsert with ``idProperty=email`` is HubSpot's own "create or update": HubSpot matches
        the email case-insensitively, so the same person writing twice (or a retried write) updates
        one contact instead of creating a duplicate. ``Contact.is_new`` says which happened. An empty
        string clears a property.
        """
        address = email.strip()
        payload = {"inputs": [{"id": address, "idProperty": "email", "properties": dict(properties)}]}
        path = "/crm/v3/objects/contacts/batch/upsert"
        earlier = _earlier_attempt()
        response = self._api.request("POST", path, json=payload)
        batch = self._api.parse(_BatchResult, response, path)
        if batch.num_errors or batch.errors or len(batch.results) != 1:
            # Batch endpoints can answer 2xx with per-input errors (207 multi-status).
            first = batch.errors[0] if batch.errors else None
            reason = f"{first.category}: {first.message}" if first else "no result for the input"
            raise TargetRejected(
                f"hubspot POST {path}: {response.status_code} {reason}",
                status=response.status_code,
                app=APP.name,
            )
        contact = batch.results[0]
        if not contact.is_new and _created_by_earlier_attempt(contact, earlier):
            # A retry of an upsert whose first answer was lost (a timeout after HubSpot wrote it, a
            # crash before the ledger recorded it) is told "not new" - but this event created the
            # contact, and "new" is what decides whether the lead gets an owner and a stage.
            contact = contact.model_copy(update={"is_new": True})
        return contact

    def update_contact(self, contact_id: str, properties: Mapping[str, str]) -> Contact:
        """Set properties on an existing contact (``PATCH``); an empty string clears a property.

        For writes that must only happen once (qualifying a *new* lead), after the upsert said
        ``is_new``: re-sending the same values is harmless, so a retry is safe.
        """
        template = "/crm/v3/objects/contacts/{id}"
        response = self._api.request(
            "PATCH",
            f"/crm/v3/objects/contacts/{quote(contact_id, safe='')}",
            json={"properties": dict(properties)},
            template=template,
        )
        return self._api.parse(Contact, response, template)

    def create_note(
        self, contact_id: str, body: str, timestamp: datetime, *, reference: str | None = None
    ) -> Note:
        """Log ``body`` (plain text, see :func:`note_html`) on the contact's timeline at ``timestamp``.

        HubSpot has no idempotency key for creating a note, so a create whose answer was lost (a
        timeout after HubSpot wrote it, a crash before the ledger recorded it) would add a second
        note when the step is retried. So a note carries a reference line - ``reference``, by default
        the event and ledger step it is written for (:data:`shared.http.current_work`) - and before
        creating one, the contact's notes are searched for it (:meth:`find_note`): a note found is
        returned instead of written again. In a step the search is made only after an earlier attempt
        of it (:meth:`shared.http.WorkStamp.earlier_attempt`); with an explicit ``reference`` always.
        Outside a step and without ``reference`` the note is simply created.
        """
        look = reference is not None
        if reference is None:
            from shared.http import current_work

            stamp = current_work.get()
            reference = f"{stamp.event_id}/{stamp.step}" if stamp is not None else None
            # Only after an earlier attempt of the step can the note already exist.
            look = stamp is not None and stamp.earlier_attempt() is not None
        marker = f"{NOTE_REFERENCE_PREFIX}{reference}" if reference else ""
        if marker and look:
            found = self.find_note(contact_id, marker)
            if found is not None:
                return found
        if marker:
            tail = note_html("\n\n" + marker)
            html_body = note_html(body, NOTE_BODY_MAX_CHARS - len(tail)) + tail
        else:
            html_body = note_html(body)
        payload = {
            "properties": {"hs_note_body": html_body, "hs_timestamp": _iso_ms(timestamp)},
            "associations": [
                {
                    "to": {"id": contact_id},
                    "types": [
                        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}
                    ],
                }
            ],
        }
        path = "/crm/v3/objects/notes"
        return self._api.parse(Note, self._api.request("POST", path, json=payload), path)

    def find_note(self, contact_id: str, marker: str) -> Note | None:
        """The contact's note whose body contains ``marker`` (plain text), or ``None``.

        Reads the contact's note associations (v4 associations API, first page of up to
        :data:`NOTE_SEARCH_LIMIT`), then those notes' bodies in batches of 100, newest first
        (``POST /crm/v3/objects/notes/batch/read``). Not the CRM search API: its
        index lags writes by seconds, exactly the window a retry after a timeout falls into, while
        associations and object reads are consistent as soon as the create has answered.
        """
        template = "/crm/v4/objects/contacts/{id}/associations/notes"
        response = self._api.request(
            "GET",
            f"/crm/v4/objects/contacts/{quote(contact_id, safe='')}/associations/notes",
            params={"limit": str(NOTE_SEARCH_LIMIT)},
            template=template,
        )
        ids = [str(a.to_object_id) for a in self._api.parse(_AssociationsV4, response, template).results]
        ids = ids[-NOTE_SEARCH_LIMIT:]
        path = "/crm/v3/objects/notes/batch/read"
        for start in range(len(ids) - _READ_BATCH, -_READ_BATCH, -_READ_BATCH):  # newest first
            chunk = ids[max(0, start) : start + _READ_BATCH]
            payload = {"properties": ["hs_note_body"], "inputs": [{"id": i} for i in chunk]}
            response = self._api.request("POST", path, json=payload, ok=(207,))
            for note in self._api.parse(_NoteBatch, response, path).results:
                if marker in html.unescape((note.properties.get("hs_note_body") or "").replace("<br>", "\n")):
                    return note
        return None

    def get_contact(
        self, contact_id: str, *, properties: Sequence[str] = (), associations: Sequence[str] = ()
    ) -> Contact:
        """One contact by record id. Without ``properties`` HubSpot returns its default few."""
        template = "/crm/v3/objects/contacts/{id}"
        response = self._api.request(
            "GET",
            f"/crm/v3/objects/contacts/{quote(contact_id, safe='')}",
            params=self._read_params(properties, associations),
            template=template,
        )
        return self._api.parse(Contact, response, template)

    def find_contact_by_email(self, email: str, *, properties: Sequence[str] = ()) -> Contact | None:
        """The contact with this email (case-insensitive), or ``None`` if there is none."""
        template = "/crm/v3/objects/contacts/{email}"
        params = {**self._read_params(properties, ()), "idProperty": "email"}
        response = self._api.request(
            "GET",
            f"/crm/v3/objects/contacts/{quote(email.strip(), safe='@+')}",
            params=params,
            template=template,
            ok=(404,),
        )
        if response.status_code == 404:
            return None
        return self._api.parse(Contact, response, template)

    def list_owners(self, *, email: str | None = None) -> list[Owner]:
        """Owners (first page of up to 100), e.g. to check a configured ``hubspot_owner_id``."""
        params = {"limit": "100", **({"email": email} if email else {})}
        path = "/crm/v3/owners"
        page = self._api.parse(_Page, self._api.request("GET", path, params=params), path)
        return [Owner.model_validate(r) for r in page.results]

    def list_properties(self) -> list[PropertyInfo]:
        """All contact properties of the portal, default and custom."""
        path = "/crm/v3/properties/contacts"
        page = self._api.parse(_Page, self._api.request("GET", path), path)
        return [PropertyInfo.model_validate(r) for r in page.results]

    def create_property(self, definition: PropertyDefinition) -> PropertyInfo:
        """Create one custom contact property (409 ``TargetRejected`` if it exists already)."""
        path = "/crm/v3/properties/contacts"
        response = self._api.request("POST", path, json=dict(definition))
        return self._api.parse(PropertyInfo, response, path)

    @staticmethod
    def _read_params(properties: Sequence[str], associations: Sequence[str]) -> dict[str, str]:
        params: dict[str, str] = {}
        if properties:
            params["properties"] = ",".join(properties)
        if associations:
            params["associations"] = ",".join(associations)
        return params


# --- webhooks ------------------------------------------------------------------------------------


class WebhookEvent(_Model):
    """One event of a HubSpot webhook request (Webhooks API v3). HubSpot POSTs a JSON *array* of these.

    Fields as HubSpot's webhooks guide lists them ("Webhook payloads",
    https://developers.hubspot.com/docs/api/webhooks): ``objectId`` (for contacts, the contact id),
    ``eventId`` ("not guaranteed to be unique"), ``subscriptionId``, ``portalId`` (the HubSpot
    account), ``appId``, ``occurredAt`` (milliseconds), ``subscriptionType`` (``contact.creation``,
    ``contact.propertyChange`` ...), ``attemptNumber`` (0 on the first delivery), ``changeSource``
    (``CRM_UI``, ``IMPORT``, ``API`` ...); ``changeFlag`` and ``sourceId`` on newer deliveries;
    ``propertyName``/``propertyValue`` on property changes only. A request holds up to 100 events, in
    no particular order, and an event may be delivered more than once.
    """

    event_id: int = Field(alias="eventId")
    subscription_id: int | None = Field(default=None, alias="subscriptionId")
    portal_id: int = Field(alias="portalId")
    app_id: int | None = Field(default=None, alias="appId")
    occurred_at_ms: int = Field(alias="occurredAt")
    subscription_type: str = Field(alias="subscriptionType")
    attempt_number: int = Field(default=0, alias="attemptNumber")
    object_id: int = Field(alias="objectId")
    change_source: str | None = Field(default=None, alias="changeSource")
    change_flag: str | None = Field(default=None, alias="changeFlag")
    source_id: str | None = Field(default=None, alias="sourceId")
    property_name: str | None = Field(default=None, alias="propertyName")
    property_value: Any = Field(default=None, alias="propertyValue")

    @property
    def occurred_at(self) -> datetime:
        """``occurredAt`` as an aware UTC time."""
        return datetime.fromtimestamp(self.occurred_at_ms / 1000, UTC)


__all__ += ["WebhookEvent"]
