"""The Shopify client and the stock action against the stand-in (in-process, no sockets), and the error
mapping of GraphQL answers: throttling -> a wait from the cost bucket, userErrors -> a rejection."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from apps.shopify import APP, CONNECTION, GRAPHQL_PATH
from apps.shopify.actions import GET_STOCK
from apps.shopify.client import (
    SKUS_PER_QUERY,
    InventoryChange,
    InventorySet,
    ShopifyClient,
    gid,
    throttle_wait,
)
from apps.shopify.models import Cost, ThrottleStatus
from apps.shopify.standin import DEFAULT_TOKEN, ShopifySandbox
from apps.shopify.standin.seed import LOCATIONS
from sandbox.base import SandboxRequest, as_transport
from shared.actions.stock import StockQuery
from shared.app import App
from shared.errors import RateLimited, TargetRejected, TargetUnavailable
from shared.http import ApiClient
from shared.spec import Connection

SHOP, WAREHOUSE = LOCATIONS
LOAF_ITEM = "48234567890001"
BASE = "https://bramble-bakery.myshopify.com"


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> ShopifySandbox:
    return ShopifySandbox(clock=clock)


def api(sandbox: ShopifySandbox, token: str = DEFAULT_TOKEN) -> ApiClient:
    return ApiClient(APP, {"token": token, "base_url": BASE}, transport=as_transport(sandbox, mount=""))


def client(sandbox: ShopifySandbox) -> ShopifyClient:
    return ShopifyClient(api(sandbox))


def answering(body: dict[str, Any], status: int = 200) -> ShopifyClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    return ShopifyClient(ApiClient(APP, {"token": "t", "base_url": BASE}, transport=transport))


def posts(sandbox: ShopifySandbox) -> list[dict[str, Any]]:
    listed = sandbox.handle(SandboxRequest("GET", "/_requests", query={"path": ["graphql.json"]})).parsed()
    return list(listed["requests"])


def available(sandbox: ShopifySandbox, sku: str, location: int) -> int:
    items = sandbox.handle(SandboxRequest("GET", "/_state")).parsed()["items"]
    return int(next(i for i in items if i["sku"] == sku)["levels"][str(location)]["available"])


class Ctx:
    """What an action needs from its caller (``shared.actions.base.ActionContext``)."""

    rt: Any = None

    def __init__(self, sandbox: ShopifySandbox) -> None:
        self.sandbox = sandbox

    def api(self, app: App, connection: Connection) -> ApiClient:
        assert (app, connection) == (APP, CONNECTION)
        return api(self.sandbox)


# --- reads -----------------------------------------------------------------------------------------


def test_variants_are_found_by_sku_exactly_and_case_insensitively(sandbox: ShopifySandbox) -> None:
    found = client(sandbox).variants_by_sku(["LOAF-SOURDOUGH", "cake-lemon-drizzle", "LOAF", "NOPE-1"])
    assert {sku: v.id for sku, v in found.items()} == {
        "LOAF-SOURDOUGH": "gid://shopify/ProductVariant/46123456780001",
        "cake-lemon-drizzle": "gid://shopify/ProductVariant/46123456780002",
    }
    [sent] = posts(sandbox)
    assert sent["path"] == GRAPHQL_PATH
    assert sent["headers"]["x-shopify-access-token"] == "***"  # the stand-in masks it in its log
    assert (
        sent["json"]["variables"]["query"]
        == 'sku:"LOAF-SOURDOUGH" OR sku:"cake-lemon-drizzle" OR sku:"LOAF" OR sku:"NOPE-1"'
    )


def test_many_skus_are_asked_in_chunks(sandbox: ShopifySandbox) -> None:
    skus = [f"SKU-{n}" for n in range(SKUS_PER_QUERY + 1)]
    assert client(sandbox).variants_by_sku(skus) == {}
    assert len(posts(sandbox)) == 2


def test_the_stock_action_sums_available_at_the_locations_asked(sandbox: ShopifySandbox) -> None:
    both = [str(SHOP), gid("Location", WAREHOUSE)]
    stock = GET_STOCK(
        Ctx(sandbox), StockQuery(skus=["LOAF-SOURDOUGH", "GIFT-WRAP", "NOPE-1"], location_ids=both)
    )
    loaf, wrap, nope = stock.items
    assert (loaf.found, loaf.available, loaf.variation_id) == (
        True,
        20,
        "gid://shopify/ProductVariant/46123456780001",
    )
    assert loaf.updated_at is not None and loaf.updated_at.endswith("Z")
    assert (wrap.found, wrap.available, wrap.updated_at) == (True, 0, None)  # not tracked: no count
    assert (nope.found, nope.available) == (False, 0)
    shop_only = GET_STOCK(Ctx(sandbox), StockQuery(skus=["LOAF-SOURDOUGH"], location_ids=[str(SHOP)]))
    assert shop_only.items[0].available == 14
    assert len(posts(sandbox)) == 4  # two reads each: variants, then their inventory items


def test_a_negative_count_is_no_stock(sandbox: ShopifySandbox) -> None:
    sandbox.handle(
        SandboxRequest(
            "POST",
            "/_stock",
            body=json.dumps({"sku": "LOAF-SOURDOUGH", "location_id": SHOP, "available": -3}).encode(),
        )
    )
    stock = GET_STOCK(Ctx(sandbox), StockQuery(skus=["LOAF-SOURDOUGH"], location_ids=[str(SHOP)]))
    assert stock.items[0].available == 0


def test_an_order_reads_back_with_its_lines_and_an_unknown_one_is_none(sandbox: ShopifySandbox) -> None:
    order = {
        "id": 5923412345678,
        "name": "#1042",
        "currency": "GBP",
        "created_at": "2026-11-20T10:41:52+00:00",
        "financial_status": "paid",
        "taxes_included": True,
        "current_total_price": "9.00",
        "total_tax": "1.50",
        "line_items": [
            {
                "id": 1,
                "title": "Sourdough loaf",
                "sku": "LOAF-SOURDOUGH",
                "quantity": 2,
                "price": "4.50",
                "tax_lines": [{"title": "GB VAT", "price": "1.50", "rate": 0.2}],
            }
        ],
    }
    assert sandbox.handle(SandboxRequest("POST", "/_orders", body=json.dumps(order).encode())).status == 201
    found = client(sandbox).order(5923412345678)
    assert found is not None
    assert (found.name, found.currencyCode, found.displayFinancialStatus) == ("#1042", "GBP", "PAID")
    assert str(found.currentTotalPriceSet.shopMoney.amount) == "9.00"
    [line] = found.lineItems.nodes
    assert (line.sku, line.quantity, line.taxLines[0].title) == ("LOAF-SOURDOUGH", 2, "GB VAT")
    assert client(sandbox).order("gid://shopify/Order/1") is None


# --- writes ----------------------------------------------------------------------------------------


def test_an_adjustment_with_the_expected_quantity_applies_once_per_key(sandbox: ShopifySandbox) -> None:
    shopify = client(sandbox)
    change = InventoryChange(LOAF_ITEM, str(SHOP), delta=-2, expected=14)
    first = shopify.adjust_available([change], reason="correction", key="sale-1042")
    again = shopify.adjust_available([change], reason="correction", key="sale-1042")  # a retry
    assert first == again
    assert available(sandbox, "LOAF-SOURDOUGH", SHOP) == 12
    assert [(c.name, c.delta, c.quantityAfterChange) for c in first.changes] == [
        ("available", -2, 12),
        ("on_hand", -2, 12),
    ]
    sent = posts(sandbox)[0]["json"]
    assert "@idempotent(key: $key)" in sent["query"]
    assert sent["variables"]["input"]["changes"][0]["changeFromQuantity"] == 14


def test_a_stale_expected_quantity_is_rejected_with_shopifys_message(sandbox: ShopifySandbox) -> None:
    with pytest.raises(TargetRejected, match=r"CHANGE_FROM_QUANTITY_STALE: .*it is 14, not 9") as refused:
        client(sandbox).adjust_available(
            [InventoryChange(LOAF_ITEM, str(SHOP), delta=-1, expected=9)], reason="correction", key="k"
        )
    assert refused.value.app == "shopify"
    assert available(sandbox, "LOAF-SOURDOUGH", SHOP) == 14  # nothing applied


@pytest.mark.parametrize(
    ("change", "reason", "code"),
    [
        (InventoryChange(LOAF_ITEM, str(SHOP), -1, None), "because", "INVALID_REASON"),
        (InventoryChange("1", str(SHOP), -1, None), "correction", "INVALID_INVENTORY_ITEM"),
        (InventoryChange(LOAF_ITEM, "2", -1, None), "correction", "INVALID_LOCATION"),
        (
            InventoryChange("48234567890003", str(WAREHOUSE), -1, None),
            "correction",
            "ITEM_NOT_STOCKED_AT_LOCATION",
        ),
    ],
)
def test_user_errors_are_rejections_naming_the_code_and_field(
    sandbox: ShopifySandbox, change: InventoryChange, reason: str, code: str
) -> None:
    with pytest.raises(TargetRejected, match=code):
        client(sandbox).adjust_available([change], reason=reason, key=f"k-{code}")


def test_a_key_reused_for_another_change_is_refused(sandbox: ShopifySandbox) -> None:
    shopify = client(sandbox)
    shopify.adjust_available([InventoryChange(LOAF_ITEM, str(SHOP), -1, None)], reason="correction", key="k1")
    with pytest.raises(TargetRejected, match="already used"):
        shopify.adjust_available(
            [InventoryChange(LOAF_ITEM, str(SHOP), -5, None)], reason="correction", key="k1"
        )
    assert available(sandbox, "LOAF-SOURDOUGH", SHOP) == 13


def test_set_compares_and_swaps(sandbox: ShopifySandbox) -> None:
    shopify = client(sandbox)
    group = shopify.set_available(
        [InventorySet(LOAF_ITEM, str(WAREHOUSE), quantity=10, expected=6)], reason="correction", key="count-1"
    )
    assert available(sandbox, "LOAF-SOURDOUGH", WAREHOUSE) == 10
    assert group.changes[0].delta == 4
    with pytest.raises(TargetRejected, match="CHANGE_FROM_QUANTITY_STALE"):
        shopify.set_available(
            [InventorySet(LOAF_ITEM, str(WAREHOUSE), quantity=3, expected=6)],
            reason="correction",
            key="count-2",
        )


# --- errors ----------------------------------------------------------------------------------------


def test_the_wait_is_what_the_bucket_needs_to_hold_the_query() -> None:
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 752,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 1000.0,
                    "currentlyAvailable": 2.0,
                    "restoreRate": 50.0,
                },
            }
        },
    }
    with pytest.raises(RateLimited) as waited:
        answering(throttled).variants_by_sku(["LOAF-SOURDOUGH"])
    assert waited.value.retry_after == 15.0  # (752 - 2) / 50
    del throttled["extensions"]
    with pytest.raises(RateLimited) as unknown:
        answering(throttled).variants_by_sku(["LOAF-SOURDOUGH"])
    assert unknown.value.retry_after is None
    status = ThrottleStatus(maximumAvailable=1000, currentlyAvailable=900, restoreRate=50)
    assert throttle_wait(Cost(requestedQueryCost=10, throttleStatus=status)) == 0.0


def test_the_stand_ins_bucket_throttles_and_the_wait_is_enough(sandbox: ShopifySandbox, clock: Clock) -> None:
    shopify = client(sandbox)
    skus = ["LOAF-SOURDOUGH"]
    waited: RateLimited | None = None
    for _ in range(1000):
        try:
            shopify.variants_by_sku(skus)
        except RateLimited as exc:
            waited = exc
            break
    assert waited is not None and waited.retry_after is not None and waited.retry_after > 0
    throttled = posts(sandbox)[-1]
    assert throttled["status"] == 200
    clock.now += waited.retry_after
    assert shopify.variants_by_sku(skus)  # the bucket holds it again


def test_top_level_errors_map_by_code() -> None:
    def errors(code: str) -> dict[str, Any]:
        return {"errors": [{"message": f"a {code}", "extensions": {"code": code}}]}

    with pytest.raises(TargetUnavailable, match="INTERNAL_SERVER_ERROR"):
        answering(errors("INTERNAL_SERVER_ERROR")).order(1)
    with pytest.raises(TargetRejected, match="ACCESS_DENIED"):
        answering(errors("ACCESS_DENIED")).order(1)
    with pytest.raises(TargetUnavailable, match="neither data nor errors"):
        answering({}).order(1)
    with pytest.raises(TargetUnavailable):
        answering({"data": {"order": {"id": "gid://shopify/Order/1"}}}).order(1)  # not an order's shape


def test_http_errors_are_mapped_by_the_shared_client(sandbox: ShopifySandbox) -> None:
    with pytest.raises(TargetRejected, match="401") as refused:
        ShopifyClient(api(sandbox, token="shpat_wrong")).order(1)
    assert refused.value.status == 401
    sandbox.handle(
        # A query is tried 3 times (shared.http.SAFE_RETRIES) before it fails.
        SandboxRequest(
            "POST", "/_faults", body=json.dumps({"kind": "status", "status": 503, "count": 3}).encode()
        )
    )
    with pytest.raises(TargetUnavailable, match="503"):
        client(sandbox).order(1)
    sandbox.handle(
        SandboxRequest("POST", "/_faults", body=json.dumps({"kind": "rate_limit", "retry_after": 2}).encode())
    )
    with pytest.raises(RateLimited) as limited:
        client(sandbox).order(1)
    assert limited.value.retry_after == 2.0


def test_ids_are_global_ids() -> None:
    assert gid("Location", 71834222681) == "gid://shopify/Location/71834222681"
    assert gid("Location", "gid://shopify/Location/7") == "gid://shopify/Location/7"
    with pytest.raises(ValueError, match="neither"):
        gid("Location", "mill-road")


def test_shopify_performs_stock_get_and_a_deployment_chooses_it() -> None:
    from shared.actions import catalogue, provider, providers

    assert sorted(providers("stock.get")) == ["shopify", "square"]
    assert provider("stock.get", "shopify") is GET_STOCK
    assert next(a for a in catalogue() if a.name == "stock.get").app == "square"  # the domain's default
    assert next(a for a in catalogue({"stock": "shopify"}) if a.name == "stock.get") is GET_STOCK
    assert GET_STOCK.config == {"location_ids": "stock_location_ids"}  # the deployment's locations
