"""The HubSpot side: PDL values mapped onto HubSpot properties, and the portal's property check."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from apps.hubspot import APP
from apps.hubspot.properties import NUMEMPLOYEES_OPTIONS
from apps.hubspot.standin import DEFAULT_TOKEN, HubSpotSandbox
from functions.lead_enrichment import portal
from functions.lead_enrichment.crm import contact_properties, employee_range, industry_label
from functions.lead_enrichment.models import CompanySummary, EnrichLead
from functions.lead_enrichment.scoring import Reason, Score
from sandbox.base import SandboxRequest, as_transport
from shared.errors import TargetUnavailable
from shared.http import ApiClient

from .helpers import (
    PortalWithoutCompanyDefaults,
    add_default_company_properties,
    requests_to,
)


@pytest.mark.parametrize(
    ("size", "count", "option"),
    [
        # a PDL range inside one HubSpot option: the range decides
        ("201-500", None, "100-500"),
        ("501-1000", 12, "500-1000"),
        ("1001-5000", None, "1000+"),
        ("5001-10000", None, "1000+"),
        ("10001+", None, "1000+"),
        # a range across two options: the count, kept inside the range, picks one
        ("51-200", 87, "50-100"),
        ("51-200", 150, "100-500"),
        ("51-200", 12, "50-100"),  # a count below the self-reported range is raised into it
        ("11-50", 23, "5-25"),
        ("11-50", 26, "25-50"),
        ("1-10", 5, "1-5"),
        ("1-10", 6, "5-25"),
        # ... and without a count nothing is guessed
        ("51-200", None, None),
        ("1-10", None, None),
        # no range: the count alone
        (None, 42, "25-50"),
        (None, 5000, "1000+"),
        (None, 0, None),
        (None, None, None),
        ("lots", 7, "5-25"),  # an unknown range format counts as no range
    ],
)
def test_pdl_size_maps_onto_hubspots_number_of_employees(
    size: str | None, count: int | None, option: str | None
) -> None:
    assert employee_range(size, count) == option
    assert option is None or option in NUMEMPLOYEES_OPTIONS


@pytest.mark.parametrize(
    ("industry", "label"),
    [
        ("food & beverages", "Food & Beverages"),
        ("information technology and services", "Information Technology and Services"),
        ("leisure, travel & tourism", "Leisure, Travel & Tourism"),
        ("e-learning", "E-learning"),
    ],
)
def test_industry_label(industry: str, label: str) -> None:
    assert industry_label(industry) == label


LEAD = EnrichLead(
    contact_id="1", email="a@northwind-traders.example", source="website_form", lead_event_id="e"
)
COMPANY = CompanySummary(
    name="Northwind Traders",
    domain="northwind-traders.example",
    size="51-200",
    employee_count=87,
    industry="food & beverages",
    country="united kingdom",
    locality="london",
    linkedin_url=None,
    likelihood=8,
)
SCORE = Score(
    score=50,
    reasons=(Reason(30, "company 51-200 employees"), Reason(20, "industry food & beverages")),
    total=50,
)
ALL: portal.WritableProperties = {"industry": None, "numemployees": frozenset(NUMEMPLOYEES_OPTIONS)}


def test_properties_with_a_company() -> None:
    assert contact_properties(LEAD, COMPANY, SCORE, ALL) == {
        "switchboard_lead_score": "50",
        "switchboard_lead_score_reason": "+30 company 51-200 employees; +20 industry food & beverages",
        "company": "Northwind Traders",
        "industry": "Food & Beverages",
        "numemployees": "50-100",
    }


def test_properties_without_a_company_are_the_score_only() -> None:
    assert set(contact_properties(LEAD, None, SCORE, ALL)) == {
        "switchboard_lead_score",
        "switchboard_lead_score_reason",
    }


def test_a_typed_company_name_is_kept_unless_overwriting() -> None:
    typed = LEAD.model_copy(update={"company": "Northwind"})
    assert "company" not in contact_properties(typed, COMPANY, SCORE, ALL)
    assert (
        contact_properties(typed, COMPANY, SCORE, ALL, overwrite_company=True)["company"]
        == "Northwind Traders"
    )


def test_only_what_the_portal_has_is_written() -> None:
    assert not {"industry", "numemployees"} & set(contact_properties(LEAD, COMPANY, SCORE, {}))
    other_options = {"numemployees": frozenset({"small", "large"})}
    assert "numemployees" not in contact_properties(LEAD, COMPANY, SCORE, other_options)


# --- the portal check ----------------------------------------------------------------------------


def hubspot_api(sandbox: HubSpotSandbox) -> ApiClient:
    return ApiClient(APP, {"token": DEFAULT_TOKEN}, transport=as_transport(sandbox))


def test_the_portals_properties_are_read_and_cached() -> None:
    sandbox = PortalWithoutCompanyDefaults()
    api = hubspot_api(sandbox)
    now = [1000.0]
    assert portal.writable_properties(api, clock=lambda: now[0]) == {}  # the portal lacks both
    add_default_company_properties(sandbox)
    assert portal.writable_properties(api, clock=lambda: now[0]) == {}  # cached
    reads = [r for r in requests_to(sandbox, "/crm/v3/properties/contacts/") if r["method"] == "GET"]
    assert [r["path"].rsplit("/", 1)[1] for r in reads] == ["industry", "numemployees"]  # one read each
    now[0] += portal.CACHE_TTL_S + 1
    assert portal.writable_properties(api, clock=lambda: now[0]) == {
        "industry": None,
        "numemployees": frozenset(NUMEMPLOYEES_OPTIONS),
    }


def answering(bodies: dict[str, Any]) -> ApiClient:
    """A HubSpot client whose property reads get these bodies (by path)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = bodies.get(request.url.path)
        return (
            httpx.Response(200, json=body) if isinstance(body, dict) else httpx.Response(200, text=str(body))
        )

    return ApiClient(APP, {"token": DEFAULT_TOKEN}, transport=httpx.MockTransport(handler))


def test_read_only_properties_and_hidden_options_are_not_writable() -> None:
    api = answering(
        {
            "/crm/v3/properties/contacts/industry": {
                "name": "industry",
                "type": "string",
                "modificationMetadata": {"readOnlyValue": True},
            },
            "/crm/v3/properties/contacts/numemployees": {
                "name": "numemployees",
                "type": "enumeration",
                "options": [{"value": "1-5", "hidden": False}, {"value": "5-25", "hidden": True}],
            },
        }
    )
    assert portal.writable_properties(api) == {"numemployees": frozenset({"1-5"})}


def test_an_unreadable_property_answer_is_retried() -> None:
    api = answering({"/crm/v3/properties/contacts/industry": "<html>a proxy's page</html>"})
    with pytest.raises(TargetUnavailable):
        portal.writable_properties(api)


def test_the_hubspot_sandbox_serves_the_property_endpoint_used() -> None:
    sandbox = HubSpotSandbox()
    resp = sandbox.handle(
        SandboxRequest(
            "GET", "/crm/v3/properties/contacts/company", headers={"authorization": f"Bearer {DEFAULT_TOKEN}"}
        )
    )
    assert resp.status == 200 and json.loads(resp.body)["name"] == "company"
