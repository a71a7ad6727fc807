"""The ``crm.*`` actions, performed by HubSpot: create or update a contact, set its properties, read
it, log a note; and the assistant's tools - tasks, meetings, deals and their pipelines, owners,
contact search and the lead score's explanation (see the section below ``ADD_NOTE``).

The domain contract - the input and output models - is :mod:`shared.actions.crm`. This module maps
it onto HubSpot once: the contact's typed fields onto HubSpot's property names (``first_name`` ->
``firstname``; ``lead_source`` and ``utm_*`` are the custom properties ``switchboard setup hubspot``
creates, :data:`apps.hubspot.properties.CUSTOM_PROPERTIES`), and each operation onto a call of
:class:`apps.hubspot.client.HubSpotClient`. Worker and MCP path only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from shared.actions.base import Action, ActionContext
from shared.actions.crm import (
    AddNote,
    CompleteTask,
    ContactFound,
    ContactMatches,
    ContactRef,
    ContactSummary,
    CreateDeal,
    CreateTask,
    Deal,
    DealCreated,
    DealList,
    DealMoved,
    ExplainScore,
    FindContact,
    GetContact,
    GetOwner,
    ListDeals,
    ListOpenTasks,
    ListOwners,
    LogMeeting,
    MeetingLogged,
    MoveDealStage,
    NoteRef,
    Owner,
    OwnerFound,
    OwnerList,
    ScoreExplanation,
    ScoreReason,
    SearchContacts,
    Task,
    TaskCompleted,
    TaskCreated,
    TaskList,
    UpdateContact,
    UpsertContact,
    UpsertedContact,
)
from shared.errors import InvalidEvent

from . import APP, CONNECTION
from .client import HubSpotClient, _iso_ms
from .models import CrmObject, Pipeline, PipelineStage
from .models import Owner as HubSpotOwner
from .notes import NOTE_BODY_MAX_CHARS, NOTE_REFERENCE_PREFIX, note_html, note_text

__all__ = [
    "ACTIONS",
    "ADD_NOTE",
    "COMPLETE_TASK",
    "CREATE_DEAL",
    "CREATE_TASK",
    "EXPLAIN_SCORE",
    "FIND_CONTACT",
    "GET_CONTACT",
    "GET_OWNER",
    "LIST_DEALS",
    "LIST_OPEN_TASKS",
    "LIST_OWNERS",
    "LOG_MEETING",
    "MOVE_DEAL_STAGE",
    "SEARCH_CONTACTS",
    "UPDATE_CONTACT",
    "UPSERT_CONTACT",
    "contact_properties",
    "search_filter_groups",
]


def contact_properties(data: UpsertContact) -> dict[str, str]:
    """HubSpot's property names; absent values are left out (an empty string would clear one).

    Anything in ``data.properties`` is already named the HubSpot way; the typed fields win over it.
    """
    typed = {
        "email": data.email,
        "firstname": data.first_name,
        "lastname": data.last_name,
        "phone": data.phone,
        "company": data.company,
        "lead_source": data.lead_source,
        "utm_source": data.utm_source,
        "utm_medium": data.utm_medium,
        "utm_campaign": data.utm_campaign,
        "utm_term": data.utm_term,
        "utm_content": data.utm_content,
    }
    return {**data.properties, **{k: v for k, v in typed.items() if v}}


def _client(ctx: ActionContext) -> HubSpotClient:
    return HubSpotClient(ctx.api(APP, CONNECTION))


def _upsert(ctx: ActionContext, data: UpsertContact) -> UpsertedContact:
    contact = _client(ctx).upsert_contact(data.email, contact_properties(data))
    return UpsertedContact(id=contact.id, is_new=bool(contact.is_new))


def _update(ctx: ActionContext, data: UpdateContact) -> ContactRef:
    return ContactRef(id=_client(ctx).update_contact(data.contact_id, data.properties).id)


def _get(ctx: ActionContext, data: GetContact) -> ContactFound:
    contact = _client(ctx).get_contact(data.contact_id, properties=data.properties)
    return ContactFound(found=True, id=contact.id, properties=contact.properties)


def _find(ctx: ActionContext, data: FindContact) -> ContactFound:
    contact = _client(ctx).find_contact_by_email(data.email, properties=data.properties)
    if contact is None:
        return ContactFound(found=False)
    return ContactFound(found=True, id=contact.id, properties=contact.properties)


def _note(ctx: ActionContext, data: AddNote) -> NoteRef:
    when = data.timestamp or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return NoteRef(id=_client(ctx).create_note(data.contact_id, data.text, when).id)


_CONNECTIONS = (CONNECTION,)

UPSERT_CONTACT: Final = Action(
    name="crm.upsert_contact",
    description="Create a CRM contact, or update the one with this email (HubSpot; never a duplicate).",
    input=UpsertContact,
    output=UpsertedContact,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_upsert,
)
UPDATE_CONTACT: Final = Action(
    name="crm.update_contact",
    description="Set properties on an existing CRM contact by its record id (HubSpot).",
    input=UpdateContact,
    output=ContactRef,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_update,
)
GET_CONTACT: Final = Action(
    name="crm.get_contact",
    description="Read a CRM contact's properties by its record id (HubSpot).",
    input=GetContact,
    output=ContactFound,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_get,
    effect=False,
)
FIND_CONTACT: Final = Action(
    name="crm.find_contact",
    description="Find a CRM contact by email address; found=false if there is none (HubSpot).",
    input=FindContact,
    output=ContactFound,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_find,
    effect=False,
)
ADD_NOTE: Final = Action(
    name="crm.add_note",
    description="Log a plain-text note on a CRM contact's timeline (HubSpot).",
    input=AddNote,
    output=NoteRef,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_note,
)

_CONTACT_ACTIONS: Final = (UPSERT_CONTACT, UPDATE_CONTACT, GET_CONTACT, FIND_CONTACT, ADD_NOTE)


# --- the assistant's CRM tools: tasks, meetings, deals, owners, search, the lead score ----------------
#
# Creating a task, a meeting or a deal takes the caller's ``key``. HubSpot has no idempotency key for
# creating records, so - as notes do (:meth:`HubSpotClient.create_note`) - the record carries a
# reference line (``Switchboard ref: <key>``) at the end of its body (a task's ``hs_task_body``, a
# meeting's ``hs_meeting_body``, a deal's ``description``), and before creating one the contact's
# records of that type are read for it through associations (consistent at once, unlike search):
# a record found is answered with ``created: false``. So a retry after a lost answer, or a model
# calling twice with one key, never makes a second record. The reference line is taken out again
# when a body is shown.

_TASK_PROPERTIES: Final = (
    "hs_task_subject",
    "hs_task_body",
    "hs_task_status",
    "hs_task_priority",
    "hs_task_type",
    "hs_timestamp",
    "hubspot_owner_id",
)
_DEAL_PROPERTIES: Final = (
    "dealname",
    "pipeline",
    "dealstage",
    "amount",
    "closedate",
    "hubspot_owner_id",
    "description",
)
_SEARCH_PROPERTIES: Final = ("email", "firstname", "lastname", "company")
_SCORE_PROPERTIES: Final = (
    "email",
    "lead_source",
    "utm_source",
    "utm_medium",
    "industry",
    "country",
    "switchboard_lead_score",
)


def _marker(key: str) -> str:
    return f"{NOTE_REFERENCE_PREFIX}{key}"


def _with_marker(text: str | None, key: str, *, html: bool) -> str:
    """The body with the reference line last: HTML-escaped for rich-text bodies, plain for a deal's."""
    if not html:
        return f"{text}\n\n{_marker(key)}" if text else _marker(key)
    tail = note_html(("\n\n" if text else "") + _marker(key))
    return note_html(text or "", NOTE_BODY_MAX_CHARS - len(tail)) + tail


