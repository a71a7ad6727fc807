"""Everything Switchboard knows about People Data Labs (PDL), written once: auth, limits, company lookups.

Sources (PDL's own documentation and SDKs):

* Company Enrichment API v5, ``GET https://api.peopledatalabs.com/v5/company/enrich``: "When the API
  finds a matching company, it returns this company along with an HTTP response code of 200. When it
  doesn't find a matching company, it returns ... 404. We charge per match." Rate limit "10 per minute
  for free customers and 1,000 per minute for paying customers":
  https://docs.peopledatalabs.com/docs/reference-company-enrichment-api
* Input parameters (at least one of ``pdl_id``, ``name``, ``ticker``, ``website``, ``profile``;
  ``min_likelihood``): https://docs.peopledatalabs.com/docs/input-parameters-company-enrichment-api
* Output: the company fields at the top level of the body (no ``data`` wrapper) plus ``status`` and
  ``likelihood`` (1-10): https://docs.peopledatalabs.com/docs/output-response-company-enrichment-api
  and the Company Schema https://docs.peopledatalabs.com/docs/company-schema. The canonical ``size``
  ranges and industries are the ``CompanySize`` / ``IndustryType`` unions of the official JS SDK
  (``peopledatalabs/peopledatalabs-js``, ``src/types/canonical-types.ts``).
* Errors: ``{"status": 404, "error": {"type": "not_found", "message": ...}}``; 401
  ``authentication_error``, 402 ``payment_required`` ("You have hit your account maximum (all matches
  used)"), 429 ``rate_limit_error``: https://docs.peopledatalabs.com/docs/errors and the messages in
  ``peopledatalabs-js`` ``src/errors.ts``.
* Limits: per key and per endpoint, fixed one-minute window; headers ``x-ratelimit-limit``,
  ``x-ratelimit-remaining`` (per window), ``x-ratelimit-reset`` (a UTC timestamp), ``x-call-credits-spent``,
  ``x-totallimit-remaining``: https://docs.peopledatalabs.com/docs/usage-limits

Importing this module must stay cheap (specs import it for :data:`CONNECTION` on the ingress path):
httpx, through :mod:`shared.http`, is imported for type checking only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.app import App
from shared.errors import TargetRejected

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = [
    "APP",
    "COMPANY_SIZES",
    "CONNECTION",
    "ENRICH_PATH",
    "INDUSTRIES",
    "Company",
    "Location",
    "PdlError",
    "PeopleDataLabsClient",
    "parse_error",
]

APP = App(
    name="peopledatalabs",
    base_url="https://api.peopledatalabs.com",
    # PDL takes the key in the ``X-Api-Key`` header (or an ``api_key`` query parameter, which would
    # put the key into access logs - so the header it is).
    auth="header",
    auth_header="x-api-key",
    token_field="api_key",
    # On 429 PDL documents ``x-ratelimit-reset`` - a UTC timestamp ("2022-02-23T20:19:55Z"), which
    # ``parse_retry_after`` does not read (it takes delta-seconds or an HTTP-date) - and its SDKs also
    # read ``Retry-After``. Without either, the computed back-off applies; the window is one minute.
    retry_after_headers=("retry-after",),
    # 402 "payment_required": the key's credits are used up. That is a state of the account, not a
    # fault of the request: the same request succeeds unchanged once credits are bought or the
    # billing period renews. So it backs off like a 429 (PDL's own troubleshooting: restore credits,
    # then retry) instead of dead-lettering every lead of the day at once; if the retries run out the
    # message lands in the DLQ with the 402 in its reason and a redrive finishes it.
    retryable_statuses=(402,),
    # The free tier allows 10 company lookups a minute. Two in flight per worker (and a spec capped at
    # two invocations) keeps a burst of leads from spending the minute in one go; 429s back off anyway.
    max_concurrency=2,
    read_timeout_s=10.0,
    idempotency="reads only (GET); a match costs one credit, a 404 costs nothing",
    docs_url="https://docs.peopledatalabs.com/docs/reference-company-enrichment-api",
)

CONNECTION = APP.connection(
    description=(
        "People Data Labs API key (dashboard.peopledatalabs.com > API Keys), sent as X-Api-Key. "
        "Company Enrichment credits are spent per match."
    )
)

ENRICH_PATH: Final = "/v5/company/enrich"

#: PDL's canonical ``size`` ranges, smallest first (``CompanySize`` in the official JS SDK).
COMPANY_SIZES: Final = (
    "1-10",
    "11-50",
    "51-200",
    "201-500",
    "501-1000",
    "1001-5000",
    "5001-10000",
    "10001+",
)


#: PDL's canonical ``industry`` values (``IndustryType`` in the official JS SDK), lower-case. Rules
#: that match on industry are checked against these, so a typo fails at load instead of never matching.
INDUSTRIES: Final = frozenset(
    {
        "accounting",
        "airlines/aviation",
        "alternative dispute resolution",
        "alternative medicine",
        "animation",
        "apparel & fashion",
        "architecture & planning",
        "arts and crafts",
        "automotive",
        "aviation & aerospace",
        "banking",
        "biotechnology",
        "broadcast media",
        "building materials",
        "business supplies and equipment",
        "capital markets",
        "chemicals",
        "civic & social organization",
        "civil engineering",
        "commercial real estate",
        "computer & network security",
        "computer games",
        "computer hardware",
        "computer networking",
        "computer software",
        "construction",
        "consumer electronics",
        "consumer goods",
        "consumer services",
        "cosmetics",
        "dairy",
        "defense & space",
        "design",
        "e-learning",
        "education management",
        "electrical/electronic manufacturing",
        "entertainment",
        "environmental services",
        "events services",
        "executive office",
        "facilities services",
        "farming",
        "financial services",
        "fine art",
        "fishery",
        "food & beverages",
        "food production",
        "fund-raising",
        "furniture",
        "gambling & casinos",
        "glass, ceramics & concrete",
        "government administration",
        "government relations",
        "graphic design",
        "health, wellness and fitness",
        "higher education",
        "hospital & health care",
        "hospitality",
        "human resources",
        "import and export",
        "individual & family services",
        "industrial automation",
        "information services",
        "information technology and services",
        "insurance",
        "international affairs",
        "international trade and development",
        "internet",
        "investment banking",
        "investment management",
        "judiciary",
        "law enforcement",
        "law practice",
        "legal services",
        "legislative office",
        "leisure, travel & tourism",
        "libraries",
        "logistics and supply chain",
        "luxury goods & jewelry",
        "machinery",
        "management consulting",
        "maritime",
        "market research",
        "marketing and advertising",
        "mechanical or industrial engineering",
        "media production",
        "medical devices",
        "medical practice",
        "mental health",
        "military",
        "mining & metals",
        "motion pictures and film",
        "museums and institutions",
        "music",
        "nanotechnology",
        "newspapers",
        "non-profit organization management",
        "oil & energy",
        "online media",
        "outsourcing/offshoring",
        "package/freight delivery",
        "packaging and containers",
        "paper & forest products",
        "performing arts",
        "pharmaceuticals",
        "philanthropy",
        "photography",
        "plastics",
        "political organization",
        "primary/secondary education",
        "printing",
        "professional training & coaching",
        "program development",
        "public policy",
        "public relations and communications",
        "public safety",
        "publishing",
        "railroad manufacture",
        "ranching",
        "real estate",
        "recreational facilities and services",
        "religious institutions",
        "renewables & environment",
        "research",
        "restaurants",
        "retail",
        "security and investigations",
        "semiconductors",
        "shipbuilding",
        "sporting goods",
        "sports",
        "staffing and recruiting",
        "supermarkets",
        "telecommunications",
        "textiles",
        "think tanks",
        "tobacco",
        "translation and localization",
        "transportation/trucking/railroad",
        "utilities",
        "venture capital & private equity",
        "veterinary",
        "warehousing",
        "wholesale",
        "wine and spirits",
        "wireless",
        "writing and editing",
    }
)


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


class _ErrorDetail(_Model):
    type: str
    message: str = ""


class PdlError(_Model):
    """PDL's error body: ``{"status": 401, "error": {"type": "authentication_error", "message": ...}}``."""

    status: int
    error: _ErrorDetail


