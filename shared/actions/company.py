"""The company domain's contract: who is behind a website domain.

The company is described in the domain's own terms (:class:`Company`, with sizes and industries
from :mod:`shared.actions.company_values`), never in one provider's: the app that performs
``company.enrich`` (today :mod:`apps.peopledatalabs.actions`) maps its record onto it, so a flow that
reads a company works unchanged with another provider.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Company", "CompanyLookup", "FoundCompany"]


class CompanyLookup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    domain: str = Field(
        min_length=3,
        max_length=253,
        pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,}$",
        description="website domain",
    )
    min_likelihood: int | None = Field(default=None, ge=1, le=10, description="weakest match accepted (1-10)")


class Company(BaseModel):
    """A company as the domain knows it; ``None`` where the provider does not know a value."""

    model_config = ConfigDict(frozen=True)

    name: str | None = Field(default=None, description="the company's own name, as it writes it")
    domain: str | None = Field(default=None, description="its website's domain")
    size: str | None = Field(
        default=None, description="employee range, e.g. '11-50' (company_values.COMPANY_SIZES)"
    )
    employee_count: int | None = Field(default=None, description="employees the provider counts")
    founded: int | None = Field(default=None, description="year founded")
    industry: str | None = Field(default=None, description="lower-case industry (company_values.INDUSTRIES)")
    country: str | None = Field(default=None, description="headquarters' country, lower case")
    region: str | None = Field(default=None, description="headquarters' region or state, lower case")
    locality: str | None = Field(default=None, description="headquarters' town or city, lower case")
    linkedin_url: str | None = None
    summary: str | None = None
    tags: tuple[str, ...] = ()
    likelihood: int | None = Field(
        default=None, ge=1, le=10, description="how sure the provider is that this is the company asked for"
    )


class FoundCompany(BaseModel):
    model_config = ConfigDict(frozen=True)

    found: bool = Field(description="false: no company matched (a normal answer, not an error)")
    company: Company | None = None