def _without_marker(body: str | None, *, html: bool) -> str | None:
    """A body as the person wrote it: the reference line (and the blank line before it) taken out."""
    if not body:
        return None
    text = note_text(body) if html else body
    kept = [line for line in text.split("\n") if not line.startswith(NOTE_REFERENCE_PREFIX)]
    return "\n".join(kept).rstrip() or None


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _task(record: CrmObject) -> Task:
    p = record.properties
    return Task(
        id=record.id,
        subject=p.get("hs_task_subject"),
        body=_without_marker(p.get("hs_task_body"), html=True),
        status=p.get("hs_task_status"),
        priority=p.get("hs_task_priority"),
        task_type=p.get("hs_task_type"),
        due=_when(p.get("hs_timestamp")),
        owner_id=p.get("hubspot_owner_id") or None,
    )


def _deal(record: CrmObject, pipelines: Sequence[Pipeline] = ()) -> Deal:
    p = record.properties
    pipeline = next((x for x in pipelines if x.id == p.get("pipeline")), None)
    stage_id, amount = p.get("dealstage"), p.get("amount")
    stage = pipeline.stage(stage_id) if pipeline and stage_id else None
    return Deal(
        id=record.id,
        name=p.get("dealname"),
        pipeline=p.get("pipeline"),
        stage=p.get("dealstage"),
        stage_label=stage.label if stage else None,
        amount=Decimal(amount) if amount else None,
        close_date=_when(p.get("closedate")),
        owner_id=p.get("hubspot_owner_id") or None,
    )


