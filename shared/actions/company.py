"""The company domain's contract: who is behind an email domain.

The action itself is the app's: :mod:`apps.peopledatalabs.actions` (``company.enrich``). The company
found is People Data Labs' own record (:class:`apps.peopledatalabs.models.Company`), as the app
that answers returns it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from apps.peopledatalabs.models import Company

__all__ = ["CompanyLookup", "FoundCompany"]


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
    company: Company | None = None
