"""HubSpot contact properties: the defaults a lead sets, Switchboard's custom ones, default options.

Property names and option values are HubSpot's internal ones (the API takes nothing else), so the
integrations, the stand-in and ``switchboard setup hubspot`` all read them from here.
"""

from __future__ import annotations

from typing import Final, NotRequired, TypedDict

__all__ = [
    "CUSTOM_PROPERTIES",
    "DEFAULT_LEAD_PROPERTIES",
    "LEAD_STATUSES",
    "LIFECYCLE_STAGES",
    "NUMEMPLOYEES_OPTIONS",
    "NUMEMPLOYEES_RANGES",
    "PropertyDefinition",
    "numemployees_option",
]

#: HubSpot default contact properties a lead sets (they exist in every portal; nothing to create).
#: ``message`` is HubSpot's default "Message" textarea; ``hubspot_owner_id`` is "Contact owner".
DEFAULT_LEAD_PROPERTIES: Final = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "message",
)

#: Internal values of the default ``lifecyclestage`` options (the API takes internal names only).
LIFECYCLE_STAGES: Final = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)

#: Internal values of the default ``hs_lead_status`` options.
LEAD_STATUSES: Final = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)

#: The internal values of the default contact dropdown ``numemployees`` ("Number of Employees"), with
#: the head counts each stands for. HubSpot's labels share their boundaries ("1-5", "5-25"); a
#: boundary belongs to the lower option here. ``None``: no upper bound. A portal's admin can edit
#: these options, so a writer checks the portal's own list before using one.
NUMEMPLOYEES_RANGES: Final[tuple[tuple[str, int, int | None], ...]] = (
    ("1-5", 1, 5),
    ("5-25", 6, 25),
    ("25-50", 26, 50),
    ("50-100", 51, 100),
    ("100-500", 101, 500),
    ("500-1000", 501, 1000),
    ("1000+", 1001, None),
)
#: The ``numemployees`` options of a portal whose admin left them as HubSpot ships them.
NUMEMPLOYEES_OPTIONS: Final = tuple(option for option, _, _ in NUMEMPLOYEES_RANGES)


def numemployees_option(count: int) -> str | None:
    """The ``numemployees`` option a head count falls into, or ``None`` for none (0 or less)."""
    for option, low, high in NUMEMPLOYEES_RANGES:
        if count >= low and (high is None or count <= high):
            return option
    return None


class PropertyDefinition(TypedDict):
    """A property as ``POST /crm/v3/properties/contacts`` takes it (HubSpot's own field names)."""

    name: str
    label: str
    type: str
    fieldType: str
    groupName: str
    description: NotRequired[str]
    formField: NotRequired[bool]


def _text_property(name: str, label: str, description: str) -> PropertyDefinition:
    return {
        "name": name,
        "label": label,
        "type": "string",
        "fieldType": "text",
        # "contactinformation" exists in every portal; a custom group would have to be created first.
        "groupName": "contactinformation",
        "description": description,
        "formField": False,
    }


def _number_property(name: str, label: str, description: str) -> PropertyDefinition:
    # HubSpot's number properties are type "number" with fieldType "number"; values travel as strings.
    return {**_text_property(name, label, description), "type": "number", "fieldType": "number"}


#: Custom contact properties a portal must have before leads are written (HubSpot rejects unknown
#: property names with 400 PROPERTY_DOESNT_EXIST). HubSpot has no writable default for these: its
#: "Original Source" (``hs_analytics_source``) and the ``hs_analytics_*`` URL fields are computed by
#: HubSpot's own tracking and read-only through the API. Plain text (not dropdowns) so that a new
#: campaign or source value never becomes a rejected write. Treat as read-only data.
CUSTOM_PROPERTIES: Final[tuple[PropertyDefinition, ...]] = (
    _text_property("lead_source", "Lead source", "Where the lead came from (set by Switchboard)."),
    _text_property("utm_source", "UTM source", "utm_source of the page the lead was captured on."),
    _text_property("utm_medium", "UTM medium", "utm_medium of the page the lead was captured on."),
    _text_property("utm_campaign", "UTM campaign", "utm_campaign of the page the lead was captured on."),
    _text_property("utm_term", "UTM term", "utm_term of the page the lead was captured on."),
    _text_property("utm_content", "UTM content", "utm_content of the page the lead was captured on."),
    _number_property(
        "switchboard_lead_score",
        "Lead score (Switchboard)",
        "0-100, from the rules in functions/lead_enrichment/scoring.json (set by Switchboard).",
    ),
    _text_property(
        "switchboard_lead_score_reason",
        "Lead score reason (Switchboard)",
        "The rules that gave the lead score, e.g. +30 company 51-200 employees (set by Switchboard).",
    ),
)
