"""pos_to_accounting's worker: book one sale or one refund in the books ``accounting_app`` names.

One side effect per work item, one step in the effects ledger, through the action catalogue -
``provider("accounting.record_sale" | "accounting.record_refund", settings.accounting_app)`` - never a
provider client:

* QuickBooks Online: a Sales Receipt (step ``quickbooks.sales_receipt``) or a Refund Receipt
  (``quickbooks.refund_receipt``); the step names stay those of the first version: they are the
  ledger keys of receipts already booked;
* Xero: an invoice paid at once into the deposit account (step ``xero.invoice``) or a credit note
  paid out of it (``xero.credit_note``) - :mod:`apps.xero.actions` decides that shape.

The handler only decides *what* to book (lines, tax, the mapped ids of the chosen books,
:meth:`.models.Settings.books`); the actions do the booking, the same way an AI tool call does. The
action's ``key`` is the work item's key (``square:payment:<id>`` ...) whichever books: QuickBooks
turns it into its ``requestid``, Xero into its ``Idempotency-Key`` and a ``[sb-...]`` marker in the
document's Reference. The QuickBooks side, in detail:

The create also sends QuickBooks' ``requestid``, derived from the same stable key as the work item
(:func:`apps.quickbooks.client.request_id`): if an attempt timed out after QuickBooks had booked the
receipt (so the ledger never heard of it), the retry gets the first answer back instead of a second
receipt - while Intuit remembers the id, for a time it does not document. Past that the ledger carries
it: a retry after an earlier attempt looks the receipt up by the requestid marker in its
``PrivateNote`` (:meth:`apps.quickbooks.client.QuickBooksClient.find_receipt`). Together they make
"booked once" hold across redeliveries, retries and redrives.

Before the first Xero booking of a container, the settings' account codes and tax types are checked
against the organisation (:mod:`.xero_check`): a wrong code is reported by name before any sale is
booked with it.

Before anything is booked, the currency is checked against the company's home currency: a sale in
another currency is a :class:`~shared.errors.PermanentError` (DLQ, with the reason), never booked at
the wrong value.

A Square sale is itemised from its order (``sales.get_order``: RetrieveOrder, a read - not a step,
repeated on a retry - answered in the payments domain's terms): each line's net amount (its
``total`` less its ``tax``: right for inclusive UK VAT and additive US tax alike) with its mapped
item and tax code, the tax in ``TxnTaxDetail.TotalTax``, the tip as a line of its own. If the order's lines do not add up to the payment (an order paid in several payments, or
with service charges) the sale is booked as one line for the payment's amount instead - never a
receipt whose total differs from the money taken. A Shopify sale arrives with its lines
(:mod:`.shopify`: net of discounts and tax, shipping among them): each line with the item its SKU
maps to (``skus``; shipping to ``shipping_item``), the tax codes its taxes' names map to, the tip as
its own line - or, if they do not add up to the amount, one line. Refunds are booked as one line for
the amount refunded (Square, Stripe and Shopify report refunds by amount, not by line).

Step results and the returned summary hold ids and totals only (no names, emails or card numbers):
they are stored in the ledger and printed in traces.

Imported on the worker path only (``spec.worker``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from apps.square.actions import GET_ORDER
from shared.actions import provider
from shared.actions.accounting import ReceiptLine, RecordedReceipt, RecordReceipt
from shared.actions.payments import GetOrder, Order
from shared.errors import PermanentError
from shared.worker import WorkContext

from .models import AccountingApp, Booking, Books, SaleLine, Settings
from .money import to_decimal
from .xero_check import require_xero_organisation

#: The ledger step of a sale and of a refund, per books. QuickBooks' are those of the first version
#: (the ledger keys of receipts already booked); Xero's name its documents.
STEPS: Final[dict[AccountingApp, tuple[str, str]]] = {
    "quickbooks": ("quickbooks.sales_receipt", "quickbooks.refund_receipt"),
    "xero": ("xero.invoice", "xero.credit_note"),
}
_RESULT_IDS: Final[dict[AccountingApp, tuple[str, str]]] = {
    "quickbooks": ("sales_receipt_id", "refund_receipt_id"),
    "xero": ("invoice_id", "credit_note_id"),
}
#: Quantities QuickBooks keeps (``Qty`` has up to 7 decimal places in the UI; 5 is Square's maximum).
_MAX_QTY_PLACES: Final = 5


@dataclass(frozen=True)
class _MinorLine:
    """A line in minor units before it becomes a line of the books (``item`` optional for Xero)."""

    item: str | None
    amount: int
    description: str
    tax_code: str | None
    quantity: Decimal | None = None


def process(booking: Booking, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    books = settings.books()
    if booking.currency != settings.home_currency:
        raise PermanentError(
            f"{booking.provider} {booking.kind} {booking.payment_id} is in {booking.currency}, but the "
            f"{books.label} books are in {settings.home_currency} (home_currency): not booked. Book it "
            f"by hand, or turn on multicurrency in {books.label} and add the currency to the settings."
        )
    if books.app == "xero":
        require_xero_organisation(ctx, settings)
    if booking.kind == "sale":
        lines, tax = _sale_lines(booking, ctx, books)
        receipt = _receipt(booking, settings, books, lines, tax)
        record_sale = provider("accounting.record_sale", books.app)

        def book_sale() -> dict[str, str]:
            return _ids(record_sale(ctx, receipt))

        booked = ctx.step(STEPS[books.app][0], book_sale)
        return {_RESULT_IDS[books.app][0]: booked["id"], "total": booked["total"], "lines": len(lines)}

    refund_line, tax = _refund_line(booking, books)
    receipt = _receipt(booking, settings, books, [refund_line], tax)
    record_refund = provider("accounting.record_refund", books.app)

    def book_refund() -> dict[str, str]:
        return _ids(record_refund(ctx, receipt))

    booked = ctx.step(STEPS[books.app][1], book_refund)
    return {_RESULT_IDS[books.app][1]: booked["id"], "total": booked["total"]}


def _refund_line(booking: Booking, books: Books) -> tuple[_MinorLine, int]:
    """One line for the amount refunded; a Stripe refund gives back its share of the included tax."""
    item = books.refund_item
    paid = "order" if booking.provider == "shopify" else "payment"
    what = f"Refund of {booking.provider.capitalize()} {paid} {booking.payment_id}"
    if booking.provider == "stripe" and books.stripe_tax is not None:
        tax = _included_tax(booking.amount, books.stripe_tax[1])
        return _MinorLine(item, booking.amount - tax, what, books.stripe_tax[0]), tax
    return _MinorLine(item, booking.amount, what, books.untaxed_tax_code), 0


def _included_tax(amount: int, rate_percent: Decimal) -> int:
    """The tax included in ``amount`` at ``rate_percent``, rounded half up to the minor unit."""
    exact = Decimal(amount) * rate_percent / (100 + rate_percent)
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


def _ids(booked: RecordedReceipt) -> dict[str, str]:
    """The step's result: ids and the total, as text (the ledger stores JSON)."""
    return {"id": booked.id, "doc_number": booked.doc_number or "", "total": str(booked.total or "")}