def _create_task(ctx: ActionContext, data: CreateTask) -> TaskCreated:
    client = _client(ctx)
    found = client.find_by_reference("tasks", data.contact_id, "hs_task_body", _marker(data.key), html=True)
    if found is not None:
        return TaskCreated(created=False, task=_task(client.get_record("tasks", found.id, _TASK_PROPERTIES)))
    props = {
        "hs_task_subject": data.subject,
        "hs_task_body": _with_marker(data.body, data.key, html=True),
        "hs_timestamp": _iso_ms(data.due),
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": data.task_type,
        **({"hs_task_priority": data.priority} if data.priority else {}),
        **({"hubspot_owner_id": data.owner_id} if data.owner_id else {}),
    }
    return TaskCreated(created=True, task=_task(client.create_record("tasks", props, data.contact_id)))


def _open_tasks(ctx: ActionContext, data: ListOpenTasks) -> TaskList:
    client = _client(ctx)
    ids = client.associated_ids(data.contact_id, "tasks")
    tasks = [_task(r) for r in client.read_records("tasks", ids, _TASK_PROPERTIES)]
    open_ = [t for t in tasks if t.status != "COMPLETED"]
    far = datetime.max.replace(tzinfo=UTC)
    open_.sort(key=lambda t: (t.due or far, int(t.id) if t.id.isdigit() else 0))
    return TaskList(tasks=open_[: data.limit])


def _complete_task(ctx: ActionContext, data: CompleteTask) -> TaskCompleted:
    client = _client(ctx)
    record = client.get_record("tasks", data.task_id, _TASK_PROPERTIES)
    if record.properties.get("hs_task_status") == "COMPLETED":
        return TaskCompleted(changed=False, task=_task(record))
    patched = client.update_record("tasks", data.task_id, {"hs_task_status": "COMPLETED"})
    merged = record.model_copy(update={"properties": {**record.properties, **patched.properties}})
    return TaskCompleted(changed=True, task=_task(merged))


def _log_meeting(ctx: ActionContext, data: LogMeeting) -> MeetingLogged:
    client = _client(ctx)
    found = client.find_by_reference(
        "meetings", data.contact_id, "hs_meeting_body", _marker(data.key), html=True
    )
    if found is not None:
        return MeetingLogged(created=False, id=found.id)
    props = {
        "hs_timestamp": _iso_ms(data.start),
        "hs_meeting_title": data.title,
        "hs_meeting_body": _with_marker(data.body, data.key, html=True),
        "hs_meeting_start_time": _iso_ms(data.start),
        "hs_meeting_end_time": _iso_ms(data.end),
        "hs_meeting_outcome": data.outcome,
        **({"hubspot_owner_id": data.owner_id} if data.owner_id else {}),
    }
    return MeetingLogged(created=True, id=client.create_record("meetings", props, data.contact_id).id)


