"""The People Data Labs sandbox answers in PDL's shapes: matches, 404s, keys, credits, limits, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.peopledatalabs.models import Company
from apps.peopledatalabs.standin import DEFAULT_API_KEY, KNOWN_COMPANIES, PeopleDataLabsSandbox
from sandbox.base import SandboxRequest, SandboxResponse
from sandbox.registry import sandbox_classes
from shared.actions.company_values import COMPANY_SIZES, INDUSTRIES

KEY = {"x-api-key": DEFAULT_API_KEY}

#: The base company fields of a real Company Enrichment answer, in PDL's order (a real record,
#: dataset 25.2, quoted in PDL client code; ``display_name`` added in v26).
PDL_FIELDS = [
    "status",
    "name",
    "display_name",
    "size",
    "employee_count",
    "id",
    "founded",
    "industry",
    "naics",
    "sic",
    "location",
    "linkedin_id",
    "linkedin_url",
    "linkedin_slug",
    "facebook_url",
    "twitter_url",
    "profiles",
    "website",
    "ticker",
    "gics_sector",
    "mic_exchange",
    "type",
    "summary",
    "tags",
    "headline",
    "alternative_names",
    "alternative_domains",
    "affiliated_profiles",
    "total_funding_raised",
    "latest_funding_stage",
    "last_funding_date",
    "number_funding_rounds",
    "funding_stages",
    "employee_count_by_country",
    "likelihood",
    "dataset_version",
]


class Clock:
    def __init__(self, now: float = 1_795_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def enrich(
    app: PeopleDataLabsSandbox, headers: dict[str, str] | None = None, **query: str
) -> SandboxResponse:
    return app.handle(
        SandboxRequest(
            "GET",
            "/v5/company/enrich",
            query={k: [v] for k, v in query.items()},
            headers=KEY if headers is None else headers,
        )
    )


def error_of(resp: SandboxResponse) -> tuple[int, str, str]:
    body = resp.parsed()
    return body["status"], body["error"]["type"], body["error"]["message"]


@pytest.fixture
def app() -> PeopleDataLabsSandbox:
    return PeopleDataLabsSandbox()


def test_it_is_discovered_by_the_registry() -> None:
    assert sandbox_classes()["peopledatalabs"] is PeopleDataLabsSandbox


def test_a_match_has_pdls_shape(app: PeopleDataLabsSandbox) -> None:
    resp = enrich(app, website="northwind-traders.example")
    assert resp.status == 200 and resp.headers["content-type"].startswith("application/json")
    body = resp.parsed()
    assert list(body) == PDL_FIELDS
    assert body["status"] == 200 and body["name"] == "northwind traders"
    assert set(body["location"]) == {
        "name",
        "locality",
        "region",
        "metro",
        "country",
        "continent",
        "street_address",
        "address_line_2",
        "postal_code",
        "geo",
    }
    Company.model_validate(body)  # the client's model reads it


@pytest.mark.parametrize("domain", sorted(KNOWN_COMPANIES))
def test_the_fictional_companies_use_pdls_canonical_values(domain: str) -> None:
    record = KNOWN_COMPANIES[domain]
    assert record["size"] in COMPANY_SIZES and record["industry"] in INDUSTRIES
    assert record["website"] == domain and domain.endswith(".example")
    assert 1 <= record["likelihood"] <= 10 and record["name"] == record["name"].lower()


@pytest.mark.parametrize(
    "website",
    ["okafor-events.example", "https://www.Okafor-Events.example/about", "www.okafor-events.example"],
)
def test_a_website_is_matched_however_it_is_written(app: PeopleDataLabsSandbox, website: str) -> None:
    assert enrich(app, website=website).parsed()["display_name"] == "Okafor Events"


def test_profile_name_and_pdl_id_match(app: PeopleDataLabsSandbox) -> None:
    assert enrich(app, profile="linkedin.com/company/lindqvist-design").status == 200
    assert enrich(app, name="LINDQVIST DESIGN").status == 200
    record = KNOWN_COMPANIES["lindqvist-design.example"]
    assert enrich(app, pdl_id=record["id"]).parsed()["id"] == record["id"]
    # with pdl_id, only the id is used (PDL's documented rule)
    assert enrich(app, pdl_id="nope", website="lindqvist-design.example").status == 404


def test_an_unknown_company_is_pdls_404(app: PeopleDataLabsSandbox) -> None:
    resp = enrich(app, website="hartley-joinery.example")
    assert error_of(resp) == (404, "not_found", "No records were found matching your request")
    assert resp.headers["x-call-credits-spent"] == "0"


def test_min_likelihood_turns_a_weak_match_into_a_404(app: PeopleDataLabsSandbox) -> None:
    assert enrich(app, website="fischer-kaffee.example", min_likelihood="6").status == 200
    assert enrich(app, website="fischer-kaffee.example", min_likelihood="7").status == 404
    assert error_of(enrich(app, website="fischer-kaffee.example", min_likelihood="high"))[0] == 400


def test_a_request_without_identifiers_is_a_400(app: PeopleDataLabsSandbox) -> None:
    status, kind, message = error_of(enrich(app, locality="london"))
    assert (status, kind) == (400, "invalid_request_error") and "website" in message


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "wrong"}, {"authorization": f"Bearer {DEFAULT_API_KEY}"}],
    ids=["none", "wrong", "bearer"],
)
def test_a_missing_or_wrong_key_is_a_401(app: PeopleDataLabsSandbox, headers: dict[str, str]) -> None:
    resp = enrich(app, headers=headers, website="northwind-traders.example")
    assert error_of(resp) == (401, "authentication_error", "Request contained a missing or invalid key")
    assert "x-ratelimit-remaining" not in resp.headers


def test_the_key_may_be_a_query_parameter(app: PeopleDataLabsSandbox) -> None:
    assert enrich(app, headers={}, api_key=DEFAULT_API_KEY, website="northwind-traders.example").status == 200


def test_credits_are_spent_per_match_and_402_when_gone() -> None:
    app = PeopleDataLabsSandbox(credits=2)
    first = enrich(app, website="northwind-traders.example")
    assert first.headers["x-call-credits-spent"] == "1" and first.headers["x-totallimit-remaining"] == "1"
    assert enrich(app, website="hartley-joinery.example").status == 404  # free
    assert enrich(app, website="okafor-events.example").headers["x-totallimit-remaining"] == "0"
    assert error_of(enrich(app, website="okafor-events.example"))[:2] == (402, "payment_required")
    assert app.handle(SandboxRequest("GET", "/_state")).parsed()["credits"] == {
        "limit": 2,
        "used": 2,
        "remaining": 0,
    }
    app.set_credits(5)
    assert enrich(app, website="okafor-events.example").status == 200
    app.handle(SandboxRequest("POST", "/_reset"))
    assert app.handle(SandboxRequest("GET", "/_state")).parsed()["credits"]["used"] == 0


def test_usage_headers_and_the_free_plans_100_a_minute_by_default() -> None:
    clock = Clock(now=60 * 29_916_667 + 10.0)  # 10 s into a minute
    app = PeopleDataLabsSandbox(clock=clock)
    first = enrich(app, website="northwind-traders.example")
    assert json.loads(first.headers["x-ratelimit-limit"])["minute"] == 100
    assert json.loads(first.headers["x-ratelimit-remaining"])["minute"] == 99
    assert first.headers["x-ratelimit-reset"] == "2026-11-18T11:08:00Z"
    assert first.headers["x-call-credits-type"] == "enrich_company"
    assert {enrich(app, website="northwind-traders.example").status for _ in range(99)} == {200}
    limited = enrich(app, website="northwind-traders.example")
    assert error_of(limited)[:2] == (429, "rate_limit_error")
    assert json.loads(limited.headers["x-ratelimit-remaining"])["minute"] == 0
    assert limited.headers["x-ratelimit-reset"] == "2026-11-18T11:08:00Z"
    clock.now += 50  # the fixed window turns over
    assert enrich(app, website="northwind-traders.example").status == 200


def test_the_limit_is_per_key() -> None:
    app = PeopleDataLabsSandbox(clock=Clock(now=60 * 29_916_667 + 10.0))
    for _ in range(100):
        enrich(app, website="northwind-traders.example")
    other = enrich(app, headers={"x-api-key": "another-key"}, website="northwind-traders.example")
    assert error_of(other)[0] == 401  # not 429: the other key's minute is untouched
    assert enrich(app, website="northwind-traders.example").status == 429


def test_limits_lifted_the_minute_is_counted_but_never_refused() -> None:
    app = PeopleDataLabsSandbox(clock=Clock(now=60 * 29_916_667 + 10.0), limits=False)
    assert {enrich(app, website="northwind-traders.example").status for _ in range(120)} == {200}


@pytest.mark.parametrize(
    ("fault", "status", "kind"),
    [
        ({"kind": "status", "status": 402}, 402, "payment_required"),
        ({"kind": "status", "status": 500}, 500, "api_error"),
        ({"kind": "rate_limit", "retry_after": 3}, 429, "rate_limit_error"),
    ],
)
def test_faults_answer_in_pdls_error_shape(
    app: PeopleDataLabsSandbox, fault: dict[str, Any], status: int, kind: str
) -> None:
    assert app.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode())).status == 201
    resp = enrich(app, website="northwind-traders.example")
    assert error_of(resp)[:2] == (status, kind)
    if status == 429:
        assert resp.headers["retry-after"] == "3"
    assert enrich(app, website="northwind-traders.example").status == 200  # used up


def test_unknown_paths_and_methods(app: PeopleDataLabsSandbox) -> None:
    assert error_of(app.handle(SandboxRequest("GET", "/v5/nope", headers=KEY)))[0] == 404
    assert error_of(app.handle(SandboxRequest("POST", "/v5/company/enrich", headers=KEY)))[:2] == (
        405,
        "invalid_request_error",
    )


def test_state_and_requests(app: PeopleDataLabsSandbox) -> None:
    enrich(app, website="northwind-traders.example")
    enrich(app, website="hartley-joinery.example")
    state = app.handle(SandboxRequest("GET", "/_state")).parsed()
    assert state["lookups"] == {"matched": 1, "not_found": 1}
    assert "northwind-traders.example" in state["companies"]
    [recorded] = app.handle(SandboxRequest("GET", "/_requests", query={"path": ["enrich"]})).parsed()[
        "requests"
    ][:1]
    assert recorded["headers"]["x-api-key"] == "***"
