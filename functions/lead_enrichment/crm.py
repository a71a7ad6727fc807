"""What lead_enrichment writes on the HubSpot contact, and how PDL's values map onto HubSpot's.

* ``company`` (default "Company Name"): PDL's ``display_name``, only where the person typed no
  company name (``Settings.overwrite_company`` to always replace it) - what they wrote is theirs;
* ``industry`` (default "Industry", single-line text): PDL's canonical industry, capitalised;
* ``numemployees`` (default "Number of Employees", a dropdown): PDL's size range mapped onto
  HubSpot's options (:func:`employee_range`), written only when the mapping is unambiguous;
* ``switchboard_lead_score`` / ``switchboard_lead_score_reason``: custom properties
  (``apps.hubspot.properties.CUSTOM_PROPERTIES``), always written.

``industry`` and ``numemployees`` are written only if the portal has them with that option
(:mod:`.portal`).
"""

from __future__ import annotations

import re
from typing import Final

from apps.hubspot.properties import NUMEMPLOYEES_RANGES, numemployees_option

from .models import CompanySummary, EnrichLead
from .portal import WritableProperties
from .scoring import Score

__all__ = [
    "REASON_PROPERTY",
    "SCORE_PROPERTY",
    "contact_properties",
    "employee_range",
    "industry_label",
]

SCORE_PROPERTY: Final = "switchboard_lead_score"
REASON_PROPERTY: Final = "switchboard_lead_score_reason"

_SIZE = re.compile(r"^(\d+)(?:-(\d+)|\+)$")
_SMALL_WORDS: Final = frozenset({"and", "or", "of", "the", "&"})


def _bounds(size: str) -> tuple[int, int | None] | None:
    """PDL's ``"51-200"`` -> (51, 200); ``"10001+"`` -> (10001, None); anything else -> None."""
    match = _SIZE.match(size.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def employee_range(size: str | None, employee_count: int | None) -> str | None:
    """HubSpot's ``numemployees`` option for a PDL company, or ``None`` if it cannot be told.

    PDL's self-reported ``size`` range decides. Where it spans two HubSpot options ("51-200" is both
    "50-100" and "100-500"), PDL's ``employee_count`` - kept inside the range - picks one; without a
    count nothing is written rather than a guess. Without a range the count alone decides.
    """
    bounds = _bounds(size) if size else None
    if bounds is None:
        return numemployees_option(employee_count) if employee_count else None
    low, high = bounds
    options = [
        option
        for option, o_low, o_high in NUMEMPLOYEES_RANGES
        if (o_high is None or o_high >= low) and (high is None or o_low <= high)
    ]
    if len(options) == 1:
        return options[0]
    if employee_count is None:
        return None
    inside = max(low, employee_count if high is None else min(high, employee_count))
    return numemployees_option(inside)


def industry_label(industry: str) -> str:
    """``"food & beverages"`` -> ``"Food & Beverages"``; short joining words stay lower case."""
    words = industry.split()
    return " ".join(w if (i and w in _SMALL_WORDS) else w[:1].upper() + w[1:] for i, w in enumerate(words))


def contact_properties(
    lead: EnrichLead,
    company: CompanySummary | None,
    result: Score,
    writable: WritableProperties,
    *,
    overwrite_company: bool = False,
) -> dict[str, str]:
    """The properties to set; a value that is unknown is left out (an empty string would clear it)."""
    props = {SCORE_PROPERTY: str(result.score), REASON_PROPERTY: result.reason}
    if company is None:
        return props
    if company.name and (overwrite_company or not lead.company):
        props["company"] = company.name
    if company.industry and "industry" in writable:
        props["industry"] = industry_label(company.industry)
    option = employee_range(company.size, company.employee_count)
    allowed = writable.get("numemployees")
    if option and "numemployees" in writable and (allowed is None or option in allowed):
        props["numemployees"] = option
    return props
