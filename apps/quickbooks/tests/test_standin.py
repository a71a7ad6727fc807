"""The QuickBooks sandbox answers in Intuit's shapes: OAuth token endpoint, receipts, faults, requestid."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from apps.quickbooks import LOCAL_REALM_ID
from apps.quickbooks.standin import QuickBooksSandbox
from sandbox.base import SandboxRequest, SandboxResponse

BASE = f"/v3/company/{LOCAL_REALM_ID}"
BASIC = base64.b64encode(b"sandbox-quickbooks-client_id:sandbox-quickbooks-client_secret").decode()


@pytest.fixture
def app() -> QuickBooksSandbox:
    return QuickBooksSandbox()


def refresh(
    app: QuickBooksSandbox,
    refresh_token: str = "sandbox-quickbooks-refresh_token",  # noqa: S107
    basic: str = BASIC,
) -> SandboxResponse:
    return app.handle(
        SandboxRequest(
            method="POST",
            path="/oauth2/v1/tokens/bearer",
            headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
            body=f"grant_type=refresh_token&refresh_token={refresh_token}".encode(),
        )
    )


@pytest.fixture
def bearer(app: QuickBooksSandbox) -> str:
    return str(refresh(app).parsed()["access_token"])


def line(
    amount: Any = 6.5, item: str = "11", qty: Any = 1, price: Any = 6.5, tax: str | None = "4"
) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": price}
    if tax:
        detail["TaxCodeRef"] = {"value": tax}
    return {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": detail}


def body(**changes: Any) -> dict[str, Any]:
    return {
        "Line": [line()],
        "TxnDate": "2026-11-20",
        "CurrencyRef": {"value": "GBP"},
        "DepositToAccountRef": {"value": "36"},
        "TxnTaxDetail": {"TotalTax": 0},
        **changes,
    }


def post(
    app: QuickBooksSandbox, token: str, entity: str, data: Any, query: str = "minorversion=75"
) -> SandboxResponse:
    from urllib.parse import parse_qs

    return app.handle(
        SandboxRequest(
            method="POST",
            path=f"{BASE}/{entity}",
            query=parse_qs(query),
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            body=json.dumps(data).encode(),
        )
    )


def fault(res: SandboxResponse) -> dict[str, Any]:
    data = res.parsed()
    return dict(data["Fault"]["Error"][0]) | {"type": data["Fault"]["type"]}


def test_the_token_endpoint_rotates_refresh_tokens(app: QuickBooksSandbox) -> None:
    first = refresh(app).parsed()
    assert first["token_type"] == "bearer" and first["expires_in"] == 3600
    assert first["refresh_token"] != "sandbox-quickbooks-refresh_token"
    used = refresh(app)
    assert used.status == 400 and used.parsed()["error"] == "invalid_grant"
    assert refresh(app, basic=base64.b64encode(b"x:y").decode()).status == 401


def test_an_api_call_without_a_valid_token_gets_intuits_401(app: QuickBooksSandbox) -> None:
    res = post(app, "not-a-token", "salesreceipt", body())
    assert res.status == 401
    assert res.headers["www-authenticate"].startswith('Bearer realm="Intuit"')
    error = res.parsed()["fault"]["error"][0]
    assert error["code"] == "3200" and "AuthenticationFailed" in error["message"]


def test_a_revoked_connection_refuses_refresh(app: QuickBooksSandbox, bearer: str) -> None:
    assert app.handle(SandboxRequest("POST", "/_oauth/revoke")).status == 200
    assert post(app, bearer, "salesreceipt", body()).status == 401
    assert refresh(app).parsed()["error"] == "invalid_grant"


def test_a_sales_receipt_is_created_and_read_back(app: QuickBooksSandbox, bearer: str) -> None:
    res = post(
        app,
        bearer,
        "salesreceipt",
        body(Line=[line(), line(26.67, "12", 1, 26.67, "2")], TxnTaxDetail={"TotalTax": 5.33}),
    )
    assert res.status == 200, res.body
    receipt = res.parsed()["SalesReceipt"]
    assert receipt["TotalAmt"] == 38.5 and receipt["SyncToken"] == "0" and receipt["domain"] == "QBO"
    assert receipt["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert receipt["Line"][1]["SalesItemLineDetail"]["ItemRef"] == {"value": "12", "name": "Cakes"}
    got = app.handle(
        SandboxRequest(
            "GET", f"{BASE}/salesreceipt/{receipt['Id']}", headers={"authorization": f"Bearer {bearer}"}
        )
    )
    assert got.parsed()["SalesReceipt"]["Id"] == receipt["Id"]
    assert app.receipts_of("salesreceipt")[0]["TotalAmt"] == Decimal("38.50")


def test_the_same_requestid_answers_the_first_answer_and_creates_nothing(
    app: QuickBooksSandbox, bearer: str
) -> None:
    first = post(app, bearer, "salesreceipt", body(), "minorversion=75&requestid=abc123")
    again = post(
        app, bearer, "salesreceipt", body(Line=[line(9, "13", 1, 9)]), "minorversion=75&requestid=abc123"
    )
    assert first.body == again.body
    assert len(app.receipts_of("salesreceipt")) == 1
    assert (
        post(app, bearer, "salesreceipt", body(), "minorversion=75&requestid=abc124").parsed()[
            "SalesReceipt"
        ]["Id"]
        != first.parsed()["SalesReceipt"]["Id"]
    )
    too_long = post(app, bearer, "salesreceipt", body(), "requestid=" + "x" * 51)
    assert too_long.status == 400 and fault(too_long)["code"] == "1060"


@pytest.mark.parametrize(
    ("changes", "code", "element"),
    [
        ({"Line": [line(13, qty=2, price=6.49)]}, "6070", "Line.Amount"),
        ({"Line": [line(item="999")]}, "2500", "ItemRef"),
        ({"Line": [line(tax="77")]}, "2500", "TaxCodeRef"),
        ({"PaymentMethodRef": {"value": "99"}}, "2500", "PaymentMethodRef"),
        ({"CustomerRef": {"value": "1"}}, "2500", "CustomerRef"),
        ({"CurrencyRef": {"value": "USD"}}, "6000", "CurrencyRef"),
        ({"Line": [line(6.505, price=6.505)]}, "2090", "Line.Amount"),
        ({"Line": []}, "2020", "Line"),
        ({"Line": [{"DetailType": "DescriptionOnly", "Amount": 1}]}, "2010", "Line.DetailType"),
        ({"PrivateNote": "x" * 4001}, "2050", "PrivateNote"),
    ],
)
def test_wrong_shapes_are_validation_faults(
    app: QuickBooksSandbox, bearer: str, changes: dict[str, Any], code: str, element: str
) -> None:
    res = post(app, bearer, "salesreceipt", body(**changes))
    assert res.status == 400
    error = fault(res)
    assert (error["code"], error["element"], error["type"]) == (code, element, "ValidationFault")
    assert app.receipts_of("salesreceipt") == []


def test_a_refund_receipt_needs_the_account_it_is_paid_from(app: QuickBooksSandbox, bearer: str) -> None:
    data = body()
    del data["DepositToAccountRef"]
    res = post(app, bearer, "refundreceipt", data)
    assert res.status == 400 and fault(res)["element"] == "DepositToAccountRef"
    ok = post(app, bearer, "refundreceipt", body())
    assert ok.status == 200 and ok.parsed()["RefundReceipt"]["TotalAmt"] == 6.5


def test_a_retired_minor_version_and_another_company_are_refused(app: QuickBooksSandbox, bearer: str) -> None:
    assert fault(post(app, bearer, "salesreceipt", body(), "minorversion=65"))["code"] == "2010"
    other = app.handle(
        SandboxRequest(
            "POST", "/v3/company/123/salesreceipt", headers={"authorization": f"Bearer {bearer}"}, body=b"{}"
        )
    )
    assert other.status == 403


def test_faults_answer_in_intuits_shapes(app: QuickBooksSandbox, bearer: str) -> None:
    app.handle(
        SandboxRequest(
            "POST",
            "/_faults",
            body=json.dumps(
                [{"kind": "rate_limit", "retry_after": 3}, {"kind": "status", "status": 503}]
            ).encode(),
        )
    )
    throttled = post(app, bearer, "salesreceipt", body())
    assert throttled.status == 429 and throttled.headers["retry-after"] == "3"
    assert fault(throttled)["code"] == "3001" and "ThrottleExceeded" in fault(throttled)["Message"]
    down = post(app, bearer, "salesreceipt", body())
    assert down.status == 503 and fault(down)["type"] == "SystemFault"
    assert post(app, bearer, "salesreceipt", body()).status == 200


def test_state_and_reset(app: QuickBooksSandbox, bearer: str) -> None:
    post(app, bearer, "salesreceipt", body(), "requestid=r1")
    state = app.handle(SandboxRequest("GET", "/_state")).parsed()
    assert (
        len(state["sales_receipts"]) == 1
        and state["request_ids"] == ["r1"]
        and state["oauth"]["refresh_calls"] == 1
    )
    app.handle(SandboxRequest("POST", "/_reset"))
    state = app.handle(SandboxRequest("GET", "/_state")).parsed()
    assert state["sales_receipts"] == [] and state["oauth"]["refresh_calls"] == 0


# --- requestid memory: a window, not forever --------------------------------------------------------


class Clock:
    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_requestid_is_forgotten_once_its_window_has_passed() -> None:
    clock = Clock()
    app = QuickBooksSandbox(clock=clock, request_id_window_s=600)
    token = str(refresh(app).parsed()["access_token"])
    first = post(app, token, "salesreceipt", body(), "requestid=r1").parsed()["SalesReceipt"]["Id"]
    clock.now += 599
    assert post(app, token, "salesreceipt", body(), "requestid=r1").parsed()["SalesReceipt"]["Id"] == first
    clock.now += 1
    again = post(app, token, "salesreceipt", body(), "requestid=r1").parsed()["SalesReceipt"]["Id"]
    assert again != first and len(app.receipts_of("salesreceipt")) == 2


def test_the_default_window_is_short_and_the_expire_control_forgets_every_id(
    app: QuickBooksSandbox, bearer: str
) -> None:
    from apps.quickbooks.standin import REQUEST_ID_WINDOW_S

    assert app.request_id_window_s == REQUEST_ID_WINDOW_S <= 3600  # shorter than the retry horizon
    post(app, bearer, "salesreceipt", body(), "requestid=r1")
    expired = app.handle(SandboxRequest("POST", "/_requestids/expire"))
    assert expired.parsed() == {"forgotten": 1}
    assert app.handle(SandboxRequest("GET", "/_state")).parsed()["request_ids"] == []
    post(app, bearer, "salesreceipt", body(), "requestid=r1")
    assert len(app.receipts_of("salesreceipt")) == 2
    with pytest.raises(ValueError, match="request_id_window_s"):
        QuickBooksSandbox(request_id_window_s=-1)


# --- the query operation -----------------------------------------------------------------------------


def query(app: QuickBooksSandbox, token: str, statement: str) -> SandboxResponse:
    return app.handle(
        SandboxRequest(
            method="GET",
            path=f"{BASE}/query",
            query={"query": [statement], "minorversion": ["75"]},
            headers={"authorization": f"Bearer {token}", "accept": "application/json"},
        )
    )


def test_query_filters_receipts_by_creation_time_and_pages_them() -> None:
    clock = Clock()
    app = QuickBooksSandbox(clock=clock)
    token = str(refresh(app).parsed()["access_token"])
    ids = []
    for n in range(3):
        ids.append(post(app, token, "salesreceipt", body(PrivateNote=f"n{n}")).parsed()["SalesReceipt"]["Id"])
        clock.now += 60
    post(app, token, "refundreceipt", body())
    created = [r["MetaData"]["CreateTime"] for r in app.receipts_of("salesreceipt")]
    res = query(
        app,
        token,
        # Intuit's query language, not SQL; the values are the stand-in's own timestamps.
        f"select * from SalesReceipt where MetaData.CreateTime >= '{created[1]}' "  # noqa: S608
        f"and MetaData.CreateTime <= '{created[2]}'",
    )
    assert res.status == 200
    answer = res.parsed()["QueryResponse"]
    assert [r["Id"] for r in answer["SalesReceipt"]] == ids[1:]
    assert (answer["startPosition"], answer["maxResults"]) == (1, 2)
    assert answer["SalesReceipt"][0]["PrivateNote"] == "n1"  # every field, as created
    paged = query(app, token, "SELECT * FROM SalesReceipt ORDERBY Id DESC STARTPOSITION 2 MAXRESULTS 1")
    assert [r["Id"] for r in paged.parsed()["QueryResponse"]["SalesReceipt"]] == [ids[1]]
    counted = query(app, token, f"select count(*) from SalesReceipt where Id in ('1', {ids[0]})")  # noqa: S608
    assert counted.parsed()["QueryResponse"] == {"totalCount": 1}
    none = query(app, token, "select * from RefundReceipt where TxnDate < '2000-01-01'")
    assert none.status == 200 and none.parsed()["QueryResponse"] == {}


@pytest.mark.parametrize(
    ("statement", "code", "words"),
    [
        (
            "select * from SalesReceipt where PrivateNote = 'x'",
            "4001",
            "property 'PrivateNote' is not queryable",
        ),
        ("select * from SalesReceipt where Id = '1' or Id = '2'", "4000", "QueryParserError"),
        ("select * SalesReceipt", "4000", "QueryParserError"),
        ("select * from Invoice", "4001", "Invoice"),
        ("select * from SalesReceipt where MetaData.CreateTime > 'yesterday'", "4001", "not a valid value"),
        ("", "4000", "missing"),
    ],
)
def test_a_query_intuit_refuses_is_a_fault(
    app: QuickBooksSandbox, bearer: str, statement: str, code: str, words: str
) -> None:
    res = query(app, bearer, statement)
    assert res.status == 400
    error = fault(res)
    assert (error["code"], error["type"]) == (code, "ValidationFault") and words in error["Detail"]


def test_query_needs_a_token_and_the_company(app: QuickBooksSandbox, bearer: str) -> None:
    assert query(app, "wrong", "select * from SalesReceipt").status == 401
    other = app.handle(
        SandboxRequest(
            "GET",
            "/v3/company/123/query",
            query={"query": ["select * from SalesReceipt"]},
            headers={"authorization": f"Bearer {bearer}"},
        )
    )
    assert other.status == 403


def test_past_500_requests_a_minute_per_realm_intuit_answers_429_throttle_exceeded() -> None:
    clock = Clock()
    app = QuickBooksSandbox(clock=clock)
    path = f"/v3/company/{LOCAL_REALM_ID}/salesreceipt/1"
    statuses: list[int] = []
    refresh_token = "sandbox-quickbooks-refresh_token"
    for _ in range(501):
        # A fresh access token every 100 requests: the count is the company's, not the token's.
        if len(statuses) % 100 == 0:
            tokens = refresh(app, refresh_token).parsed()
            token, refresh_token = str(tokens["access_token"]), str(tokens["refresh_token"])
        headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
        statuses.append(app.handle(SandboxRequest("GET", path, headers=headers)).status)
    assert statuses.count(429) == 1 and statuses[-1] == 429
    limited = app.handle(SandboxRequest("GET", path, headers=headers))
    error = fault(limited)
    assert limited.status == 429
    assert (error["code"], error["type"]) == ("3001", "SERVICE")
    assert error["Message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    clock.now += 60.0
    assert app.handle(SandboxRequest("GET", path, headers=headers)).status != 429
