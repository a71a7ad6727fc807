"""Keeping one SKU in step: read both sides, propagate each side's change to the other as a relative adjustment.

Why relative adjustments (``stock.adjust``) and not setting a quantity: a sale on the till and a sale
online can happen in the same second. Setting the web shop to the till's count would erase the online
sale made meanwhile; adding the till's *change* (-1) to whatever the web shop holds keeps both sales.
Adjustments commute, so none is lost whatever the order they land in.

The steps, under the SKU's lease (one change of a SKU at a time, :mod:`shared.ordering`):

1. finish a plan an earlier attempt left pending (same writes, same idempotency keys);
2. read both sides' counts (``stock.count``) and take each side's change since the quantity recorded
   for it - the record holds what this integration last read or wrote, so *its own* writes are not
   changes (no echo): a webhook caused by our adjustment finds the side at the recorded quantity;
3. if anything changed, save a plan, apply each side's change to the other side - with the quantity
   just read as the compare-and-set guard (Shopify's ``changeFromQuantity``; Square checks it by a
   read, as it has no compare-and-set) - then record both sides as the plan says.

A sale that lands between our read and our write is refused by the guard (:class:`StockChanged`):
the SKU is read again and the change computed again, a few rounds in-process, then the work item is
retried after its back-off. Once a plan's first write is done, its second is completed without the
guard: it is relative, so a sale meanwhile still shows as that side's next change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from shared.actions import ActionContext, provider
from shared.actions.stock import Adjust, Count, CountQuery, StockChanged
from shared.errors import PermanentError

from .models import SIDES, Settings, Side
from .state import Plan, Record, Records, Write

__all__ = ["MAX_ROUNDS", "Outcome", "adjust", "count", "other", "reference", "sync_sku"]

#: Reads and writes tried in-process when a sale lands between them, before waiting out a back-off.
MAX_ROUNDS: Final = 4


def other(side: Side) -> Side:
    return "shopify" if side == "square" else "square"


def reference(plan_id: str) -> str:
    """What our writes carry so a person (and Shopify's history) can tell them: a URI naming the plan."""
    return f"switchboard://inventory_sync/{plan_id}"


@dataclass
class Outcome:
    """What one sync of a SKU did (JSON-able through :meth:`as_dict`)."""

    sku: str
    #: ``unchanged`` (nothing to propagate: a repeat or our own write), ``synced``, ``first_sight``.
    result: str
    read: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    rounds: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "result": self.result,
            "read": self.read,
            "changes": self.changes,
            "after": self.after,
            "rounds": self.rounds,
        }


def count(ctx: ActionContext, settings: Settings, side: Side, sku: str) -> Count:
    """The SKU's exact count on ``side``; a SKU the side lacks (or does not track) is a configuration error."""
    found: Count = provider("stock.count", side)(
        ctx, CountQuery(sku=settings.sku_on(side, sku), location_id=settings.location_on(side))
    )
    if not found.found or not found.tracked:
        what = "has no item with" if not found.found else "does not track the stock of"
        raise PermanentError(
            f"inventory_sync: {side} {what} SKU {settings.sku_on(side, sku)} (listed in skus); "
            "fix the catalogue or the settings"
        )
    return found


def adjust(ctx: ActionContext, settings: Settings, plan: Plan, write: Write, *, guarded: bool) -> None:
    """Apply one write of a plan. ``guarded``: with its compare-and-set (may raise :class:`StockChanged`).

    Unguarded, it is the plan's write as first sent where the provider's idempotency needs the very
    same request (Square: the guard is a read, not part of the body), and Shopify's the same input
    first - a stale guard there means the first attempt never landed, so it is sent again under a
    new key without the guard (relative, so still right).
    """
    action = provider("stock.adjust", write.side)

    def send(expected: int | None, key: str) -> None:
        action(
            ctx,
            Adjust(
                sku=settings.sku_on(write.side, plan.sku),
                location_id=settings.location_on(write.side),
                delta=write.delta,
                expected=expected,
                key=key,
                reference=reference(plan.id),
                occurred_at=datetime.fromisoformat(plan.at),
            ),
        )

    if guarded:
        send(write.expected, write.key)
    elif write.side == "square":
        send(None, write.key)
    else:
        try:
            send(write.expected, write.key)
        except StockChanged:
            send(None, f"{write.key}-r")


