"""inventory_sync under the chaos harness: loaves sold at the till and online, one stock figure at the end.

Every event is a sale of the settings' first SKU at the synced location of one side, made on that
side's stand-in *when the event is built* (in-process, under the stand-in's lock, so faults do not
refuse the sale itself) - so sales land while the worker is reading and writing the same SKU, on both
sides at once:

* ``square``: a BatchChangeInventory ``IN_STOCK -> SOLD`` of 1-3 units; the event is the
  ``inventory.count.updated`` the stand-in built for it (taken out of its outbox: the harness sends
  it, under faults, re-sent and duplicated);
* ``shopify``: an ``inventoryAdjustQuantities`` of -1 to -3 ``available``; the event is the
  ``inventory_levels/update`` it queued, with Shopify's topic, shop and delivery id headers.

Before the faults start, both sides are set to :data:`START` units and inventory_sync's record of the
SKU to the same (as its first daily check would record it). Each sale must cause
``stock.sale_kept``: the observer :func:`stock_kept` counts one per sale when both sides end at
``START`` less every unit sold - and none if either side ends elsewhere (a sale lost or applied twice).

Poison events are not made (``poisonable=False``): no sale is refused for good by either stand-in, so a
poison event of this integration could only be a payload refused at the ingress (a 400, never the DLQ
the harness expects). Before the factories said so, the plan marked 1 % of sales poison and a soak
reported each as "poison missing" and its sale as an unexpected ``stock.sale_kept``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from infra.ops.chaos.generate import compact, rng, uuid4
from infra.ops.chaos.protocol import EffectKey, EventFactory, Outgoing, Planned
from infra.ops.chaos.state import ChaosRun
from sandbox.base import SandboxRequest

__all__ = ["FACTORIES", "OBSERVERS", "START"]

#: Units on each side before the run (far more than 60 events x 3 units can sell).
START: Final = 1000
_SALES: Final = "inventory_sync.sales"
_SCENE: Final = "inventory_sync.scene"
_EFFECT: Final = "stock.sale_kept"


@dataclass(frozen=True)
class _Scene:
    """Where the run sells: the SKU, each side's location and item ids."""

    sku: str
    square_location: str
    square_variation: str
    shopify_location: int
    shopify_item: int


@dataclass(frozen=True)
class _Sale:
    key: str
    units: int
    out: Outgoing


def _scene(run: ChaosRun) -> _Scene:
    """The run's SKU and locations, from inventory_sync's settings as the runtime holds them."""

    def make() -> _Scene:
        from functions.inventory_sync.models import Settings

        settings = run.runtime.runtimes["inventory_sync"].settings
        assert isinstance(settings, Settings)
        sku, square_location = settings.skus[0], settings.square_location_id
        shopify_location = int(settings.shopify_location_id)
        square: Any = run.runtime.sandboxes["square"]
        shopify: Any = run.runtime.sandboxes["shopify"]
        variation = next(
            o.id
            for o in square.catalog.values()
            if o.type == "ITEM_VARIATION" and not o.is_deleted and o.data.get("sku") == sku
        )
        item = next(i.number for i in shopify.shop.items.values() if i.sku.casefold() == sku.casefold())
        return _Scene(sku, square_location, variation, shopify_location, item)

    return run.remember(_SCENE, 0, make)


def prepare(run: ChaosRun, planned: Sequence[Planned]) -> None:
    """Both sides at :data:`START`, and inventory_sync's record of the SKU the same (once per run)."""
    from functions.inventory_sync.state import Records

    scene = _scene(run)

    def set_up() -> bool:
        square: Any = run.runtime.sandboxes["square"]
        shopify: Any = run.runtime.sandboxes["shopify"]
        res = square.handle(
            SandboxRequest(
                method="POST",
                path="/_stock",
                body=compact(
                    {"sku": scene.sku, "quantity": str(START), "location_id": scene.square_location}
                ),
            )
        )
        if res.status != 200:
            raise RuntimeError(f"inventory_sync chaos: the Square stand-in refused the stock: {res.body!r}")
        with shopify.lock:
            shopify.shop.set_available(scene.sku, scene.shopify_location, START)
        Records(run.runtime.runtimes["inventory_sync"]).put(scene.sku, START, START)
        return True

    run.remember(_SCENE, "set", set_up)


def _units(p: Planned) -> int:
    return rng(p, "units").randint(1, 3)


