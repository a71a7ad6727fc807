"""Square's records in the payments domain's terms: what ``payments.list`` and ``sales.get_order`` answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from apps.square.actions import as_money, as_order, as_payment, as_refund
from apps.square.models import Money as SquareMoney
from apps.square.models import Order as SquareOrder
from apps.square.models import Payment as SquarePayment
from apps.square.models import PaymentRefund as SquareRefund
from shared.actions.payments import Money
from shared.errors import TargetUnavailable


def gbp(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "GBP"}


def test_a_card_payment_keeps_its_figures_and_loses_who_paid() -> None:
    payment = as_payment(
        SquarePayment.model_validate(
            {
                "id": "P1",
                "created_at": "2026-11-20T09:15:00Z",
                "status": "COMPLETED",
                "location_id": "L8M2Q9ZB3XW1P",
                "source_type": "CARD",
                "amount_money": gbp(3200),
                "tip_money": gbp(300),
                "processing_fee": [
                    {"type": "INITIAL", "amount_money": gbp(61)},
                    {"type": "ADJUSTMENT", "amount_money": gbp(-2)},
                    {"type": "ADJUSTMENT"},
                ],
                "card_details": {
                    "card": {
                        "card_brand": "AMERICAN_EXPRESS",
                        "last_4": "0005",
                        "cardholder_name": "Ada Lovelace",
                        "fingerprint": "sq-1-abc",
                    }
                },
                "order_id": "O1",
                "buyer_email_address": "ada@example.org",
                "note": "for Ada's birthday",
            }
        )
    )
    assert payment.status == "completed" and payment.source == "card"
    assert (payment.card_brand, payment.card_last4, payment.order_id) == ("American Express", "0005", "O1")
    assert payment.amount == Money(amount=3200, currency="GBP", exponent=2)
    assert payment.tip is not None and payment.tip.amount == 300
    assert [f.amount for f in payment.fees] == [61, -2]  # a fee without an amount is none
    text = payment.model_dump_json()
    assert not any(s in text for s in ("Ada", "ada@", "sq-1-", "birthday"))


@pytest.mark.parametrize(
    ("square", "domain"),
    [
        ({"status": "APPROVED", "source_type": "CASH"}, ("authorized", "cash", None)),
        ({"status": "PENDING", "source_type": "WALLET"}, ("pending", "wallet", None)),
        ({"status": "CANCELED", "source_type": "SQUARE_ACCOUNT"}, ("canceled", "other", None)),
        ({"status": "FAILED", "source_type": "EXTERNAL"}, ("failed", "external", None)),
        ({"status": "SOMETHING_NEW", "source_type": "CARD"}, (None, "card", None)),
        (
            {"source_type": "CARD", "card_details": {"card": {"card_brand": "NEW_CARD_BRAND"}}},
            (None, "card", "New Card Brand"),
        ),
        ({}, (None, None, None)),
    ],
)
def test_statuses_sources_and_brands_are_the_domains_words(
    square: dict[str, Any], domain: tuple[str | None, str | None, str | None]
) -> None:
    payment = as_payment(SquarePayment.model_validate({"id": "P", **square}))
    assert (payment.status, payment.source, payment.card_brand) == domain


def test_amounts_carry_their_exponent_and_never_lose_a_currency() -> None:
    assert as_money(SquareMoney(amount=1500, currency="JPY")) == Money(
        amount=1500, currency="JPY", exponent=0
    )
    assert as_money(SquareMoney(amount=1000, currency="KWD")) == Money(
        amount=1000, currency="KWD", exponent=3
    )
    assert as_money(SquareMoney(currency="GBP")) is None and as_money(None) is None
    with pytest.raises(TargetUnavailable, match="without a currency"):
        as_money(SquareMoney(amount=100))


def test_a_refund_is_money_back_on_its_own_day() -> None:
    refund = as_refund(
        SquareRefund.model_validate(
            {
                "id": "R1",
                "status": "COMPLETED",
                "location_id": "L8M2Q9ZB3XW1P",
                "payment_id": "P1",
                "amount_money": gbp(650),
                "processing_fee": [{"amount_money": gbp(-12)}],
                "created_at": "2026-11-21T10:00:00Z",
                "reason": "Returned goods",
            }
        )
    )
    assert (refund.status, refund.payment_id, refund.reason) == ("completed", "P1", "Returned goods")
    assert refund.amount is not None and refund.amount.amount == 650
    assert [f.amount for f in refund.fees] == [-12]
    assert as_refund(SquareRefund(id="R2", status="REJECTED")).status == "rejected"


def test_an_order_is_its_lines_taxes_and_payments() -> None:
    order = as_order(
        SquareOrder.model_validate(
            {
                "id": "O1",
                "state": "COMPLETED",
                "location_id": "L8M2Q9ZB3XW1P",
                "line_items": [
                    {
                        "uid": "line-1",
                        "name": "Victoria sponge",
                        "variation_name": "Large",
                        "catalog_object_id": "VAR1",
                        "quantity": "2",
                        "note": "write Happy Birthday Ada",
                        "base_price_money": gbp(1800),
                        "total_tax_money": gbp(600),
                        "total_discount_money": gbp(0),
                        "total_money": gbp(3600),
                        "applied_taxes": [{"uid": "a1", "tax_uid": "vat"}],
                    },
                    {"uid": "line-2", "name": "Flour", "quantity": "0.75", "total_money": gbp(150)},
                ],
                "taxes": [
                    {
                        "uid": "vat",
                        "catalog_object_id": "TAX1",
                        "name": "VAT",
                        "percentage": "20",
                        "type": "INCLUSIVE",
                        "applied_money": gbp(600),
                    }
                ],
                "tenders": [{"id": "T1", "payment_id": "P1", "note": "Ada"}, {"id": "T2"}],
                "total_money": gbp(3750),
                "total_tax_money": gbp(600),
            }
        )
    )
    assert order.state == "completed" and order.payment_ids == ("P1",)
    cake, flour = order.lines
    assert (cake.name, cake.variation, cake.catalog_id, cake.quantity) == (
        "Victoria sponge",
        "Large",
        "VAR1",
        2,
    )
    assert cake.tax_ids == ("vat",) and cake.tax is not None and cake.tax.amount == 600
    assert cake.total is not None and cake.total.amount == 3600 and flour.quantity == Decimal("0.75")
    [vat] = order.taxes
    assert (vat.id, vat.catalog_id, vat.percentage, vat.inclusive) == ("vat", "TAX1", Decimal(20), True)
    assert order.total is not None and order.total.amount == 3750
    assert "Ada" not in order.model_dump_json()
