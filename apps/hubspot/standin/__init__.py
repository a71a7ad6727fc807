"""HubSpot's CRM API, offline, in HubSpot's own request and response shapes.

Served (paths as on ``https://api.hubapi.com``):

* ``POST /crm/v3/objects/contacts/batch/upsert`` - by ``idProperty: "email"`` (case-insensitive);
* ``GET /crm/v3/objects/contacts/{id}`` (``?idProperty=email``, ``properties``, ``associations``),
  ``PATCH /crm/v3/objects/contacts/{id}`` and ``GET /crm/v3/objects/contacts`` (``limit``, ``after``,
  ``properties``);
* ``POST /crm/v3/objects/notes`` with ``associations`` (note -> contact, type 202),
  ``GET /crm/v3/objects/notes/{id}`` and ``POST /crm/v3/objects/notes/batch/read`` (``inputs`` ids,
  ``properties``; ids not found make a 207 with HubSpot's ``errors``);
* ``GET /crm/v3/owners`` and ``/crm/v3/owners/{id}``; tasks, meetings, deals, deal pipelines, the
  v4 associations of a contact and contact search: :mod:`.objects`;
* ``GET``/``POST /crm/v3/properties/contacts`` and ``GET /crm/v3/properties/contacts/{name}``.

Checks as HubSpot makes them: a bearer token (401 ``INVALID_AUTHENTICATION``), required fields
(400 ``VALIDATION_ERROR``), property names the portal knows (HubSpot's defaults plus those created
through the properties endpoint; seeded with :data:`apps.hubspot.properties.CUSTOM_PROPERTIES` so the
local flow works), read-only properties, dropdown options, owner ids and email syntax, with the
documented ``Property values were not valid`` body. Ids are numeric strings; times are ISO 8601 UTC
with milliseconds.

Rate limits (:mod:`sandbox.limits`; enforced unless lifted), as HubSpot publishes them for an app
installed in a single account (a private app) on the Free and Starter tiers, the lowest - Professional
and Enterprise get 190 per 10 s and 650,000 / 1,000,000 a day
(https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines, "Rate limits";
https://developers.hubspot.com/changelog/increasing-our-api-limits):

* ``TEN_SECONDLY_ROLLING``: 100 requests per rolling 10 seconds per token;
* ``DAILY``: 250,000 requests per day per token (HubSpot resets at midnight in the account's time
  zone; here at midnight UTC).

Past one: 429 with HubSpot's documented body (``status``, ``message`` "You have reached your
ten_secondly_rolling limit.", ``errorType`` ``RATE_LIMIT``, ``correlationId``, ``policyName``,
``requestId``) and ``Retry-After``; every answer carries ``X-HubSpot-RateLimit-Max``, ``-Remaining``,
``-Interval-Milliseconds``, ``-Daily`` and ``-Daily-Remaining``.

The CRM search endpoints (``POST /crm/v3/objects/{type}/search``) have a limit of their own on top:
``SECONDLY``, 5 requests per second per account (https://developers.hubspot.com/docs/api/crm/search,
"Limitations"; it was 4 per token when the 2020 changelog raised it from 1:
https://developers.hubspot.com/changelog/crm-search-api-rate-limit-increase). The stand-in is one
account, so every token counts against the same 5, over a rolling second. Past it: the same 429 body
with ``policyName`` ``SECONDLY`` ("You have reached your secondly limit.", as HubSpot answers it).

Eventual consistency (:mod:`sandbox.consistency`; off unless a lag is set): HubSpot serves lists and
associations from indexes that trail writes, so with a lag a new contact is missing from ``GET
/crm/v3/objects/contacts`` and a new note from the contact's v4 associations until the lag has
passed. Reads by id (a contact, a note, notes batch read) stay immediate.

Error bodies follow the examples in HubSpot's docs (objects guide "Error handling"; the 404 body as
reported in HubSpot/hubspot-api-nodejs#669). Where HubSpot documents no exact text (batch size, an
association to a missing record, property-definition checks) the message is ours, in HubSpot's shape.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Unpack

from apps.hubspot.notes import NOTE_TO_CONTACT
from apps.hubspot.properties import CUSTOM_PROPERTIES, PropertyDefinition
from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse, iso_ms
from sandbox.limits import Hit, RateLimit, bearer_token

from .objects import ObjectRoutes
from .properties import DEFAULT_CONTACT_PROPERTIES, SandboxProperty, custom_property, definition_problem
from .shapes import (
    PORTAL_ID,
    _as_value,
    _error,
    _Invalid,
    _missing_fields,
    _parse_time,
    _property_errors,
)
from .shapes import (
    Record as _Record,
)

__all__ = ["DEFAULT_TOKEN", "PORTAL_ID", "HubSpotSandbox", "SandboxOwner"]

DEFAULT_TOKEN: Final = "sandbox-hubspot-token"
API_ROOT: Final = "https://api.hubapi.com"
_AUTH_MESSAGE: Final = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_BATCH_LIMIT: Final = 100
_NOTE_BODY_LIMIT: Final = 65_536
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DEFAULT_READ: Final = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname")
_NOTE_DEFAULT_READ: Final = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
_NOTE_WRITABLE: Final = frozenset({"hs_note_body", "hs_timestamp", "hubspot_owner_id", "hs_attachment_ids"})
_NOTE_READ_ONLY: Final = frozenset({"hs_createdate", "hs_lastmodifieddate", "hs_object_id"})
_LIMITS_SOURCE: Final = "https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines"
#: HubSpot's burst limit for a private app on Free/Starter (the lowest tier), per token.
BURST_LIMIT: Final = RateLimit(
    "TEN_SECONDLY_ROLLING", 100, 10.0, scope="token", window="rolling", source=_LIMITS_SOURCE
)
#: HubSpot's daily limit for a private app on Free/Starter, per token.
DAILY_LIMIT: Final = RateLimit(
    "DAILY", 250_000, 86_400.0, scope="token", window="fixed", source=_LIMITS_SOURCE
)


def _account(req: SandboxRequest) -> str | None:
    """The account a search counts against: the stand-in's one portal, whichever token asks."""
    return f"portal {PORTAL_ID}" if bearer_token(req) is not None else None


