"""pos_to_accounting's Shopify source: orders and refunds as Shopify sends them, booked once, line by line.

Samples go through the production handler (signed with the trigger's verifier); one test has the
Shopify stand-in itself send ``orders/paid`` - signed by its own code, written from Shopify's docs -
to the production ingress, a cross-check of the verifier. What was booked is read back from the
QuickBooks stand-in.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from apps.quickbooks.standin import QuickBooksSandbox
from apps.shopify.standin import ShopifySandbox
from apps.shopify.webhooks import Order, Refund
from functions.pos_to_accounting.models import Booking
from functions.pos_to_accounting.shopify import MAX_LINES, refund_booking, sale_booking
from infra.local.gateway import api_gateway_event
from infra.local.runtime import local_settings
from infra.local.samples import EVENTS_DIR, Sample, load_sample
from sandbox.base import SandboxApp, SandboxRequest
from shared.entry import dispatch
from shared.errors import InvalidPayload
from shared.registry import load_spec
from shared.runtime import Runtime
from shared.secrets import signing_secrets
from tests.support import dlq_messages, drain, send_sample

SPEC = load_spec("pos_to_accounting")
FOLDER = EVENTS_DIR / "pos_to_accounting"
HOST = "hooks.example.test"


def sample(name: str) -> Sample:
    return load_sample(FOLDER / f"{name}.json", SPEC)


def order_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(sample("shopify_orders_paid").body)
    body.update(changes)
    return body


def with_body(s: Sample, body: dict[str, Any], **headers: str) -> Sample:
    return replace(s, body=json.dumps(body).encode(), headers={**s.headers, **headers})


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    return make_runtime("pos_to_accounting", retry_scale=0)


@pytest.fixture
def books(sandboxes: dict[str, SandboxApp]) -> QuickBooksSandbox:
    app = sandboxes["quickbooks"]
    assert isinstance(app, QuickBooksSandbox)
    return app


def items(receipt: dict[str, Any]) -> list[tuple[str, Decimal, str, str, Any, Any]]:
    out = []
    for line in receipt["Line"]:
        if line["DetailType"] != "SalesItemLineDetail":
            continue
        detail = line["SalesItemLineDetail"]
        out.append(
            (
                line["Description"],
                line["Amount"],
                detail["ItemRef"]["value"],
                detail["TaxCodeRef"]["value"],
                detail.get("Qty"),
                detail.get("UnitPrice"),
            )
        )
    return out


# --- what is booked ------------------------------------------------------------------------------


def test_a_shopify_order_is_booked_line_by_line_with_shipping_tip_and_vat(
    rt: Runtime, books: QuickBooksSandbox
) -> None:
    send_sample(rt, sample("shopify_orders_paid"))
    drain(rt)
    [receipt] = books.receipts_of("salesreceipt")
    assert items(receipt) == [
        ("Sourdough loaf - Large", Decimal("7.50"), "11", "2", Decimal(2), Decimal("3.75")),
        (
            "Lemon drizzle cake - Whole (after a 1.80 GBP discount)",
            Decimal("13.50"),
            "12",
            "2",
            Decimal(1),
            Decimal("13.50"),
        ),
        ("Butter croissants - Pack of 4", Decimal("6.50"), "13", "4", Decimal(1), Decimal("6.50")),
        ("Shipping: Royal Mail Tracked 48", Decimal("3.29"), "19", "2", None, None),
        ("Tip", Decimal("2.00"), "19", "4", None, None),
    ]
    assert receipt["TxnTaxDetail"]["TotalTax"] == Decimal("4.86")
    assert receipt["TotalAmt"] == Decimal("37.65")
    assert receipt["DepositToAccountRef"]["value"] == "4"
    assert receipt["PaymentMethodRef"]["value"] == "6"  # shopify:shopify_payments
    assert receipt["TxnDate"] == "2026-11-20"
    assert "Shopify order 5923412345678" in receipt["PrivateNote"]


def test_the_same_order_from_two_deliveries_is_one_sale(rt: Runtime, books: QuickBooksSandbox) -> None:
    """Keyed on the order id, not the webhook id: another subscription's delivery is the same sale."""
    first = send_sample(rt, sample("shopify_orders_paid"))
    other = with_body(sample("shopify_orders_paid"), order_body())
    second = send_sample(rt, replace(other, webhook_id="another-subscription-delivery"))
    assert (
        json.loads(first["body"])["id"] == json.loads(second["body"])["id"] == "shopify:order:5923412345678"
    )
    drain(rt)
    assert len(books.receipts_of("salesreceipt")) == 1