def new_plan(sku: str, read: dict[str, int], changes: dict[str, int], why: str = "sync") -> Plan:
    """A plan applying ``changes`` (side -> delta) to the sides as ``read``."""
    plan_id = uuid.uuid4().hex
    # Shopify first: its compare-and-set is atomic, so a refusal there leaves nothing half done.
    order: list[Side] = [s for s in ("shopify", "square") if changes.get(s)]
    writes = tuple(
        Write(side=s, delta=changes[s], expected=read[s], key=f"sb-isync-{plan_id}-{s[:2]}") for s in order
    )
    after: dict[str, int] = {s: read[s] + changes.get(s, 0) for s in SIDES}
    return Plan(
        id=plan_id,
        sku=sku,
        at=datetime.now(UTC).isoformat(),
        read=dict(read),
        writes=writes,
        after=after,
        why=why,
    )


def finish(ctx: ActionContext, settings: Settings, records: Records, sku: str, plan: Plan) -> Record:
    """Complete a plan an earlier attempt left pending, and record its result."""
    for write in plan.writes:
        adjust(ctx, settings, plan, write, guarded=False)
    return records.put(sku, plan.after["square"], plan.after["shopify"])


def apply(ctx: ActionContext, settings: Settings, records: Records, record: Record, plan: Plan) -> Record:
    """Save ``plan`` beside ``record``, write it, record its result.

    :class:`StockChanged` from its first write means nothing was applied: the plan is dropped (the
    record stays as it was) and the error goes to the caller, which reads again.
    """
    records.put(plan.sku, record.square, record.shopify, pending=plan)
    for n, write in enumerate(plan.writes):
        try:
            adjust(ctx, settings, plan, write, guarded=n == 0)
        except StockChanged:
            if n == 0:
                records.put(plan.sku, record.square, record.shopify)
            raise
    return records.put(plan.sku, plan.after["square"], plan.after["shopify"])


def sync_sku(
    ctx: ActionContext, settings: Settings, sku: str, *, changed: Side | None = None
) -> tuple[Outcome, Record]:
    """Propagate each side's change since the record to the other side. Call under the SKU's lease.

    ``changed``: the side a webhook said changed. With no record yet (the SKU's first change), the
    two sides are taken to have been in step at the *other* side's count, so the changed side's
    difference from it is its change; with no side (the daily check), both counts become the record.
    """
    records = Records(ctx.rt)
    record = records.get(sku)
    if record is not None and record.pending is not None:
        record = finish(ctx, settings, records, sku, record.pending)
    for rounds in range(1, MAX_ROUNDS + 1):
        read: dict[str, int] = {side: count(ctx, settings, side, sku).quantity for side in SIDES}
        if record is None:
            if changed is None:
                record = records.put(sku, read["square"], read["shopify"])
                return Outcome(sku, "first_sight", read=read, after=read, rounds=rounds), record
            base = read[other(changed)]
            record = Record(square=base, shopify=base)
        moved: dict[str, int] = {side: read[side] - record.last(side) for side in SIDES}
        if not any(moved.values()):
            if (record.square, record.shopify) != (read["square"], read["shopify"]):
                record = records.put(sku, read["square"], read["shopify"])
            return Outcome(sku, "unchanged", read=read, after=read, rounds=rounds), record
        # Each side gets the other's change.
        changes: dict[str, int] = {side: moved[other(side)] for side in SIDES}
        plan = new_plan(sku, read, changes)
        try:
            record = apply(ctx, settings, records, record, plan)
        except StockChanged:
            continue
        return Outcome(sku, "synced", read=read, changes=moved, after=plan.after, rounds=rounds), record
    raise StockChanged(
        f"inventory_sync {sku}: the stock changed on every one of {MAX_ROUNDS} tries; trying again later"
    )
