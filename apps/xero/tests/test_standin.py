"""The Xero stand-in on its own: Xero's envelope and shapes, its refusals, idempotency, limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from apps.xero.standin import XeroSandbox
from sandbox.base import SandboxRequest, SandboxResponse

from .support import access_token

_MS = re.compile(r"^/Date\(\d{13}(\+0000)?\)/$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def books() -> XeroSandbox:
    return XeroSandbox(limits=False)


def call(books: XeroSandbox, method: str, path: str, body: Any = None, **headers: str) -> SandboxResponse:
    base = {"authorization": f"Bearer {access_token(books)}", "xero-tenant-id": books.tenant_id}
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    raw = json.dumps(body).encode() if body is not None else b""
    path, _, query = path.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&") if p)
    return books.handle(SandboxRequest(method, path, {k: [v] for k, v in params.items()}, base, raw))


INVOICE = {
    "Type": "ACCREC",
    "Contact": {"Name": "Walk-in customer"},
    "LineItems": [
        {"Description": "Loaf", "Quantity": 2, "UnitAmount": 3.5, "AccountCode": "200", "TaxType": "OUTPUT2"}
    ],
    "Date": "2026-11-20",
    "DueDate": "2026-11-20",
    "Status": "AUTHORISED",
}


def test_answers_come_in_xeros_envelope_with_its_dates(books: XeroSandbox) -> None:
    answer = call(books, "PUT", "/api.xro/2.0/Invoices", {"Invoices": [INVOICE]})
    assert answer.status == 200
    body = answer.parsed()
    assert set(body) == {"Id", "Status", "ProviderName", "DateTimeUTC", "Invoices"} and body["Status"] == "OK"
    assert _MS.match(body["DateTimeUTC"]) and _UUID.match(body["Id"])
    [invoice] = body["Invoices"]
    assert _UUID.match(invoice["InvoiceID"]) and invoice["InvoiceNumber"] == "INV-0001"
    midnight = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp() * 1000)
    assert invoice["Date"] == f"/Date({midnight}+0000)/" and invoice["DateString"] == "2026-11-20T00:00:00"
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"], invoice["AmountDue"]) == (
        7,
        1.4,
        8.4,
        8.4,
    )
    assert invoice["LineItems"][0]["LineAmount"] == 7 and _UUID.match(invoice["LineItems"][0]["LineItemID"])
    assert invoice["Contact"]["Name"] == "Walk-in customer"  # created by name, as Xero does
    read = call(books, "GET", f"/api.xro/2.0/Invoices/{invoice['InvoiceID']}").parsed()["Invoices"][0]
    assert read == invoice
    assert call(books, "GET", "/api.xro/2.0/Invoices/nope").status == 404


def test_refusals_are_validation_exceptions_naming_the_problem(books: XeroSandbox) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"CurrencyCode": "USD"}, "Organisation is not subscribed to currency USD"),
        ({"DueDate": None}, "Due Date is required"),
        ({"Contact": None}, "A Contact must be specified"),
        (
            {"LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200", "TaxType": "INPUT2"}]},
            "TaxType code 'INPUT2'",
        ),
        (
            {"LineItems": [{"Description": "x", "UnitAmount": 1.2345, "AccountCode": "200"}]},
            "more decimal places",
        ),
        (
            {
                "LineItems": [
                    {
                        "Description": "x",
                        "Quantity": 2,
                        "UnitAmount": 1,
                        "LineAmount": 3,
                        "AccountCode": "200",
                    }
                ]
            },
            "does not equal",
        ),
    ]
    for change, message in cases:
        body = {k: v for k, v in {**INVOICE, **change}.items() if v is not None}
        answer = call(books, "PUT", "/api.xro/2.0/Invoices", {"Invoices": [body]})
        error = answer.parsed()
        assert answer.status == 400 and error["Type"] == "ValidationException" and error["ErrorNumber"] == 10
        assert message in error["Elements"][0]["ValidationErrors"][0]["Message"], (change, error)
    assert not books.documents_of("invoice")
    four = {**INVOICE, "LineItems": [{"Description": "x", "UnitAmount": 1.2345, "AccountCode": "200"}]}
    assert call(books, "PUT", "/api.xro/2.0/Invoices?unitdp=4", {"Invoices": [four]}).status == 200


def test_payments_settle_documents_and_never_overpay(books: XeroSandbox) -> None:
    invoice = call(books, "PUT", "/api.xro/2.0/Invoices", INVOICE).parsed()["Invoices"][
        0
    ]  # one object works too
    pay = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}, "Date": "2026-11-20"}
    over = call(books, "PUT", "/api.xro/2.0/Payments", {"Payments": [{**pay, "Amount": 9}]})
    assert over.status == 400 and "exceeds the amount outstanding" in over.body.decode()
    wrong = call(
        books,
        "PUT",
        "/api.xro/2.0/Payments",
        {"Payments": [{**pay, "Amount": 8.4, "Account": {"Code": "200"}}]},
    )
    assert wrong.status == 400 and "does not allow payments" in wrong.body.decode()
    paid = call(books, "PUT", "/api.xro/2.0/Payments", {"Payments": [{**pay, "Amount": 8.4}]}).parsed()[
        "Payments"
    ][0]
    assert paid["Invoice"]["InvoiceNumber"] == "INV-0001" and paid["Status"] == "AUTHORISED"
    assert books.documents_of("invoice")[0]["Status"] == "PAID"


def test_tokens_and_tenants_are_checked_as_xero_does(books: XeroSandbox) -> None:
    anonymous = books.handle(
        SandboxRequest("GET", "/api.xro/2.0/Accounts", headers={"xero-tenant-id": books.tenant_id})
    )
    assert anonymous.status == 401 and anonymous.parsed()["Detail"] == "AuthenticationUnsuccessful"
    for tenant in ("", "7a0b1c2d-0000-4000-8000-000000000009"):
        refused = call(books, "GET", "/api.xro/2.0/Accounts", xero_tenant_id=tenant)
        assert refused.status == 403 and refused.parsed()["Title"] == "Forbidden"
    [connection] = call(books, "GET", "/connections").parsed()  # needs a token, not a tenant
    assert connection["tenantId"] == books.tenant_id and connection["tenantType"] == "ORGANISATION"
    assert {"id", "authEventId", "tenantName", "createdDateUtc", "updatedDateUtc"} <= set(connection)


def test_idempotency_keys_answer_the_first_answer_until_forgotten(books: XeroSandbox) -> None:
    first = call(books, "PUT", "/api.xro/2.0/Invoices", INVOICE, idempotency_key="k-1")
    again = call(books, "PUT", "/api.xro/2.0/Invoices", INVOICE, idempotency_key="k-1")
    assert (again.status, again.body) == (first.status, first.body)
    other = call(books, "PUT", "/api.xro/2.0/Invoices", {**INVOICE, "Reference": "x"}, idempotency_key="k-1")
    assert other.status == 400 and "different request" in other.body.decode()
    assert call(books, "PUT", "/api.xro/2.0/Invoices", INVOICE, idempotency_key="k" * 129).status == 400
    assert len(books.documents_of("invoice")) == 1
    books.handle(SandboxRequest("POST", "/_idempotency/expire"))
    call(books, "PUT", "/api.xro/2.0/Invoices", INVOICE, idempotency_key="k-1")
    assert len(books.documents_of("invoice")) == 2  # forgotten: booked again (what the ledger guards)


def test_limits_are_counted_per_organisation_and_reported() -> None:
    books = XeroSandbox(limits=True, clock=lambda: 1_800_000_000.0)
    answer = call(books, "GET", "/api.xro/2.0/TaxRates")
    assert answer.headers["x-minlimit-remaining"] == "59" and answer.headers["x-daylimit-remaining"] == "4999"
    assert "x-minlimit-remaining" not in call(books, "GET", "/connections").headers  # not the Accounting API
    states = {row["TaxType"]: row["Status"] for row in answer.parsed()["TaxRates"]}
    assert states["OUTPUT2"] == "ACTIVE" and states["OUTPUT"] == "ARCHIVED"
