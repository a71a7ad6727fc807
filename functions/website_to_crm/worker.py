"""website_to_crm's worker: one lead in, one HubSpot contact (never two), a note, ``lead.created``.

Steps, each recorded in the effects ledger so a retry resumes where the last attempt failed:

1. ``upsert_contact`` - create or update by email (HubSpot matches emails case-insensitively), with
   name, phone, company, lead source and UTM properties - unless a *newer* submission of the same
   email was already written (see Ordering below): then the contact is only looked up;
2. ``qualify`` - only for a contact this lead *created*: lifecycle stage, lead status and an owner
   taken round-robin from the configured list. An existing contact keeps its stage and its owner
   (HubSpot refuses to move a stage backwards, and a customer writing again stays with their owner);
3. ``note`` - the message, as a note on the contact's timeline;
4. ``emit.lead.created`` - the domain event other integrations consume (notify, enrich).

Ordering: leads of one person can be processed in any order (SQS does not keep it, a redrive replays
days later), and HubSpot keeps whichever write came last. So the contact's values are versioned by the
submission's own time (``submitted_at``, the event id breaking ties) in :mod:`shared.ordering`: an
older submission processed after a newer one does not overwrite the newer values. It still gets its
note (notes are a timeline, each stamped with its own submission time) and its ``lead.created``.

Imported on the worker path only (``spec.worker``); it may import httpx-backed clients freely.
"""

from __future__ import annotations

from typing import Any

from apps.hubspot import contact_url
from apps.hubspot.actions import ADD_NOTE, FIND_CONTACT, UPDATE_CONTACT, UPSERT_CONTACT
from shared.actions import crm
from shared.ordering import Applied, EntityVersions, time_version
from shared.worker import WorkContext

from .models import Lead, Settings


def contact_input(lead: Lead) -> crm.UpsertContact:
    """The lead as the ``crm.upsert_contact`` action takes it (the action maps it onto HubSpot)."""
    return crm.UpsertContact(
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        phone=lead.phone,
        company=lead.company,
        lead_source=lead.source,
        utm_source=lead.utm.source,
        utm_medium=lead.utm.medium,
        utm_campaign=lead.utm.campaign,
        utm_term=lead.utm.term,
        utm_content=lead.utm.content,
    )


def note_text(lead: Lead) -> str:
    lines = [lead.message or ""]
    meta = [f"Source: {lead.source}"]
    if lead.form_id:
        meta.append(f"Form: {lead.form_id}")
    if lead.page_url:
        meta.append(f"Page: {lead.page_url}")
    if lead.utm.campaign:
        meta.append(f"Campaign: {lead.utm.campaign}")
    meta.append(f"Marketing consent: {'yes' if lead.consent else 'no'}")
    return "\n".join([*lines, "", *meta]).strip()


def process(lead: Lead, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    contact = ctx.step("upsert_contact", lambda: _upsert(ctx, lead))

    owner_id: str | None = None
    if contact["is_new"]:

        def qualify() -> dict[str, Any]:
            props = {"lifecyclestage": settings.lifecycle_stage, "hs_lead_status": settings.lead_status}
            owner = _next_owner(ctx, settings)
            if owner:
                props["hubspot_owner_id"] = owner
            UPDATE_CONTACT(ctx, crm.UpdateContact(contact_id=contact["id"], properties=props))
            return {"owner_id": owner, **props}

        owner_id = ctx.step("qualify", qualify).get("owner_id")

    note_id = None
    if lead.message:
        note = crm.AddNote(contact_id=contact["id"], text=note_text(lead), timestamp=lead.submitted_at)
        note_id = ctx.step("note", lambda: ADD_NOTE(ctx, note).model_dump(mode="json"))["id"]

    crm_url = _crm_url(settings, contact["id"])
    ctx.emit(
        "lead.created",
        {
            "contact_id": contact["id"],
            "is_new_contact": contact["is_new"],
            "crm_url": crm_url,
            "owner_id": owner_id,
            "lead": lead.model_dump(mode="json"),
        },
    )
    return {"contact_id": contact["id"], "new": contact["is_new"], "owner_id": owner_id, "note_id": note_id}


def contact_entity(email: str) -> str:
    """The contact's identity in the version store: the email as HubSpot matches it (any case)."""
    return email.strip().lower()


def _upsert(ctx: WorkContext, lead: Lead) -> dict[str, Any]:
    """Write the lead's values unless a newer submission's are on the contact; the contact's id."""
    versions = EntityVersions(ctx.rt, "contact")
    version = time_version(lead.submitted_at, ctx.event_id)
    written = versions.apply(
        contact_entity(lead.email),
        version,
        lambda: UPSERT_CONTACT(ctx, contact_input(lead)).model_dump(mode="json"),
    )
    if isinstance(written, Applied):
        return dict(written.result)
    if written.same:
        # This lead's own write, applied by an attempt that ended before the ledger recorded the step
        # (its version was stored, then the invocation died). Writing the same values again is
        # harmless, and only the upsert's answer (with the earlier attempts' window) says whether
        # that attempt created the contact - which decides whether the lead is qualified.
        return UPSERT_CONTACT(ctx, contact_input(lead)).model_dump(mode="json")
    ctx.logger.info("an older submission than the contact's: values kept", extra={"stale": True})
    found = FIND_CONTACT(ctx, crm.FindContact(email=lead.email))
    if found.found and found.id is not None:
        return {"id": found.id, "is_new": False, "stale": True}
    # Deleted in HubSpot since the newer lead: this lead is all there is, so it makes the contact.
    return UPSERT_CONTACT(ctx, contact_input(lead)).model_dump(mode="json")


def _next_owner(ctx: WorkContext, settings: Settings) -> str | None:
    if not settings.owner_ids:
        return None
    turn = ctx.counter("owner_round_robin")
    return settings.owner_ids[(turn - 1) % len(settings.owner_ids)]


def _crm_url(settings: Settings, contact_id: str) -> str | None:
    if not settings.hubspot_portal_id:
        return None
    return contact_url(settings.hubspot_portal_id, contact_id)