# --- lines -----------------------------------------------------------------------------------------


def _sale_lines(booking: Booking, ctx: WorkContext, books: Books) -> tuple[list[_MinorLine], int]:
    """The sale's lines and tax, in minor units."""
    if booking.provider == "square" and booking.order_id:
        order = GET_ORDER(ctx, GetOrder(order_id=booking.order_id)).order
        itemised = _order_lines(order, booking, books)
        if itemised is not None:
            return itemised
        ctx.logger.info(
            "order does not add up to the payment; booked as one line", extra={"order_id": order.id}
        )
        return [_single_line(booking, books, booking.amount - booking.tip), *_tip(booking, books)], 0
    if booking.provider == "shopify" and booking.lines:
        listed = _listed_lines(booking, books)
        if listed is not None:
            return listed
        ctx.logger.info(
            "order lines do not add up to the amount; booked as one line",
            extra={"order_id": booking.order_id},
        )
    if booking.provider == "stripe" and books.stripe_tax is not None:
        tax = _included_tax(booking.amount, books.stripe_tax[1])
        line = _single_line(booking, books, booking.amount - tax, tax_code=books.stripe_tax[0])
        return [line], tax
    return [_single_line(booking, books, booking.amount - booking.tip), *_tip(booking, books)], 0


def _single_line(booking: Booking, books: Books, amount: int, tax_code: str | None = None) -> _MinorLine:
    what = booking.description or f"{booking.provider.capitalize()} payment {booking.payment_id}"
    return _MinorLine(books.default_item, amount, what, tax_code or books.untaxed_tax_code)


def _tip(booking: Booking, books: Books) -> list[_MinorLine]:
    if booking.tip <= 0:
        return []
    return [_MinorLine(books.tip_item, booking.tip, "Tip", books.untaxed_tax_code)]


def _order_lines(order: Order, booking: Booking, books: Books) -> tuple[list[_MinorLine], int] | None:
    """Itemised lines from the order, or ``None`` if they do not add up to the payment."""
    taxes = {t.id: t for t in order.taxes if t.id}
    lines: list[_MinorLine] = []
    tax_total = 0
    for li in order.lines:
        if li.total is None or li.total.currency != booking.currency:
            return None
        line_tax = li.tax.amount if li.tax else 0
        tax_code = books.untaxed_tax_code
        for tax_id in li.tax_ids:
            tax = taxes.get(tax_id)
            if tax is None:
                continue
            mapped = books.tax_codes.get(tax.catalog_id or "") or books.tax_codes.get(tax.name or "")
            if mapped is None:
                raise PermanentError(
                    f"{booking.provider.capitalize()} tax {tax.name or tax.id!r} of order {order.id} has no "
                    f"{books.label} tax code in the settings ({books.tax_setting}): not booked, so VAT is "
                    "never booked under the wrong code"
                )
            tax_code = mapped
        name = " ".join(p for p in (li.name, f"({li.variation})" if li.variation else None) if p)
        item = books.items.get(li.catalog_id or "") or books.default_item
        lines.append(_MinorLine(item, li.total.amount - line_tax, name or "Item", tax_code, li.quantity))
        tax_total += line_tax
    lines.extend(_tip(booking, books))
    if not lines or sum(line.amount for line in lines) + tax_total != booking.amount:
        return None
    return lines, tax_total


