"""The QuickBooks client (``apps.quickbooks``) against the QuickBooks sandbox, in-process.

The bearer token is one the sandbox's OAuth server issued (as ``shared.oauth`` would get it); the
error mapping is ApiClient's, so what is checked here is QuickBooks' own part: paths, minorversion,
requestid, exact decimals and the fault that may come with a 200.
"""

from __future__ import annotations

import base64
import json
import time
from contextvars import Token
from decimal import Decimal
from typing import Any

import pytest

from apps import quickbooks as qb
from apps.quickbooks import client as qb_client
from apps.quickbooks.client import MARKER_PREFIX, FaultError, QuickBooksClient, marked_note, request_id
from apps.quickbooks.models import Line, Receipt, Ref, SalesItemLineDetail, parse_fault, wire
from apps.quickbooks.standin import QuickBooksSandbox
from sandbox.base import SandboxRequest, SandboxResponse, as_transport
from shared.errors import RateLimited, TargetRejected, TargetUnavailable
from shared.http import ApiClient, WorkStamp, current_work
from shared.ledger import AttemptWindow


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


# --- past requestid's window: the ledger's attempt record and a lookup carry "booked once" -------------


def in_step(window: AttemptWindow | None) -> Token[WorkStamp | None]:
    """Make the following calls as a ledger step would, whose earlier attempts ran in ``window``."""
    return current_work.set(WorkStamp("evt-1", "quickbooks.sales_receipt", tried=lambda: window))


def queries(app: QuickBooksSandbox) -> list[dict[str, Any]]:
    return [
        r
        for r in app.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
        if r["path"].endswith("/query")
    ]


def test_every_receipt_carries_its_requestid_in_the_private_note(
    app: QuickBooksSandbox, client: QuickBooksClient
) -> None:
    client.create_sales_receipt(receipt(PrivateNote="Square payment P1"), key="square:payment:P1")
    client.create_sales_receipt(receipt(), key="square:payment:P2")
    notes = [r["PrivateNote"] for r in app.receipts_of("salesreceipt")]
    assert notes == [
        f"Square payment P1\n{MARKER_PREFIX}{request_id('salesreceipt', 'square:payment:P1')}",
        f"{MARKER_PREFIX}{request_id('salesreceipt', 'square:payment:P2')}",
    ]
    longest = marked_note("x" * qb.MAX_PRIVATE_NOTE, "Switchboard ref abc")
    assert len(longest) == qb.MAX_PRIVATE_NOTE and longest.endswith("x\nSwitchboard ref abc")


def test_a_retry_after_the_requestid_was_forgotten_finds_the_receipt_instead_of_booking_again(
    app: QuickBooksSandbox, client: QuickBooksClient
) -> None:
    """The create went through, its answer was lost; by the retry Intuit no longer knows the requestid."""
    token = in_step(None)
    try:
        first = client.create_sales_receipt(receipt(), key="square:payment:P1")
    finally:
        current_work.reset(token)
    assert queries(app) == []  # a first attempt looks nothing up
    app.handle(SandboxRequest("POST", "/_requestids/expire"))
    token = in_step(AttemptWindow(time.time() - 60, time.time() + 60))
    try:
        again = client.create_sales_receipt(receipt(), key="square:payment:P1")
    finally:
        current_work.reset(token)
    assert again.Id == first.Id and again.TotalAmt == Decimal("19.99")
    assert len(app.receipts_of("salesreceipt")) == 1
    [lookup] = queries(app)
    statement = lookup["query"]["query"][0]
    assert statement.startswith("select * from SalesReceipt where MetaData.CreateTime >= '")
    assert lookup["query"]["minorversion"] == ["75"]


def test_the_lookup_reads_only_the_earlier_attempts_minutes(
    app: QuickBooksSandbox, client: QuickBooksClient
) -> None:
    """A receipt created outside the window is not this step's: the create is made."""
    client.create_sales_receipt(receipt(), key="square:payment:P1")
    app.handle(SandboxRequest("POST", "/_requestids/expire"))
    later = time.time() + 3600
    token = in_step(AttemptWindow(later, later + 60))
    try:
        client.create_sales_receipt(receipt(), key="square:payment:P1")
    finally:
        current_work.reset(token)
    assert len(app.receipts_of("salesreceipt")) == 2 and len(queries(app)) == 1


def test_the_lookup_pages_through_the_window(
    app: QuickBooksSandbox, client: QuickBooksClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(qb_client, "QUERY_PAGE", 2)
    for n in range(4):
        client.create_sales_receipt(receipt(), key=f"square:payment:other{n}")
    target = client.create_sales_receipt(receipt(), key="square:payment:P1")
    app.handle(SandboxRequest("POST", "/_requestids/expire"))
    token = in_step(AttemptWindow(time.time() - 60, time.time() + 60))
    try:
        found = client.create_sales_receipt(receipt(), key="square:payment:P1")
    finally:
        current_work.reset(token)
    assert found.Id == target.Id and len(app.receipts_of("salesreceipt")) == 5
    assert [q["query"]["query"][0].split(" startposition ")[1] for q in queries(app)] == [
        "1 maxresults 2",
        "3 maxresults 2",
        "5 maxresults 2",
    ]
