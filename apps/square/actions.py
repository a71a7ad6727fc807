"""The catalogue actions Square performs: ``stock.get``, ``stock.count``, ``stock.adjust``, ``payments.list``, ``sales.get_order``.

Their contracts are the domain's (:mod:`shared.actions.stock`, :mod:`shared.actions.payments`); this
module says how Square answers them.

``stock.get``: one catalog search finds the live item variation of every SKU (exact,
case-insensitive); one inventory batch-retrieve gets their IN_STOCK counts at the given locations.
Quantities are summed exactly and rounded *down* to whole units (:func:`in_stock`).

``stock.count`` reads one variation's exact ``IN_STOCK`` count at one location (BatchRetrieveInventoryCounts);
``stock.adjust`` changes it by a difference (BatchChangeInventory ``ADJUSTMENT``: ``IN_STOCK`` -> ``SOLD``
to take units away, ``NONE`` -> ``IN_STOCK`` to add them), with the caller's key as Square's
``idempotency_key`` and its reference as ``reference_id``. Square has no compare-and-set on an
adjustment (adjustments are relative, and two at once both apply), so ``expected`` is checked by a
read just before the write: a quantity other than expected is :class:`~shared.actions.stock.StockChanged`.
Both refuse a fractional count (goods sold by weight): a sync in whole units would round it away.

``payments.list``: ListPayments without a location answers the seller's *main* location only, so it
is asked once per location; ListPaymentRefunds answers every location at once, so the refunds are
filtered here. ``sales.get_order`` is RetrieveOrder.

Both answer in the domain's terms: :func:`as_payment`, :func:`as_refund` and :func:`as_order` map
Square's records onto :mod:`shared.actions.payments`' - statuses and sources in the domain's words,
card brands as people write them (``AMERICAN_EXPRESS`` is American Express), amounts as exact
:class:`~shared.actions.payments.Money` with ISO 4217's exponent (Square states amounts "in the
smallest denomination of the currency", following ISO 4217). What identifies a person - the buyer's
email address, the cardholder's name, the card's fingerprint and BIN, free-text notes - has no place
in the domain's models, so it never leaves the action.

Worker and MCP path only.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from shared.actions.base import Action, ActionContext
from shared.actions.payments import (
    FoundOrder,
    GetOrder,
    ListPayments,
    Money,
    Order,
    OrderLine,
    OrderState,
    OrderTax,
    Payment,
    PaymentList,
    PaymentSource,
    PaymentStatus,
    Refund,
    RefundStatus,
    iso_exponent,
)
from shared.actions.stock import (
    Adjust,
    Adjusted,
    Count,
    CountQuery,
    SkuStock,
    Stock,
    StockChanged,
    StockQuery,
)
from shared.errors import PermanentError, TargetUnavailable

from . import APP, CONNECTION
from . import models as sq
from .client import SquareClient
from .webhooks import ProcessingFee

__all__ = [
    "ACTIONS",
    "ADJUST_STOCK",
    "CARD_BRANDS",
    "COUNT_STOCK",
    "GET_ORDER",
    "GET_STOCK",
    "LIST_PAYMENTS",
    "as_money",
    "as_order",
    "as_payment",
    "as_refund",
    "card_brand",
    "in_stock",
]


def _client(ctx: ActionContext) -> SquareClient:
    return SquareClient(ctx.api(APP, CONNECTION))


# --- stock -----------------------------------------------------------------------------------------


def in_stock(
    counts: Iterable[sq.InventoryCount], variation_id: str | None, locations: Sequence[str]
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


def _whole(quantity: Decimal, sku: str) -> int:
    if quantity != quantity.to_integral_value():
        raise PermanentError(
            f"{APP.name}: {sku} is counted in fractions ({quantity}); only whole units are synced"
        )
    return int(quantity)


def _in_stock_at(client: SquareClient, variation_id: str, location_id: str, sku: str) -> int:
    counts = client.batch_retrieve_counts([variation_id], [location_id], states=["IN_STOCK"])
    total = sum(
        (c.quantity for c in counts if c.catalog_object_id == variation_id and c.location_id == location_id),
        Decimal(0),
    )
    return _whole(total, sku)


def _count(ctx: ActionContext, data: CountQuery) -> Count:
    client = _client(ctx)
    variation = client.search_variations_by_sku([data.sku]).get(data.sku)
    if variation is None:
        return Count(sku=data.sku, found=False, quantity=0)
    quantity = _in_stock_at(client, variation.id, data.location_id, data.sku)
    return Count(sku=data.sku, found=True, item_id=variation.id, quantity=quantity)


def _adjust(ctx: ActionContext, data: Adjust) -> Adjusted:
    client = _client(ctx)
    variation = client.search_variations_by_sku([data.sku]).get(data.sku)
    if variation is None:
        raise PermanentError(f"{APP.name}: no live item variation has SKU {data.sku}")
    if data.expected is not None:
        now = _in_stock_at(client, variation.id, data.location_id, data.sku)
        if now != data.expected:
            raise StockChanged(f"{APP.name} {data.sku}: {now} in stock, not the {data.expected} expected")
    states = ("IN_STOCK", "SOLD") if data.delta < 0 else ("NONE", "IN_STOCK")
    adjustment: dict[str, object] = {
        "catalog_object_id": variation.id,
        "location_id": data.location_id,
        "from_state": states[0],
        "to_state": states[1],
        "quantity": str(abs(data.delta)),
        # Square requires it; a retry sends the first attempt's (a body differing under one key is refused).
        "occurred_at": _iso((data.occurred_at or datetime.now(UTC)).astimezone(UTC)),
    }
    if data.reference:
        adjustment["reference_id"] = data.reference
    counts = client.batch_change_inventory(
        [{"type": "ADJUSTMENT", "adjustment": adjustment}],
        idempotency_key=data.key or f"sb-{uuid.uuid4().hex}",
    )
    after = [
        c.quantity
        for c in counts
        if c.catalog_object_id == variation.id and c.location_id == data.location_id and c.state == "IN_STOCK"
    ]
    return Adjusted(
        sku=data.sku, delta=data.delta, quantity_after=_whole(after[0], data.sku) if after else None
    )


# --- payments and orders ---------------------------------------------------------------------------

#: Square's ``CardBrand`` as people write it; another brand is title-cased.
CARD_BRANDS: Final[Mapping[str, str]] = {
    "VISA": "Visa",
    "MASTERCARD": "Mastercard",
    "AMERICAN_EXPRESS": "American Express",
    "DISCOVER": "Discover",
    "DISCOVER_DINERS": "Diners Club",
    "JCB": "JCB",
    "CHINA_UNIONPAY": "UnionPay",
    "SQUARE_GIFT_CARD": "Square gift card",
    "SQUARE_CAPITAL_CARD": "Square Capital card",
    "INTERAC": "Interac",
    "EFTPOS": "eftpos",
    "FELICA": "FeliCa",
    "EBT": "EBT",
    "MAESTRO": "Maestro",
    "OTHER_BRAND": "Other card",
}
#: Square's statuses in the domain's words; a status Square adds later is not known (``None``).
_PAYMENT_STATUS: Final[Mapping[str, PaymentStatus]] = {
    "APPROVED": "authorized",
    "PENDING": "pending",
    "COMPLETED": "completed",
    "CANCELED": "canceled",
    "FAILED": "failed",
}
_REFUND_STATUS: Final[Mapping[str, RefundStatus]] = {
    "PENDING": "pending",
    "COMPLETED": "completed",
    "REJECTED": "rejected",
    "FAILED": "failed",
}
_ORDER_STATE: Final[Mapping[str, OrderState]] = {
    "OPEN": "open",
    "COMPLETED": "completed",
    "CANCELED": "canceled",
    "DRAFT": "draft",
}
#: ``source_type``; ``SQUARE_ACCOUNT`` (a buyer's Square balance) and any later one are "other".
_SOURCES: Final[Mapping[str, PaymentSource]] = {
    "CARD": "card",
    "CASH": "cash",
    "WALLET": "wallet",
    "BANK_ACCOUNT": "bank_account",
    "BUY_NOW_PAY_LATER": "buy_now_pay_later",
    "EXTERNAL": "external",
}
#: ``OrderLineItemTax.type``: is the tax inside the prices or on top of them.
_INCLUSIVE: Final[Mapping[str, bool]] = {"INCLUSIVE": True, "ADDITIVE": False}


def as_money(money: sq.Money | None) -> Money | None:
    """Square's amount, exact; ``None`` if Square gives none. An amount without a currency is an
    answer Square did not mean (as a body that fails validation is), never money to guess at."""
    if money is None or money.amount is None:
        return None
    if not money.currency:
        raise TargetUnavailable(f"{APP.name}: an amount ({money.amount}) without a currency")
    currency = money.currency.upper()
    return Money(amount=money.amount, currency=currency, exponent=iso_exponent(currency))


def _fees(fees: Iterable[ProcessingFee]) -> tuple[Money, ...]:
    return tuple(m for m in (as_money(f.amount_money) for f in fees) if m is not None)


def card_brand(brand: str | None) -> str | None:
    """``AMERICAN_EXPRESS`` -> ``American Express``; ``None`` if Square names no brand."""
    if not brand:
        return None
    return CARD_BRANDS.get(brand, brand.replace("_", " ").title())


def as_payment(payment: sq.Payment) -> Payment:
    card = payment.card_details.card if payment.card_details else None
    source = payment.source_type
    return Payment(
        id=payment.id,
        status=_PAYMENT_STATUS.get(payment.status or ""),
        created_at=payment.created_at,
        location_id=payment.location_id,
        amount=as_money(payment.amount_money),
        tip=as_money(payment.tip_money),
        fees=_fees(payment.processing_fee),
        source=_SOURCES.get(source, "other") if source else None,
        card_brand=card_brand(card.card_brand) if card else None,
        card_last4=card.last_4 if card else None,
        order_id=payment.order_id,
    )


def as_refund(refund: sq.PaymentRefund) -> Refund:
    return Refund(
        id=refund.id,
        status=_REFUND_STATUS.get(refund.status or ""),
        created_at=refund.created_at,
        location_id=refund.location_id,
        payment_id=refund.payment_id,
        order_id=refund.order_id,
        amount=as_money(refund.amount_money),
        fees=_fees(refund.processing_fee),
        reason=refund.reason,
    )


def _line(line: sq.OrderLineItem) -> OrderLine:
    return OrderLine(
        name=line.name,
        variation=line.variation_name,
        catalog_id=line.catalog_object_id,
        quantity=line.quantity,
        unit_price=as_money(line.base_price_money),
        discount=as_money(line.total_discount_money),
        tax=as_money(line.total_tax_money),
        total=as_money(line.total_money),
        tax_ids=tuple(applied.tax_uid for applied in line.applied_taxes),
    )


def _tax(tax: sq.OrderLineItemTax) -> OrderTax:
    return OrderTax(
        id=tax.uid,
        catalog_id=tax.catalog_object_id,
        name=tax.name,
        percentage=tax.percentage,
        inclusive=_INCLUSIVE.get(tax.type or ""),
        applied=as_money(tax.applied_money),
    )


def as_order(order: sq.Order) -> Order:
    """The order's lines, taxes and totals; the payments that paid it are its tenders'."""
    return Order(
        id=order.id,
        state=_ORDER_STATE.get(order.state or ""),
        location_id=order.location_id,
        created_at=order.created_at,
        closed_at=order.closed_at,
        lines=tuple(_line(line) for line in order.line_items),
        taxes=tuple(_tax(tax) for tax in order.taxes),
        total=as_money(order.total_money),
        tax=as_money(order.total_tax_money),
        discount=as_money(order.total_discount_money),
        tip=as_money(order.total_tip_money),
        service_charge=as_money(order.total_service_charge_money),
        payment_ids=tuple(t.payment_id for t in order.tenders if t.payment_id),
    )


def _list(ctx: ActionContext, data: ListPayments) -> PaymentList:
    client = _client(ctx)
    wanted = set(data.location_ids)
    payments = [
        as_payment(p)
        for location in data.location_ids
        for p in client.list_payments(
            begin_time=data.begin_time, end_time=data.end_time, location_id=location
        )
    ]
    refunds = [
        as_refund(r)
        for r in client.list_refunds(begin_time=data.begin_time, end_time=data.end_time)
        if r.location_id in wanted
    ]
    return PaymentList(payments=payments, refunds=refunds)


def _get_order(ctx: ActionContext, data: GetOrder) -> FoundOrder:
    return FoundOrder(order=as_order(_client(ctx).retrieve_order(data.order_id)))


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

COUNT_STOCK: Final = Action(
    name="stock.count",
    description="The exact count of one SKU at one location, negative if oversold (Square).",
    input=CountQuery,
    output=Count,
    app=APP.name,
    connections=(CONNECTION,),
    run=_count,
    effect=False,
)
ADJUST_STOCK: Final = Action(
    name="stock.adjust",
    description="Add or take away units of one SKU at one location, if its count is as expected (Square).",
    input=Adjust,
    output=Adjusted,
    app=APP.name,
    connections=(CONNECTION,),
    run=_adjust,
)

ACTIONS: Final = (GET_STOCK, COUNT_STOCK, ADJUST_STOCK, LIST_PAYMENTS, GET_ORDER)
