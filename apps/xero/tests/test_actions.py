"""``accounting.record_sale`` / ``record_refund`` performed by Xero, on moto and the Xero stand-in:
an invoice paid into the deposit account, a credit note paid out of it, once per key; the walk-in
contact found or created once; the till's tax kept; ids checked for Xero's shapes first."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest

from apps.xero import actions as xero_actions
from apps.xero.actions import WALK_IN_CONTACT, line_items
from apps.xero.client import XeroRejected
from apps.xero.standin import XeroSandbox
from sandbox.base import SandboxApp, SandboxRequest
from shared.actions.accounting import RecordReceipt, WrongIdShape
from shared.app import App
from shared.clients import api_client
from shared.errors import InvalidEvent, TargetUnavailable
from shared.http import ApiClient, WorkStamp, current_work
from shared.ledger import AttemptWindow
from shared.runtime import Runtime
from shared.spec import Connection

from .test_oauth import store_local_connection


class Ctx:
    """The smallest ActionContext: a runtime and its app clients."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def api(self, app: App, connection: Connection) -> ApiClient:
        return api_client(self.rt, app, connection)


@pytest.fixture
def books(sandboxes: dict[str, SandboxApp]) -> XeroSandbox:
    app = sandboxes["xero"]
    assert isinstance(app, XeroSandbox)
    return app


@pytest.fixture
def ctx(make_runtime: Any, aws: Any, books: XeroSandbox) -> Ctx:
    rt = make_runtime("pos_to_accounting")
    store_local_connection(aws, rt)
    return Ctx(rt)


def receipt(**changes: Any) -> RecordReceipt:
    fields: dict[str, Any] = {
        "key": "square:payment:P100",
        "date": "2026-11-20",
        "lines": [
            {
                "amount": "7.00",
                "description": "Sourdough loaf",
                "quantity": 2,
                "unit_price": "3.50",
                "tax_code": "ZERORATEDOUTPUT",
            },
            {"amount": "20.00", "description": "Birthday cake", "tax_code": "OUTPUT2"},
        ],
        "tax": "4.00",
        "note": "Square payment P100 (Switchboard pos_to_accounting)",
        "tax_calculation": "TaxExcluded",
        "deposit_account": "091",
        "currency": "GBP",
        "sales_account": "200",
        **changes,
    }
    return RecordReceipt(**fields)


def test_a_sale_is_an_invoice_paid_into_the_deposit_account_once(ctx: Ctx, books: XeroSandbox) -> None:
    first = xero_actions.RECORD_SALE(ctx, receipt())
    again = xero_actions.RECORD_SALE(ctx, receipt())  # a retry, a redelivery: nothing new
    assert first == again and first.total == Decimal("31.00") and first.doc_number == "INV-0001"
    [invoice] = books.documents_of("invoice")
    [payment] = books.documents_of("payment")
    assert invoice["Status"] == "PAID" and invoice["Reference"].startswith("Square payment P100")
    assert invoice["Contact"]["Name"] == WALK_IN_CONTACT and invoice["DueDate"] == invoice["Date"]
    assert [li["AccountCode"] for li in invoice["LineItems"]] == ["200", "200"]
    # The zero-rated loaf carries no VAT: the till's 4.00 is the cake's (the organisation's rates).
    assert [li["TaxAmount"] for li in invoice["LineItems"]] == [0, pytest.approx(4.0)]
    assert payment["Account"]["Code"] == "091" and payment["Amount"] == 31
    # The walk-in contact is made once and reused (looked up once per container).
    xero_actions.RECORD_SALE(ctx, receipt(key="square:payment:P101"))
    assert len(books.contacts) == 1 and len(books.documents_of("invoice")) == 2


def test_a_refund_is_a_credit_note_paid_out_once(ctx: Ctx, books: XeroSandbox) -> None:
    refund = receipt(key="square:refund:R1", lines=[{"amount": "12.50", "tax_code": "NONE"}], tax=None)
    first = xero_actions.RECORD_REFUND(ctx, refund)
    assert xero_actions.RECORD_REFUND(ctx, refund) == first
    [note] = books.documents_of("creditnote")
    [payment] = books.documents_of("payment")
    assert note["Status"] == "PAID" and note["LineItems"][0]["Description"] == "Refund"
    assert payment["PaymentType"] == "ARCREDITPAYMENT" and payment["Amount"] == 12.5
    assert first.id == note["CreditNoteID"] and first.doc_number == "CN-0001"


def test_the_tills_tax_is_split_over_the_taxed_lines_to_the_penny() -> None:
    data = receipt(
        lines=[
            {"amount": "10.00", "tax_code": "OUTPUT2"},
            {"amount": "10.00", "tax_code": "OUTPUT2"},
            {"amount": "10.00", "tax_code": "OUTPUT2"},
            {"amount": "5.00"},
        ],
        tax="1.00",
    )
    taxes = [li.TaxAmount for li in line_items(data, default="Sale")]
    assert taxes[:3] == [Decimal("0.34"), Decimal("0.33"), Decimal("0.33")] and taxes[3] is None
    assert sum(t for t in taxes if t is not None) == Decimal("1.00")
    assert all(li.TaxAmount is None for li in line_items(receipt(tax=None), default="Sale"))