def test_a_refund_is_one_refund_receipt_of_the_money_given_back(
    rt: Runtime, books: QuickBooksSandbox
) -> None:
    result = send_sample(rt, sample("shopify_refunds_create"))
    assert json.loads(result["body"])["id"] == "shopify:refund:1023456789012"
    drain(rt)
    [receipt] = books.receipts_of("refundreceipt")
    assert receipt["TotalAmt"] == Decimal("16.20")
    assert "Shopify refund 1023456789012 of order 5923412345678" in receipt["PrivateNote"]


def test_lines_that_do_not_add_up_are_booked_as_one_line_for_the_money(
    rt: Runtime, books: QuickBooksSandbox
) -> None:
    """Duties or an additional fee make the total more than the lines: one line, never a wrong total."""
    s = with_body(sample("shopify_orders_paid"), order_body(current_total_price="40.65"))
    send_sample(rt, s)
    drain(rt)
    [receipt] = books.receipts_of("salesreceipt")
    assert [(d, a) for d, a, *_ in items(receipt)] == [
        ("Shopify order #1042", Decimal("38.65")),
        ("Tip", Decimal("2.00")),
    ]
    assert receipt["TotalAmt"] == Decimal("40.65")


@pytest.mark.parametrize(("title", "said"), [("VAT", "'VAT'"), ("", "has no name")])
def test_a_tax_without_a_tax_code_is_not_booked(
    rt: Runtime, books: QuickBooksSandbox, title: str, said: str
) -> None:
    body = order_body()
    for line in body["line_items"]:
        for tax in line["tax_lines"]:
            tax["title"] = title
    send_sample(rt, with_body(sample("shopify_orders_paid"), body))
    drain(rt)
    [dead] = dlq_messages(rt)
    reason = dead["MessageAttributes"]["reason"]["StringValue"]
    assert said in reason and "tax_codes" in reason
    assert books.receipts_of("salesreceipt") == []


def test_a_shopify_sale_without_a_deposit_account_is_dead_lettered_naming_it(
    make_runtime: Any, books: QuickBooksSandbox
) -> None:
    settings = json.loads(local_settings(SPEC))
    del settings["deposit_accounts"]["shopify"]
    rt = make_runtime("pos_to_accounting", retry_scale=0, settings_json=json.dumps(settings))
    send_sample(rt, sample("shopify_orders_paid"))
    drain(rt)
    [dead] = dlq_messages(rt)
    assert "deposit_accounts has no 'shopify' account" in dead["MessageAttributes"]["reason"]["StringValue"]


# --- what is not queued --------------------------------------------------------------------------


def test_other_topics_and_refunds_without_money_queue_nothing(rt: Runtime) -> None:
    created = send_sample(
        rt, with_body(sample("shopify_orders_paid"), order_body(), **{"x-shopify-topic": "orders/create"})
    )
    refund: dict[str, Any] = json.loads(sample("shopify_refunds_create").body)
    refund["transactions"][0]["status"] = "pending"
    pending = send_sample(rt, with_body(sample("shopify_refunds_create"), refund))
    for result in (created, pending):
        assert result["statusCode"] == 202
        assert json.loads(result["body"])["ids"] == []


def test_a_delivery_without_its_topic_or_with_a_broken_order_is_refused_naming_the_field(rt: Runtime) -> None:
    s = sample("shopify_orders_paid")
    no_topic = send_sample(
        rt, replace(s, headers={k: v for k, v in s.headers.items() if k != "x-shopify-topic"})
    )
    assert no_topic["statusCode"] == 400
    assert json.loads(no_topic["body"])["errors"][0]["field"] == "headers.x-shopify-topic"
    broken = order_body()
    del broken["current_total_price"]
    refused = send_sample(rt, with_body(s, broken))
    assert refused["statusCode"] == 400
    assert json.loads(refused["body"])["errors"][0]["field"] == "current_total_price"


# --- the mapping itself --------------------------------------------------------------------------


def test_us_sales_tax_is_added_on_top_of_the_line() -> None:
    body = order_body(
        currency="USD",
        taxes_included=False,
        total_tip_received="0.00",
        current_total_price="10.83",
        shipping_lines=[],
        line_items=[
            {
                "id": 1,
                "title": "Sourdough loaf",
                "sku": "LOAF-SOURDOUGH",
                "product_id": 2,
                "variant_id": 3,
                "quantity": 2,
                "price": "5.00",
                "tax_lines": [
                    {"title": "NY State Tax", "price": "0.40", "rate": 0.04},
                    {"title": "New York City Tax", "price": "0.43", "rate": 0.045},
                ],
            }
        ],
    )
    booking = sale_booking(Order.model_validate(body))
    assert booking is not None
    [line] = booking.lines
    assert (line.net, line.tax, line.tax_names) == (1000, 83, ("NY State Tax", "New York City Tax"))
    assert (booking.amount, booking.currency, booking.tip) == (1083, "USD", 0)


