"""People Data Labs' Company Enrichment API, offline, in PDL's own request and response shapes.

Served (path as on ``https://api.peopledatalabs.com``): ``GET /v5/company/enrich`` with ``website``,
``profile``, ``name`` or ``pdl_id`` (at least one, else 400) and ``min_likelihood``.

Answers as PDL documents them (see :mod:`apps.peopledatalabs` and its modules for the sources):

* a match: 200 with the company fields at the top level plus ``status`` and ``likelihood`` - the
  base-bundle fields in the order and form of a real answer (lower-case values, ``null`` where
  unknown, ``display_name`` capitalised, ``location`` an object);
* no match (an unknown domain, or a likelihood below ``min_likelihood``): 404
  ``{"status": 404, "error": {"type": "not_found", "message": "No records were found matching your
  request"}}``; PDL does not charge for it;
* a missing or wrong key (``X-Api-Key`` header or ``api_key`` parameter): 401 ``authentication_error``;
* credits used up (only with ``credits=`` set; one credit per match, as PDL bills): 402
  ``payment_required``; :meth:`PeopleDataLabsSandbox.set_credits` tops up;
* over the per-minute limit: 429 ``rate_limit_error``.

Rate limit (:mod:`sandbox.limits`; enforced unless lifted): PDL limits each API key per endpoint with
fixed one-minute windows (https://docs.peopledatalabs.com/support/troubleshooting/rate-limit-errors);
the default on the free plan is 100 requests a minute (paid plans 1,000;
https://docs.peopledatalabs.com/docs/reference-person-retrieve-api, "Rate Limiting"). The stand-in
enforces the free plan's 100, the lowest.

Every answer to a key carries PDL's usage headers: ``x-ratelimit-limit`` / ``-remaining`` (JSON
per window), ``x-ratelimit-reset`` (UTC timestamp of the next fixed one-minute window),
``x-call-credits-spent``, ``x-call-credits-type`` and, with credits set, ``x-totallimit-remaining``.

The companies are fictional, keyed by the ``.example`` domains of the sample leads in ``events/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Unpack
from urllib.parse import urlsplit

from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse
from sandbox.limits import Hit, RateLimit

__all__ = ["DEFAULT_API_KEY", "KNOWN_COMPANIES", "PeopleDataLabsSandbox", "company_record"]

#: What ``make dev`` stores as the connection's ``api_key`` (``App.connection`` makes it).
DEFAULT_API_KEY: Final = "sandbox-peopledatalabs-api_key"
DATASET_VERSION: Final = "31.0"

#: PDL's messages per status (``peopledatalabs-js`` ``src/errors.ts``) and error types (docs, errors).
_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    400: ("invalid_request_error", "Request contained either missing or invalid parameters"),
    401: ("authentication_error", "Request contained a missing or invalid key"),
    402: ("payment_required", "You have hit your account maximum (all matches used)"),
    404: ("not_found", "No records were found matching your request"),
    405: ("invalid_request_error", "Request method is not allowed on the requested resource"),
    429: ("rate_limit_error", "An error occurred due to requests hitting the API too quick"),
    500: (
        "api_error",
        "The server encountered an unexpected condition which prevented it from fulfilling the request",
    ),
}
_IDENTIFIERS: Final = ("pdl_id", "website", "profile", "name")


def _error(status: int, message: str | None = None) -> SandboxResponse:
    kind, default = _ERRORS.get(status, _ERRORS[500] if status >= 500 else _ERRORS[400])
    return SandboxResponse.json(
        {"status": status, "error": {"type": kind, "message": message or default}}, status
    )


def company_record(
    *,
    pdl_id: str,
    display_name: str,
    website: str,
    size: str,
    employee_count: int,
    founded: int,
    industry: str,
    locality: str,
    region: str,
    country: str,
    continent: str,
    postal_code: str,
    geo: str,
    linkedin_id: str,
    summary: str,
    headline: str,
    tags: Iterable[str],
    likelihood: int,
    naics: Iterable[Mapping[str, str | None]] = (),
    sic: Iterable[Mapping[str, str]] = (),
    employees_by_country: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A company as the Company Enrichment API returns it (base fields, PDL's order), minus ``status``."""
    slug = website.split(".", 1)[0]
    linkedin = f"linkedin.com/company/{slug}"
    return {
        "name": display_name.lower(),
        "display_name": display_name,
        "size": size,
        "employee_count": employee_count,
        "id": pdl_id,
        "founded": founded,
        "industry": industry,
        "naics": [dict(n) for n in naics],
        "sic": [dict(s) for s in sic],
        "location": {
            "name": f"{locality}, {region}, {country}",
            "locality": locality,
            "region": region,
            "metro": None,  # PDL's metro areas are US ones
            "country": country,
            "continent": continent,
            "street_address": None,
            "address_line_2": None,
            "postal_code": postal_code,
            "geo": geo,
        },
        "linkedin_id": linkedin_id,
        "linkedin_url": linkedin,
        "linkedin_slug": slug,
        "facebook_url": None,
        "twitter_url": None,
        "profiles": [linkedin, f"linkedin.com/company/{linkedin_id}"],
        "website": website,
        "ticker": None,
        "gics_sector": None,
        "mic_exchange": None,
        "type": "private",
        "summary": summary,
        "tags": list(tags),
        "headline": headline,
        "alternative_names": [f"{display_name.lower()} ltd"],
        "alternative_domains": [],
        "affiliated_profiles": [],
        "total_funding_raised": None,
        "latest_funding_stage": None,
        "last_funding_date": None,
        "number_funding_rounds": None,
        "funding_stages": [],
        "employee_count_by_country": dict(employees_by_country or {country: employee_count}),
        "likelihood": likelihood,
        "dataset_version": DATASET_VERSION,
    }