#: The CRM search endpoints' own limit, per account (on top of the burst and daily limits).
SEARCH_LIMIT: Final = RateLimit(
    "SECONDLY",
    5,
    1.0,
    scope="account",
    window="rolling",
    key=_account,
    path="/search",
    method="POST",
    source="https://developers.hubspot.com/docs/api/crm/search",
)


@dataclass(frozen=True)
class SandboxOwner:
    """An owner (HubSpot user) of the sandbox portal; ``id`` is what ``hubspot_owner_id`` takes."""

    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int


DEFAULT_OWNERS: Final = (
    SandboxOwner("41629779", "sam.owner@example.com", "Sam", "Owner", 9876543),
    SandboxOwner("41629780", "alex.sales@example.com", "Alex", "Sales", 9876544),
)


class HubSpotSandbox(ObjectRoutes, SandboxApp):
    """HubSpot CRM stand-in. See the module docstring for what it serves and checks."""

    name: ClassVar[str] = "hubspot"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (BURST_LIMIT, DAILY_LIMIT, SEARCH_LIMIT)

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        custom_properties: Iterable[PropertyDefinition] = CUSTOM_PROPERTIES,
        owners: Sequence[SandboxOwner] = DEFAULT_OWNERS,
        clock: Callable[[], float] = time.time,
        **options: Unpack[SandboxOptions],
    ) -> None:
        self.token = token
        self.custom_properties = tuple(custom_properties)
        self.owners = tuple(owners)
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("POST", "/crm/v3/objects/contacts/batch/upsert", self._upsert_contacts),
            ("GET", "/crm/v3/objects/contacts", self._list_contacts),
            ("GET", "/crm/v3/objects/contacts/{id}", self._get_contact),
            ("PATCH", "/crm/v3/objects/contacts/{id}", self._update_contact),
            ("POST", "/crm/v3/objects/notes", self._create_note),
            ("GET", "/crm/v3/objects/notes/{id}", self._get_note),
            ("POST", "/crm/v3/objects/notes/batch/read", self._read_notes),
            ("GET", "/crm/v3/properties/contacts", self._list_properties),
            ("POST", "/crm/v3/properties/contacts", self._create_property),
            ("GET", "/crm/v3/properties/contacts/{name}", self._get_property),
            *self.object_routes(),
        )

    def reset_data(self) -> None:
        now = self.clock()
        self._ids = itertools.count(10_001)
        self.contacts: dict[str, _Record] = {}
        self.emails: dict[str, str] = {}
        self.notes: dict[str, _Record] = {}
        self.properties: dict[str, SandboxProperty] = {p.name: p for p in DEFAULT_CONTACT_PROPERTIES}
        for d in self.custom_properties:
            self.properties[d["name"]] = custom_property(d, now)
        self.reset_objects()

    def state(self) -> Any:
        return {
            "contacts": [self._object_json(r, r.properties, ("notes",)) for r in self.contacts.values()],
            "notes": [self._object_json(r, r.properties, ("contacts",)) for r in self.notes.values()],
            **{
                kind: [
                    {
                        **self._object_json(r, r.properties, ()),
                        "associations": {
                            "contacts": {
                                "results": [
                                    {"id": i, "type": f"{kind[:-1]}_to_contact"}
                                    for i in r.associations.get("contacts", [])
                                ]
                            }
                        },
                    }
                    for r in records.values()
                ]
                for kind, records in self.objects.items()
                if records  # only the kinds that hold records: an empty portal's state stays as it was
            },
        }

    # --- hooks: auth, rate limits, error shapes -------------------------------------------------

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        scheme, _, token = (req.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.token:
            return _error(401, _AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        return None

    def limit_headers(self, hits: list[Hit], refused: Hit | None) -> Mapping[str, str]:
        """``X-HubSpot-RateLimit-*``: the burst window and the day, as HubSpot sends them."""
        standing = {h.limit.name: h for h in hits}
        burst, daily = standing.get(BURST_LIMIT.name), standing.get(DAILY_LIMIT.name)
        headers: dict[str, str] = {}
        if burst is not None:
            headers |= {
                "x-hubspot-ratelimit-interval-milliseconds": str(int(BURST_LIMIT.per_s * 1000)),
                "x-hubspot-ratelimit-max": str(BURST_LIMIT.requests),
                "x-hubspot-ratelimit-remaining": str(burst.remaining),
            }
        if daily is not None:
            headers |= {
                "x-hubspot-ratelimit-daily": str(DAILY_LIMIT.requests),
                "x-hubspot-ratelimit-daily-remaining": str(daily.remaining),
            }
        return headers

    def error_response(self, status: int, message: str) -> SandboxResponse:
        category = {404: "OBJECT_NOT_FOUND", 405: "VALIDATION_ERROR"}.get(status, "INTERNAL_ERROR")
        if 400 <= status < 500 and status not in (404, 405):
            category = "VALIDATION_ERROR"
        return _error(status, message, category)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return self._limit_body(BURST_LIMIT.name, retry_after)

    def limited_response(self, hit: Hit) -> SandboxResponse:
        return self._limit_body(hit.limit.name, hit.retry_after_s)

    @staticmethod
    def _limit_body(policy: str, retry_after: float) -> SandboxResponse:
        """HubSpot's documented 429 body; ``policyName`` names the limit that was hit."""
        body = {
            "status": "error",
            "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "requestId": str(uuid.uuid4()),
        }
        return SandboxResponse.json(body, 429, {"retry-after": f"{retry_after:g}"})

    # --- contacts -------------------------------------------------------------------------------

    def _upsert_contacts(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            inputs = self._upsert_inputs(req)
        except _Invalid as invalid:
            return invalid.response
        started = self.clock()
        results = [self._upsert_one(email, props) for email, props in inputs]
        body = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": iso_ms(started),
            "completedAt": iso_ms(self.clock()),
        }
        return SandboxResponse.json(body, 200)

    def _upsert_inputs(self, req: SandboxRequest) -> list[tuple[str, dict[str, str]]]:
        """The validated ``(email, properties)`` pairs of a batch upsert, or ``_Invalid``."""
        data = self._json_object(req)
        inputs = data.get("inputs")
        if not isinstance(inputs, list):
            raise _missing_fields(["inputs"])
        if len(inputs) > _BATCH_LIMIT:
            raise _Invalid(
                _error(
                    400,
                    f"Batch input size {len(inputs)} exceeds the limit of {_BATCH_LIMIT}",
                    "VALIDATION_ERROR",
                )
            )
        pairs: list[tuple[str, dict[str, str]]] = []
        problems: list[tuple[str, str, str]] = []
        for item in inputs:
            if not isinstance(item, dict):
                raise _missing_fields(["id", "idProperty", "properties"])
            missing = [k for k in ("id", "idProperty", "properties") if k not in item]
            if missing or not isinstance(item["properties"], dict):
                raise _missing_fields(missing or ["properties"])
            if item["idProperty"] != "email":
                message = (
                    f"The sandbox upserts contacts by idProperty 'email' only, not {item['idProperty']!r}"
                )
                raise _Invalid(_error(400, message, "VALIDATION_ERROR"))
            email = _as_value(item["id"]).strip().lower()
            if not _EMAIL.match(email):
                problems.append(("email", "INVALID_EMAIL", f"Email address {email} is invalid"))
            props = {k: _as_value(v) for k, v in item["properties"].items()}
            problems.extend(self._check_contact_properties(props))
            pairs.append((email, props))
        emails = [e for e, _ in pairs]
        duplicates = sorted({e for e in emails if emails.count(e) > 1})
        if duplicates:
            message = f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. IDs must be unique"
            raise _Invalid(_error(400, message, "VALIDATION_ERROR"))
        if problems:
            raise _property_errors(problems)
        return pairs

    def _check_contact_properties(self, props: Mapping[str, str]) -> list[tuple[str, str, str]]:
        problems: list[tuple[str, str, str]] = []
        owners = {o.id for o in self.owners}
        for name, value in props.items():
            prop = self.properties.get(name)
            if prop is None:
                problems.append((name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
            elif prop.read_only:
                problems.append((name, "READ_ONLY_VALUE", f'Property "{name}" is read-only'))
            elif value == "":
                continue
            elif name == "hubspot_owner_id" and value not in owners:
                problems.append((name, "INVALID_OWNER_ID", f"{value} is not a valid owner id"))
            elif name == "email" and not _EMAIL.match(value):
                problems.append((name, "INVALID_EMAIL", f"Email address {value} is invalid"))
            elif prop.options:
                chosen = value.split(";") if prop.field_type == "checkbox" else [value]
                allowed = [v for v, _ in prop.options]
                if any(c not in allowed for c in chosen):
                    labels = ", ".join(label for _, label in prop.options)
                    problems.append(
                        (name, "INVALID_OPTION", f"{value} was not one of the allowed options: [{labels}]")
                    )
        return problems

    def _upsert_one(self, email: str, props: dict[str, str]) -> dict[str, Any]:
        now = self.clock()
        props = {**props, "email": email}
        existing = self.emails.get(email)
        record = self.contacts.get(existing) if existing else None
        is_new = record is None
        if record is None:
            contact_id = str(next(self._ids))
            record = _Record(contact_id, {"createdate": iso_ms(now), "hs_object_id": contact_id}, now, now)
            self.contacts[contact_id] = record
            self.emails[email] = contact_id
            self.visibility.written("contacts", contact_id)
        for name, value in props.items():
            if value == "":
                record.properties.pop(name, None)  # an empty string clears the value
            else:
                record.properties[name] = value
        record.updated_at = now
        record.properties["lastmodifieddate"] = iso_ms(now)
        shown = {*props, "createdate", "hs_object_id", "lastmodifieddate"}
        values = {k: record.properties.get(k, "") for k in sorted(shown)}
        return {**self._object_json(record, values, ()), "new": is_new}

    def _get_contact(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        key, id_property = params["id"], req.param("idProperty")
        if id_property == "email":
            found = self.emails.get(key.strip().lower())
            record = self.contacts.get(found) if found else None
        elif id_property in (None, "", "hs_object_id"):
            record = self.contacts.get(key)
        else:
            message = f"Property {id_property} is not a unique identifier property"
            return _error(400, message, "VALIDATION_ERROR")
        if record is None:
            return self._not_found_object(key)
        return SandboxResponse.json(self._read(record, req, _DEFAULT_READ))

    def _update_contact(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        record = self.contacts.get(params["id"])
        try:
            data = self._json_object(req)
            if not isinstance(data.get("properties"), dict):
                raise _missing_fields(["properties"])
            props = {k: _as_value(v) for k, v in data["properties"].items()}
            if not props:
                message = "No properties found to update, please provide at least one."
                raise _Invalid(_error(400, message, "VALIDATION_ERROR"))
            if record is None:
                return self._not_found_object(params["id"])
            problems = self._check_contact_properties(props)
            new_email = props.get("email", "").strip().lower()
            owner = self.emails.get(new_email)
            if new_email and owner not in (None, record.id):
                message = f"A contact with the email '{new_email}' already exists."
                problems.append(("email", "CONFLICTING_UNIQUE_VALUE", message))
            if problems:
                raise _property_errors(problems)
        except _Invalid as invalid:
            return invalid.response
        if new_email:
            self.emails = {e: i for e, i in self.emails.items() if i != record.id}
            self.emails[new_email] = record.id
            props["email"] = new_email
        now = self.clock()
        for name, value in props.items():
            if value == "":
                record.properties.pop(name, None)
            else:
                record.properties[name] = value
        record.updated_at = now
        record.properties["lastmodifieddate"] = iso_ms(now)
        shown = {*props, "createdate", "hs_object_id", "lastmodifieddate"}
        values = {k: record.properties.get(k, "") for k in sorted(shown)}
        return SandboxResponse.json(self._object_json(record, values, ()))

    def _list_contacts(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            limit = min(max(int(req.param("limit") or 10), 1), 100)
            after = int(req.param("after") or 0)
        except ValueError:
            return _error(400, "limit and after must be integers", "VALIDATION_ERROR")
        listed = (r for r in self.contacts.values() if self.visibility.visible("contacts", r.id))
        ordered = sorted(listed, key=lambda r: int(r.id))
        page = [r for r in ordered if int(r.id) >= after]
        body: dict[str, Any] = {"results": [self._read(r, req, _DEFAULT_READ) for r in page[:limit]]}
        if len(page) > limit:
            nxt = page[limit].id
            body["paging"] = {
                "next": {
                    "after": nxt,
                    "link": f"{API_ROOT}/crm/v3/objects/contacts?limit={limit}&after={nxt}",
                }
            }
        return SandboxResponse.json(body)

    # --- notes ----------------------------------------------------------------------------------

    def _create_note(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            props, contact_ids = self._note_input(req)
        except _Invalid as invalid:
            return invalid.response
        now = self.clock()
        note_id = str(next(self._ids))
        props |= {"hs_createdate": iso_ms(now), "hs_lastmodifieddate": iso_ms(now), "hs_object_id": note_id}
        record = _Record(note_id, props, now, now, {"contacts": contact_ids})
        self.notes[note_id] = record
        self.visibility.written("notes", note_id)
        for contact_id in contact_ids:
            self.contacts[contact_id].associations.setdefault("notes", []).append(note_id)
        return SandboxResponse.json(self._object_json(record, dict(sorted(props.items())), ()), 201)

    def _note_input(self, req: SandboxRequest) -> tuple[dict[str, str], list[str]]:
        """Validated note properties (``hs_timestamp`` normalized) and associated contact ids."""
        data = self._json_object(req)
        if not isinstance(data.get("properties"), dict):
            raise _missing_fields(["properties"])
        props = {k: _as_value(v) for k, v in data["properties"].items()}
        problems: list[tuple[str, str, str]] = []
        for name in props:
            if name in _NOTE_READ_ONLY:
                problems.append((name, "READ_ONLY_VALUE", f'Property "{name}" is read-only'))
            elif name not in _NOTE_WRITABLE:
                problems.append((name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
        if problems:
            raise _property_errors(problems)
        if not props.get("hs_timestamp"):
            message = "Error creating NOTE. Some required properties were not set."
            raise _Invalid(_error(400, message, "VALIDATION_ERROR", context={"properties": ["hs_timestamp"]}))
        when = _parse_time(props["hs_timestamp"])
        if when is None:
            message = f"{props['hs_timestamp']} is not a valid Unix time in milliseconds or ISO 8601 UTC time"
            raise _property_errors([("hs_timestamp", "INVALID_DATE", message)])
        props["hs_timestamp"] = iso_ms(when)
        if len(props.get("hs_note_body", "")) > _NOTE_BODY_LIMIT:
            message = f"hs_note_body is longer than {_NOTE_BODY_LIMIT} characters"
            raise _property_errors([("hs_note_body", "INVALID_STRING_LENGTH", message)])
        return props, self._note_associations(data.get("associations", []))

    def _note_associations(self, associations: Any) -> list[str]:
        if not isinstance(associations, list):
            raise _missing_fields(["associations"])
        contact_ids: list[str] = []
        for item in associations:
            to = item.get("to") if isinstance(item, dict) else None
            types = item.get("types") if isinstance(item, dict) else None
            if not isinstance(to, dict) or "id" not in to or not isinstance(types, list) or not types:
                raise _missing_fields(["to", "types"])
            target = _as_value(to["id"])
            for kind in types:
                category = kind.get("associationCategory") if isinstance(kind, dict) else None
                type_id = kind.get("associationTypeId") if isinstance(kind, dict) else None
                if category != "HUBSPOT_DEFINED" or type_id != NOTE_TO_CONTACT:
                    message = (
                        f"The sandbox supports associationCategory HUBSPOT_DEFINED with associationTypeId "
                        f"{NOTE_TO_CONTACT} (note to contact), not {category} {type_id}"
                    )
                    raise _Invalid(_error(400, message, "VALIDATION_ERROR"))
            if target not in self.contacts:
                message = f"One or more associations are invalid: contact {target} does not exist"
                raise _Invalid(_error(400, message, "VALIDATION_ERROR", context={"toObjectId": [target]}))
            if target not in contact_ids:
                contact_ids.append(target)
        return contact_ids

    def _get_note(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        record = self.notes.get(params["id"])
        if record is None:
            return self._not_found_object(params["id"])
        return SandboxResponse.json(self._read(record, req, _NOTE_DEFAULT_READ))

    def _read_notes(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        return self._batch_read(req, self.notes, _NOTE_DEFAULT_READ, "NOTE")

    def _batch_read(
        self, req: SandboxRequest, records: Mapping[str, _Record], default_read: Sequence[str], label: str
    ) -> SandboxResponse:
        """``POST /crm/v3/objects/{type}/batch/read``: 200, or 207 naming the ids it does not hold."""
        try:
            data = self._json_object(req)
            inputs = data.get("inputs")
            if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
                raise _missing_fields(["inputs"])
            if len(inputs) > _BATCH_LIMIT:
                message = f"Batch input size {len(inputs)} exceeds the limit of {_BATCH_LIMIT}"
                raise _Invalid(_error(400, message, "VALIDATION_ERROR"))
        except _Invalid as invalid:
            return invalid.response
        asked = [str(p) for p in data.get("properties") or [] if isinstance(p, str)] or list(default_read)
        results, missing = [], []
        for item in inputs:
            record = records.get(_as_value(item["id"]))
            if record is None:
                missing.append(_as_value(item["id"]))
                continue
            values = {k: record.properties[k] for k in sorted(set(asked)) if k in record.properties}
            results.append(self._object_json(record, values, ()))
        now = iso_ms(self.clock())
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if not missing:
            return SandboxResponse.json(body)
        body["numErrors"] = 1
        body["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {label} objects, they may be deleted or not exist. Check that ids "
                "are valid.",
                "context": {"ids": missing},
            }
        ]
        return SandboxResponse.json(body, 207)

    # --- owners and properties ------------------------------------------------------------------

    def _list_properties(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        return SandboxResponse.json({"results": [p.as_json() for p in self.properties.values()]})

    def _get_property(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        prop = self.properties.get(params["name"])
        if prop is None:
            return _error(404, f"Unable to find property {params['name']}", "OBJECT_NOT_FOUND")
        return SandboxResponse.json(prop.as_json())

    def _create_property(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            data = self._json_object(req)
            missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not data.get(k)]
            if missing:
                raise _missing_fields(missing)
            definition: PropertyDefinition = {
                "name": str(data["name"]),
                "label": str(data["label"]),
                "type": str(data["type"]),
                "fieldType": str(data["fieldType"]),
                "groupName": str(data["groupName"]),
                "description": str(data.get("description", "")),
            }
            problem = definition_problem(definition, data.get("options"))
            if problem:
                raise _Invalid(_error(400, problem, "VALIDATION_ERROR"))
        except _Invalid as invalid:
            return invalid.response
        if definition["name"] in self.properties:
            message = f"Property named '{definition['name']}' already exists."
            return _error(409, message, "OBJECT_ALREADY_EXISTS")
        prop = custom_property(definition, self.clock(), data.get("options"))
        self.properties[prop.name] = prop
        return SandboxResponse.json(prop.as_json(), 201)

    # --- shapes ---------------------------------------------------------------------------------

    @staticmethod
    def _json_object(req: SandboxRequest) -> dict[str, Any]:
        try:
            data = req.json()
        except ValueError as exc:
            detail = f"line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            message = f"Invalid input JSON on {detail or 'line 1, column 1'}: {exc}"
            raise _Invalid(_error(400, message, "VALIDATION_ERROR")) from exc
        if not isinstance(data, dict):
            raise _Invalid(
                _error(400, "Invalid input JSON on line 1, column 1: expected an object", "VALIDATION_ERROR")
            )
        return data

    @staticmethod
    def _not_found_object(key: str) -> SandboxResponse:
        message = "Object not found.  objectId are usually numeric."
        return _error(404, message, "OBJECT_NOT_FOUND", context={"id": [key]})

    def _read(self, record: _Record, req: SandboxRequest, default: Sequence[str]) -> dict[str, Any]:
        """A record as a GET returns it: the asked-for properties that have values."""
        asked = [p for p in (req.param("properties") or "").split(",") if p] or list(default)
        values = {k: record.properties[k] for k in sorted(set(asked)) if k in record.properties}
        kinds = tuple(a for a in (req.param("associations") or "").split(",") if a)
        return self._object_json(record, values, kinds)

    @staticmethod
    def _object_json(record: _Record, values: Mapping[str, str], kinds: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": record.id,
            "properties": dict(values),
            "createdAt": iso_ms(record.created_at),
            "updatedAt": iso_ms(record.updated_at),
            "archived": False,
        }
        names = {
            "notes": "contact_to_note",
            "tasks": "contact_to_task",
            "meetings": "contact_to_meeting",
            "deals": "contact_to_deal",
            "contacts": "note_to_contact",
        }
        linked = {k: record.associations[k] for k in kinds if record.associations.get(k)}
        if linked:
            out["associations"] = {
                k: {"results": [{"id": i, "type": names.get(k, k)} for i in ids]} for k, ids in linked.items()
            }
        return out
