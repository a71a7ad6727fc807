"""The typed HubSpot CRM client over :class:`shared.http.ApiClient`: contacts, notes, tasks, meetings,
deals and their pipelines, owners, contact search and properties.

Worker path only. Sources (HubSpot's own documentation):

* CRM objects, batch upsert by ``idProperty=email``, error bodies:
  https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide and
  https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts
* Notes: https://developers.hubspot.com/docs/api-reference/crm-notes-v3/guide (see :mod:`.notes`)
* Tasks, meetings, deals (``/crm/v3/objects/{type}``, associations to a contact by type id, batch
  read): https://developers.hubspot.com/docs/api/crm/tasks, .../crm/meetings, .../crm/deals; deal
  pipelines: .../crm/pipelines; owners: .../crm/owners; v4 associations: .../crm/associations;
  search (``filterGroups``, 200 a page, its own 5 requests a second): .../crm/search
* Limits: https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines

httpx (via :mod:`shared.http`) is imported for type checking only, as everywhere under ``apps/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import quote

from shared.errors import TargetRejected

from . import APP
from .models import (
    AssociationPageV4,
    AssociationsV4,
    BatchResult,
    Contact,
    CrmObject,
    Note,
    NoteBatch,
    ObjectBatch,
    ObjectPage,
    Owner,
    OwnerPage,
    Pipeline,
    PropertyInfo,
    PropertySchema,
    ResultsPage,
)
from .notes import (
    NOTE_BODY_MAX_CHARS,
    NOTE_REFERENCE_PREFIX,
    NOTE_SEARCH_LIMIT,
    NOTE_TO_CONTACT,
    note_html,
    note_text,
)
from .properties import PropertyDefinition

if TYPE_CHECKING:
    from shared.http import ApiClient
    from shared.ledger import AttemptWindow

__all__ = ["TO_CONTACT", "HubSpotClient", "RecordKind"]

_READ_BATCH: Final = 100
#: The record types the activity and deal calls take.
RecordKind = Literal["tasks", "meetings", "deals"]
#: ``associationTypeId`` (``HUBSPOT_DEFINED``) of a record to a contact: task 204, meeting 200, deal 3
#: (HubSpot's tasks/meetings/deals guides; ``AssociationTypesEnum`` of ``HubSpot/hubspot-api-nodejs``).
TO_CONTACT: Final[Mapping[RecordKind, int]] = {"tasks": 204, "meetings": 200, "deals": 3}
#: How many of a contact's records of one type a reference search reads at most.
_REFERENCE_SEARCH_LIMIT: Final = 1000


def _iso_ms(when: datetime) -> str:
    """``2024-05-01T12:00:00.000Z``: the UTC format HubSpot documents for ``hs_timestamp``."""
    if when.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware (a naive time is ambiguous)")
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


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
        batch = self._api.parse(BatchResult, response, path)
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
        ids = [str(a.to_object_id) for a in self._api.parse(AssociationsV4, response, template).results]
        ids = ids[-NOTE_SEARCH_LIMIT:]
        path = "/crm/v3/objects/notes/batch/read"
        for start in range(len(ids) - _READ_BATCH, -_READ_BATCH, -_READ_BATCH):  # newest first
            chunk = ids[max(0, start) : start + _READ_BATCH]
            payload = {"properties": ["hs_note_body"], "inputs": [{"id": i} for i in chunk]}
            response = self._api.request("POST", path, json=payload, ok=(207,))
            for note in self._api.parse(NoteBatch, response, path).results:
                if marker in note_text(note.properties.get("hs_note_body") or ""):
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
        page = self._api.parse(ResultsPage, self._api.request("GET", path, params=params), path)
        return [Owner.model_validate(r) for r in page.results]

    def list_properties(self) -> list[PropertyInfo]:
        """All contact properties of the portal, default and custom."""
        path = "/crm/v3/properties/contacts"
        page = self._api.parse(ResultsPage, self._api.request("GET", path), path)
        return [PropertyInfo.model_validate(r) for r in page.results]

    def get_property(self, name: str) -> PropertySchema | None:
        """One contact property's definition, or ``None`` if the portal has no property of that name."""
        template = "/crm/v3/properties/contacts/{name}"
        response = self._api.request(
            "GET", f"/crm/v3/properties/contacts/{quote(name, safe='')}", template=template, ok=(404,)
        )
        if response.status_code == 404:
            return None
        return self._api.parse(PropertySchema, response, template)

    def create_property(self, definition: PropertyDefinition) -> PropertyInfo:
        """Create one custom contact property (409 ``TargetRejected`` if it exists already)."""
        path = "/crm/v3/properties/contacts"
        response = self._api.request("POST", path, json=dict(definition))
        return self._api.parse(PropertyInfo, response, path)

    # --- tasks, meetings, deals: records tied to a contact ------------------------------------------

    def create_record(self, kind: RecordKind, properties: Mapping[str, str], contact_id: str) -> CrmObject:
        """``POST /crm/v3/objects/{kind}`` associated with the contact (:data:`TO_CONTACT`)."""
        payload = {
            "properties": dict(properties),
            "associations": [
                {
                    "to": {"id": contact_id},
                    "types": [
                        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TO_CONTACT[kind]}
                    ],
                }
            ],
        }
        template = "/crm/v3/objects/{type}"
        response = self._api.request("POST", f"/crm/v3/objects/{kind}", json=payload, template=template)
        return self._api.parse(CrmObject, response, template)

    def get_record(self, kind: RecordKind, record_id: str, properties: Sequence[str]) -> CrmObject:
        """One record by id; an unknown id is HubSpot's 404 (``TargetRejected``)."""
        template = "/crm/v3/objects/{type}/{id}"
        response = self._api.request(
            "GET",
            f"/crm/v3/objects/{kind}/{quote(record_id, safe='')}",
            params=self._read_params(properties, ()),
            template=template,
        )
        return self._api.parse(CrmObject, response, template)

    def update_record(self, kind: RecordKind, record_id: str, properties: Mapping[str, str]) -> CrmObject:
        """``PATCH`` the given properties (the answer holds those, not the whole record)."""
        template = "/crm/v3/objects/{type}/{id}"
        response = self._api.request(
            "PATCH",
            f"/crm/v3/objects/{kind}/{quote(record_id, safe='')}",
            json={"properties": dict(properties)},
            template=template,
        )
        return self._api.parse(CrmObject, response, template)

    def associated_ids(
        self, contact_id: str, kind: RecordKind, *, most: int = _REFERENCE_SEARCH_LIMIT
    ) -> list[str]:
        """The ids of the contact's records of ``kind``, oldest first (v4 associations, every page up to ``most``)."""
        template = "/crm/v4/objects/contacts/{id}/associations/{type}"
        path = f"/crm/v4/objects/contacts/{quote(contact_id, safe='')}/associations/{kind}"
        ids: list[str] = []
        after: str | None = None
        while len(ids) < most:
            params = {"limit": "500", **({"after": after} if after else {})}
            response = self._api.request("GET", path, params=params, template=template)
            page = self._api.parse(AssociationPageV4, response, template)
            ids += [str(a.to_object_id) for a in page.results]
            after = page.next_after
            if not after:
                break
        return ids[:most]

    def read_records(
        self, kind: RecordKind, ids: Sequence[str], properties: Sequence[str]
    ) -> list[CrmObject]:
        """Records by id, in batches of 100 (``POST /crm/v3/objects/{kind}/batch/read``); missing ids left out."""
        template = "/crm/v3/objects/{type}/batch/read"
        found: list[CrmObject] = []
        for start in range(0, len(ids), _READ_BATCH):
            payload = {
                "properties": list(properties),
                "inputs": [{"id": i} for i in ids[start : start + _READ_BATCH]],
            }
            response = self._api.request(
                "POST",
                f"/crm/v3/objects/{kind}/batch/read",
                json=payload,
                ok=(207,),
                template=template,
                safe=True,  # a read sent as POST
            )
            found += self._api.parse(ObjectBatch, response, template).results
        return found

    def find_by_reference(
        self, kind: RecordKind, contact_id: str, body_property: str, marker: str, *, html: bool
    ) -> CrmObject | None:
        """The contact's record of ``kind`` whose ``body_property`` holds ``marker``, newest first; or ``None``.

        As :meth:`find_note`: associations and reads by id, not the CRM search API, whose index trails
        writes by seconds - exactly when a retry after a lost answer comes.
        """
        ids = self.associated_ids(contact_id, kind)
        for start in range(len(ids), 0, -_READ_BATCH):
            for record in self.read_records(kind, ids[max(0, start - _READ_BATCH) : start], [body_property]):
                text = record.properties.get(body_property) or ""
                if marker in (note_text(text) if html else text):
                    return record
        return None

    def list_records(
        self, kind: RecordKind, properties: Sequence[str], *, limit: int, after: str | None
    ) -> ObjectPage:
        """One page of every record of ``kind`` (``GET /crm/v3/objects/{kind}``: ``limit``, ``after``)."""
        template = "/crm/v3/objects/{type}"
        params = {
            **self._read_params(properties, ()),
            "limit": str(limit),
            **({"after": after} if after else {}),
        }
        response = self._api.request("GET", f"/crm/v3/objects/{kind}", params=params, template=template)
        return self._api.parse(ObjectPage, response, template)

    def deal_pipelines(self) -> list[Pipeline]:
        """The portal's deal pipelines and their stages (``GET /crm/v3/pipelines/deals``)."""
        path = "/crm/v3/pipelines/deals"
        page = self._api.parse(ResultsPage, self._api.request("GET", path), path)
        return [Pipeline.model_validate(r) for r in page.results]

    # --- owners and search ----------------------------------------------------------------------

    def owners_page(
        self, *, limit: int = 100, after: str | None = None, email: str | None = None
    ) -> OwnerPage:
        """A page of owners (``GET /crm/v3/owners``)."""
        params = {
            "limit": str(limit),
            **({"after": after} if after else {}),
            **({"email": email} if email else {}),
        }
        path = "/crm/v3/owners"
        return self._api.parse(OwnerPage, self._api.request("GET", path, params=params), path)

    def get_owner(self, owner_id: str) -> Owner | None:
        """One owner by id (``GET /crm/v3/owners/{ownerId}``), or ``None`` if there is no such owner."""
        template = "/crm/v3/owners/{ownerId}"
        response = self._api.request(
            "GET", f"/crm/v3/owners/{quote(owner_id, safe='')}", template=template, ok=(404,)
        )
        if response.status_code == 404:
            return None
        return self._api.parse(Owner, response, template)

    def search_contacts(
        self,
        filter_groups: Sequence[Sequence[Mapping[str, str]]],
        properties: Sequence[str],
        *,
        limit: int,
        after: str | None = None,
    ) -> ObjectPage:
        """``POST /crm/v3/objects/contacts/search``: groups are ORed, the filters of one group ANDed.

        The search index trails writes by a few seconds (and has its own limit of 5 requests a
        second): for reads a person asked for, never for idempotency checks.
        """
        payload: dict[str, Any] = {
            "filterGroups": [{"filters": [dict(f) for f in group]} for group in filter_groups],
            "properties": list(properties),
            "limit": limit,
        }
        if after:
            payload["after"] = after
        path = "/crm/v3/objects/contacts/search"
        response = self._api.request("POST", path, json=payload, safe=True)  # a search: a read
        return self._api.parse(ObjectPage, response, path)

    @staticmethod
    def _read_params(properties: Sequence[str], associations: Sequence[str]) -> dict[str, str]:
        params: dict[str, str] = {}
        if properties:
            params["properties"] = ",".join(properties)
        if associations:
            params["associations"] = ",".join(associations)
        return params
