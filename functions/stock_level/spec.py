"""stock_level: "how many of product X are left?", answered from Square for the shop's website.

Two synchronous routes, answered by the function itself (nothing is queued, so no worker):

* ``GET /stock/{sku}`` - one SKU;
* ``GET /stock?skus=A,B,C`` - up to 100 SKUs (a category page).

Both are browser-friendly (CORS for ``allowed_origins``) and take an ``x-api-key`` from server
callers. Answers are cached briefly per container and kept in DynamoDB, so a busy page does not
spend Square's rate limit and an outage at Square shows the last known value instead of an error.
See ``README.md`` beside this file for the full contract.
"""

from __future__ import annotations

from apps import shopify, square
from shared.spec import IntegrationSpec, RetryPolicy, RouteTrigger

from .access import API_KEYS
from .models import Settings, StockQuery

SPEC = IntegrationSpec(
    name="stock_level",
    description="Stock of a product (by SKU) from Square or Shopify inventory, for the shop's web pages",
    input_model=StockQuery,
    settings=Settings,
    triggers=(
        RouteTrigger(
            name="stock",
            path="/stock/{sku}",
            handler="functions.stock_level.routes:get_one",
            method="GET",
            cors=True,
            # A product page asks once per view; 25/s sustained with bursts of 50 is far beyond a
            # small shop's traffic and still caps what a misbehaving client can cost.
            throttle_rate=25.0,
            throttle_burst=50,
            description="Stock of one SKU",
        ),
        RouteTrigger(
            name="stock_many",
            path="/stock",
            handler="functions.stock_level.routes:get_many",
            method="GET",
            cors=True,
            # One request may name 100 SKUs (a DynamoDB batch read, and on a miss two Square calls).
            throttle_rate=5.0,
            throttle_burst=10,
            description="Stock of up to 100 SKUs (?skus=A,B,C)",
        ),
    ),
    # Square or Shopify answers, as the settings' stock_app says: both connections are declared.
    connections=(square.CONNECTION, shopify.CONNECTION, API_KEYS),
    # A route waits for Square at most twice the read timeout (search, then counts); 15 s leaves
    # room for the table and a cold start, and stays inside API Gateway's 30 s integration limit.
    timeout_s=15,
    memory_mb=256,
    max_concurrency=square.APP.max_concurrency,
    # Routes queue nothing; these only shape the (unused) queue that every integration gets.
    retry=RetryPolicy(max_attempts=3, base_delay_s=10, max_delay_s=60),
)
