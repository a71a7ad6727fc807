"""PDL's Company Enrichment answers as typed models: the matched company and the error body.

Worker path only. Sources: the output of the Company Enrichment API (the company fields at the top
level of the body, no ``data`` wrapper, plus ``status`` and ``likelihood`` 1-10):
https://docs.peopledatalabs.com/docs/output-response-company-enrichment-api and the Company Schema,
https://docs.peopledatalabs.com/docs/company-schema; errors
(``{"status": 404, "error": {"type": "not_found", "message": ...}}``):
https://docs.peopledatalabs.com/docs/errors and the messages in ``peopledatalabs-js`` ``src/errors.ts``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["Company", "ErrorDetail", "Location", "PdlError", "parse_error"]


class _Model(BaseModel):
    # PDL adds fields with every dataset release; ignoring unknown ones keeps old workers working.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Location(_Model):
    """A company's headquarters, lower-case as PDL sends it (``"united kingdom"``)."""

    name: str | None = None
    locality: str | None = None
    region: str | None = None
    metro: str | None = None
    country: str | None = None
    continent: str | None = None
    street_address: str | None = None
    address_line_2: str | None = None
    postal_code: str | None = None
    geo: str | None = None


class Company(_Model):
    """The fields of a matched company that Switchboard uses; PDL sends ``null`` for unknown ones.

    ``name`` is lower-case; ``display_name`` keeps the company's own capitalisation. ``size`` is one
    of :data:`COMPANY_SIZES` (kept as a string so a new range never fails a lookup), self-reported;
    ``employee_count`` counts the PDL profiles that currently work there.
    """

    id: str | None = None
    name: str | None = None
    display_name: str | None = None
    size: str | None = None
    employee_count: int | None = None
    founded: int | None = None
    industry: str | None = None
    location: Location | None = None
    website: str | None = None
    linkedin_url: str | None = None
    type: str | None = None
    summary: str | None = None
    tags: tuple[str, ...] | None = None
    #: PDL's confidence that this is the company asked for, 1 (low) to 10 (high).
    likelihood: int | None = None


class ErrorDetail(_Model):
    type: str
    message: str = ""


class PdlError(_Model):
    """PDL's error body: ``{"status": 401, "error": {"type": "authentication_error", "message": ...}}``."""

    status: int
    error: ErrorDetail


def parse_error(text: str | bytes) -> PdlError | None:
    """The PDL error body in ``text``, or ``None`` if it is not one (an HTML page from a proxy ...)."""
    try:
        return PdlError.model_validate_json(text)
    except ValidationError:
        return None
