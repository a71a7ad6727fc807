"""The Square sandbox: Square's shapes and checks for Catalog search, Inventory counts, Payments,
Refunds, Orders and its webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime
from typing import Any

import pytest

from apps.square import SQUARE_VERSION
from apps.square.standin import (
    DEFAULT_TOKEN,
    LOCATIONS,
    SEED_ITEMS,
    SEED_PAYMENTS,
    SEED_REFUNDS,
    SeedItem,
    SeedVariation,
    SquareSandbox,
    square_signature,
)
from sandbox.base import SandboxRequest, SandboxResponse, iso_ms
from sandbox.registry import sandbox_classes

AUTH = {"authorization": f"Bearer {DEFAULT_TOKEN}", "square-version": SQUARE_VERSION}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SEARCH = "/v2/catalog/search"
COUNTS = "/v2/inventory/counts/batch-retrieve"
HIGH_STREET, MARKET, KITCHEN = LOCATIONS


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sq(clock: Clock) -> SquareSandbox:
    return SquareSandbox(clock=clock)


def call(
    app: SquareSandbox, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None
) -> SandboxResponse:
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    return app.handle(
        SandboxRequest(method=method, path=path, headers=AUTH if headers is None else headers, body=raw)
    )


def search_skus(app: SquareSandbox, *skus: str, **extra: Any) -> SandboxResponse:
    body = {
        "object_types": ["ITEM_VARIATION"],
        "query": {"set_query": {"attribute_name": "sku", "attribute_values": list(skus)}},
        **extra,
    }
    return call(app, "POST", SEARCH, body)


def only_error(resp: SandboxResponse) -> dict[str, str]:
    (error,) = resp.parsed()["errors"]
    return dict(error)


def variation_id(sku: str) -> str:
    return next(v.id for item in SEED_ITEMS for v in item.variations if v.sku == sku)


def test_it_is_discovered_as_the_square_app() -> None:
    assert sandbox_classes()["square"] is SquareSandbox


# --- authentication and version ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "did not include an `Authorization` http header"),
        ({"authorization": f"Token {DEFAULT_TOKEN}"}, "was malformed"),
        ({"authorization": "Bearer "}, "was malformed"),
        ({"authorization": "Bearer EAAAl-not-the-token"}, "This request could not be authorized."),
    ],
)
def test_requests_without_the_token_are_refused_in_squares_shape(
    sq: SquareSandbox, headers: dict[str, str], detail: str
) -> None:
    resp = call(sq, "POST", SEARCH, {}, headers=headers)
    assert resp.status == 401
    error = only_error(resp)
    assert (error["category"], error["code"]) == ("AUTHENTICATION_ERROR", "UNAUTHORIZED")
    assert detail in error["detail"]


def test_answers_carry_the_square_version_and_a_bad_one_is_refused(sq: SquareSandbox) -> None:
    ok = call(sq, "POST", SEARCH, {}, headers={**AUTH, "square-version": "2024-01-18"})
    assert ok.status == 200 and ok.headers["square-version"] == "2024-01-18"
    default = call(sq, "POST", SEARCH, {}, headers={"authorization": AUTH["authorization"]})
    assert default.headers["square-version"] == SQUARE_VERSION
    bad = call(sq, "POST", SEARCH, {}, headers={**AUTH, "square-version": "latest"})
    assert bad.status == 400 and only_error(bad)["code"] == "INVALID_SQUARE_VERSION_FORMAT"


def test_unknown_paths_and_methods_answer_in_squares_shape(sq: SquareSandbox) -> None:
    missing = call(sq, "GET", "/v2/nothing-here")
    assert missing.status == 404 and only_error(missing)["code"] == "NOT_FOUND"
    wrong = call(sq, "GET", SEARCH)
    assert wrong.status == 405 and only_error(wrong)["code"] == "METHOD_NOT_ALLOWED"


# --- catalog search ---------------------------------------------------------------------------


def test_set_query_finds_variations_by_sku_case_insensitively(sq: SquareSandbox) -> None:
    resp = search_skus(sq, "loaf-rye", "CAKE-CHOC-8IN", "NO-SUCH-SKU")
    assert resp.status == 200
    body = resp.parsed()
    by_sku = {o["item_variation_data"]["sku"]: o for o in body["objects"]}
    assert set(by_sku) == {"LOAF-RYE", "CAKE-CHOC-8IN"}
    rye = by_sku["LOAF-RYE"]
    assert rye["type"] == "ITEM_VARIATION" and rye["id"] == variation_id("LOAF-RYE")
    assert rye["is_deleted"] is False and rye["present_at_all_locations"] is True
    assert isinstance(rye["version"], int) and ISO_MS.match(rye["updated_at"])
    data = rye["item_variation_data"]
    assert data["pricing_type"] == "FIXED_PRICING"
    assert data["price_money"] == {"amount": 595, "currency": "GBP"}
    assert data["track_inventory"] is True and data["item_id"]
    assert ISO_MS.match(body["latest_time"]) and "cursor" not in body


def test_deleted_variations_appear_only_when_asked_for(sq: SquareSandbox) -> None:
    assert search_skus(sq, "BAGUETTE-CLASSIC").parsed()["objects"] == []
    with_deleted = search_skus(sq, "BAGUETTE-CLASSIC", include_deleted_objects=True).parsed()["objects"]
    assert [o["is_deleted"] for o in with_deleted] == [True]


def test_related_objects_are_the_parent_items(sq: SquareSandbox) -> None:
    body = search_skus(sq, "CAKE-CHOC-8IN", "CAKE-CHOC-6IN", include_related_objects=True).parsed()
    (item,) = body["related_objects"]
    assert item["type"] == "ITEM" and item["item_data"]["name"] == "Chocolate cake"
    assert {v["item_variation_data"]["sku"] for v in item["item_data"]["variations"]} == {
        "CAKE-CHOC-8IN",
        "CAKE-CHOC-6IN",
    }


def test_default_object_types_are_top_level_items(sq: SquareSandbox) -> None:
    body = call(sq, "POST", SEARCH, {}).parsed()
    assert {o["type"] for o in body["objects"]} == {"ITEM"}
    names = call(
        sq,
        "POST",
        SEARCH,
        {"query": {"prefix_query": {"attribute_name": "name", "attribute_prefix": "choc"}}},
    ).parsed()
    assert [o["item_data"]["name"] for o in names["objects"]] == ["Chocolate cake"]


def test_a_set_query_takes_at_most_250_values(sq: SquareSandbox) -> None:
    resp = search_skus(sq, *(f"SKU-{i}" for i in range(251)))
    assert resp.status == 400
    assert only_error(resp) == {
        "category": "INVALID_REQUEST_ERROR",
        "code": "ARRAY_LENGTH_TOO_LONG",
        "detail": "A maximum of 250 values may be searched in a request.",
        "field": "query.set_query.attribute_values",
    }


def test_search_pages_with_an_opaque_cursor(sq: SquareSandbox) -> None:
    skus = ["LOAF-SOURDOUGH", "LOAF-RYE", "CAKE-CHOC-8IN", "CAKE-CHOC-6IN", "CROISSANT-BUTTER"]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        extra = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = search_skus(sq, *skus, **extra).parsed()
        pages += 1
        assert len(body["objects"]) <= 2
        seen += [o["item_variation_data"]["sku"] for o in body["objects"]]
        cursor = body.get("cursor")
        if not cursor:
            break
    assert pages == 3 and sorted(seen) == sorted(skus)
    bad = search_skus(sq, *skus, cursor="not-a-cursor")
    assert bad.status == 400 and only_error(bad)["code"] == "INVALID_CURSOR"


def test_malformed_search_bodies_are_refused(sq: SquareSandbox) -> None:
    assert only_error(call(sq, "POST", SEARCH, b"{"))["code"] == "BAD_REQUEST"
    assert only_error(call(sq, "POST", SEARCH, [1]))["code"] == "EXPECTED_OBJECT"
    assert only_error(call(sq, "POST", SEARCH, {"object_types": ["PAYMENT"]}))["code"] == "INVALID_ENUM_VALUE"
    empty = call(
        sq, "POST", SEARCH, {"query": {"set_query": {"attribute_name": "sku", "attribute_values": []}}}
    )
    assert only_error(empty)["code"] == "ARRAY_EMPTY"


# --- inventory counts -------------------------------------------------------------------------


def counts(app: SquareSandbox, **body: Any) -> SandboxResponse:
    return call(app, "POST", COUNTS, body)


def test_counts_are_decimal_strings_newest_first(sq: SquareSandbox) -> None:
    ids = [variation_id(s) for s in ("LOAF-SOURDOUGH", "FLOUR-RYE-KG", "CAKE-CHOC-8IN")]
    body = counts(sq, catalog_object_ids=ids).parsed()
    assert body["errors"] == [] and "cursor" not in body
    times = [c["calculated_at"] for c in body["counts"]]
    assert times == sorted(times, reverse=True) and all(ISO_MS.match(t) for t in times)
    flour = next(c for c in body["counts"] if c["catalog_object_id"] == ids[1])
    assert flour == {
        "catalog_object_id": ids[1],
        "catalog_object_type": "ITEM_VARIATION",
        "state": "IN_STOCK",
        "location_id": HIGH_STREET,
        "quantity": "7.25",
        "calculated_at": flour["calculated_at"],
    }
    assert {c["state"] for c in body["counts"]} == {"IN_STOCK", "WASTE"}


def test_counts_filter_by_location_and_state(sq: SquareSandbox) -> None:
    cake = variation_id("CAKE-CHOC-8IN")
    everywhere = counts(sq, catalog_object_ids=[cake]).parsed()["counts"]
    assert {c["location_id"] for c in everywhere} == {HIGH_STREET, KITCHEN}
    shop = counts(sq, catalog_object_ids=[cake], location_ids=[HIGH_STREET, MARKET]).parsed()["counts"]
    assert [(c["location_id"], c["quantity"]) for c in shop] == [(HIGH_STREET, "2")]
    loaf = variation_id("LOAF-SOURDOUGH")
    in_stock = counts(sq, catalog_object_ids=[loaf], states=["IN_STOCK"]).parsed()["counts"]
    assert {c["state"] for c in in_stock} == {"IN_STOCK"} and len(in_stock) == 2
    # SOLD is an untracked state: Square ignores it as a filter value.
    assert counts(sq, catalog_object_ids=[loaf], states=["SOLD"]).parsed()["counts"] == []


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"limit": 0}, "VALUE_TOO_LOW", "limit"),
        ({"limit": 1001}, "VALUE_TOO_HIGH", "limit"),
        ({"limit": "10"}, "EXPECTED_INTEGER", "limit"),
        ({"states": ["FRESH"]}, "INVALID_ENUM_VALUE", "states"),
        ({"catalog_object_ids": "GZ4BN6QYT2XWCM7RLVKP3HDJ"}, "EXPECTED_ARRAY", "catalog_object_ids"),
        ({"updated_after": "yesterday"}, "INVALID_TIME", "updated_after"),
        ({"cursor": "bm9wZQ"}, "INVALID_CURSOR", "cursor"),
    ],
)
def test_invalid_count_requests_name_the_field(
    sq: SquareSandbox, body: dict[str, Any], code: str, field: str
) -> None:
    resp = counts(sq, **body)
    assert resp.status == 400
    error = only_error(resp)
    assert (error["category"], error["code"], error["field"]) == ("INVALID_REQUEST_ERROR", code, field)


def test_counts_page_with_a_cursor(clock: Clock) -> None:
    sq = SquareSandbox(clock=clock, max_page_size=2)
    first = counts(sq, states=["IN_STOCK"]).parsed()
    assert len(first["counts"]) == 2 and first["cursor"]
    rest: list[dict[str, Any]] = []
    cursor = first["cursor"]
    while cursor:
        page = counts(sq, states=["IN_STOCK"], cursor=cursor).parsed()
        rest += page["counts"]
        cursor = page.get("cursor")
    every = SquareSandbox(clock=clock).handle(
        SandboxRequest("POST", COUNTS, headers=AUTH, body=json.dumps({"states": ["IN_STOCK"]}).encode())
    )
    assert first["counts"] + rest == every.parsed()["counts"]


def test_updated_after_returns_only_newer_counts(sq: SquareSandbox, clock: Clock) -> None:
    clock.now += 10
    call(sq, "POST", "/_stock", {"sku": "LOAF-RYE", "quantity": "5"})
    since = "2027-01-15T08:00:05Z"  # 1_800_000_005, between the seed and the new count
    newer = counts(sq, updated_after=since).parsed()["counts"]
    assert [(c["catalog_object_id"], c["quantity"]) for c in newer] == [(variation_id("LOAF-RYE"), "5")]


# --- control endpoint, faults, reset ------------------------------------------------------------


def test_stock_control_sets_a_count_now(sq: SquareSandbox, clock: Clock) -> None:
    clock.now += 120
    resp = call(sq, "POST", "/_stock", {"sku": "LOAF-RYE", "quantity": "12.50", "location_id": MARKET})
    assert resp.status == 200
    assert resp.parsed()["quantity"] == "12.5"
    rye = counts(sq, catalog_object_ids=[variation_id("LOAF-RYE")], location_ids=[MARKET]).parsed()["counts"]
    assert [(c["quantity"], c["calculated_at"]) for c in rye] == [("12.5", "2027-01-15T08:02:00.000Z")]
    assert call(sq, "GET", "/_requests").parsed()["requests"][-1]["path"] == COUNTS  # controls not logged


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "NO-SUCH-SKU", "quantity": "1"},
        {"sku": "BAGUETTE-CLASSIC", "quantity": "1"},
        {"sku": "LOAF-RYE", "quantity": "lots"},
        {"sku": "LOAF-RYE", "quantity": "1.123456"},
        {"sku": "LOAF-RYE", "quantity": "1", "location_id": "NOWHERE"},
        {"sku": "LOAF-RYE", "quantity": "1", "state": "SOLD"},
    ],
)
def test_stock_control_refuses_what_square_would_not_hold(sq: SquareSandbox, body: dict[str, Any]) -> None:
    assert call(sq, "POST", "/_stock", body).status == 400


def test_faults_answer_with_square_error_bodies(sq: SquareSandbox) -> None:
    call(sq, "POST", "/_faults", {"kind": "status", "status": 503, "path": SEARCH})
    down = search_skus(sq, "LOAF-RYE")
    assert down.status == 503
    assert only_error(down)["category"] == "API_ERROR" and only_error(down)["code"] == "SERVICE_UNAVAILABLE"
    call(sq, "POST", "/_faults", {"kind": "rate_limit", "retry_after": 3})
    limited = search_skus(sq, "LOAF-RYE")
    assert limited.status == 429 and limited.headers["retry-after"] == "3"
    assert only_error(limited)["code"] == "RATE_LIMITED"
    assert search_skus(sq, "LOAF-RYE").status == 200


def test_reset_restores_the_seeded_bakery(sq: SquareSandbox) -> None:
    call(sq, "POST", "/_stock", {"sku": "LOAF-RYE", "quantity": "99"})
    call(sq, "POST", "/_reset")
    state = call(sq, "GET", "/_state").parsed()
    rye = [c for c in state["counts"] if c["catalog_object_id"] == variation_id("LOAF-RYE")]
    assert sorted(c["quantity"] for c in rye) == ["0", "3"]
    assert "BAGUETTE-CLASSIC" not in {v["sku"] for v in state["variations"]}


def test_a_catalog_of_its_own_can_be_seeded(clock: Clock) -> None:
    items = (
        SeedItem(
            "ITEM1",
            "Scone",
            "",
            (SeedVariation("VAR1", "Plain", "SCONE", 200, ((HIGH_STREET, "IN_STOCK", "4"),)),),
        ),
    )
    sq = SquareSandbox(items=items, clock=clock)
    assert [o["id"] for o in search_skus(sq, "SCONE").parsed()["objects"]] == ["VAR1"]
    assert search_skus(sq, "LOAF-RYE").parsed()["objects"] == []


# --- payments, refunds, orders ------------------------------------------------------------------

PAYMENTS = "/v2/payments"
REFUNDS = "/v2/refunds"
NOV_20 = {"begin_time": "2026-11-20T00:00:00Z", "end_time": "2026-11-21T00:00:00Z"}


def get(app: SquareSandbox, path: str, **query: str) -> SandboxResponse:
    return app.handle(
        SandboxRequest(method="GET", path=path, query={k: [v] for k, v in query.items()}, headers=AUTH)
    )


def iso(epoch: float) -> str:
    return iso_ms(epoch)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_list_payments_pages_in_squares_shape(sq: SquareSandbox) -> None:
    first = get(sq, PAYMENTS, **NOV_20, location_id=HIGH_STREET, sort_order="ASC")
    assert first.status == 200 and set(first.parsed()) == {"payments", "cursor"}
    page = first.parsed()
    assert len(page["payments"]) == 100  # Square's default and maximum page size
    second = get(sq, PAYMENTS, **NOV_20, location_id=HIGH_STREET, sort_order="ASC", cursor=page["cursor"])
    rest = second.parsed()
    assert "cursor" not in rest
    ids = [p["id"] for p in page["payments"] + rest["payments"]]
    expected = [
        p.id
        for p in SEED_PAYMENTS
        if p.location_id == HIGH_STREET
        and utc(NOV_20["begin_time"]) <= utc(p.created_at) < utc(NOV_20["end_time"])
    ]
    assert ids == expected and len(set(ids)) == len(ids)
    for payment in page["payments"]:
        assert ISO_MS.match(payment["created_at"]) and payment["amount_money"]["currency"] == "GBP"


def test_begin_is_inclusive_end_is_exclusive(sq: SquareSandbox) -> None:
    payments = get(sq, PAYMENTS, **NOV_20, location_id=HIGH_STREET, sort_order="ASC").parsed()["payments"]
    assert payments[0]["created_at"] == "2026-11-20T00:00:00.000Z"
    later = get(
        sq, PAYMENTS, begin_time="2026-11-20T23:00:00Z", end_time="2026-11-21T00:00:00Z", location_id=MARKET
    )
    assert [p["created_at"] for p in later.parsed()["payments"]] == ["2026-11-20T23:59:59.999Z"]
    boundary = get(sq, PAYMENTS, begin_time="2026-11-20T23:59:59.999Z", end_time="2026-11-21T00:00:00.001Z")
    assert [p["created_at"] for p in boundary.parsed()["payments"]] == ["2026-11-21T00:00:00.000Z"]


def test_sort_order_limit_and_default_location(sq: SquareSandbox) -> None:
    desc = get(sq, PAYMENTS, **NOV_20, limit="5").parsed()["payments"]
    assert len(desc) == 5 and desc[0]["created_at"] > desc[-1]["created_at"]  # DESC is the default
    assert {p["location_id"] for p in desc} == {HIGH_STREET}  # the main location when none is given
    assert len(get(sq, PAYMENTS, **NOV_20, limit="500").parsed()["payments"]) == 100  # more is ignored
    market = get(sq, PAYMENTS, **NOV_20, location_id=MARKET).parsed()["payments"]
    assert market and {p["location_id"] for p in market} == {MARKET}


def test_an_empty_result_is_an_empty_object(sq: SquareSandbox) -> None:
    empty = get(sq, PAYMENTS, begin_time="2020-01-01T00:00:00Z", end_time="2020-01-02T00:00:00Z")
    assert empty.status == 200 and empty.parsed() == {}
    assert get(sq, REFUNDS, begin_time="2020-01-01T00:00:00Z", end_time="2020-01-02T00:00:00Z").parsed() == {}


@pytest.mark.parametrize(
    ("query", "status", "code", "field"),
    [
        ({"begin_time": "yesterday"}, 400, "INVALID_TIME", "begin_time"),
        (
            {"begin_time": "2026-11-21T00:00:00Z", "end_time": "2026-11-20T00:00:00Z"},
            400,
            "INVALID_TIME_RANGE",
            "begin_time",
        ),
        ({"sort_order": "UP"}, 400, "INVALID_ENUM_VALUE", "sort_order"),
        ({"limit": "0"}, 400, "VALUE_TOO_LOW", "limit"),
        ({"limit": "many"}, 400, "EXPECTED_INTEGER", "limit"),
        ({"cursor": "not-a-cursor"}, 400, "INVALID_CURSOR", "cursor"),
        ({"location_id": "NOPE"}, 404, "NOT_FOUND", "location_id"),
    ],
)
def test_list_payments_refuses_what_square_refuses(
    sq: SquareSandbox, query: dict[str, str], status: int, code: str, field: str
) -> None:
    resp = get(sq, PAYMENTS, **query)
    assert resp.status == status
    error = only_error(resp)
    assert error["code"] == code and error["field"] == field


def test_list_refunds_all_locations_and_status(sq: SquareSandbox) -> None:
    refunds = get(sq, REFUNDS, **NOV_20).parsed()["refunds"]
    expected = {r.id for r in SEED_REFUNDS if r.created_at.startswith("2026-11-20")}
    assert {r["id"] for r in refunds} == expected
    assert {r["status"] for r in refunds} == {"COMPLETED", "PENDING", "REJECTED"}
    completed = get(sq, REFUNDS, **NOV_20, status="COMPLETED").parsed()["refunds"]
    assert {r["status"] for r in completed} == {"COMPLETED"}
    for refund in completed:
        payment = sq.payments[refund["payment_id"]]
        assert refund["id"] in payment["refund_ids"] and payment["refunded_money"]["amount"] >= 1
        if refund["destination_type"] == "CARD":
            assert refund["processing_fee"][0]["amount_money"]["amount"] < 0  # the fee share given back
    assert only_error(get(sq, REFUNDS, status="DONE"))["code"] == "INVALID_ENUM_VALUE"


def test_retrieve_order_and_not_found(sq: SquareSandbox) -> None:
    seed = next(p for p in SEED_PAYMENTS if p.status == "COMPLETED" and p.tip)
    order = get(sq, f"/v2/orders/{seed.order_id}").parsed()["order"]
    assert order["state"] == "COMPLETED" and order["tenders"][0]["payment_id"] == seed.id
    assert order["total_money"]["amount"] == seed.total and order["total_tip_money"]["amount"] == seed.tip
    assert sum(int(li["total_money"]["amount"]) for li in order["line_items"]) == seed.amount
    missing = get(sq, "/v2/orders/NOPE")
    assert missing.status == 404
    assert only_error(missing) == {
        "category": "INVALID_REQUEST_ERROR",
        "code": "NOT_FOUND",
        "detail": "Order `NOPE` not found.",
        "field": "order_id",
    }


def create(sq: SquareSandbox, **body: Any) -> SandboxResponse:
    payload = {
        "source_id": "cnon:card-nonce-ok",
        "idempotency_key": "key-1",
        "amount_money": {"amount": 1250, "currency": "GBP"},
        **body,
    }
    return call(sq, "POST", PAYMENTS, payload)


def test_create_payment_records_it_and_sends_webhooks(sq: SquareSandbox, clock: Clock) -> None:
    resp = create(sq, tip_money={"amount": 100, "currency": "GBP"}, location_id=MARKET)
    assert resp.status == 200
    payment = resp.parsed()["payment"]
    assert payment["status"] == "COMPLETED" and payment["total_money"]["amount"] == 1350
    assert payment["card_details"]["card"]["card_brand"] == "VISA" and payment["location_id"] == MARKET
    assert [n["type"] for n in sq.notifications] == ["payment.created", "payment.updated"]
    updated = sq.notifications[-1]
    assert updated["merchant_id"] and updated["data"]["type"] == "payment"
    assert updated["data"]["object"]["payment"]["processing_fee"][0]["amount_money"]["amount"] == 24  # 1.75 %
    assert len({n["event_id"] for n in sq.notifications}) == 2
    listed = get(sq, PAYMENTS, location_id=MARKET, begin_time=iso(clock.now - 1), end_time=iso(clock.now + 1))
    assert [p["id"] for p in listed.parsed()["payments"]] == [payment["id"]]
    assert get(sq, f"/v2/orders/{payment['order_id']}").parsed()["order"]["state"] == "COMPLETED"


def test_create_payment_is_idempotent_per_key(sq: SquareSandbox) -> None:
    first = create(sq).parsed()["payment"]
    assert create(sq).parsed()["payment"]["id"] == first["id"]
    assert len(sq.notifications) == 2  # the replay sends nothing
    reused = create(sq, amount_money={"amount": 1, "currency": "GBP"})
    assert reused.status == 400 and only_error(reused)["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_create_payment_cash_approved_and_declined(sq: SquareSandbox) -> None:
    cash = create(
        sq,
        source_id="CASH",
        idempotency_key="c",
        cash_details={"buyer_supplied_money": {"amount": 2000, "currency": "GBP"}},
    ).parsed()["payment"]
    assert cash["source_type"] == "CASH" and cash["cash_details"]["change_back_money"]["amount"] == 750
    held = create(sq, idempotency_key="a", autocomplete=False).parsed()["payment"]
    assert held["status"] == "APPROVED" and held["card_details"]["status"] == "AUTHORIZED"
    declined = create(sq, source_id="cnon:card-nonce-declined", idempotency_key="d")
    assert declined.status == 400 and only_error(declined)["code"] == "GENERIC_DECLINE"
    assert only_error(create(sq, idempotency_key="x" * 46))["code"] == "VALUE_TOO_LONG"


def test_refund_payment_pending_then_completed_with_webhooks(sq: SquareSandbox) -> None:
    payment = create(sq).parsed()["payment"]
    refund_body = {
        "idempotency_key": "r-1",
        "payment_id": payment["id"],
        "amount_money": {"amount": 500, "currency": "GBP"},
    }
    resp = call(sq, "POST", REFUNDS, refund_body)
    assert resp.status == 200
    refund = resp.parsed()["refund"]
    assert refund["status"] == "PENDING" and refund["payment_id"] == payment["id"]
    assert [n["type"] for n in sq.notifications][2:] == [
        "refund.created",
        "refund.updated",
        "payment.updated",
    ]
    assert sq.notifications[3]["data"]["object"]["refund"]["status"] == "COMPLETED"
    assert sq.notifications[4]["data"]["object"]["payment"]["refunded_money"]["amount"] == 500
    too_much = {**refund_body, "idempotency_key": "r-2", "amount_money": {"amount": 800, "currency": "GBP"}}
    assert only_error(call(sq, "POST", REFUNDS, too_much))["code"] == "REFUND_AMOUNT_INVALID"
    unknown = {**refund_body, "idempotency_key": "r-3", "payment_id": "NOPE"}
    assert call(sq, "POST", REFUNDS, unknown).status == 404


def test_webhooks_reach_subscribers_signed_as_square_signs(sq: SquareSandbox) -> None:
    url = "https://hooks.example.test/hooks/x"
    delivered: list[tuple[str, dict[str, str], bytes]] = []
    assert sq.webhooks is not None
    sq.webhooks.subscribe(url, "key", deliver=lambda u, h, b: delivered.append((u, dict(h), b)) or 200)
    create(sq)
    assert len(delivered) == 2
    to, headers, body = delivered[0]
    expected = base64.b64encode(hmac.new(b"key", url.encode() + body, hashlib.sha256).digest()).decode()
    assert to == url and headers["x-square-hmacsha256-signature"] == expected
    assert square_signature(url, body, "key", 0.0) == {"x-square-hmacsha256-signature": expected}
    deliveries = call(sq, "GET", "/_webhooks").parsed()["deliveries"]
    assert [d["event_id"] for d in deliveries] == [n["event_id"] for n in sq.notifications]


def test_webhook_subscriptions_via_control_endpoints(sq: SquareSandbox) -> None:
    resp = call(sq, "POST", "/_webhooks/subscriptions", {"url": "http://127.0.0.1:1/hooks/x", "secret": "k"})
    assert resp.status == 201
    (listed,) = call(sq, "GET", "/_webhooks/subscriptions").parsed()["subscriptions"]
    assert re.fullmatch(r"wbhk_[0-9a-f]{32}", listed.pop("id"))
    assert listed == {"url": "http://127.0.0.1:1/hooks/x", "events": None, "enabled": True}
    create(sq)  # nothing listens on port 1: the delivery fails and is recorded, the payment stands
    deliveries = call(sq, "GET", "/_webhooks").parsed()["deliveries"]
    assert len(deliveries) == 2 and all(d["error"] for d in deliveries)


def test_reset_restores_the_seeded_payments(sq: SquareSandbox) -> None:
    create(sq)
    call(sq, "POST", "/_reset")
    state = call(sq, "GET", "/_state").parsed()
    assert state["payments"] == len(SEED_PAYMENTS) and state["refunds"] == len(SEED_REFUNDS)
    assert state["notifications"] == []


def test_square_publishes_no_limit_so_none_is_enforced(sq: SquareSandbox) -> None:
    assert {search_skus(sq, "LOAF-RYE").status for _ in range(200)} == {200}
    assert sq.handle(SandboxRequest("GET", "/_limits")).parsed() == {"enforce": True, "limits": []}


def test_a_rate_limit_fault_answers_squares_429(sq: SquareSandbox) -> None:
    sq.handle(SandboxRequest("POST", "/_faults", body=b'{"kind": "rate_limit", "retry_after": 2}'))
    limited = search_skus(sq, "LOAF-RYE")
    assert limited.status == 429 and limited.headers["retry-after"] == "2"
    assert only_error(limited) == {
        "category": "RATE_LIMIT_ERROR",
        "code": "RATE_LIMITED",
        "detail": "Rate limit exceeded. Retry later.",
    }
