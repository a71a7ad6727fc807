"""The daily check: are both sides at the same count for every SKU kept in step?

Changes propagate as differences, so a difference that was there before (a count taken on one side
only, a sale made while the sync was switched off, an item received online and not at the till) stays
there: the sides *drift*. Once a day, per SKU of the settings, under the SKU's lease: first any change
not yet propagated is propagated (so a sale in flight is not taken for drift), then the two counts are
compared. Drift is logged (``stock drift``, with the SKU and both counts), counted in the metric
``StockDrift`` and listed in the run's summary. With ``fix_drift``, the side that is not the
``source_of_truth`` is adjusted by the difference - a relative adjustment guarded by the count just read,
as every write here - and the record follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.actions.stock import StockChanged
from shared.ordering import EntityVersions
from shared.worker import WorkContext

from .models import Settings
from .state import Records
from .sync import MAX_ROUNDS, apply, new_plan, other, sync_sku

__all__ = ["Drift", "reconcile_sku"]


@dataclass(frozen=True)
class Drift:
    sku: str
    square: int
    shopify: int
    #: Whether it was corrected (``fix_drift``), and the count both sides hold then.
    fixed: bool = False
    now: int | None = None

    @property
    def units(self) -> int:
        """Square's count less Shopify's."""
        return self.square - self.shopify

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "square": self.square,
            "shopify": self.shopify,
            "drift": self.units,
            "fixed": self.fixed,
            "now": self.now,
        }


def reconcile_sku(ctx: WorkContext, settings: Settings, sku: str) -> Drift | None:
    """Propagate what is pending for ``sku``, compare both sides, correct them if asked; ``None``: in step."""
    with EntityVersions(ctx.rt, "sku").hold([sku]):
        outcome, record = sync_sku(ctx, settings, sku)
        square, shopify = outcome.after["square"], outcome.after["shopify"]
        if square == shopify:
            return None
        drift = Drift(sku, square, shopify)
        ctx.logger.warning(
            "stock drift",
            extra={"sku": sku, "square": square, "shopify": shopify, "drift": drift.units},
        )
        if not settings.fix_drift:
            return drift
        truth = settings.source_of_truth
        fixing = other(truth)
        records = Records(ctx.rt)
        read = {"square": square, "shopify": shopify}
        for _ in range(MAX_ROUNDS):
            plan = new_plan(sku, read, {fixing: read[truth] - read[fixing], truth: 0}, why="fix")
            try:
                apply(ctx, settings, records, record, plan)
            except StockChanged:
                # A sale landed meanwhile: propagate it, then compare again.
                outcome, record = sync_sku(ctx, settings, sku)
                read = dict(outcome.after)
                if read["square"] == read["shopify"]:
                    return drift
                continue
            ctx.logger.info(
                "stock drift fixed",
                extra={"sku": sku, "side": fixing, "delta": plan.writes[0].delta, "now": read[truth]},
            )
            return Drift(sku, square, shopify, fixed=True, now=read[truth])
        raise StockChanged(f"inventory_sync {sku}: the stock kept changing while its drift was fixed")