def _list_deals(ctx: ActionContext, data: ListDeals) -> DealList:
    client = _client(ctx)
    pipelines = client.deal_pipelines()
    if data.contact_id is None:
        page = client.list_records("deals", _DEAL_PROPERTIES, limit=data.limit, after=data.after)
        deals = [_deal(r, pipelines) for r in page.results]
        return DealList(deals=deals, next_after=page.next_after)
    # A contact's deals: its associations, paged here by position (HubSpot's v4 "after" is opaque).
    if data.after is not None and not data.after.isdigit():
        raise InvalidEvent(f"after {data.after!r} is not a next_after this tool answered")
    start = int(data.after or 0)
    ids = client.associated_ids(data.contact_id, "deals")
    chosen = ids[start : start + data.limit]
    records = {r.id: r for r in client.read_records("deals", chosen, _DEAL_PROPERTIES)}
    deals = [_deal(records[i], pipelines) for i in chosen if i in records]
    more = start + data.limit < len(ids)
    return DealList(deals=deals, next_after=str(start + data.limit) if more else None)


def _pipeline(pipelines: Sequence[Pipeline], wanted: str) -> Pipeline:
    found = next((p for p in pipelines if p.id == wanted), None) or next(
        (p for p in pipelines if p.label.casefold() == wanted.strip().casefold()), None
    )
    if found is None:
        names = ", ".join(f"{p.label} ({p.id})" for p in pipelines)
        raise InvalidEvent(f"no deal pipeline {wanted!r}; the portal has: {names}")
    return found


def _stage(pipeline: Pipeline, wanted: str) -> PipelineStage:
    stage = pipeline.stage(wanted)
    if stage is None:
        names = ", ".join(f"{s.label} ({s.id})" for s in pipeline.stages)
        raise InvalidEvent(f"pipeline {pipeline.label!r} has no stage {wanted!r}; its stages: {names}")
    return stage


def _create_deal(ctx: ActionContext, data: CreateDeal) -> DealCreated:
    client = _client(ctx)
    pipelines = client.deal_pipelines()
    pipeline = _pipeline(pipelines, data.pipeline)
    if not pipeline.stages:
        raise InvalidEvent(f"pipeline {pipeline.label!r} has no stages")
    stage = (
        _stage(pipeline, data.stage) if data.stage else min(pipeline.stages, key=lambda s: s.display_order)
    )
    found = client.find_by_reference("deals", data.contact_id, "description", _marker(data.key), html=False)
    if found is not None:
        return DealCreated(
            created=False, deal=_deal(client.get_record("deals", found.id, _DEAL_PROPERTIES), pipelines)
        )
    props = {
        "dealname": data.name,
        "pipeline": pipeline.id,
        "dealstage": stage.id,
        "description": _with_marker(None, data.key, html=False),
        **({"amount": str(data.amount)} if data.amount is not None else {}),
        **({"closedate": data.close_date.isoformat() + "T00:00:00.000Z"} if data.close_date else {}),
        **({"hubspot_owner_id": data.owner_id} if data.owner_id else {}),
    }
    return DealCreated(
        created=True, deal=_deal(client.create_record("deals", props, data.contact_id), pipelines)
    )


def _move_deal(ctx: ActionContext, data: MoveDealStage) -> DealMoved:
    client = _client(ctx)
    record = client.get_record("deals", data.deal_id, _DEAL_PROPERTIES)
    pipelines = client.deal_pipelines()
    pipeline = _pipeline(pipelines, record.properties.get("pipeline") or "default")
    stage = _stage(pipeline, data.stage)
    if record.properties.get("dealstage") == stage.id:
        return DealMoved(changed=False, deal=_deal(record, pipelines))
    patched = client.update_record("deals", data.deal_id, {"dealstage": stage.id})
    merged = record.model_copy(update={"properties": {**record.properties, **patched.properties}})
    return DealMoved(changed=True, deal=_deal(merged, pipelines))


