"""Company actions (People Data Labs): who is behind an email domain."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from apps import peopledatalabs
from shared.actions.base import Action, ActionContext

__all__ = ["ACTIONS", "ENRICH", "CompanyLookup", "FoundCompany"]


class CompanyLookup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    domain: str = Field(
        min_length=3,
        max_length=253,
        pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,}$",
        description="website domain",
    )
    min_likelihood: int | None = Field(default=None, ge=1, le=10, description="weakest match accepted (1-10)")


class FoundCompany(BaseModel):
    model_config = ConfigDict(frozen=True)

    found: bool = Field(description="false: no company matched (a normal answer, not an error)")
    company: peopledatalabs.Company | None = None


def _enrich(ctx: ActionContext, data: CompanyLookup) -> FoundCompany:
    client = peopledatalabs.PeopleDataLabsClient(ctx.api(peopledatalabs.APP, peopledatalabs.CONNECTION))
    company = client.enrich_company(website=data.domain, min_likelihood=data.min_likelihood)
    return FoundCompany(found=company is not None, company=company)


ENRICH: Final = Action(
    name="company.enrich",
    description="Look up the company behind a website domain: name, size, industry, location (People Data Labs).",
    input=CompanyLookup,
    output=FoundCompany,
    app=peopledatalabs.APP.name,
    connections=(peopledatalabs.CONNECTION,),
    run=_enrich,
    effect=False,
)

ACTIONS: Final = (ENRICH,)
