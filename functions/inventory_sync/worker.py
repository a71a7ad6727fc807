"""inventory_sync's worker: one level change, or the daily check of every SKU.

A change names a side, an item and a location (the webhooks name items, not SKUs). The item is
mapped to its SKU (:class:`.state.ItemMap`, rebuilt from the settings' SKUs when an item is not
known yet); a location or an item the settings do not sync is left alone. Then, under the SKU's
lease, :func:`.sync.sync_sku` propagates each side's change to the other.

A webhook whose quantity is the one recorded for its side (and no plan pending) is our own write
coming back, or a repeat: it is answered without reading anything (``echo``). Any other quantity is
only a hint - the counts are read again under the lease - so late and re-ordered deliveries are
harmless.

The daily check (:mod:`.reconcile`) runs each SKU as a ledger step of its own, so a retry after one
SKU was busy does not check (or fix, or count as drift) the others twice.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from shared.actions import provider
from shared.actions.stock import CountQuery
from shared.errors import InvalidEvent
from shared.ordering import EntityVersions
from shared.worker import WorkContext

from .models import Settings, Side, SyncRequest
from .reconcile import reconcile_sku
from .state import ItemMap, Records
from .sync import sync_sku

__all__ = ["process"]


def process(request: SyncRequest, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    if request.kind == "reconcile":
        return _reconcile(ctx, settings)
    if request.side is None or request.item_id is None or request.location_id is None:
        raise InvalidEvent("a change names its side, item_id and location_id")  # the model checks it too
    side: Side = request.side
    if request.location_id != settings.location_on(side):
        return {"ignored": f"{side} location {request.location_id} is not synced"}
    sku = _sku_of(ctx, settings, side, request.item_id)
    if sku is None:
        return {"ignored": f"{side} item {request.item_id} has no SKU listed in skus"}
    record = Records(ctx.rt).get(sku)
    if (
        record is not None
        and record.pending is None
        and request.quantity is not None
        and request.quantity == record.last(side)
    ):
        ctx.logger.info("echo or repeat: the recorded quantity", extra={"sku": sku, "side": side})
        return {"sku": sku, "result": "echo", "side": side, "quantity": request.quantity}
    with EntityVersions(ctx.rt, "sku").hold([sku]):
        outcome, _ = sync_sku(ctx, settings, sku, changed=side)
    if outcome.result == "synced":
        ctx.metrics.add_metric(name="StockSynced", unit="Count", value=1)
    ctx.logger.info("stock sync", extra=outcome.as_dict())
    return outcome.as_dict()


def _sku_of(ctx: WorkContext, settings: Settings, side: Side, item_id: str) -> str | None:
    """The settings' SKU of a provider item; the map is rebuilt (at most hourly) for an unknown item."""
    items = ItemMap(ctx.rt)
    sku = items.sku_of(side, item_id)
    if sku is not None or not items.due(side):
        return sku if sku in settings.skus else None
    count = provider("stock.count", side)
    pairs = []
    for listed in settings.skus:
        found = count(
            ctx, CountQuery(sku=settings.sku_on(side, listed), location_id=settings.location_on(side))
        )
        if found.item_id:
            pairs.append((found.item_id, listed))
    items.learn(side, pairs)
    return next((listed for found, listed in pairs if found == item_id), None)


def _reconcile(ctx: WorkContext, settings: Settings) -> dict[str, Any]:
    drifted = []
    for sku in settings.skus:
        found = ctx.step(f"check.{sku}", partial(_check, ctx, settings, sku))
        if found is not None:
            drifted.append(found)
    ctx.metrics.add_metric(name="StockDrift", unit="Count", value=len(drifted))
    summary = {
        "skus": len(settings.skus),
        "in_step": len(settings.skus) - len(drifted),
        "drifted": drifted,
        "source_of_truth": settings.source_of_truth,
        "fix_drift": settings.fix_drift,
    }
    ctx.logger.info(
        "stock reconciliation",
        extra={k: summary[k] for k in ("skus", "in_step", "source_of_truth", "fix_drift")},
    )
    return summary


def _check(ctx: WorkContext, settings: Settings, sku: str) -> dict[str, Any] | None:
    drift = reconcile_sku(ctx, settings, sku)
    return drift.as_dict() if drift else None
