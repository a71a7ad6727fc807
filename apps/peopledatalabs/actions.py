"""The ``company.enrich`` action, performed by People Data Labs: who is behind a website domain.

The contract is :mod:`shared.actions.company`; this module answers it with PDL's Company Enrichment
(:meth:`apps.peopledatalabs.client.PeopleDataLabsClient.enrich_company`). Worker and MCP path only.
"""

from __future__ import annotations

from typing import Final

from shared.actions.base import Action, ActionContext
from shared.actions.company import CompanyLookup, FoundCompany

from . import APP, CONNECTION
from .client import PeopleDataLabsClient

__all__ = ["ACTIONS", "ENRICH"]


def _enrich(ctx: ActionContext, data: CompanyLookup) -> FoundCompany:
    client = PeopleDataLabsClient(ctx.api(APP, CONNECTION))
    company = client.enrich_company(website=data.domain, min_likelihood=data.min_likelihood)
    return FoundCompany(found=company is not None, company=company)


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