def test_ids_of_another_books_shape_are_refused_before_any_call(ctx: Ctx, books: XeroSandbox) -> None:
    with pytest.raises(WrongIdShape, match="customer_id '58' is not a xero id"):
        xero_actions.RECORD_SALE(ctx, receipt(customer_id="58"))
    with pytest.raises(WrongIdShape, match=r"lines\[0\]\.tax_code"):
        xero_actions.RECORD_SALE(ctx, receipt(lines=[{"amount": "1.00", "tax_code": "20.0% S"}], tax=None))
    with pytest.raises(WrongIdShape, match="set sales_account"):
        xero_actions.RECORD_SALE(ctx, receipt(sales_account=None))
    with pytest.raises(InvalidEvent, match="takes no payment_method_id"):
        xero_actions.RECORD_SALE(ctx, receipt(payment_method_id="3"))
    assert not books.documents_of("invoice")


def test_an_account_the_organisation_lacks_is_xeros_rejection(ctx: Ctx, books: XeroSandbox) -> None:
    with pytest.raises(XeroRejected, match="Account code '36' is not a valid code"):
        xero_actions.RECORD_SALE(ctx, receipt(deposit_account="36"))
    with pytest.raises(XeroRejected, match="archived"):
        xero_actions.RECORD_SALE(ctx, receipt(key="k2", sales_account="270"))


def test_an_item_line_takes_the_items_account(ctx: Ctx, books: XeroSandbox) -> None:
    booked = xero_actions.RECORD_SALE(
        ctx, receipt(key="k3", sales_account=None, default_item="CAKE", lines=[{"amount": "10.00"}], tax=None)
    )
    [invoice] = books.documents_of("invoice")
    line = invoice["LineItems"][0]
    assert (line["ItemCode"], line["AccountCode"], line["TaxType"]) == ("CAKE", "200", "OUTPUT2")
    assert booked.total == Decimal("12.00")


def _in_step(earlier: bool) -> Any:
    """Run as a ledger step would: with (or without) a record of earlier attempts of the step."""
    window = AttemptWindow(time.time() - 60, time.time() + 60)
    return current_work.set(WorkStamp("evt-1", "xero.invoice", tried=lambda: window if earlier else None))


def test_past_the_keys_retention_a_retried_step_finds_its_invoice_already_paid(
    ctx: Ctx, books: XeroSandbox
) -> None:
    first = xero_actions.RECORD_SALE(ctx, receipt())
    books.handle(SandboxRequest("POST", "/_idempotency/expire"))  # Xero no longer remembers the keys
    token = _in_step(earlier=True)
    try:
        again = xero_actions.RECORD_SALE(ctx, receipt())
    finally:
        current_work.reset(token)
    assert again.id == first.id and len(books.documents_of("invoice")) == 1
    assert len(books.documents_of("payment")) == 1  # found paid: not paid twice
    # Without the ledger's record the same retry would book a second invoice: the lookup is what holds.
    books.handle(SandboxRequest("POST", "/_idempotency/expire"))
    xero_actions.RECORD_SALE(ctx, receipt())
    assert len(books.documents_of("invoice")) == 2


def test_a_payment_that_failed_is_made_once_when_the_step_is_retried(ctx: Ctx, books: XeroSandbox) -> None:
    fault = {"kind": "status", "status": 503, "path": "/Payments"}
    books.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    with pytest.raises(TargetUnavailable):
        xero_actions.RECORD_REFUND(ctx, receipt(key="square:refund:R9", tax=None))
    books.handle(SandboxRequest("POST", "/_idempotency/expire"))
    token = _in_step(earlier=True)
    try:
        xero_actions.RECORD_REFUND(ctx, receipt(key="square:refund:R9", tax=None))
    finally:
        current_work.reset(token)
    [note] = books.documents_of("creditnote")
    [payment] = books.documents_of("payment")
    assert note["Status"] == "PAID" and payment["Amount"] == note["Total"]
    assert note["Reference"].endswith("]") and "[sb-" in note["Reference"]


def test_a_zero_rated_line_of_a_mixed_sale_carries_no_vat() -> None:
    """Xero's VAT return adds the lines' tax per rate: the till's VAT belongs to the standard-rated lines."""
    data = receipt(
        lines=[
            {"amount": "20.00", "tax_code": "OUTPUT2"},
            {"amount": "6.00", "tax_code": "ZERORATEDOUTPUT"},
        ],
        tax="4.00",
    )
    rates = {"OUTPUT2": Decimal("20.0000"), "ZERORATEDOUTPUT": Decimal("0.0000")}
    taxes = [li.TaxAmount for li in line_items(data, default="Sale", rates=rates)]
    assert taxes == [Decimal("4.00"), Decimal("0.00")]
    # Without the organisation's rates (none known), by amount, as before.
    assert [li.TaxAmount for li in line_items(data, default="Sale")] == [Decimal("3.08"), Decimal("0.92")]
