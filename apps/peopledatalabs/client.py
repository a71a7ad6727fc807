"""The typed People Data Labs client: company lookups over :class:`shared.http.ApiClient`.

Worker path only. Source: the Company Enrichment API v5, ``GET https://api.peopledatalabs.com/v5/company/enrich``,
https://docs.peopledatalabs.com/docs/reference-company-enrichment-api; its input parameters (at least
one of ``pdl_id``, ``name``, ``ticker``, ``website``, ``profile``; ``min_likelihood``):
https://docs.peopledatalabs.com/docs/input-parameters-company-enrichment-api.

httpx (via :mod:`shared.http`) is imported for type checking only, as everywhere under ``apps/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shared.errors import TargetRejected

from . import APP
from .models import Company, parse_error

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = ["ENRICH_PATH", "PeopleDataLabsClient"]

ENRICH_PATH: Final = "/v5/company/enrich"


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
