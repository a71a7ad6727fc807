"""The Shopify stand-in's shapes: GraphQL answers as the Admin API gives them, its errors, its cost
bucket, and its webhooks signed as Shopify signs them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.shopify import VERIFIER
from apps.shopify.standin import DEFAULT_TOKEN, SUPPORTED_VERSIONS, ShopifySandbox
from apps.shopify.standin.seed import LOCATIONS
from apps.shopify.webhooks import InventoryLevel
from sandbox.base import SandboxRequest, SandboxResponse
from sandbox.snapshot import capture, dumps, loads, restore
from shared.webhooks.base import WebhookRequest

SHOP, WAREHOUSE = LOCATIONS
LOAF_ITEM = "gid://shopify/InventoryItem/48234567890001"
ADJUST = """
mutation Adjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}
"""


def graphql(
    app: ShopifySandbox, query: str, variables: dict[str, Any] | None = None, *, version: str = "2026-04"
) -> SandboxResponse:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"x-shopify-access-token": DEFAULT_TOKEN, "content-type": "application/json"}
    return app.handle(
        SandboxRequest("POST", f"/admin/api/{version}/graphql.json", headers=headers, body=body)
    )


def change(delta: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "available",
        "reason": "correction",
        "changes": [
            {
                "inventoryItemId": LOAF_ITEM,
                "locationId": f"gid://shopify/Location/{SHOP}",
                "delta": delta,
                **extra,
            }
        ],
    }


@pytest.fixture
def app() -> ShopifySandbox:
    return ShopifySandbox()


def test_an_answer_holds_exactly_the_fields_asked_under_their_aliases(app: ShopifySandbox) -> None:
    query = """
    query Stock($ids: [ID!]!) {
      items: nodes(ids: $ids) {
        __typename
        ... on InventoryItem { sku levels: inventoryLevels(first: 1) { nodes { quantities(names: ["available"]) { quantity } } } }
      }
    }
    """
    answer = graphql(app, query, {"ids": [LOAF_ITEM, "gid://shopify/InventoryItem/1"]}).parsed()
    assert answer["data"] == {
        "items": [
            {
                "__typename": "InventoryItem",
                "sku": "LOAF-SOURDOUGH",
                "levels": {"nodes": [{"quantities": [{"quantity": 14}]}]},
            },
            None,
        ]
    }
    cost = answer["extensions"]["cost"]
    assert set(cost) == {"requestedQueryCost", "actualQueryCost", "throttleStatus"}
    assert (
        cost["throttleStatus"]["maximumAvailable"] == 1000.0 and cost["throttleStatus"]["restoreRate"] == 50.0
    )
    assert cost["actualQueryCost"] <= cost["requestedQueryCost"]


def test_a_field_the_type_lacks_is_refused_before_anything_runs(app: ShopifySandbox) -> None:
    answer = graphql(app, "{ productVariants(first: 1) { nodes { id colour } } }").parsed()
    assert "data" not in answer
    assert answer["errors"] == [
        {
            "message": "Field 'colour' doesn't exist on type 'ProductVariant'",
            "extensions": {"code": "undefinedField", "typeName": "ProductVariant", "fieldName": "colour"},
        }
    ]


def test_syntax_errors_missing_queries_and_bad_tokens_get_shopifys_answers(app: ShopifySandbox) -> None:
    assert "Parse error" in graphql(app, "{ shop { ").parsed()["errors"][0]["message"]
    missing = app.handle(
        SandboxRequest(
            "POST", "/admin/api/2026-04/graphql.json", headers={"x-shopify-access-token": DEFAULT_TOKEN}
        )
    )
    assert (missing.status, missing.parsed()) == (
        400,
        {"errors": {"query": "Required parameter missing or invalid"}},
    )
    refused = app.handle(SandboxRequest("POST", "/admin/api/2026-04/graphql.json", body=b"{}"))
    assert refused.status == 401
    assert refused.parsed()["errors"].startswith("[API] Invalid API key or access token")


def test_the_version_served_is_said_in_a_header(app: ShopifySandbox) -> None:
    assert graphql(app, "{ shop { currencyCode } }").headers["x-shopify-api-version"] == "2026-04"
    old = graphql(app, "{ shop { currencyCode } }", version="2023-01")
    assert old.headers["x-shopify-api-version"] == SUPPORTED_VERSIONS[0]  # falls forward


def test_inventory_mutations_need_the_idempotent_directive_and_change_from_quantity(
    app: ShopifySandbox,
) -> None:
    without = ADJUST.replace(" @idempotent(key: $key)", "")
    refused = graphql(app, without, {"input": change(-1, changeFromQuantity=None), "key": "k"}).parsed()
    assert "@idempotent" in refused["errors"][0]["message"]
    missing = graphql(app, ADJUST, {"input": change(-1), "key": "k"}).parsed()
    [error] = missing["data"]["inventoryAdjustQuantities"]["userErrors"]
    assert error["field"] == ["input", "changes", "0", "changeFromQuantity"]
    assert missing["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"] is None


def test_an_input_field_the_version_removed_is_refused_as_a_variable_error(app: ShopifySandbox) -> None:
    query = """
    mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
      inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { message } }
    }
    """
    data = {"name": "available", "reason": "correction", "ignoreCompareQuantity": True, "quantities": []}
    [error] = graphql(app, query, {"input": data, "key": "k"}).parsed()["errors"]
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert "ignoreCompareQuantity (Field is not defined on InventorySetQuantitiesInput)" in error["message"]


def test_a_query_dearer_than_the_bucket_is_refused_and_limits_can_be_lifted() -> None:
    query = "{ productVariants(first: 250) { nodes { id product { id } inventoryItem { id inventoryLevels(first: 5) { nodes { id } } } } } }"
    [error] = graphql(ShopifySandbox(), query).parsed()["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    clock = [0.0]
    tight = ShopifySandbox(bucket_points=30, clock=lambda: clock[0])
    cheap = "{ productVariants(first: 4) { nodes { id product { id } inventoryItem { id } } } }"  # 14 points
    answers = [graphql(tight, cheap).parsed() for _ in range(3)]
    assert [("errors" in a) for a in answers] == [False, False, True]
    throttled = answers[2]
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["extensions"]["cost"]["actualQueryCost"] is None
    lifted = ShopifySandbox(bucket_points=30, clock=lambda: clock[0], limits=False)
    assert all("errors" not in graphql(lifted, cheap).parsed() for _ in range(5))


def test_an_adjustment_sends_a_signed_inventory_levels_update(app: ShopifySandbox) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    assert app.webhooks is not None

    def deliver(url: str, headers: Any, body: bytes) -> int:
        received.append((dict(headers), body))
        return 200

    app.webhooks.subscribe("https://hooks.example.test/stock", "shpss_secret", deliver=deliver)
    answer = graphql(app, ADJUST, {"input": change(-3, changeFromQuantity=14), "key": "k1"}).parsed()
    assert answer["data"]["inventoryAdjustQuantities"]["userErrors"] == []
    [(headers, body)] = received
    assert headers["x-shopify-topic"] == "inventory_levels/update"
    assert headers["x-shopify-shop-domain"] == "bramble-bakery.myshopify.com"
    assert headers["x-shopify-webhook-id"] and headers["x-shopify-event-id"]
    VERIFIER.verify(
        WebhookRequest("POST", "https://hooks.example.test/stock", headers, body), ["shpss_secret"], now=0
    )
    level = InventoryLevel.model_validate_json(body)
    assert (level.inventory_item_id, level.location_id, level.available) == (48234567890001, SHOP, 11)
    assert (
        level.admin_graphql_api_id is not None
        and "?inventory_item_id=48234567890001" in level.admin_graphql_api_id
    )


def test_a_refund_made_in_shopify_is_sent_as_refunds_create(app: ShopifySandbox) -> None:
    topics: list[str] = []
    assert app.webhooks is not None
    app.webhooks.subscribe(
        "https://hooks.example.test/r",
        "s",
        deliver=lambda u, h, b: topics.append(h["x-shopify-topic"]) or 200,
    )
    refund = {"id": 1, "order_id": 2, "created_at": "2026-11-21T09:05:12+00:00", "transactions": []}
    assert app.handle(SandboxRequest("POST", "/_refunds", body=json.dumps(refund).encode())).status == 201
    assert topics == ["refunds/create"]
    assert app.handle(SandboxRequest("POST", "/_refunds", body=b"{}")).status == 400


def test_the_shops_data_survives_a_snapshot(app: ShopifySandbox) -> None:
    graphql(app, ADJUST, {"input": change(-4, changeFromQuantity=None), "key": "k"})
    saved = loads(dumps(capture({"shopify": app})))
    fresh = ShopifySandbox()
    restore({"shopify": fresh}, saved)
    items = fresh.handle(SandboxRequest("GET", "/_state")).parsed()["items"]
    assert items[0]["levels"][str(SHOP)]["available"] == 10