_CAFE_NAICS: Final = {
    "naics_code": "7225",
    "sector": "accommodation and food services",
    "sub_sector": "food services and drinking places",
    "industry_group": "restaurants and other eating places",
    "naics_industry": None,
    "national_industry": None,
}

#: The fictional companies the sandbox knows, by website domain.
KNOWN_COMPANIES: Final[Mapping[str, dict[str, Any]]] = {
    "northwind-traders.example": company_record(
        pdl_id="nWtR4d3rsLmQ8vXk2pZa7Hc9JfBe",
        display_name="Northwind Traders",
        website="northwind-traders.example",
        size="51-200",
        employee_count=87,
        founded=2009,
        industry="food & beverages",
        locality="london",
        region="greater london",
        country="united kingdom",
        continent="europe",
        postal_code="ec1v 9ex",
        geo="51.52,-0.10",
        linkedin_id="81234567",
        summary=(
            "northwind traders runs six neighbourhood cafés in london and imports speciality foods "
            "for independent shops."
        ),
        headline="Neighbourhood cafés and speciality food importers",
        tags=["cafes", "coffee", "speciality food", "food import"],
        likelihood=8,
        naics=[_CAFE_NAICS],
        sic=[
            {
                "sic_code": "5812",
                "major_group": "retail trade",
                "industry_group": "eating and drinking places",
                "industry_sector": "eating places",
            }
        ],
        employees_by_country={"united kingdom": 84, "other_uncategorized": 3},
    ),
    "okafor-events.example": company_record(
        pdl_id="oKf9Ev3ntSq2Lm7Xz4Rb8Ty1PwNd",
        display_name="Okafor Events",
        website="okafor-events.example",
        size="11-50",
        employee_count=18,
        founded=2016,
        industry="events services",
        locality="manchester",
        region="greater manchester",
        country="united kingdom",
        continent="europe",
        postal_code="m1 1ex",
        geo="53.48,-2.24",
        linkedin_id="82345678",
        summary="okafor events plans weddings, launches and corporate events across the north west.",
        headline="Weddings and corporate events, planned end to end",
        tags=["weddings", "event planning", "corporate events"],
        likelihood=7,
    ),
    "lindqvist-design.example": company_record(
        pdl_id="lQv5Ds1gnTr8Wc3Mx6Kp2Zh7NbYe",
        display_name="Lindqvist Design",
        website="lindqvist-design.example",
        size="11-50",
        employee_count=23,
        founded=2012,
        industry="design",
        locality="stockholm",
        region="stockholm",
        country="sweden",
        continent="europe",
        postal_code="111 20",
        geo="59.33,18.07",
        linkedin_id="83456789",
        summary="lindqvist design is a stockholm studio for interiors, branding and retail spaces.",
        headline="Interiors, branding and retail design",
        tags=["interior design", "branding", "retail design"],
        likelihood=7,
    ),
    "fischer-kaffee.example": company_record(
        pdl_id="fKh2Ff3eeRt9Lp4Wq7Sn1Xc6MzBa",
        display_name="Fischer Kaffee",
        website="fischer-kaffee.example",
        size="1-10",
        employee_count=6,
        founded=2019,
        industry="food & beverages",
        locality="berlin",
        region="berlin",
        country="germany",
        continent="europe",
        postal_code="10115",
        geo="52.53,13.38",
        linkedin_id="84567890",
        summary="fischer kaffee roasts coffee and runs a café in berlin-mitte.",
        headline="Coffee roasters and café",
        tags=["coffee", "roastery", "cafes"],
        likelihood=6,
        naics=[_CAFE_NAICS],
    ),
}


def _host(value: str) -> str:
    """``https://www.Example.com/about`` -> ``example.com``: how a ``website`` input is compared."""
    text = value.strip().lower()
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    return host.removeprefix("www.")


def _profile(value: str) -> str:
    text = value.strip().lower().rstrip("/")
    for prefix in ("https://", "http://", "www."):
        text = text.removeprefix(prefix)
    return text


def _api_key(req: SandboxRequest) -> str | None:
    """The API key, from ``X-Api-Key`` or the ``api_key`` parameter (PDL limits per key)."""
    return (req.header("x-api-key") or req.param("api_key") or "").strip() or None


