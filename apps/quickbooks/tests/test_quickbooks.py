"""The QuickBooks client (``apps.quickbooks``) against the QuickBooks sandbox, in-process.

The bearer token is one the sandbox's OAuth server issued (as ``shared.oauth`` would get it); the
error mapping is ApiClient's, so what is checked here is QuickBooks' own part: paths, minorversion,
requestid, exact decimals and the fault that may come with a 200.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from apps import quickbooks as qb
from apps.quickbooks.client import FaultError, QuickBooksClient, request_id
from apps.quickbooks.models import Line, Receipt, Ref, SalesItemLineDetail, parse_fault, wire
from apps.quickbooks.standin import QuickBooksSandbox
from sandbox.base import SandboxRequest, SandboxResponse, as_transport
from shared.errors import RateLimited, TargetRejected, TargetUnavailable
from shared.http import ApiClient


def token(app: QuickBooksSandbox) -> str:
    basic = base64.b64encode(b"sandbox-quickbooks-client_id:sandbox-quickbooks-client_secret").decode()
    res = app.handle(
        SandboxRequest(
            method="POST",
            path="/oauth2/v1/tokens/bearer",
            headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
            body=b"grant_type=refresh_token&refresh_token=sandbox-quickbooks-refresh_token",
        )
    )
    assert res.status == 200, res.body
    return str(res.parsed()["access_token"])


@pytest.fixture
def app() -> QuickBooksSandbox:
    return QuickBooksSandbox()


@pytest.fixture
def client(app: QuickBooksSandbox) -> QuickBooksClient:
    api = ApiClient(
        qb.APP,
        {"access_token": token(app), "base_url": "http://qb.test"},
        transport=as_transport(app, mount=""),
    )
    return QuickBooksClient(api, qb.LOCAL_REALM_ID)


def receipt(amount: str = "19.99", **changes: Any) -> Receipt:
    line = Line(
        Amount=Decimal(amount),
        Description="Sourdough loaf",
        SalesItemLineDetail=SalesItemLineDetail(
            ItemRef=Ref(value="11"),
            Qty=Decimal(1),
            UnitPrice=Decimal(amount),
            TaxCodeRef=Ref(value="4"),
        ),
    )
    fields: dict[str, Any] = {
        "Line": (line,),
        "TxnDate": "2026-11-20",
        "CurrencyRef": Ref(value="GBP"),
        "DepositToAccountRef": Ref(value="36"),
        **changes,
    }
    return Receipt(**fields)


def test_request_id_is_stable_short_and_per_entity() -> None:
    key = "stripe:refund:ch_3QmB7rLkDf2xYz9A1gH4jK5p:1200000"
    rid = request_id("refundreceipt", key)
    assert rid == request_id("refundreceipt", key) and len(rid) == qb.MAX_REQUEST_ID
    assert rid != request_id("salesreceipt", key)
    assert rid.isalnum() and rid.isascii()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("19.99"), "19.99"),
        (Decimal("0.10"), "0.1"),
        (Decimal("1"), "1"),
        (Decimal("20.00"), "20"),
        (Decimal("1234567.89"), "1234567.89"),
        (Decimal("0.75"), "0.75"),
    ],
)
def test_decimals_leave_as_exactly_that_number(value: Decimal, text: str) -> None:
    assert json.dumps(wire({"Amount": value})) == f'{{"Amount": {text}}}'


def test_a_decimal_no_json_number_can_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="exact JSON number"):
        wire(Decimal("0.12345678901234567890"))


def test_a_sales_receipt_is_created_with_minorversion_and_requestid(
    app: QuickBooksSandbox, client: QuickBooksClient
) -> None:
    txn = client.create_sales_receipt(receipt(), key="square:payment:P1")
    assert txn.TotalAmt == Decimal("19.99") and txn.Id
    [req] = [
        r
        for r in app.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
        if r["path"].endswith("receipt")
    ]
    assert req["path"] == f"/v3/company/{qb.LOCAL_REALM_ID}/salesreceipt"
    assert req["query"] == {
        "minorversion": ["75"],
        "requestid": [request_id("salesreceipt", "square:payment:P1")],
    }
    assert req["json"]["Line"][0]["Amount"] == 19.99


def test_the_same_key_twice_books_once(app: QuickBooksSandbox, client: QuickBooksClient) -> None:
    first = client.create_sales_receipt(receipt(), key="square:payment:P1")
    again = client.create_sales_receipt(receipt(), key="square:payment:P1")
    other = client.create_sales_receipt(receipt(), key="square:payment:P2")
    assert first.Id == again.Id != other.Id
    assert len(app.receipts_of("salesreceipt")) == 2


def test_a_validation_fault_is_permanent_with_intuits_words(client: QuickBooksClient) -> None:
    bad = receipt(
        Line=(
            Line(
                Amount=Decimal("5.00"),
                SalesItemLineDetail=SalesItemLineDetail(
                    ItemRef=Ref(value="11"), Qty=Decimal(2), UnitPrice=Decimal("2.00")
                ),
            ),
        )
    )
    with pytest.raises(TargetRejected) as exc:
        client.create_sales_receipt(bad, key="k1")
    assert (
        "400" in exc.value.message and "6070" in exc.value.message and "Qty * UnitPrice" in exc.value.message
    )


def test_a_fault_in_a_200_is_not_success(app: QuickBooksSandbox, client: QuickBooksClient) -> None:
    fault = {
        "Fault": {
            "Error": [
                {
                    "Message": "Duplicate Document Number Error",
                    "Detail": "Duplicate Document Number Error : You must specify a different number.",
                    "code": "6140",
                }
            ],
            "type": "ValidationFault",
        },
        "time": "2026-11-20T08:00:00.000-08:00",
    }
    app._faults.clear()
    original = app._create
    app._routes = tuple(
        type(r)(
            r.method,
            r.regex,
            (lambda req, p: SandboxResponse.json(fault, 200)) if r.handler == original else r.handler,
        )
        for r in app._routes
    )
    with pytest.raises(FaultError) as exc:
        client.create_sales_receipt(receipt(), key="k1")
    assert exc.value.fault.codes == ("6140",)


def test_a_system_fault_in_a_200_is_retryable(app: QuickBooksSandbox, client: QuickBooksClient) -> None:
    fault = {
        "Fault": {
            "Error": [
                {
                    "Message": "An application error has occurred while processing your request",
                    "Detail": "System Failure Error",
                    "code": "10000",
                }
            ],
            "type": "SystemFault",
        }
    }
    original = app._create
    app._routes = tuple(
        type(r)(
            r.method,
            r.regex,
            (lambda req, p: SandboxResponse.json(fault, 200)) if r.handler == original else r.handler,
        )
        for r in app._routes
    )
    with pytest.raises(TargetUnavailable):
        client.create_sales_receipt(receipt(), key="k1")


def test_throttling_and_outages_are_retryable(app: QuickBooksSandbox, client: QuickBooksClient) -> None:
    app.handle(
        SandboxRequest("POST", "/_faults", body=json.dumps({"kind": "rate_limit", "retry_after": 2}).encode())
    )
    with pytest.raises(RateLimited) as limited:
        client.create_sales_receipt(receipt(), key="k1")
    assert limited.value.retry_after == 2
    app.handle(
        SandboxRequest("POST", "/_faults", body=json.dumps({"kind": "status", "status": 503}).encode())
    )
    with pytest.raises(TargetUnavailable):
        client.create_sales_receipt(receipt(), key="k1")
    assert client.create_sales_receipt(receipt(), key="k1").Id


def test_both_fault_casings_are_read() -> None:
    upper = parse_fault(
        {
            "Fault": {
                "Error": [{"Message": "Object Not Found", "Detail": "gone", "code": "610", "element": ""}],
                "type": "ValidationFault",
            }
        }
    )
    lower = parse_fault(
        {
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": "Token expired",
                        "code": "3200",
                        "element": None,
                    }
                ],
                "type": "AUTHENTICATION",
            }
        }
    )
    assert (
        upper is not None
        and upper.codes == ("610",)
        and upper.summary() == "ValidationFault 610 Object Not Found: gone"
    )
    assert lower is not None and lower.codes == ("3200",) and "Token expired" in lower.summary()
    assert parse_fault({"SalesReceipt": {}}) is None and parse_fault([1]) is None


def test_a_realm_id_is_a_number() -> None:
    with pytest.raises(ValueError, match="realm"):
        QuickBooksClient(None, "../1")  # type: ignore[arg-type]


def test_the_connection_is_oauth2_with_a_realm() -> None:
    c = qb.CONNECTION
    assert c.kind == "oauth2" and set(c.fields) == {"client_id", "client_secret", "refresh_token", "realm_id"}
    assert c.local["realm_id"] == qb.LOCAL_REALM_ID and c.local["token_url"].endswith(
        "/quickbooks/oauth2/v1/tokens/bearer"
    )


def test_the_memo_keeps_what_private_note_holds() -> None:
    from apps.quickbooks.actions import receipt as receipt_body
    from shared.actions.accounting import MAX_NOTE, RecordReceipt

    data = RecordReceipt(
        key="square:payment:P1",
        date="2026-11-20",
        lines=[{"amount": "1.00"}],
        note="Square payment P1",
        deposit_account="36",
        currency="GBP",
        default_item="19",
    )
    assert receipt_body(data).PrivateNote == "Square payment P1"
    assert MAX_NOTE <= qb.MAX_PRIVATE_NOTE  # the contract never promises more than QuickBooks keeps
    # A longer memo (the contract's limit raised one day) keeps its beginning, where the ids are.
    memo = "P1 " + "x" * qb.MAX_PRIVATE_NOTE
    longer = data.model_copy(update={"note": memo})
    assert receipt_body(longer).PrivateNote == memo[: qb.MAX_PRIVATE_NOTE]
    assert receipt_body(data.model_copy(update={"note": None})).PrivateNote is None