def test_amounts_follow_the_currency_exponent_and_finer_ones_are_refused() -> None:
    yen = order_body(
        currency="JPY",
        taxes_included=True,
        total_tip_received="0",
        current_total_price="1500",
        shipping_lines=[],
        line_items=[
            {
                "id": 1,
                "title": "Cake",
                "sku": "C",
                "product_id": 2,
                "variant_id": 3,
                "quantity": 1,
                "price": "1500",
                "tax_lines": [{"title": "JCT", "price": "136", "rate": 0.1}],
            }
        ],
    )
    booking = sale_booking(Order.model_validate(yen))
    assert booking is not None and booking.exponent == 0 and booking.amount == 1500
    assert booking.lines[0].net == 1364
    with pytest.raises(InvalidPayload) as refused:
        sale_booking(Order.model_validate({**yen, "current_total_price": "1500.5"}))
    assert refused.value.errors == [
        {"field": "current_total_price", "message": "has more decimals than the currency has (0)"}
    ]


def test_a_refund_is_the_sum_of_its_successful_refund_transactions() -> None:
    refund: dict[str, Any] = json.loads(sample("shopify_refunds_create").body)
    failed = {**refund["transactions"][0], "id": 2, "status": "failure", "amount": "5.00"}
    second = {**refund["transactions"][0], "id": 3, "amount": "1.00"}
    refund["transactions"] = [*refund["transactions"], failed, second]
    booking = refund_booking(Refund.model_validate(refund))
    assert isinstance(booking, Booking)
    assert (booking.amount, booking.refund_id, booking.source) == (1720, "1023456789012", "shopify_payments")


# --- the stand-in's own deliveries ----------------------------------------------------------------


def test_an_order_paid_at_the_shopify_stand_in_is_booked(
    rt: Runtime, books: QuickBooksSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    """The stand-in signs with its own code (Shopify's docs), the production verifier accepts it."""
    app = sandboxes["shopify"]
    assert isinstance(app, ShopifySandbox) and app.webhooks is not None
    trigger = SPEC.trigger("shopify")
    secret = signing_secrets(rt, trigger.secret)[0]  # type: ignore[union-attr]
    statuses: list[int] = []

    def deliver(_url: str, headers: Any, body: bytes) -> int:
        event = api_gateway_event(
            method="POST",
            path=trigger.path,  # type: ignore[union-attr]
            query="",
            headers={**dict(headers), "host": HOST},
            body=body,
            route_key=f"POST {trigger.path}",  # type: ignore[union-attr]
        )
        statuses.append(int(dispatch(rt, event)["statusCode"]))
        return statuses[-1]

    app.webhooks.subscribe(f"https://{HOST}{trigger.path}", secret, deliver=deliver, events=("orders/paid",))  # type: ignore[union-attr]
    order = order_body()
    res = app.handle(SandboxRequest("POST", "/_orders", body=json.dumps(order).encode()))
    assert res.status == 201
    assert statuses == [202]
    drain(rt)
    [receipt] = books.receipts_of("salesreceipt")
    assert receipt["TotalAmt"] == Decimal("37.65")


def test_an_order_longer_than_a_message_holds_is_booked_as_one_line() -> None:
    line = {
        "id": 1,
        "title": "Roll",
        "sku": "ROLL",
        "product_id": 2,
        "variant_id": 3,
        "quantity": 1,
        "price": "0.50",
    }
    lines = [{**line, "id": n} for n in range(1, MAX_LINES + 2)]
    body = order_body(
        taxes_included=False,
        total_tip_received="0.00",
        shipping_lines=[],
        line_items=lines,
        current_total_price=str(Decimal("0.50") * len(lines)),
    )
    booking = sale_booking(Order.model_validate(body))
    assert booking is not None and booking.lines == () and booking.amount == 50 * len(lines)
    assert (
        len(
            sale_booking(
                Order.model_validate(
                    {**body, "line_items": lines[:MAX_LINES], "current_total_price": "125.00"}
                )
            ).lines
        )
        == MAX_LINES
    )  # type: ignore[union-attr]