#: PDL's default on the free plan: 100 requests per minute per key, fixed windows.
MINUTE_LIMIT: Final = RateLimit(
    "minute",
    100,
    60.0,
    scope="API key",
    window="fixed",
    key=_api_key,
    source="https://docs.peopledatalabs.com/support/troubleshooting/rate-limit-errors",
)


class PeopleDataLabsSandbox(SandboxApp):
    """People Data Labs stand-in. See the module docstring for what it serves and checks."""

    name: ClassVar[str] = "peopledatalabs"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (MINUTE_LIMIT,)

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        companies: Mapping[str, Mapping[str, Any]] = KNOWN_COMPANIES,
        credits: int | None = None,
        clock: Callable[[], float] = time.time,
        **options: Unpack[SandboxOptions],
    ) -> None:
        self.api_key = api_key
        self.companies = {domain: dict(record) for domain, record in companies.items()}
        self.initial_credits = credits
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (("GET", "/v5/company/enrich", self._enrich_company),)

    def reset_data(self) -> None:
        self.credits = self.initial_credits
        self.credits_used = 0
        self.matched = 0
        self.not_found_count = 0

    def state(self) -> Any:
        remaining = None if self.credits is None else max(0, self.credits - self.credits_used)
        return {
            "companies": sorted(self.companies),
            "credits": {"limit": self.credits, "used": self.credits_used, "remaining": remaining},
            "lookups": {"matched": self.matched, "not_found": self.not_found_count},
        }

    def set_credits(self, credits: int | None) -> None:
        """Top up (or remove the limit with ``None``): what buying credits does on PDL's dashboard."""
        with self.lock:
            self.credits = credits
            self.credits_used = 0

    # --- hooks: auth, usage headers, error shapes ------------------------------------------------

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        key = req.header("x-api-key") or req.param("api_key")
        if not key or key.strip() != self.api_key:
            return _error(401)
        return None

    def finish(self, req: SandboxRequest, resp: SandboxResponse) -> SandboxResponse:
        if resp.status == 401:
            return resp
        headers = {
            "x-call-credits-spent": "1" if resp.status == 200 else "0",
            "x-call-credits-type": "enrich_company",
        }
        if self.credits is not None:
            headers["x-totallimit-remaining"] = str(max(0, self.credits - self.credits_used))
        return resp.with_headers(headers)

    def limit_headers(self, hits: list[Hit], refused: Hit | None) -> Mapping[str, str]:
        """PDL's usage headers: JSON per window (only the minute is limited here)."""
        hit = refused or (hits[0] if hits else None)
        if hit is None:
            return {}
        remaining = 0 if refused is not None else hit.remaining
        reset = datetime.fromtimestamp(self.clock() + hit.reset_s, UTC)
        return {
            "x-ratelimit-limit": json.dumps({"minute": hit.limit.requests, "day": None, "month": None}),
            "x-ratelimit-remaining": json.dumps({"minute": remaining, "day": None, "month": None}),
            "x-ratelimit-reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def error_response(self, status: int, message: str) -> SandboxResponse:
        return _error(status)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return _error(429)

    def not_found(self, req: SandboxRequest, *, path_known: bool) -> SandboxResponse:
        if path_known:
            return _error(405)
        return _error(404, f"Invalid endpoint: {req.method} {req.path}")

    # --- the endpoint -----------------------------------------------------------------------------

    def _enrich_company(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        given = {k: v for k in _IDENTIFIERS if (v := (req.param(k) or "").strip())}
        if not given:
            return _error(400, "Request must include at least one of: pdl_id, name, ticker, website, profile")
        raw_min = req.param("min_likelihood")
        try:
            min_likelihood = int(raw_min) if raw_min is not None else None
        except ValueError:
            min_likelihood = -1
        if min_likelihood is not None and not 0 <= min_likelihood <= 10:
            return _error(400, "min_likelihood must be an integer between 0 and 10")
        if self.credits is not None and self.credits_used >= self.credits:
            return _error(402)
        record = self._match(given)
        if record is None or record["likelihood"] < (min_likelihood or 0):
            self.not_found_count += 1
            return _error(404)
        self.matched += 1
        self.credits_used += 1
        return SandboxResponse.json({"status": 200, **record})

    def _match(self, given: Mapping[str, str]) -> dict[str, Any] | None:
        """PDL: with ``pdl_id`` only the id is used; otherwise any identifier that matches."""
        for record in self.companies.values():
            if "pdl_id" in given:
                if given["pdl_id"].lower() in (record["id"].lower(), record["linkedin_slug"]):
                    return record
                continue
            websites = {record["website"], *record["alternative_domains"]}
            names = {record["name"], *record["alternative_names"]}
            if (
                ("website" in given and _host(given["website"]) in websites)
                or ("profile" in given and _profile(given["profile"]) in record["profiles"])
                or ("name" in given and given["name"].strip().lower() in names)
            ):
                return record
        return None
