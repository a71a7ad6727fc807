"""The Xero client against the Xero stand-in, in-process: paths, tenant header, Idempotency-Key,
exact decimals, Xero's errors, 429 and lost answers."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import httpx
import pytest

from apps.xero.client import (
    TenantNotChosen,
    XeroClient,
    XeroRejected,
    idempotency_key,
    resolve_tenant,
)
from apps.xero.models import (
    AccountRef,
    ContactRef,
    CreditNote,
    CreditNoteId,
    Invoice,
    InvoiceId,
    LineItem,
    Payment,
    parse_error,
)
from apps.xero.standin import XeroSandbox
from sandbox.base import SandboxRequest
from shared.errors import RateLimited, TargetRejected, TargetTimeout

from .support import api, client, losing_answers


@pytest.fixture
def books() -> XeroSandbox:
    return XeroSandbox(limits=False)


def sale(**changes: object) -> Invoice:
    fields: dict[str, object] = {
        "Contact": ContactRef(Name="Walk-in customer"),
        "LineItems": (
            LineItem(
                Description="Sourdough loaf",
                Quantity=Decimal(2),
                UnitAmount=Decimal("3.50"),
                LineAmount=Decimal("7.00"),
                AccountCode="200",
                TaxType="ZERORATEDOUTPUT",
            ),
            LineItem(
                Description="Birthday cake",
                Quantity=Decimal(1),
                UnitAmount=Decimal("24.99"),
                AccountCode="200",
                TaxType="OUTPUT2",
                DiscountRate=Decimal(10),
            ),
        ),
        "Date": date(2026, 11, 20),
        "DueDate": date(2026, 11, 20),
        "Reference": "Square payment P1",
        "CurrencyCode": "GBP",
        **changes,
    }
    return Invoice.model_validate(fields)


def test_idempotency_key_is_stable_short_and_per_entity() -> None:
    key = "stripe:refund:ch_3Pq" + "x" * 300
    assert idempotency_key("invoice", key) == idempotency_key("invoice", key)
    assert idempotency_key("invoice", key) != idempotency_key("payment", key)
    assert len(idempotency_key("refundpayment", key)) <= 128
    assert idempotency_key("invoice", key).isascii()


def test_a_sale_is_an_invoice_then_a_payment_with_exact_totals(books: XeroSandbox) -> None:
    xero = client(books)
    booked = xero.create_invoice(sale(), key="square:payment:P1")
    # 7.00 zero-rated + 24.99 less 10 % = 22.49 (half up), VAT 20 % of it = 4.50.
    assert (booked.SubTotal, booked.TotalTax, booked.Total) == (
        Decimal("29.49"),
        Decimal("4.50"),
        Decimal("33.99"),
    )
    assert (
        booked.InvoiceNumber == "INV-0001"
        and booked.Status == "AUTHORISED"
        and booked.day == date(2026, 11, 20)
    )
    payment = Payment(
        Invoice=InvoiceId(InvoiceID=booked.InvoiceID),
        Account=AccountRef(Code="091"),
        Date=date(2026, 11, 20),
        Amount=booked.Total or Decimal(0),
    )
    paid = xero.create_payment(payment, key="square:payment:P1")
    assert paid.Amount == Decimal("33.99") and paid.PaymentType == "ACCRECPAYMENT"
    [invoice] = books.documents_of("invoice")
    assert invoice["Status"] == "PAID" and invoice["AmountDue"] == 0
    # Every call named the organisation; every write carried its own key.
    log = books.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
    requests = [r for r in log if "/api.xro/" in r["path"]]
    assert all(r["headers"].get("xero-tenant-id") == books.tenant_id for r in requests)
    keys = [r["headers"].get("idempotency-key") for r in requests if r["method"] == "PUT"]
    assert keys == [
        idempotency_key("invoice", "square:payment:P1"),
        idempotency_key("payment", "square:payment:P1"),
    ]


def test_a_refund_is_a_credit_note_paid_out(books: XeroSandbox) -> None:
    xero = client(books)
    note = CreditNote(
        Contact=ContactRef(Name="Walk-in customer"),
        LineItems=(
            LineItem(
                Description="Refund",
                Quantity=Decimal(1),
                UnitAmount=Decimal("10.00"),
                AccountCode="200",
                TaxType="OUTPUT2",
            ),
        ),
        Date=date(2026, 11, 21),
    )
    booked = xero.create_credit_note(note, key="square:refund:R1")
    assert booked.CreditNoteNumber == "CN-0001" and booked.Total == Decimal("12.00")
    refund = Payment(
        CreditNote=CreditNoteId(CreditNoteID=booked.CreditNoteID),
        Account=AccountRef(Code="091"),
        Date=date(2026, 11, 21),
        Amount=Decimal("12.00"),
    )
    assert xero.create_payment(refund, key="square:refund:R1").PaymentType == "ARCREDITPAYMENT"
    [stored] = books.documents_of("creditnote")
    assert stored["Status"] == "PAID" and stored["RemainingCredit"] == 0
    with pytest.raises(ValueError, match="do not support discounts"):
        CreditNote(
            Contact=ContactRef(Name="x"),
            LineItems=(LineItem(Description="x", UnitAmount=Decimal(1), DiscountRate=Decimal(5)),),
            Date=date(2026, 11, 21),
        )


def test_a_write_retried_after_its_answer_was_lost_books_once(books: XeroSandbox) -> None:
    lost = {"n": 0}

    def lose_first_invoice(request: httpx.Request) -> bool:
        if request.url.path.endswith("/Invoices") and lost["n"] == 0:
            lost["n"] += 1
            return True
        return False

    xero = client(books, losing_answers(books, lose_first_invoice))
    with pytest.raises(TargetTimeout):
        xero.create_invoice(sale(), key="square:payment:P2")
    assert len(books.documents_of("invoice")) == 1  # Xero booked it; the answer never came
    again = xero.create_invoice(sale(), key="square:payment:P2")
    [only] = books.documents_of("invoice")
    assert again.InvoiceID == only["InvoiceID"]  # the first answer, nothing new


def test_the_same_key_with_another_body_is_refused(books: XeroSandbox) -> None:
    xero = client(books)
    xero.create_invoice(sale(), key="square:payment:P3")
    with pytest.raises(XeroRejected, match="already been used with a different request"):
        xero.create_invoice(sale(Reference="changed"), key="square:payment:P3")
    assert len(books.documents_of("invoice")) == 1


def test_a_validation_exception_is_a_rejection_with_xeros_messages(books: XeroSandbox) -> None:
    xero = client(books)
    bad = sale(
        LineItems=(LineItem(Description="x", UnitAmount=Decimal(1), AccountCode="999", TaxType="OUTPUT2"),)
    )
    with pytest.raises(XeroRejected) as caught:
        xero.create_invoice(bad, key="k1")
    assert caught.value.status == 400 and caught.value.app == "xero"
    assert "Account code '999' is not a valid code for this document." in str(caught.value)
    assert caught.value.error.Type == "ValidationException"
    assert not books.documents_of("invoice")


def test_parse_error_reads_elements_and_line_items() -> None:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {
                "ValidationErrors": [{"Message": "Please enter a unique Name."}],
                "LineItems": [{"ValidationErrors": [{"Message": "Account code '9' is not valid."}]}],
            },
            {"ValidationErrors": [{"Message": "Please enter a unique Name."}]},
        ],
    }
    error = parse_error(body)
    assert error is not None and error.messages == (
        "Please enter a unique Name.",
        "Account code '9' is not valid.",
    )
    assert error.summary().startswith("ValidationException: Please enter")
    assert parse_error({"Invoices": []}) is None


def test_429_is_a_wait_of_retry_after(books: XeroSandbox) -> None:
    fault = {"kind": "rate_limit", "retry_after": 37, "path": "/Invoices"}
    books.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    with pytest.raises(RateLimited) as caught:
        client(books).create_invoice(sale(), key="k429")
    assert caught.value.retry_after == 37
    assert not books.documents_of("invoice")


def test_past_the_minute_limit_xero_says_which_and_how_long() -> None:
    clock = {"t": 1_800_000_000.0}
    books = XeroSandbox(limits=True, clock=lambda: clock["t"])
    xero = client(books)
    for _ in range(60):
        xero.tax_rates()
    raw = api(books).request(
        "GET", "/api.xro/2.0/TaxRates", headers={"xero-tenant-id": books.tenant_id}, ok=(429,)
    )
    assert raw.status_code == 429 and raw.headers["x-rate-limit-problem"] == "minute"
    assert 1 <= int(raw.headers["retry-after"]) <= 60
    with pytest.raises(RateLimited):
        xero.tax_rates()
    clock["t"] += 61
    assert xero.tax_rates()  # the rolling minute has room again


def test_a_tenant_the_token_does_not_reach_is_refused(books: XeroSandbox) -> None:
    with pytest.raises(TargetRejected, match="403") as caught:
        XeroClient(api(books), "00000000-0000-0000-0000-000000000000").accounts()
    assert "tenant_id" in str(caught.value)
    raw = api(books).request("GET", "/api.xro/2.0/Accounts", ok=(403,))  # no xero-tenant-id at all
    assert raw.status_code == 403 and raw.json()["Detail"] == "AuthorizationUnsuccessful"


def test_the_tenant_is_the_only_organisation_or_a_clear_choice(books: XeroSandbox) -> None:
    assert resolve_tenant(api(books), None) == books.tenant_id
    assert resolve_tenant(api(books), "configured") == "configured"
    books.other_tenants["9a0b1c2d-0000-4000-8000-000000000001"] = "Crumb & Co (Ireland)"
    with pytest.raises(TenantNotChosen, match="2 organisations; set tenant_id") as caught:
        resolve_tenant(api(books), None)
    assert "Crumb & Co (Ireland) = 9a0b1c2d-0000-4000-8000-000000000001" in str(caught.value)


def test_contacts_are_found_by_exact_name_and_created_once(books: XeroSandbox) -> None:
    xero = client(books)
    assert xero.find_contact('Walk-in "customer"') is None
    made = xero.create_contact('Walk-in "customer"', key="c1")
    assert xero.create_contact('Walk-in "customer"', key="c1") == made  # retried: the same contact
    found = xero.find_contact('Walk-in "customer"')
    assert found is not None and found.ContactID == made.ContactID
    with pytest.raises(XeroRejected, match="already assigned to another contact"):
        xero.create_contact('Walk-in "customer"', key="c2")