def parse_error(text: str | bytes) -> PdlError | None:
    """The PDL error body in ``text``, or ``None`` if it is not one (an HTML page from a proxy ...)."""
    try:
        return PdlError.model_validate_json(text)
    except ValidationError:
        return None


class PeopleDataLabsClient:
    """Typed PDL calls on top of :class:`shared.http.ApiClient`.

    ApiClient owns transport, auth, timeouts and the error mapping (429 -> ``RateLimited``, 402 and
    5xx -> ``TargetUnavailable``, 401 and other 4xx -> ``TargetRejected`` with PDL's error text); this
    class only knows PDL's paths and JSON shapes.
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def enrich_company(
        self,
        *,
        website: str | None = None,
        profile: str | None = None,
        name: str | None = None,
        min_likelihood: int | None = None,
    ) -> Company | None:
        """The company matching the given identifiers, or ``None`` when PDL has no match (404).

        "No match" is a normal answer, not a failure, and PDL does not charge for it. A 404 that is not
        PDL's ``not_found`` body (a wrong base URL answered by some other server) is an error instead:
        silently scoring every lead without its company would hide a broken connection.
        """
        params = {"website": website, "profile": profile, "name": name}
        query = {k: v.strip() for k, v in params.items() if v and v.strip()}
        if not query:
            raise ValueError("a company lookup needs at least one of website, profile or name")
        if min_likelihood is not None:
            query["min_likelihood"] = str(min_likelihood)
        response = self._api.request("GET", ENRICH_PATH, params=query, ok=(404,))
        if response.status_code == 404:
            error = parse_error(response.content)
            if error is None or error.error.type != "not_found":
                raise TargetRejected(
                    f"peopledatalabs GET {ENRICH_PATH}: 404 without PDL's not_found body "
                    "(is the connection's base_url right?)",
                    status=404,
                    app=APP.name,
                )
            return None
        return self._api.parse(Company, response, ENRICH_PATH)