def _square_sale(run: ChaosRun, p: Planned, scene: _Scene) -> _Sale:
    square: Any = run.runtime.sandboxes["square"]
    units = _units(p)
    body = {
        "idempotency_key": uuid4(p, "till-sale"),
        "changes": [
            {
                "type": "ADJUSTMENT",
                "adjustment": {
                    "catalog_object_id": scene.square_variation,
                    "location_id": scene.square_location,
                    "from_state": "IN_STOCK",
                    "to_state": "SOLD",
                    "quantity": str(units),
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "reference_id": p.key,
                },
            }
        ],
    }
    with square.lock:
        res = square._batch_change_inventory(SandboxRequest(method="POST", path="/", body=compact(body)), {})
        if res.status != 200:
            raise RuntimeError(f"inventory_sync chaos: the till sale was refused: {res.body!r}")
        notification = square._outbox.pop()  # the harness sends it, not the stand-in
    [count] = notification["data"]["object"]["inventory_counts"]
    event_id = f"square:{notification['event_id']}:{count['catalog_object_id']}:{count['location_id']}"
    return _Sale(p.key, units, Outgoing(event_id, compact(notification)))


def _shopify_sale(run: ChaosRun, p: Planned, scene: _Scene) -> _Sale:
    from apps.shopify import SHOPIFY_API_VERSION
    from apps.shopify.standin.seed import SHOP_DOMAIN

    shopify: Any = run.runtime.sandboxes["shopify"]
    units = _units(p)
    change = {
        "inventoryItemId": f"gid://shopify/InventoryItem/{scene.shopify_item}",
        "locationId": f"gid://shopify/Location/{scene.shopify_location}",
        "delta": -units,
        "changeFromQuantity": None,
    }
    with shopify.lock:
        shopify.shop.now = shopify._sandbox_now()
        answer = shopify.shop._adjust({"name": "available", "reason": "other", "changes": [change]})
        if answer["userErrors"]:
            raise RuntimeError(f"inventory_sync chaos: the online sale was refused: {answer['userErrors']}")
        level = shopify.shop.level_updates.pop()  # the harness sends it, not the stand-in
    headers = {
        "x-shopify-topic": "inventory_levels/update",
        "x-shopify-shop-domain": SHOP_DOMAIN,
        "x-shopify-api-version": SHOPIFY_API_VERSION,
        "x-shopify-event-id": uuid4(p, "shopify-event"),
        "x-shopify-triggered-at": datetime.now(UTC).isoformat(),
    }
    return _Sale(p.key, units, Outgoing(uuid4(p, "shopify-webhook"), compact(level), headers))


def _build(run: ChaosRun, p: Planned) -> Outgoing:
    scene = _scene(run)
    sell = _square_sale if p.factory.trigger == "square" else _shopify_sale
    return run.remember(_SALES, p.index, lambda: sell(run, p, scene)).out


def _effects(p: Planned) -> Sequence[EffectKey]:
    return [(_EFFECT, p.key)]


def stock_kept(run: ChaosRun) -> Counter[EffectKey]:
    """One ``stock.sale_kept`` per sale if both sides end at START less every unit sold; else none."""
    sales: dict[int, _Sale] = run.memory(_SALES)
    scene: _Scene | None = run.memory(_SCENE).get(0)
    if not sales or scene is None:
        return Counter()
    square: Any = run.runtime.sandboxes["square"]
    shopify: Any = run.runtime.sandboxes["shopify"]
    with square.lock:
        till = int(square.counts[(scene.square_variation, scene.square_location, "IN_STOCK")].quantity)
    with shopify.lock:
        online = shopify.shop.items[scene.shopify_item].levels[scene.shopify_location].quantities["available"]
    expected = START - sum(s.units for s in sales.values())
    run.say(
        f"inventory_sync: {len(sales)} sales, {START - expected} units; square {till}, shopify {online}, "
        f"expected {expected} on both"
    )
    if till == online == expected:
        return Counter({(_EFFECT, s.key): 1 for s in sales.values()})
    return Counter()


def _factory(trigger: str) -> EventFactory:
    return EventFactory(
        integration="inventory_sync",
        trigger=trigger,
        weight=1.0,
        build=_build,
        effects=_effects,
        prepare=prepare,
        poisonable=False,  # see the module docstring: no sale is refused for good
    )


FACTORIES = (_factory("square"), _factory("shopify"))
OBSERVERS = (stock_kept,)
