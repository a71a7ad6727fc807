"""What the ledger's look-ups stand on in the accounting stand-ins: idempotency keys forgotten on
demand (all, or only those older than a given age), and the lookups that replace them (QuickBooks'
query, Xero's ``Reference`` filter) trailing writes under a consistency lag while reads by id do not.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.quickbooks import LOCAL_REALM_ID
from apps.quickbooks.standin import QuickBooksSandbox
from apps.xero.standin import XeroSandbox
from apps.xero.tests.support import access_token
from sandbox.base import SandboxRequest, SandboxResponse

QB = f"/v3/company/{LOCAL_REALM_ID}"
QB_BASIC = "Basic c2FuZGJveC1xdWlja2Jvb2tzLWNsaWVudF9pZDpzYW5kYm94LXF1aWNrYm9va3MtY2xpZW50X3NlY3JldA=="
RECEIPT = {
    "Line": [
        {
            "Amount": 6.5,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "11"}, "Qty": 1, "UnitPrice": 6.5},
        }
    ],
    "PrivateNote": "Square payment p1\nSwitchboard ref r1",
}
INVOICE = {
    "Type": "ACCREC",
    "Contact": {"Name": "Walk-in customer"},
    "LineItems": [{"Description": "Loaf", "Quantity": 1, "UnitAmount": 3.5, "AccountCode": "200"}],
    "Date": "2026-11-20",
    "DueDate": "2026-11-20",
    "Status": "AUTHORISED",
    "Reference": "Square payment p1 [sb-0123456789abcdef]",
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _qb_token(app: QuickBooksSandbox) -> str:
    answer = app.handle(
        SandboxRequest(
            "POST",
            "/oauth2/v1/tokens/bearer",
            headers={"authorization": QB_BASIC, "content-type": "application/x-www-form-urlencoded"},
            body=b"grant_type=refresh_token&refresh_token=sandbox-quickbooks-refresh_token",
        )
    )
    assert answer.status == 200, answer.body
    return str(answer.parsed()["access_token"])


def _qb(app: QuickBooksSandbox, token: str, method: str, path: str, **query: str) -> SandboxResponse:
    body = json.dumps(RECEIPT).encode() if method == "POST" else b""
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    params = {"minorversion": ["75"], **{k: [v] for k, v in query.items()}}
    return app.handle(SandboxRequest(method, f"{QB}{path}", params, headers, body))


def _expire(app: Any, path: str, body: bytes = b"") -> SandboxResponse:
    response: SandboxResponse = app.handle(SandboxRequest("POST", path, body=body))
    return response


def test_quickbooks_forgets_only_the_request_ids_older_than_asked() -> None:
    clock = Clock()
    app = QuickBooksSandbox(clock=clock, limits=False)
    token = _qb_token(app)
    _qb(app, token, "POST", "/salesreceipt", requestid="old")
    clock.now += 30
    _qb(app, token, "POST", "/salesreceipt", requestid="new")
    clock.now += 5
    assert _expire(app, "/_requestids/expire", b'{"older_than_s": 10}').parsed() == {"forgotten": 1}
    assert app.handle(SandboxRequest("GET", "/_state")).parsed()["request_ids"] == ["new"]
    _qb(app, token, "POST", "/salesreceipt", requestid="new")  # still remembered: nothing booked
    assert len(app.receipts_of("salesreceipt")) == 2
    assert _expire(app, "/_requestids/expire").parsed() == {"forgotten": 1}  # no body: every id


@pytest.mark.parametrize("body", [b"{", b'{"older_than_s": -1}', b'{"older_than_s": true}', b'{"age": 3}'])
def test_a_bad_expiry_is_refused_naming_what_to_send(body: bytes) -> None:
    for app, path in ((QuickBooksSandbox(), "/_requestids/expire"), (XeroSandbox(), "/_idempotency/expire")):
        answer = _expire(app, path, body)
        assert answer.status == 400 and "older_than_s" in answer.parsed()["detail"], answer.body


def test_the_quickbooks_query_trails_a_new_receipt_by_the_lag_and_a_read_by_id_does_not() -> None:
    clock = Clock()
    app = QuickBooksSandbox(clock=clock, limits=False, consistency_lag_s=10)
    token = _qb_token(app)
    made = _qb(app, token, "POST", "/salesreceipt", requestid="r1").parsed()["SalesReceipt"]
    select = "select * from SalesReceipt where Id = '{}'".format(made["Id"])  # noqa: S608 - Intuit's query language
    assert _qb(app, token, "GET", "/query", query=select).parsed()["QueryResponse"] == {}
    assert _qb(app, token, "GET", f"/salesreceipt/{made['Id']}").status == 200  # by id: at once
    assert app.visibility.hidden == 1
    clock.now += 10
    [found] = _qb(app, token, "GET", "/query", query=select).parsed()["QueryResponse"]["SalesReceipt"]
    assert found["PrivateNote"].endswith("Switchboard ref r1")


def _xero(
    books: XeroSandbox, method: str, path: str, key: str | None = None, **query: str
) -> SandboxResponse:
    headers = {"authorization": f"Bearer {access_token(books)}", "xero-tenant-id": books.tenant_id}
    if key is not None:
        headers["idempotency-key"] = key
    body = json.dumps({"Invoices": [INVOICE]}).encode() if method == "PUT" else b""
    return books.handle(
        SandboxRequest(method, f"/api.xro/2.0{path}", {k: [v] for k, v in query.items()}, headers, body)
    )


def test_xero_forgets_only_the_keys_older_than_asked() -> None:
    clock = Clock()
    books = XeroSandbox(clock=clock, limits=False)
    _xero(books, "PUT", "/Invoices", key="old")
    clock.now += 30
    assert _expire(books, "/_idempotency/expire", b'{"older_than_s": 30}').parsed() == {"forgotten": 1}
    _xero(books, "PUT", "/Invoices", key="old")  # forgotten: booked again (what the ledger guards)
    assert len(books.documents_of("invoice")) == 2


def test_xeros_reference_filter_trails_a_new_document_by_the_lag_and_a_read_by_id_does_not() -> None:
    clock = Clock()
    books = XeroSandbox(clock=clock, limits=False, consistency_lag_s=5)
    [made] = _xero(books, "PUT", "/Invoices", key="k1").parsed()["Invoices"]
    where = 'Reference.Contains("[sb-0123456789abcdef]")'
    assert _xero(books, "GET", "/Invoices", where=where).parsed()["Invoices"] == []
    assert _xero(books, "GET", f"/Invoices/{made['InvoiceID']}").status == 200
    clock.now += 5
    [found] = _xero(books, "GET", "/Invoices", where=where).parsed()["Invoices"]
    assert found["InvoiceID"] == made["InvoiceID"]
