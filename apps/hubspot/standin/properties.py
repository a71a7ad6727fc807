"""The stand-in portal's contact properties: HubSpot's defaults it knows, and custom ones as created.

A property is answered in HubSpot's v3 shape (``GET /crm/v3/properties/contacts``); a definition
posted to ``POST /crm/v3/properties/contacts`` is checked the way HubSpot checks it (name, type and
field type, group, options of a dropdown) before it becomes a property.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from apps.hubspot.properties import LEAD_STATUSES, LIFECYCLE_STAGES, NUMEMPLOYEES_OPTIONS, PropertyDefinition
from sandbox.base import iso_ms

__all__ = ["DEFAULT_CONTACT_PROPERTIES", "SandboxProperty", "custom_property", "definition_problem"]

_PROPERTY_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_GROUPS: Final = frozenset(
    {
        "contactinformation",
        "analyticsinformation",
        "conversioninformation",
        "emailinformation",
        "sales_properties",
        "socialmediainformation",
    }
)
_FIELD_TYPES: Final[Mapping[str, frozenset[str]]] = {
    "string": frozenset({"text", "textarea", "html", "phonenumber", "file"}),
    "number": frozenset({"number"}),
    "enumeration": frozenset({"select", "radio", "checkbox", "booleancheckbox"}),
    "bool": frozenset({"booleancheckbox"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
}


@dataclass(frozen=True)
class SandboxProperty:
    """A contact property definition, as the sandbox portal knows it."""

    name: str
    label: str
    type: str = "string"
    field_type: str = "text"
    group: str = "contactinformation"
    options: tuple[tuple[str, str], ...] = ()  # (internal value, label)
    read_only: bool = False
    external_options: bool = False
    hubspot_defined: bool = True
    description: str = ""
    created_at: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """HubSpot's v3 property shape."""
        out: dict[str, Any] = {
            "updatedAt": iso_ms(self.created_at),
            "createdAt": iso_ms(self.created_at),
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": [
                {"label": label, "value": value, "displayOrder": i, "hidden": False}
                for i, (value, label) in enumerate(self.options)
            ],
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.name == "email",
            "hidden": False,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": not self.read_only,
            "archived": False,
        }
        if self.hubspot_defined:
            out["hubspotDefined"] = True
        return out


def _enum(name: str, label: str, values: Sequence[str], **kw: Any) -> SandboxProperty:
    options = tuple((v, v.replace("_", " ").title()) for v in values)
    return SandboxProperty(name, label, "enumeration", "select", options=options, **kw)


#: The HubSpot default contact properties the sandbox knows (a portal has many more; these are the
#: ones a lead form can sensibly write, plus the read-only ones HubSpot maintains itself).
DEFAULT_CONTACT_PROPERTIES: Final = (
    SandboxProperty("email", "Email"),
    SandboxProperty("firstname", "First Name"),
    SandboxProperty("lastname", "Last Name"),
    SandboxProperty("phone", "Phone Number", field_type="phonenumber"),
    SandboxProperty("mobilephone", "Mobile Phone Number", field_type="phonenumber"),
    SandboxProperty("company", "Company Name"),
    SandboxProperty("jobtitle", "Job Title"),
    SandboxProperty("website", "Website URL"),
    SandboxProperty("address", "Street Address"),
    SandboxProperty("city", "City"),
    SandboxProperty("state", "State/Region"),
    SandboxProperty("zip", "Postal Code"),
    SandboxProperty("country", "Country/Region"),
    SandboxProperty("message", "Message", field_type="textarea"),
    SandboxProperty("industry", "Industry"),
    _enum("numemployees", "Number of Employees", NUMEMPLOYEES_OPTIONS),
    _enum("lifecyclestage", "Lifecycle Stage", LIFECYCLE_STAGES),
    _enum("hs_lead_status", "Lead Status", LEAD_STATUSES, group="sales_properties"),
    SandboxProperty(
        "hubspot_owner_id",
        "Contact owner",
        "enumeration",
        "select",
        group="sales_properties",
        external_options=True,
    ),
    _enum(
        "hs_analytics_source",
        "Original Source",
        ("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS", "DIRECT_TRAFFIC"),
        group="analyticsinformation",
        read_only=True,
    ),
    SandboxProperty("createdate", "Create Date", "datetime", "date", read_only=True),
    SandboxProperty("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    SandboxProperty("hs_object_id", "Record ID", "number", "number", read_only=True),
)


def definition_problem(d: PropertyDefinition, options: Any) -> str | None:
    """What HubSpot would refuse in a new property's definition (a 400 ``VALIDATION_ERROR``), if anything."""
    if not _PROPERTY_NAME.match(d["name"]) or d["name"].startswith("hs_"):
        return f"Property name '{d['name']}' must be lower-case letters, digits and _, not start hs_"
    valid = _FIELD_TYPES.get(d["type"])
    if valid is None:
        return f"Unknown property type '{d['type']}'; use one of {sorted(_FIELD_TYPES)}"
    if d["fieldType"] not in valid:
        return f"fieldType '{d['fieldType']}' is not valid for type '{d['type']}': {sorted(valid)}"
    if d["groupName"] not in _GROUPS:
        return f"Property group '{d['groupName']}' does not exist"
    if d["type"] == "enumeration" and not (isinstance(options, list) and options):
        return "An enumeration property needs options"
    return None


def custom_property(d: PropertyDefinition, now: float, options: Any = None) -> SandboxProperty:
    """The property a (checked) definition creates, at ``now``; ``options`` as posted (a dropdown's)."""
    opts = tuple(
        (str(o.get("value", "")), str(o.get("label", "")))
        for o in (options if isinstance(options, list) else [])
        if isinstance(o, dict)
    )
    return SandboxProperty(
        name=d["name"],
        label=d["label"],
        type=d["type"],
        field_type=d["fieldType"],
        group=d["groupName"],
        options=opts,
        hubspot_defined=False,
        description=d.get("description", ""),
        created_at=now,
    )
