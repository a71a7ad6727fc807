"""stock_level with ``stock_app: shopify``: the shop's catalogue and counts live in its Shopify web shop.

The same routes, cache and fall-back; the answer comes from ``stock.get`` as Shopify performs it
(``shared.actions.provider``), read from the Shopify stand-in's bakery (Mill Road shop 14 sourdough
loaves, online warehouse 6).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.shopify.standin import ShopifySandbox
from apps.square.standin import SquareSandbox
from functions.stock_level.models import Settings
from functions.stock_level.tests.test_stock_level import SAMPLES, clock, get, send, settings, square_calls
from sandbox.base import SandboxRequest
from shared.runtime import Runtime

__all__ = ["clock"]  # the fixture, shared with test_stock_level (a frozen time: nothing sleeps)

MILL_ROAD, ONLINE = "71834222681", "gid://shopify/Location/71834255449"


@pytest.fixture
def shop(sandboxes: dict[str, Any]) -> ShopifySandbox:
    app = sandboxes["shopify"]
    assert isinstance(app, ShopifySandbox)
    return app


@pytest.fixture
def rt(make_runtime: Any, clock: Any) -> Runtime:
    runtime: Runtime = make_runtime(
        "stock_level", settings_json=settings(stock_app="shopify", location_ids=[MILL_ROAD, ONLINE])
    )
    return runtime


def shopify_calls(shop: ShopifySandbox) -> int:
    res = shop.handle(SandboxRequest("GET", "/_requests", query={"path": ["/graphql.json"]}))
    return len(res.parsed()["requests"])


def test_the_answer_comes_from_shopify(rt: Runtime, shop: ShopifySandbox, sandboxes: dict[str, Any]) -> None:
    answer = get(rt, "/stock/LOAF-SOURDOUGH")
    assert answer.status == 200
    assert (answer.body["available"], answer.body["in_stock"]) == (20, True)  # 14 + 6
    assert shopify_calls(shop) == 2  # productVariants, then the items' levels
    square = sandboxes["square"]
    assert isinstance(square, SquareSandbox) and square_calls(square) == []


def test_a_sku_the_web_shop_lacks_is_404_naming_shopify(rt: Runtime) -> None:
    answer = get(rt, "/stock/LOAF-RYE")  # sold at the till only
    assert answer.status == 404
    assert answer.body["message"] == "no item variation has SKU LOAF-RYE in the Shopify catalog"


def test_several_skus_and_the_cache(rt: Runtime, shop: ShopifySandbox) -> None:
    answer = get(rt, "/stock", "skus=CAKE-LEMON-DRIZZLE,PASTRY-CROISSANT-4")
    assert [(i["sku"], i["available"]) for i in answer.body["items"]] == [
        ("CAKE-LEMON-DRIZZLE", 3),
        ("PASTRY-CROISSANT-4", 9),
    ]
    calls = shopify_calls(shop)
    get(rt, "/stock", "skus=CAKE-LEMON-DRIZZLE,PASTRY-CROISSANT-4")
    assert shopify_calls(shop) == calls  # within cache_seconds: not asked again


def test_switching_the_app_never_serves_the_other_apps_value(
    make_runtime: Any, clock: Any, shop: ShopifySandbox
) -> None:
    till: Runtime = make_runtime("stock_level")
    assert get(till, "/stock/LOAF-SOURDOUGH").body["available"] == 18  # Square: 12 + 6
    online: Runtime = make_runtime(
        "stock_level", settings_json=settings(stock_app="shopify", location_ids=[ONLINE])
    )
    assert get(online, "/stock/LOAF-SOURDOUGH").body["available"] == 6
    assert shopify_calls(shop) == 2


def test_location_ids_must_be_the_apps_own() -> None:
    base = json.loads(settings())
    assert Settings.model_validate(
        {**base, "stock_app": "shopify", "location_ids": [ONLINE]}
    ).location_ids == ("71834255449",)
    with pytest.raises(ValueError, match="not Shopify location ids"):
        Settings.model_validate({**base, "stock_app": "shopify", "location_ids": ["L8M2Q9ZB3XW1P"]})
    with pytest.raises(ValueError, match="not Square location ids"):
        Settings.model_validate({**base, "location_ids": ["gid://shopify/Location/1"]})
    with pytest.raises(ValueError, match="stock_app"):
        Settings.model_validate({**base, "stock_app": "woocommerce"})


def test_the_sample_of_a_shopify_catalogue_answers_as_it_says(rt: Runtime) -> None:
    """``events/stock_level/web_shop_catalogue.json``, whose settings are this module's runtime's."""
    [sample] = [s for s in SAMPLES if s.name == "web_shop_catalogue"]
    assert sample.settings == {"stock_app": "shopify", "location_ids": [MILL_ROAD, ONLINE.rsplit("/", 1)[1]]}
    answer = send(rt, sample)
    assert answer.status == sample.expect_status == 200
    assert answer.body["available"] == 20