def _owner(owner: HubSpotOwner) -> Owner:
    return Owner(id=owner.id, email=owner.email, first_name=owner.first_name, last_name=owner.last_name)


def _list_owners(ctx: ActionContext, data: ListOwners) -> OwnerList:
    page = _client(ctx).owners_page(limit=data.limit, after=data.after, email=data.email)
    owners = [_owner(o) for o in page.results]
    return OwnerList(owners=owners, next_after=page.next_after)


def _get_owner(ctx: ActionContext, data: GetOwner) -> OwnerFound:
    owner = _client(ctx).get_owner(data.owner_id)
    return OwnerFound(found=owner is not None, owner=_owner(owner) if owner else None)


def _words(text: str, most: int) -> list[str]:
    """Whole words, as HubSpot's ``CONTAINS_TOKEN`` compares them (at most ``most``)."""
    return [w for w in (part.strip(".,;:()\"'") for part in text.split()) if w][:most]


def search_filter_groups(data: SearchContacts) -> list[list[dict[str, str]]]:
    """HubSpot ``filterGroups`` for a search: every given criterion must match (one group ANDs them).

    A name is matched word by word as a prefix (``Jan`` finds Jane): one word against the first or
    the last name (two groups, ORed), two or more as first name then last name, or the other way
    round. A company matches every word of it; an email domain ``hs_email_domain`` exactly.
    """
    common: list[dict[str, str]] = []
    if data.company:
        common += [
            {"propertyName": "company", "operator": "CONTAINS_TOKEN", "value": w}
            for w in _words(data.company, 3)
        ]
    if data.email_domain:
        domain = data.email_domain.lstrip("@").lower()
        common.append({"propertyName": "hs_email_domain", "operator": "EQ", "value": domain})
    if not data.name:
        return [common]
    words = _words(data.name, 2)
    if not words:
        raise InvalidEvent("name has no words to search by")

    def token(prop: str, word: str) -> dict[str, str]:
        return {"propertyName": prop, "operator": "CONTAINS_TOKEN", "value": f"{word}*"}

    if len(words) == 1:
        return [[token("firstname", words[0]), *common], [token("lastname", words[0]), *common]]
    first, last = words
    return [
        [token("firstname", first), token("lastname", last), *common],
        [token("firstname", last), token("lastname", first), *common],
    ]


def _search(ctx: ActionContext, data: SearchContacts) -> ContactMatches:
    page = _client(ctx).search_contacts(
        search_filter_groups(data), _SEARCH_PROPERTIES, limit=data.limit, after=data.after
    )
    contacts = []
    for record in page.results:
        p = record.properties
        contacts.append(
            ContactSummary(
                id=record.id,
                email=p.get("email"),
                first_name=p.get("firstname"),
                last_name=p.get("lastname"),
                company=p.get("company"),
            )
        )
    return ContactMatches(total=page.total or len(contacts), contacts=contacts, next_after=page.next_after)


def _explain_score(ctx: ActionContext, data: ExplainScore) -> ScoreExplanation:
    from functions.lead_enrichment.scoring import explain

    stored: str | None = None
    given = data.model_dump(exclude={"contact_id", "email"})
    email = data.email
    if data.contact_id is not None:
        contact = _client(ctx).get_contact(data.contact_id, properties=_SCORE_PROPERTIES)
        p = contact.properties
        email = p.get("email")
        if not email:
            raise InvalidEvent(f"contact {data.contact_id} has no email address to score by")
        read = {
            "source": p.get("lead_source"),
            "utm_source": p.get("utm_source"),
            "utm_medium": p.get("utm_medium"),
            "industry": p.get("industry"),
            "country": p.get("country"),
        }
        given = {k: v if v is not None else read.get(k) for k, v in given.items()}
        stored = p.get("switchboard_lead_score") or None
    if email is None:  # pragma: no cover - the contract asks for a contact_id or an email
        raise InvalidEvent("give a contact_id or an email to score")
    signals, result = explain(email, **given)
    shown = {
        "email": signals.email,
        "source": signals.source or None,
        "utm_source": signals.utm_source,
        "utm_medium": signals.utm_medium,
        "message": "(given)" if signals.message else None,
        "company_size": signals.company_size,
        "industry": signals.industry,
        "country": signals.country,
    }
    return ScoreExplanation(
        score=result.score,
        total=result.total,
        reasons=[ScoreReason(points=r.points, label=r.label) for r in result.reasons],
        reason=result.reason,
        signals=shown,
        stored_score=stored,
    )


