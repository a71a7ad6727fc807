"""The People Data Labs app module and client against the sandbox (in-process, no sockets)."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from apps.peopledatalabs import APP, CONNECTION
from apps.peopledatalabs.client import ENRICH_PATH, PeopleDataLabsClient
from apps.peopledatalabs.models import Company, parse_error
from apps.peopledatalabs.standin import DEFAULT_API_KEY, PeopleDataLabsSandbox
from sandbox.base import SandboxRequest, as_transport
from shared.actions.company_values import COMPANY_SIZES, INDUSTRIES
from shared.errors import RateLimited, RetryableError, TargetRejected, TargetUnavailable
from shared.http import ApiClient


@pytest.fixture
def sandbox() -> PeopleDataLabsSandbox:
    return PeopleDataLabsSandbox()


def make_client(sandbox: PeopleDataLabsSandbox, api_key: str = DEFAULT_API_KEY) -> PeopleDataLabsClient:
    return PeopleDataLabsClient(ApiClient(APP, {"api_key": api_key}, transport=as_transport(sandbox)))


@pytest.fixture
def client(sandbox: PeopleDataLabsSandbox) -> PeopleDataLabsClient:
    return make_client(sandbox)


def add_fault(sandbox: PeopleDataLabsSandbox, fault: dict[str, object]) -> None:
    resp = sandbox.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    assert resp.status == 201, resp.parsed()


def recorded(sandbox: PeopleDataLabsSandbox) -> list[dict[str, object]]:
    requests: list[dict[str, object]] = sandbox.handle(SandboxRequest("GET", "/_requests")).parsed()[
        "requests"
    ]
    return requests


# --- app description ------------------------------------------------------------------------------


def test_the_app_authenticates_with_the_x_api_key_header() -> None:
    assert (APP.base_url, APP.auth, APP.auth_header, APP.token_field) == (
        "https://api.peopledatalabs.com",
        "header",
        "x-api-key",
        "api_key",
    )
    assert APP.retryable_statuses == (402,)


def test_local_connection_matches_the_sandbox_key() -> None:
    """``make dev`` stores CONNECTION.local; the sandbox must accept exactly that key."""
    assert CONNECTION.fields == ("api_key",)
    assert CONNECTION.local["api_key"] == DEFAULT_API_KEY
    assert CONNECTION.local["base_url"] == "{sandbox}/peopledatalabs"


def test_canonical_values_are_pdls() -> None:
    assert COMPANY_SIZES[0] == "1-10" and COMPANY_SIZES[-1] == "10001+" and len(COMPANY_SIZES) == 8
    assert {"food & beverages", "events services", "restaurants", "design"} <= INDUSTRIES
    assert len(INDUSTRIES) == 147 and all(i == i.lower() for i in INDUSTRIES)


def test_importing_the_app_module_does_not_import_httpx() -> None:
    """Specs import the package for CONNECTION on the ingress path: no client, no API models, no httpx."""
    code = (
        "import sys, apps.peopledatalabs; "
        "print('httpx' in sys.modules, sorted(m for m in sys.modules if m.startswith('apps.peopledatalabs.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False []"


# --- enrich_company -------------------------------------------------------------------------------


def test_a_known_company_is_returned_typed(
    client: PeopleDataLabsClient, sandbox: PeopleDataLabsSandbox
) -> None:
    company = client.enrich_company(website="northwind-traders.example")
    assert isinstance(company, Company)
    assert company.display_name == "Northwind Traders" and company.name == "northwind traders"
    assert (company.size, company.employee_count, company.industry) == ("51-200", 87, "food & beverages")
    assert company.location is not None and company.location.country == "united kingdom"
    assert company.likelihood == 8 and company.website == "northwind-traders.example"
    [request] = recorded(sandbox)
    assert request["path"] == ENRICH_PATH and request["query"] == {"website": ["northwind-traders.example"]}
    headers = request["headers"]
    assert isinstance(headers, dict) and headers["x-api-key"] == "***"  # sent, and never recorded


def test_no_match_is_none_and_costs_nothing(
    client: PeopleDataLabsClient, sandbox: PeopleDataLabsSandbox
) -> None:
    assert client.enrich_company(website="hartley-joinery.example") is None
    assert recorded(sandbox)[0]["status"] == 404
    assert sandbox.handle(SandboxRequest("GET", "/_state")).parsed()["credits"]["used"] == 0


def test_min_likelihood_is_asked_for(client: PeopleDataLabsClient, sandbox: PeopleDataLabsSandbox) -> None:
    assert client.enrich_company(website="northwind-traders.example", min_likelihood=9) is None
    assert recorded(sandbox)[0]["query"] == {
        "website": ["northwind-traders.example"],
        "min_likelihood": ["9"],
    }


def test_profile_and_name_work_too(client: PeopleDataLabsClient) -> None:
    by_profile = client.enrich_company(profile="https://www.linkedin.com/company/okafor-events/")
    by_name = client.enrich_company(name="Lindqvist Design")
    assert by_profile is not None and by_profile.display_name == "Okafor Events"
    assert by_name is not None and by_name.display_name == "Lindqvist Design"


def test_a_lookup_needs_an_identifier(client: PeopleDataLabsClient) -> None:
    with pytest.raises(ValueError, match="at least one of"):
        client.enrich_company(website="  ")


def test_an_invalid_key_is_permanent(sandbox: PeopleDataLabsSandbox) -> None:
    with pytest.raises(TargetRejected) as caught:
        make_client(sandbox, api_key="wrong").enrich_company(website="northwind-traders.example")
    assert caught.value.status == 401
    assert "authentication_error" in str(caught.value) and "wrong" not in str(caught.value)


def test_out_of_credits_is_retryable(sandbox: PeopleDataLabsSandbox) -> None:
    sandbox.set_credits(1)
    client = make_client(sandbox)
    assert client.enrich_company(website="okafor-events.example") is not None
    with pytest.raises(TargetUnavailable) as caught:
        client.enrich_company(website="okafor-events.example")
    assert isinstance(caught.value, RetryableError)
    assert "402" in str(caught.value) and "payment_required" in str(caught.value)


def test_a_rate_limit_carries_retry_after(
    client: PeopleDataLabsClient, sandbox: PeopleDataLabsSandbox
) -> None:
    add_fault(sandbox, {"kind": "rate_limit", "retry_after": 7})
    with pytest.raises(RateLimited) as caught:
        client.enrich_company(website="okafor-events.example")
    assert caught.value.retry_after == 7


def test_a_5xx_is_retryable(client: PeopleDataLabsClient, sandbox: PeopleDataLabsSandbox) -> None:
    # A read is repeated within the call (shared.http.SAFE_RETRIES): three 503s in a row fail it.
    add_fault(sandbox, {"kind": "status", "status": 503, "count": 3})
    with pytest.raises(TargetUnavailable):
        client.enrich_company(website="okafor-events.example")


def test_a_404_that_is_not_pdls_is_an_error_not_no_match() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(404, text="<html>Not Found</html>"))
    client = PeopleDataLabsClient(ApiClient(APP, {"api_key": "k"}, transport=transport))
    with pytest.raises(TargetRejected, match="base_url"):
        client.enrich_company(website="northwind-traders.example")


def test_an_unreadable_200_is_retryable() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, text="<html>maintenance</html>"))
    client = PeopleDataLabsClient(ApiClient(APP, {"api_key": "k"}, transport=transport))
    with pytest.raises(TargetUnavailable, match="unexpected 200 body"):
        client.enrich_company(website="northwind-traders.example")


def test_unknown_and_null_fields_are_tolerated() -> None:
    body = {
        "status": 200,
        "name": "x",
        "size": None,
        "location": None,
        "founded": "1998",
        "brand_new_field": [1],
    }
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    company = PeopleDataLabsClient(ApiClient(APP, {"api_key": "k"}, transport=transport)).enrich_company(
        name="x"
    )
    assert company is not None and company.founded == 1998 and company.location is None


def test_parse_error() -> None:
    error = parse_error('{"status":404,"error":{"type":"not_found","message":"No records were found"}}')
    assert error is not None and (error.status, error.error.type) == (404, "not_found")
    assert parse_error("<html>") is None


def test_a_pdl_record_is_told_in_the_company_domains_terms() -> None:
    from apps.peopledatalabs.actions import as_company
    from apps.peopledatalabs.models import Company as PdlCompany

    record = PdlCompany.model_validate(
        {
            "name": "bramble bakery",
            "display_name": "Bramble Bakery",
            "website": "bramble-bakery.example",
            "size": "11-50",
            "industry": "food production",
            "location": {"country": "united kingdom", "region": "england", "locality": "bath"},
            "tags": None,
            "likelihood": 8,
        }
    )
    company = as_company(record)
    assert (company.name, company.domain, company.size, company.industry) == (
        "Bramble Bakery",
        "bramble-bakery.example",
        "11-50",
        "food production",
    )
    assert (company.country, company.region, company.locality) == ("united kingdom", "england", "bath")
    assert company.tags == () and company.likelihood == 8
    assert as_company(PdlCompany(name="acme")).name == "acme"  # no display name: PDL's lower-case name