def _listed_lines(booking: Booking, books: Books) -> tuple[list[_MinorLine], int] | None:
    """The sale's own lines (Shopify) with their mapped items and tax codes, or ``None`` if they do
    not add up to the amount."""
    lines = [
        _MinorLine(
            _listed_item(line, books),
            line.net,
            _listed_description(line, booking),
            _listed_tax_code(line, booking, books),
            line.quantity,
        )
        for line in booking.lines
    ]
    tax_total = sum(line.tax for line in booking.lines)
    lines.extend(_tip(booking, books))
    if sum(line.amount for line in lines) + tax_total != booking.amount:
        return None
    return lines, tax_total


def _listed_item(line: SaleLine, books: Books) -> str | None:
    if line.kind == "shipping":
        return books.shipping_item
    return books.skus.get(line.sku or "") or books.default_item


def _listed_description(line: SaleLine, booking: Booking) -> str:
    if line.discount:
        return f"{line.description} (after a {to_decimal(line.discount, booking.exponent)} {booking.currency} discount)"
    return line.description


def _listed_tax_code(line: SaleLine, booking: Booking, books: Books) -> str | None:
    """The tax code (Xero: tax type) of a line's taxes: every name mapped, and to one code (a line has one)."""
    if not line.tax:
        return books.untaxed_tax_code
    if not line.tax_names:
        raise PermanentError(
            f"a line of {booking.provider.capitalize()} order {booking.order_id} is taxed but its tax has no "
            f"name to map ({books.tax_setting}): not booked, so tax is never booked under the wrong code"
        )
    codes = set()
    for name in line.tax_names:
        code = books.tax_codes.get(name)
        if code is None:
            raise PermanentError(
                f"{booking.provider.capitalize()} tax {name!r} of order {booking.order_id} has no {books.label} "
                f"tax code in the settings ({books.tax_setting}): not booked, so VAT is never booked under "
                "the wrong code"
            )
        codes.add(code)
    if len(codes) > 1:
        raise PermanentError(
            f"a line of {booking.provider.capitalize()} order {booking.order_id} is taxed by "
            f"{', '.join(sorted(line.tax_names))}, mapped to different {books.label} tax codes: a line has "
            f"one. Map them to one code (a combined rate) in {books.tax_setting}."
        )
    return codes.pop()


# --- the receipt -----------------------------------------------------------------------------------


def _line(line: _MinorLine, exponent: int) -> ReceiptLine:
    """A receipt line in exact decimals; a whole quantity with an exact unit price is kept as such."""
    amount = to_decimal(line.amount, exponent)
    qty = line.quantity
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    description = line.description
    places = qty.as_tuple().exponent if qty is not None else 0
    if qty is not None and qty > 0 and isinstance(places, int) and places >= -_MAX_QTY_PLACES:
        unit_minor = Decimal(line.amount) / qty
        if unit_minor == unit_minor.to_integral_value():
            quantity, unit_price = qty.normalize(), to_decimal(int(unit_minor), exponent)
        else:  # a discount that does not divide evenly: keep the amount exact, say the quantity
            description = f"{qty.normalize()} x {description}"
    return ReceiptLine(
        amount=amount,
        description=description[:4000],
        item_id=line.item,
        tax_code=line.tax_code,
        quantity=quantity,
        unit_price=unit_price,
    )


def _receipt(
    booking: Booking, settings: Settings, books: Books, lines: list[_MinorLine], tax: int
) -> RecordReceipt:
    """The action's input: the lines, the local day, the mapped ids; ``booking.key`` is its requestid."""
    local_day = booking.occurred_at.astimezone(ZoneInfo(settings.timezone)).date()
    paid = "order" if booking.provider == "shopify" else "payment"
    note = f"{booking.provider.capitalize()} {paid} {booking.payment_id}"
    if booking.refund_id:
        note = f"{booking.provider.capitalize()} refund {booking.refund_id} of {paid} {booking.payment_id}"
    if booking.order_id and booking.order_id != booking.payment_id:
        note += f", order {booking.order_id}"
    if booking.location_id:
        note += f", location {booking.location_id}"
    return RecordReceipt(
        key=booking.key,
        date=local_day,
        lines=[_line(line, booking.exponent) for line in lines],
        tax=to_decimal(tax, booking.exponent) if tax else None,
        customer_id=books.customer,
        payment_method_id=books.payment_method(booking.provider, booking.source, booking.brand),
        note=f"{note} (Switchboard pos_to_accounting)",
        tax_calculation=books.tax_calculation,
        deposit_account=books.deposit_account(booking.provider),
        currency=booking.currency,
        default_item=books.default_item,
        sales_account=books.sales_account,
    )
