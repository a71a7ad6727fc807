"""Tasks, meetings, deals, deal pipelines, owners by id, contact search and v4 associations, offline.

Served for :class:`apps.hubspot.standin.HubSpotSandbox` (paths as on ``https://api.hubapi.com``):

* ``POST /crm/v3/objects/{tasks|meetings|deals}`` with ``associations`` to contacts (task -> contact
  204, meeting -> contact 200, deal -> contact 3, ``HUBSPOT_DEFINED``); ``GET`` and ``PATCH
  /crm/v3/objects/{type}/{id}``; ``POST /crm/v3/objects/{type}/batch/read`` (207 with HubSpot's
  ``errors`` for ids not found); ``GET /crm/v3/objects/deals`` (``limit``, ``after``);
* ``GET /crm/v4/objects/contacts/{id}/associations/{notes|tasks|meetings|deals}`` (``limit`` up to 500,
  ``after``), oldest first;
* ``GET /crm/v3/pipelines/deals`` and ``GET /crm/v3/pipelines/deals/{pipelineId}``: the portal's
  ``default`` "Sales Pipeline" with HubSpot's default stage ids (``appointmentscheduled`` ...
  ``closedlost``) and a second pipeline with numeric stage ids, as a portal's own pipelines have;
* ``GET /crm/v3/owners`` (``email``, ``limit`` up to 500, ``after``) and ``GET /crm/v3/owners/{ownerId}``;
* ``POST /crm/v3/objects/contacts/search``: ``filterGroups`` (OR of groups, AND within one; at most 5
  groups, 6 filters in a group, 18 in all) with ``EQ``, ``NEQ``, ``CONTAINS_TOKEN`` (whole words,
  ``*`` as a wildcard), ``NOT_CONTAINS_TOKEN``, ``HAS_PROPERTY`` and ``NOT_HAS_PROPERTY``, compared
  case-insensitively; ``properties``; ``limit`` at most 200 and ``after``; the answer ``{"total",
  "results", "paging": {"next": {"after"}}}``. ``hs_email_domain`` is the part of ``email`` after the
  ``@``, as HubSpot computes it. Search reads the index, so it trails writes (:mod:`sandbox.consistency`).

Properties as HubSpot documents them: tasks ``hs_timestamp`` (required: the due date),
``hs_task_subject``, ``hs_task_body``, ``hs_task_status`` (``NOT_STARTED`` when not given ...
``COMPLETED``), ``hs_task_priority``, ``hs_task_type``, ``hubspot_owner_id``; meetings ``hs_timestamp``
(required), ``hs_meeting_title``, ``hs_meeting_body``, ``hs_meeting_start_time`` / ``_end_time``,
``hs_meeting_outcome``; deals ``dealname``, ``pipeline`` and ``dealstage`` (required, the stage must
be one of the pipeline's), ``amount``, ``closedate``, ``description``.

Sources: https://developers.hubspot.com/docs/api/crm/tasks, .../crm/meetings, .../crm/deals,
.../crm/pipelines, .../crm/owners, .../crm/search (limits: 5 filter groups, 6 filters each, 18 in
total; 200 results a page) and the association type ids of ``HubSpot/hubspot-api-nodejs``
``AssociationTypesEnum``. Error texts HubSpot does not document are ours, in HubSpot's shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sandbox.base import SandboxRequest, SandboxResponse, iso_ms

from .shapes import Record, _as_value, _error, _Invalid, _missing_fields, _parse_time, _property_errors

if TYPE_CHECKING:
    from sandbox.consistency import Visibility

__all__ = ["DEFAULT_PIPELINES", "ObjectRoutes", "SandboxPipeline", "SandboxStage"]

API_ROOT: Final = "https://api.hubapi.com"


@dataclass(frozen=True)
class SandboxStage:
    id: str
    label: str
    probability: str
    is_closed: bool = False


@dataclass(frozen=True)
class SandboxPipeline:
    id: str
    label: str
    stages: tuple[SandboxStage, ...]


DEFAULT_PIPELINES: Final = (
    SandboxPipeline(
        "default",
        "Sales Pipeline",
        (
            SandboxStage("appointmentscheduled", "Appointment Scheduled", "0.2"),
            SandboxStage("qualifiedtobuy", "Qualified To Buy", "0.4"),
            SandboxStage("presentationscheduled", "Presentation Scheduled", "0.6"),
            SandboxStage("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
            SandboxStage("contractsent", "Contract Sent", "0.9"),
            SandboxStage("closedwon", "Closed Won", "1.0", is_closed=True),
            SandboxStage("closedlost", "Closed Lost", "0.0", is_closed=True),
        ),
    ),
    SandboxPipeline(
        "751234567",
        "Wholesale",
        (
            SandboxStage("1102345678", "Tasting booked", "0.3"),
            SandboxStage("1102345679", "Standing order agreed", "1.0", is_closed=True),
            SandboxStage("1102345680", "Not now", "0.0", is_closed=True),
        ),
    ),
)


@dataclass(frozen=True)
class _Kind:
    """One object type: what may be written, what must be, the enumerations, its tie to contacts."""

    writable: frozenset[str]
    required: tuple[str, ...]
    enums: Mapping[str, frozenset[str]]
    to_contact: int
    default_read: tuple[str, ...]
    times: tuple[str, ...] = ()


_KINDS: Final[Mapping[str, _Kind]] = {
    "tasks": _Kind(
        frozenset(
            {
                "hs_timestamp",
                "hs_task_subject",
                "hs_task_body",
                "hs_task_status",
                "hs_task_priority",
                "hs_task_type",
                "hs_task_reminders",
                "hubspot_owner_id",
            }
        ),
        ("hs_timestamp",),
        {
            "hs_task_status": frozenset({"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"}),
            "hs_task_priority": frozenset({"NONE", "LOW", "MEDIUM", "HIGH"}),
            "hs_task_type": frozenset({"TODO", "CALL", "EMAIL", "LINKED_IN", "MEETING"}),
        },
        204,
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        ("hs_timestamp",),
    ),
    "meetings": _Kind(
        frozenset(
            {
                "hs_timestamp",
                "hs_meeting_title",
                "hs_meeting_body",
                "hs_internal_meeting_notes",
                "hs_meeting_external_url",
                "hs_meeting_location",
                "hs_meeting_start_time",
                "hs_meeting_end_time",
                "hs_meeting_outcome",
                "hubspot_owner_id",
            }
        ),
        ("hs_timestamp",),
        {"hs_meeting_outcome": frozenset({"SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"})},
        200,
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        ("hs_timestamp", "hs_meeting_start_time", "hs_meeting_end_time"),
    ),
    "deals": _Kind(
        frozenset(
            {
                "dealname",
                "pipeline",
                "dealstage",
                "amount",
                "closedate",
                "description",
                "dealtype",
                "hubspot_owner_id",
            }
        ),
        ("dealname", "pipeline", "dealstage"),
        {"dealtype": frozenset({"newbusiness", "existingbusiness"})},
        3,
        (
            "amount",
            "closedate",
            "createdate",
            "dealname",
            "dealstage",
            "hs_lastmodifieddate",
            "hs_object_id",
            "pipeline",
        ),
        ("closedate",),
    ),
}
_READ_ONLY: Final = frozenset({"hs_createdate", "hs_lastmodifieddate", "hs_object_id", "createdate"})
#: The notes' association (note -> contact), served by the same v4 listing.
_NOTE_TO_CONTACT: Final = 202
_SEARCH_DEFAULT: Final = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname")
_OPERATORS: Final = frozenset(
    {"EQ", "NEQ", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"}
)


def _owner_json(owner: Any) -> dict[str, Any]:
    created = iso_ms(0)
    return {
        "id": owner.id,
        "email": owner.email,
        "type": "PERSON",
        "firstName": owner.first_name,
        "lastName": owner.last_name,
        "userId": owner.user_id,
        "userIdIncludingInactive": owner.user_id,
        "createdAt": created,
        "updatedAt": created,
        "archived": False,
    }


def _pipeline_json(pipeline: SandboxPipeline) -> dict[str, Any]:
    created = iso_ms(0)
    return {
        "id": pipeline.id,
        "label": pipeline.label,
        "displayOrder": 0 if pipeline.id == "default" else 1,
        "stages": [
            {
                "id": s.id,
                "label": s.label,
                "displayOrder": n,
                "metadata": {"isClosed": "true" if s.is_closed else "false", "probability": s.probability},
                "createdAt": created,
                "updatedAt": created,
                "archived": False,
            }
            for n, s in enumerate(pipeline.stages)
        ],
        "createdAt": created,
        "updatedAt": created,
        "archived": False,
    }


def _page_args(req: SandboxRequest, default: int, maximum: int) -> tuple[int, int]:
    try:
        limit = min(max(int(req.param("limit") or default), 1), maximum)
        after = int(req.param("after") or 0)
    except ValueError:
        raise _Invalid(_error(400, "limit and after must be integers", "VALIDATION_ERROR")) from None
    return limit, after


def _tokens(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text.casefold())


def _matches(value: str | None, operator: str, wanted: str) -> bool:
    if operator == "HAS_PROPERTY":
        return bool(value)
    if operator == "NOT_HAS_PROPERTY":
        return not value
    text = (value or "").casefold()
    if operator in ("EQ", "NEQ"):
        return (text == wanted.casefold()) == (operator == "EQ")
    pattern = re.compile("^" + ".*".join(re.escape(p) for p in wanted.casefold().split("*")) + "$")
    found = any(pattern.match(t) for t in _tokens(text)) or bool(pattern.match(text))
    return found == (operator == "CONTAINS_TOKEN")


class ObjectRoutes:
    """The handlers listed in the module docstring; mixed into :class:`HubSpotSandbox`."""

    clock: Callable[[], float]
    contacts: dict[str, Record]
    notes: dict[str, Record]
    owners: tuple[Any, ...]
    visibility: Visibility
    _ids: Iterator[int]

    if TYPE_CHECKING:

        def _json_object(self, req: SandboxRequest) -> dict[str, Any]: ...
        def _not_found_object(self, key: str) -> SandboxResponse: ...
        def _object_json(
            self, record: Record, values: Mapping[str, str], kinds: Sequence[str]
        ) -> dict[str, Any]: ...
        def _read(self, record: Record, req: SandboxRequest, default: Sequence[str]) -> dict[str, Any]: ...
        def _batch_read(
            self, req: SandboxRequest, records: Mapping[str, Record], default_read: Sequence[str], label: str
        ) -> SandboxResponse: ...

    def object_routes(self) -> tuple[tuple[str, str, Any], ...]:
        routes: list[tuple[str, str, Any]] = []
        for kind in _KINDS:
            root = f"/crm/v3/objects/{kind}"
            routes += [
                ("POST", root, self._create_object),
                ("GET", root + "/{id}", self._get_object),
                ("PATCH", root + "/{id}", self._update_object),
                ("POST", root + "/batch/read", self._read_objects),
            ]
        return (
            *routes,
            ("GET", "/crm/v3/objects/deals", self._list_deals),
            ("GET", "/crm/v4/objects/contacts/{id}/associations/{toType}", self._contact_associations_v4),
            ("GET", "/crm/v3/pipelines/deals", self._list_pipelines),
            ("GET", "/crm/v3/pipelines/deals/{pipelineId}", self._get_pipeline),
            ("GET", "/crm/v3/owners", self._list_owners),
            ("GET", "/crm/v3/owners/{ownerId}", self._get_owner),
            ("POST", "/crm/v3/objects/contacts/search", self._search_contacts),
        )

    def reset_objects(self) -> None:
        self.objects: dict[str, dict[str, Record]] = {kind: {} for kind in _KINDS}
        self.pipelines: dict[str, SandboxPipeline] = {p.id: p for p in DEFAULT_PIPELINES}

    @staticmethod
    def _kind_of(req: SandboxRequest) -> str:
        return req.path.split("?", 1)[0].split("/")[4]

    # --- tasks, meetings, deals -----------------------------------------------------------------

    def _create_object(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        kind = self._kind_of(req)
        try:
            data = self._json_object(req)
            if not isinstance(data.get("properties"), dict):
                raise _missing_fields(["properties"])
            props = self._checked(kind, {k: _as_value(v) for k, v in data["properties"].items()}, None)
            missing = [name for name in _KINDS[kind].required if not props.get(name)]
            if missing:
                message = f"Error creating {kind[:-1].upper()}. Some required properties were not set."
                raise _Invalid(_error(400, message, "VALIDATION_ERROR", context={"properties": missing}))
            contact_ids = self._contact_associations(data.get("associations", []), _KINDS[kind].to_contact)
        except _Invalid as invalid:
            return invalid.response
        now = self.clock()
        record_id = str(next(self._ids))
        created = "createdate" if kind == "deals" else "hs_createdate"
        props |= {created: iso_ms(now), "hs_lastmodifieddate": iso_ms(now), "hs_object_id": record_id}
        if kind == "tasks":
            props.setdefault("hs_task_status", "NOT_STARTED")
        record = Record(record_id, props, now, now, {"contacts": contact_ids})
        self.objects[kind][record_id] = record
        self.visibility.written(kind, record_id)
        for contact_id in contact_ids:
            self.contacts[contact_id].associations.setdefault(kind, []).append(record_id)
        return SandboxResponse.json(self._object_json(record, dict(sorted(props.items())), ()), 201)

    def _checked(self, kind: str, props: dict[str, str], record: Record | None) -> dict[str, str]:
        """Properties validated as HubSpot does (names, read-only, options, owners, times, stages)."""
        spec = _KINDS[kind]
        problems: list[tuple[str, str, str]] = []
        for name, value in props.items():
            if name in _READ_ONLY:
                problems.append((name, "READ_ONLY_VALUE", f'Property "{name}" is read-only'))
            elif name not in spec.writable:
                problems.append((name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
            elif name in spec.enums and value and value not in spec.enums[name]:
                allowed = ", ".join(sorted(spec.enums[name]))
                message = f"{value} was not one of the allowed options: [{allowed}]"
                problems.append((name, "INVALID_OPTION", message))
            elif name == "hubspot_owner_id" and value and value not in {o.id for o in self.owners}:
                problems.append((name, "INVALID_OWNER_ID", f"{value} is not a valid owner id"))
            elif name in spec.times and value:
                when = _parse_time(value)
                if when is None:
                    message = f"{value} is not a valid Unix time in milliseconds or ISO 8601 UTC time"
                    problems.append((name, "INVALID_DATE", message))
                else:
                    props[name] = iso_ms(when)
            elif name == "amount" and value:
                try:
                    float(value)
                except ValueError:
                    problems.append((name, "INVALID_FLOAT", f"{value} is not a valid number"))
        if kind == "deals" and ("dealstage" in props or "pipeline" in props):
            pipeline_id = (
                props.get("pipeline") or (record.properties.get("pipeline") if record else None) or ""
            )
            stage = props.get("dealstage") or (record.properties.get("dealstage") if record else None) or ""
            pipeline = self.pipelines.get(pipeline_id)
            if pipeline is None:
                problems.append(("pipeline", "INVALID_OPTION", f"{pipeline_id} is not a valid pipeline"))
            elif stage and stage not in {s.id for s in pipeline.stages}:
                message = f"{stage} is not a valid stage of pipeline {pipeline_id}"
                problems.append(("dealstage", "INVALID_OPTION", message))
        if problems:
            raise _property_errors(problems)
        return props

    def _contact_associations(self, associations: Any, type_id: int) -> list[str]:
        if not isinstance(associations, list):
            raise _missing_fields(["associations"])
        contact_ids: list[str] = []
        for item in associations:
            to = item.get("to") if isinstance(item, dict) else None
            types = item.get("types") if isinstance(item, dict) else None
            if not isinstance(to, dict) or "id" not in to or not isinstance(types, list) or not types:
                raise _missing_fields(["to", "types"])
            for kind in types:
                category = kind.get("associationCategory") if isinstance(kind, dict) else None
                given = kind.get("associationTypeId") if isinstance(kind, dict) else None
                if category != "HUBSPOT_DEFINED" or given != type_id:
                    message = (
                        f"The sandbox supports associationCategory HUBSPOT_DEFINED with associationTypeId "
                        f"{type_id} (to a contact) here, not {category} {given}"
                    )
                    raise _Invalid(_error(400, message, "VALIDATION_ERROR"))
            target = _as_value(to["id"])
            if target not in self.contacts:
                message = f"One or more associations are invalid: contact {target} does not exist"
                raise _Invalid(_error(400, message, "VALIDATION_ERROR", context={"toObjectId": [target]}))
            if target not in contact_ids:
                contact_ids.append(target)
        return contact_ids

    def _get_object(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        kind = self._kind_of(req)
        record = self.objects[kind].get(params["id"])
        if record is None:
            return self._not_found_object(params["id"])
        return SandboxResponse.json(self._read(record, req, _KINDS[kind].default_read))

    def _update_object(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        kind = self._kind_of(req)
        record = self.objects[kind].get(params["id"])
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
            props = self._checked(kind, props, record)
        except _Invalid as invalid:
            return invalid.response
        now = self.clock()
        for name, value in props.items():
            if value == "":
                record.properties.pop(name, None)
            else:
                record.properties[name] = value
        if kind == "tasks" and props.get("hs_task_status") == "COMPLETED":
            record.properties.setdefault("hs_task_completion_date", iso_ms(now))
        record.updated_at = now
        record.properties["hs_lastmodifieddate"] = iso_ms(now)
        self.visibility.written(kind, record.id)
        shown = {*props, "hs_lastmodifieddate", "hs_object_id"}
        values = {k: record.properties[k] for k in sorted(shown) if k in record.properties}
        return SandboxResponse.json(self._object_json(record, values, ()))

    def _read_objects(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        kind = self._kind_of(req)
        return self._batch_read(req, self.objects[kind], _KINDS[kind].default_read, kind[:-1].upper())

    def _list_deals(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            limit, after = _page_args(req, 10, 100)
        except _Invalid as invalid:
            return invalid.response
        listed = [r for r in self.objects["deals"].values() if self.visibility.visible("deals", r.id)]
        page = [r for r in sorted(listed, key=lambda r: int(r.id)) if int(r.id) >= after]
        body: dict[str, Any] = {
            "results": [self._read(r, req, _KINDS["deals"].default_read) for r in page[:limit]]
        }
        if len(page) > limit:
            nxt = page[limit].id
            link = f"{API_ROOT}/crm/v3/objects/deals?limit={limit}&after={nxt}"
            body["paging"] = {"next": {"after": nxt, "link": link}}
        return SandboxResponse.json(body)

    def _contact_associations_v4(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        """v4 associations: the contact's records of one type, oldest first, ``limit`` (max 500), ``after``."""
        to_type = params["toType"]
        if to_type != "notes" and to_type not in _KINDS:
            return _error(400, f"Unable to infer object type from: {to_type}", "VALIDATION_ERROR")
        record = self.contacts.get(params["id"])
        if record is None:
            return self._not_found_object(params["id"])
        try:
            limit, after = _page_args(req, 500, 500)
        except _Invalid as invalid:
            return invalid.response
        ids = [i for i in record.associations.get(to_type, []) if self.visibility.visible(to_type, i)]
        page = ids[after : after + limit]
        type_id = _NOTE_TO_CONTACT if to_type == "notes" else _KINDS[to_type].to_contact
        kind = {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
        body: dict[str, Any] = {"results": [{"toObjectId": int(i), "associationTypes": [kind]} for i in page]}
        if after + limit < len(ids):
            nxt = str(after + limit)
            link = f"{API_ROOT}/crm/v4/objects/contacts/{record.id}/associations/{to_type}?after={nxt}"
            body["paging"] = {"next": {"after": nxt, "link": link}}
        return SandboxResponse.json(body)

    # --- pipelines and owners -------------------------------------------------------------------

    def _list_pipelines(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        return SandboxResponse.json({"results": [_pipeline_json(p) for p in self.pipelines.values()]})

    def _get_pipeline(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        pipeline = self.pipelines.get(params["pipelineId"])
        if pipeline is None:
            message = f"Unable to find pipeline {params['pipelineId']}"
            return _error(404, message, "OBJECT_NOT_FOUND")
        return SandboxResponse.json(_pipeline_json(pipeline))

    def _list_owners(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            limit, after = _page_args(req, 100, 500)
        except _Invalid as invalid:
            return invalid.response
        email = (req.param("email") or "").lower()
        owners = [o for o in self.owners if not email or o.email.lower() == email]
        body: dict[str, Any] = {"results": [_owner_json(o) for o in owners[after : after + limit]]}
        if after + limit < len(owners):
            nxt = str(after + limit)
            body["paging"] = {"next": {"after": nxt, "link": f"{API_ROOT}/crm/v3/owners?after={nxt}"}}
        return SandboxResponse.json(body)

    def _get_owner(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        owner = next((o for o in self.owners if o.id == params["ownerId"]), None)
        if owner is None:
            return _error(404, f"Owner {params['ownerId']} not found", "OBJECT_NOT_FOUND")
        return SandboxResponse.json(_owner_json(owner))

    # --- search ---------------------------------------------------------------------------------

    def _search_contacts(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            data = self._json_object(req)
            groups = self._filter_groups(data.get("filterGroups", []))
            limit = data.get("limit", 10)
            if not isinstance(limit, int) or not 1 <= limit <= 200:
                raise _Invalid(_error(400, "limit must be between 1 and 200", "VALIDATION_ERROR"))
            after = int(str(data.get("after") or 0))
        except ValueError:
            return _error(400, "after must be an integer", "VALIDATION_ERROR")
        except _Invalid as invalid:
            return invalid.response
        asked = [str(p) for p in data.get("properties") or [] if isinstance(p, str)] or list(_SEARCH_DEFAULT)
        hits = []
        for record in sorted(self.contacts.values(), key=lambda r: int(r.id)):
            if not self.visibility.visible("contacts", record.id):
                continue
            values = dict(record.properties)
            email = values.get("email", "")
            values["hs_email_domain"] = email.rpartition("@")[2] if "@" in email else ""
            if not groups or any(all(_matches(values.get(p), op, v) for p, op, v in g) for g in groups):
                hits.append(record)
        page = hits[after : after + limit]
        body: dict[str, Any] = {
            "total": len(hits),
            "results": [
                self._object_json(
                    r, {k: r.properties[k] for k in sorted(set(asked)) if k in r.properties}, ()
                )
                for r in page
            ],
        }
        if after + limit < len(hits):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return SandboxResponse.json(body)

    @staticmethod
    def _filter_groups(raw: Any) -> list[list[tuple[str, str, str]]]:
        if not isinstance(raw, list):
            raise _missing_fields(["filterGroups"])
        if len(raw) > 5:
            raise _Invalid(_error(400, "Too many filter groups: at most 5 are allowed", "VALIDATION_ERROR"))
        groups: list[list[tuple[str, str, str]]] = []
        for group in raw:
            filters = group.get("filters") if isinstance(group, dict) else None
            if not isinstance(filters, list):
                raise _missing_fields(["filters"])
            if len(filters) > 6:
                raise _Invalid(_error(400, "Too many filters in a group: at most 6", "VALIDATION_ERROR"))
            parsed = []
            for f in filters:
                if (
                    not isinstance(f, dict)
                    or not f.get("propertyName")
                    or f.get("operator") not in _OPERATORS
                ):
                    raise _Invalid(_error(400, f"Invalid filter: {f!r}", "VALIDATION_ERROR"))
                parsed.append((str(f["propertyName"]), str(f["operator"]), _as_value(f.get("value"))))
            groups.append(parsed)
        if sum(len(g) for g in groups) > 18:
            raise _Invalid(_error(400, "Too many filters: at most 18 in all", "VALIDATION_ERROR"))
        return groups
