"""The ``company.enrich`` action, performed by People Data Labs: who is behind a website domain.

The contract is :mod:`shared.actions.company`; this module answers it with PDL's Company Enrichment
(:meth:`apps.peopledatalabs.client.PeopleDataLabsClient.enrich_company`) and maps PDL's record onto
the domain's :class:`~shared.actions.company.Company` - PDL's size ranges and industries are already
the domain's vocabulary. Worker and MCP path only.
"""

from __future__ import annotations

from typing import Final

from shared.actions.base import Action, ActionContext
from shared.actions.company import Company, CompanyLookup, FoundCompany

from . import APP, CONNECTION
from . import models as pdl
from .client import PeopleDataLabsClient

__all__ = ["ACTIONS", "ENRICH", "as_company"]


def as_company(record: pdl.Company) -> Company:
    """PDL's record in the domain's terms: its own display name first, the headquarters' place."""
    location = record.location
    return Company(
        name=record.display_name or record.name,
        domain=record.website,
        size=record.size,
        employee_count=record.employee_count,
        founded=record.founded,
        industry=record.industry,
        country=location.country if location else None,
        region=location.region if location else None,
        locality=location.locality if location else None,
        linkedin_url=record.linkedin_url,
        summary=record.summary,
        tags=record.tags or (),
        likelihood=record.likelihood,
    )


def _enrich(ctx: ActionContext, data: CompanyLookup) -> FoundCompany:
    client = PeopleDataLabsClient(ctx.api(APP, CONNECTION))
    record = client.enrich_company(website=data.domain, min_likelihood=data.min_likelihood)
    return FoundCompany(found=record is not None, company=as_company(record) if record else None)


ENRICH: Final = Action(
    name="company.enrich",
    description="Look up the company behind a website domain: name, size, industry, location (People Data Labs).",
    input=CompanyLookup,
    output=FoundCompany,
    app=APP.name,
    connections=(CONNECTION,),
    run=_enrich,
    effect=False,
)

ACTIONS: Final = (ENRICH,)
