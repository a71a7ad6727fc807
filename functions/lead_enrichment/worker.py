"""lead_enrichment's worker: who wrote in? Company lookup, lead score, HubSpot contact, ``lead.scored``.

Steps, each recorded in the effects ledger so a retry resumes where the last attempt failed:

1. ``lookup_company`` - People Data Labs' Company Enrichment by the email's domain. Free-mail and
   disposable domains are not looked up; the step still records that, and why. "No match" (404) is
   an answer, not a failure. Quota answers (402, 429) back off and retry (see
   ``apps.peopledatalabs``); an invalid key (401) is permanent: DLQ with the reason.
2. ``update_contact`` - company name, industry, number of employees (where the portal has them),
   score and reason on the contact. The score is computed from the declared rules (``scoring.json``)
   and saved with this step, so the event below always carries what was written. If the contact id
   is gone (merged or deleted since the lead arrived), the contact is found again by email; if there
   is none any more, there is nothing to update and nothing to announce.
3. ``emit.lead.scored`` - the domain event for whoever acts on hot leads.

Ordering: two leads of one person may be enriched in any order. The contact's score and company
belong to the newest lead, by its submission time (``submitted_at``, the lead's event id breaking
ties), kept per contact in :mod:`shared.ordering`: the update runs only if no newer lead of the same
email was written, under the contact's lease; an older lead enriched later writes nothing and emits
no ``lead.scored`` (its score is not the contact's).

Logs carry outcomes, never the email address or the message (``shared.redact`` masks them anyway).
"""

from __future__ import annotations

from typing import Any

from apps import hubspot
from apps.hubspot.actions import FIND_CONTACT, UPDATE_CONTACT
from apps.peopledatalabs.actions import ENRICH
from shared.actions import company as company_actions
from shared.actions import crm
from shared.errors import TargetRejected
from shared.ordering import Applied, EntityVersions, time_version
from shared.worker import WorkContext

from .crm import contact_properties
from .domains import DomainKind, classify
from .models import CompanySummary, EnrichLead, Settings
from .portal import writable_properties
from .scoring import Score, Signals, score


def process(lead: EnrichLead, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    kind = classify(lead.domain)
    lookup = ctx.step("lookup_company", lambda: _lookup_company(ctx, lead, kind, settings))
    company = CompanySummary.model_validate(lookup["company"]) if lookup["company"] else None
    ctx.logger.info(
        "company lookup",
        extra={"lookup": lookup["status"], "domain_kind": kind, "likelihood": company and company.likelihood},
    )

    result = score(_signals(lead, kind, company))
    update = ctx.step("update_contact", lambda: _update_newest(ctx, lead, company, result, settings))
    if update.get("stale"):
        ctx.logger.info(
            "a newer lead of this contact was scored already; nothing written", extra={"stale": True}
        )
        return {"contact_id": lead.contact_id, "score": update["score"], "updated": False, "stale": True}
    if not update["updated"]:
        ctx.logger.warning(
            "contact no longer in HubSpot; nothing to update", extra={"contact_id": lead.contact_id}
        )
        return {"contact_id": lead.contact_id, "score": update["score"], "updated": False}

    contact_id = update["contact_id"]
    ctx.emit(
        "lead.scored",
        {
            "contact_id": contact_id,
            "score": update["score"],
            "reason": update["reason"],
            "company": company.model_dump(mode="json") if company else None,
            "lookup": lookup["status"],
            "crm_url": lead.crm_url if contact_id == lead.contact_id else None,
            "lead_event_id": lead.lead_event_id,
        },
    )
    return {"contact_id": contact_id, "score": update["score"], "lookup": lookup["status"], "updated": True}


def _lookup_company(
    ctx: WorkContext, lead: EnrichLead, kind: DomainKind, settings: Settings
) -> dict[str, Any]:
    """The lookup's outcome as the ledger keeps it: status first (it leads the trace line)."""
    if kind != "company":
        return {"status": "skipped", "reason": f"{kind.replace('_', '-')} domain", "company": None}
    query = company_actions.CompanyLookup(domain=lead.domain, min_likelihood=settings.min_likelihood)
    found = ENRICH(ctx, query).company
    if found is None:
        return {"status": "not_found", "domain": lead.domain, "company": None}
    summary = company_summary(found)
    return {
        "status": "found",
        "name": summary.name,
        "size": summary.size,
        "industry": summary.industry,
        "company": summary.model_dump(mode="json"),
    }


def company_summary(company: company_actions.Company) -> CompanySummary:
    """What this integration keeps of the company found (in the ledger and on the bus)."""
    return CompanySummary(
        name=company.name,
        domain=company.domain,
        size=company.size,
        employee_count=company.employee_count,
        industry=company.industry,
        country=company.country,
        locality=company.locality,
        linkedin_url=company.linkedin_url,
        likelihood=company.likelihood,
    )


def _signals(lead: EnrichLead, kind: DomainKind, company: CompanySummary | None) -> Signals:
    return Signals(
        email=kind,
        source=lead.source,
        utm_source=lead.utm_source,
        utm_medium=lead.utm_medium,
        message=lead.message,
        company_size=company.size if company else None,
        industry=company.industry if company else None,
        country=company.country if company else None,
    )


def _update_newest(
    ctx: WorkContext, lead: EnrichLead, company: CompanySummary | None, result: Score, settings: Settings
) -> dict[str, Any]:
    """The update, unless a newer lead of the same email was written (then ``stale``)."""
    if lead.submitted_at is None:  # queued before leads carried their time: as before, unordered
        return _update_contact(ctx, lead, company, result, settings)
    written = EntityVersions(ctx.rt, "contact").apply(
        lead.email.strip().lower(),
        time_version(lead.submitted_at, lead.lead_event_id),
        lambda: _update_contact(ctx, lead, company, result, settings),
    )
    if isinstance(written, Applied):
        return written.result
    outcome = {"contact_id": lead.contact_id, "score": result.score, "reason": result.reason}
    if written.same:  # this lead's own write, made by an attempt whose step record was lost
        return {**outcome, "updated": True}
    return {**outcome, "updated": False, "stale": True}


def _update_contact(
    ctx: WorkContext, lead: EnrichLead, company: CompanySummary | None, result: Score, settings: Settings
) -> dict[str, Any]:
    api = ctx.api(hubspot.APP, hubspot.CONNECTION)
    props = contact_properties(
        lead, company, result, writable_properties(api), overwrite_company=settings.overwrite_company
    )
    outcome = {"score": result.score, "reason": result.reason}
    contact_id = lead.contact_id
    try:
        UPDATE_CONTACT(ctx, crm.UpdateContact(contact_id=contact_id, properties=props))
    except TargetRejected as exc:
        if exc.status != 404:
            raise
        # Merged or deleted since lead.created: the email still names the person, if they exist.
        found = FIND_CONTACT(ctx, crm.FindContact(email=lead.email))
        if not found.found or found.id is None:
            return {"contact_id": contact_id, "updated": False, **outcome}
        contact_id = found.id
        UPDATE_CONTACT(ctx, crm.UpdateContact(contact_id=contact_id, properties=props))
    return {"contact_id": contact_id, "updated": True, **outcome, "properties": sorted(props)}
