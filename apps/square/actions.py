"""The catalogue actions Square performs: ``stock.get``, ``payments.list``, ``sales.get_order``. Reads only.

Their contracts are the domain's (:mod:`shared.actions.stock`, :mod:`shared.actions.payments`); this
module says how Square answers them.

``stock.get``: one catalog search finds the live item variation of every SKU (exact,
case-insensitive); one inventory batch-retrieve gets their IN_STOCK counts at the given locations.
Quantities are summed exactly and rounded *down* to whole units (:func:`in_stock`).

``payments.list``: ListPayments without a location answers the seller's *main* location only, so it
is asked once per location; ListPaymentRefunds answers every location at once, so the refunds are
filtered here. ``sales.get_order`` is RetrieveOrder.

Both answer in Square's shapes minus what identifies a person: the buyer's email address, the
cardholder's name, the card's fingerprint and BIN, and free-text notes are removed before anything
leaves the action (an AI tool's answer goes to a model; nothing Switchboard does with these needs
them). The card brand and last four digits stay: they are how a person finds a payment.

Worker and MCP path only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from shared.actions.base import Action, ActionContext
from shared.actions.payments import FoundOrder, GetOrder, ListPayments, PaymentList
from shared.actions.stock import SkuStock, Stock, StockQuery

from . import APP, CONNECTION
from .client import SquareClient
from .models import Card, InventoryCount, Order, Payment

__all__ = ["ACTIONS", "GET_ORDER", "GET_STOCK", "LIST_PAYMENTS", "in_stock"]


def _client(ctx: ActionContext) -> SquareClient:
    return SquareClient(ctx.api(APP, CONNECTION))


# --- stock -----------------------------------------------------------------------------------------


def in_stock(
    counts: Iterable[InventoryCount], variation_id: str | None, locations: Sequence[str]
) -> tuple[int, str | None]:
    """Whole units of one variation in stock at the locations, and the newest count time (ISO, UTC).

    Square's quantities are decimals (up to 5 places) because some things sell by weight. The sum is
    exact (``Decimal``); the answer is whole units, rounded *down*: 7.25 kg of flour is 7 one-kilo
    bags, and a product page must never promise a unit that is not there. A negative total (Square
    lets sales run ahead of counts) is 0. The time is the newest ``calculated_at`` among the counts
    used (``None`` if Square has no count at these locations: nothing tracked, 0 available).
    """
    wanted = set(locations)
    used = [
        c
        for c in counts
        if c.catalog_object_id == variation_id and c.state == "IN_STOCK" and c.location_id in wanted
    ]
    total = sum((c.quantity for c in used), Decimal(0))
    times = [c.calculated_at for c in used if c.calculated_at is not None]
    newest = max(times).astimezone(UTC) if times else None
    return max(0, math.floor(total)), _iso(newest) if newest else None


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _get_stock(ctx: ActionContext, data: StockQuery) -> Stock:
    client = _client(ctx)
    variations = client.search_variations_by_sku(data.skus)
    counts = client.batch_retrieve_counts(
        [v.id for v in variations.values()], data.location_ids, states=["IN_STOCK"]
    )
    items = []
    for sku in data.skus:
        variation = variations.get(sku)
        vid = variation.id if variation is not None else None
        available, updated_at = in_stock(counts, vid, data.location_ids)
        items.append(
            SkuStock(
                sku=sku, found=vid is not None, variation_id=vid, available=available, updated_at=updated_at
            )
        )
    return Stock(items=items)


# --- payments and orders ---------------------------------------------------------------------------


def _card(card: Card | None) -> Card | None:
    if card is None:
        return None
    return card.model_copy(update={"cardholder_name": None, "fingerprint": None, "bin": None})


def _payment(payment: Payment) -> Payment:
    details = payment.card_details
    if details is not None:
        details = details.model_copy(update={"card": _card(details.card)})
    return payment.model_copy(update={"buyer_email_address": None, "note": None, "card_details": details})


def _order(order: Order) -> Order:
    tenders = tuple(
        t.model_copy(
            update={
                "note": None,
                "card_details": t.card_details.model_copy(update={"card": _card(t.card_details.card)})
                if t.card_details
                else None,
            }
        )
        for t in order.tenders
    )
    lines = tuple(li.model_copy(update={"note": None}) for li in order.line_items)
    return order.model_copy(update={"tenders": tenders, "line_items": lines})


def _list(ctx: ActionContext, data: ListPayments) -> PaymentList:
    client = _client(ctx)
    wanted = set(data.location_ids)
    payments = [
        _payment(p)
        for location in data.location_ids
        for p in client.list_payments(
            begin_time=data.begin_time, end_time=data.end_time, location_id=location
        )
    ]
    refunds = [
        r
        for r in client.list_refunds(begin_time=data.begin_time, end_time=data.end_time)
        if r.location_id in wanted
    ]
    return PaymentList(payments=payments, refunds=refunds)


def _get_order(ctx: ActionContext, data: GetOrder) -> FoundOrder:
    return FoundOrder(order=_order(_client(ctx).retrieve_order(data.order_id)))


GET_STOCK: Final = Action(
    name="stock.get",
    description="Stock on hand (whole units) for up to 100 SKUs at the shop's locations (Square).",
    input=StockQuery,
    output=Stock,
    app=APP.name,
    connections=(CONNECTION,),
    run=_get_stock,
    effect=False,
    config={"location_ids": "stock_location_ids"},
)
LIST_PAYMENTS: Final = Action(
    name="payments.list",
    description="List the shop's till payments and refunds of a period, up to 31 days (Square).",
    input=ListPayments,
    output=PaymentList,
    app=APP.name,
    connections=(CONNECTION,),
    run=_list,
    effect=False,
    config={"location_ids": "sales_location_ids"},
)
GET_ORDER: Final = Action(
    name="sales.get_order",
    description="Read a till order by id: its items, quantities, taxes and totals (Square).",
    input=GetOrder,
    output=FoundOrder,
    app=APP.name,
    connections=(CONNECTION,),
    run=_get_order,
    effect=False,
)

ACTIONS: Final = (GET_STOCK, LIST_PAYMENTS, GET_ORDER)
