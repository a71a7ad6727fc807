"""People Data Labs (PDL), as every path may see it: the app (auth, limits, retries) and its connection.

Importing this package must stay cheap: specs import it for :data:`CONNECTION` on the ingress path,
so it holds no pydantic models and no client. The rest of what Switchboard knows about PDL is in the
package's modules, imported where it is needed:

* :mod:`.models`, :mod:`.client` - the Company Enrichment API's answers and the typed client;
* :mod:`.actions` - the ``company.enrich`` catalogue operation;
* company sizes and industries: the company domain's vocabulary, :mod:`shared.actions.company_values`.

Sources: the Company Enrichment API v5 ("When the API finds a matching company, it returns this
company along with an HTTP response code of 200. When it doesn't find a matching company, it returns
... 404. We charge per match." Rate limit "10 per minute for free customers and 1,000 per minute for
paying customers"): https://docs.peopledatalabs.com/docs/reference-company-enrichment-api; errors
(401 ``authentication_error``, 402 ``payment_required`` - "You have hit your account maximum (all
matches used)" -, 429 ``rate_limit_error``): https://docs.peopledatalabs.com/docs/errors; limits per
key and per endpoint, fixed one-minute window, headers ``x-ratelimit-limit``,
``x-ratelimit-remaining`` (per window), ``x-ratelimit-reset`` (a UTC timestamp),
``x-call-credits-spent``, ``x-totallimit-remaining``: https://docs.peopledatalabs.com/docs/usage-limits
"""

from __future__ import annotations

from shared.app import App

__all__ = ["APP", "CONNECTION"]

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
    rate_per_s=1.5,  # People Data Labs: 100 requests per minute per key (free plan)
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