CREATE_TASK: Final = Action(
    name="crm.create_task",
    description="Create a to-do for a rep on a CRM contact (subject, due time, priority); the same key never makes two (HubSpot).",
    input=CreateTask,
    output=TaskCreated,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_create_task,
)
LIST_OPEN_TASKS: Final = Action(
    name="crm.list_open_tasks",
    description="List a CRM contact's tasks that are not completed, soonest due first (HubSpot).",
    input=ListOpenTasks,
    output=TaskList,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_open_tasks,
    effect=False,
)
COMPLETE_TASK: Final = Action(
    name="crm.complete_task",
    description="Mark a CRM task completed by its id; changed=false if it already was (HubSpot).",
    input=CompleteTask,
    output=TaskCompleted,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_complete_task,
)
LOG_MEETING: Final = Action(
    name="crm.log_meeting",
    description="Log a meeting (title, times, notes, outcome) on a CRM contact's timeline; the same key never logs two (HubSpot).",
    input=LogMeeting,
    output=MeetingLogged,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_log_meeting,
)
LIST_DEALS: Final = Action(
    name="crm.list_deals",
    description="List CRM deals - all, or one contact's - with pipeline, stage, amount and close date, a page at a time (HubSpot).",
    input=ListDeals,
    output=DealList,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_list_deals,
    effect=False,
)
CREATE_DEAL: Final = Action(
    name="crm.create_deal",
    description="Create a CRM deal for a contact in a pipeline stage (checked); the same key never makes two (HubSpot).",
    input=CreateDeal,
    output=DealCreated,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_create_deal,
)
MOVE_DEAL_STAGE: Final = Action(
    name="crm.move_deal_stage",
    description="Move a CRM deal to another stage of its pipeline, by stage id or label (HubSpot).",
    input=MoveDealStage,
    output=DealMoved,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_move_deal,
)
LIST_OWNERS: Final = Action(
    name="crm.list_owners",
    description="List the CRM's owners (the reps records can be assigned to), a page at a time (HubSpot).",
    input=ListOwners,
    output=OwnerList,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_list_owners,
    effect=False,
)
GET_OWNER: Final = Action(
    name="crm.get_owner",
    description="Read one CRM owner (rep) by id, e.g. a contact's hubspot_owner_id; found=false if none (HubSpot).",
    input=GetOwner,
    output=OwnerFound,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_get_owner,
    effect=False,
)
SEARCH_CONTACTS: Final = Action(
    name="crm.search_contacts",
    description="Search CRM contacts by name, company or email domain (words match as prefixes; HubSpot search).",
    input=SearchContacts,
    output=ContactMatches,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_search,
    effect=False,
)
EXPLAIN_SCORE: Final = Action(
    name="crm.explain_score",
    description="Explain a lead's score (0-100) by the business's rules with each reason, for a CRM contact or given signals.",
    input=ExplainScore,
    output=ScoreExplanation,
    app=APP.name,
    connections=_CONNECTIONS,
    run=_explain_score,
    effect=False,
)

ACTIONS: Final = (
    *_CONTACT_ACTIONS,
    CREATE_TASK,
    LIST_OPEN_TASKS,
    COMPLETE_TASK,
    LOG_MEETING,
    LIST_DEALS,
    CREATE_DEAL,
    MOVE_DEAL_STAGE,
    LIST_OWNERS,
    GET_OWNER,
    SEARCH_CONTACTS,
    EXPLAIN_SCORE,
)
