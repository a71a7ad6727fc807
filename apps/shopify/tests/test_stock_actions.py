"""``stock.count`` and ``stock.adjust`` as Shopify performs them, against the stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from apps.shopify.actions import ADJUST_STOCK, COUNT_STOCK
from apps.shopify.standin import ShopifySandbox
from sandbox.base import SandboxApp
from shared.actions.stock import Adjust, CountQuery, StockChanged
from shared.app import App
from shared.clients import api_client
from shared.errors import PermanentError
from shared.http import ApiClient
from shared.runtime import Runtime
from shared.spec import Connection

ONLINE = "71834255449"
ITEM = 48234567890001


class Ctx:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def api(self, app: App, connection: Connection) -> ApiClient:
        return api_client(self.rt, app, connection)


@pytest.fixture
def shop(sandboxes: dict[str, SandboxApp]) -> ShopifySandbox:
    app = sandboxes["shopify"]
    assert isinstance(app, ShopifySandbox)
    return app


@pytest.fixture
def ctx(make_runtime: Any) -> Ctx:
    return Ctx(make_runtime("inventory_sync"))


def available(shop: ShopifySandbox) -> int:
    return shop.shop.items[ITEM].levels[int(ONLINE)].quantities["available"]


def test_count_is_exact_and_names_the_item(ctx: Ctx, shop: ShopifySandbox) -> None:
    shop.shop.set_available("LOAF-SOURDOUGH", int(ONLINE), -2)  # oversold: a count says so
    count = COUNT_STOCK(ctx, CountQuery(sku="LOAF-SOURDOUGH", location_id=f"gid://shopify/Location/{ONLINE}"))
    assert (count.found, count.item_id, count.quantity, count.tracked) == (
        True,
        f"gid://shopify/InventoryItem/{ITEM}",
        -2,
        True,
    )
    wrap = COUNT_STOCK(ctx, CountQuery(sku="GIFT-WRAP", location_id=ONLINE))
    assert (wrap.found, wrap.tracked) == (True, False)


def test_adjust_is_compare_and_set_keyed_and_referenced(ctx: Ctx, shop: ShopifySandbox) -> None:
    done = ADJUST_STOCK(
        ctx,
        Adjust(
            sku="LOAF-SOURDOUGH",
            location_id=ONLINE,
            delta=-1,
            expected=6,
            key="sb-test-key-1",
            reference="switchboard://inventory_sync/test",
        ),
    )
    assert done.quantity_after == 5 and available(shop) == 5
    [(mutation, key)] = list(shop.shop.answered)
    assert (mutation, key) == ("inventoryAdjustQuantities", "sb-test-key-1")
    group = shop.shop.answered[(mutation, key)][1]["inventoryAdjustmentGroup"]
    assert (group["reason"], group["referenceDocumentUri"]) == (
        "correction",
        "switchboard://inventory_sync/test",
    )
    with pytest.raises(StockChanged, match="CHANGE_FROM_QUANTITY_STALE"):
        ADJUST_STOCK(
            ctx, Adjust(sku="LOAF-SOURDOUGH", location_id=ONLINE, delta=-1, expected=6, key="sb-test-key-2")
        )
    assert available(shop) == 5


def test_adjusting_a_sku_the_shop_lacks_is_permanent(ctx: Ctx) -> None:
    with pytest.raises(PermanentError, match="no variant has SKU LOAF-RYE"):
        ADJUST_STOCK(ctx, Adjust(sku="LOAF-RYE", location_id=ONLINE, delta=-1))
