"""The Square sandbox: Square's shapes and checks for Catalog search and Inventory counts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sandbox.base import SandboxRequest, SandboxResponse
from sandbox.registry import sandbox_classes
from sandbox.square import DEFAULT_TOKEN, LOCATIONS, SEED_ITEMS, SeedItem, SeedVariation, SquareSandbox
from shared.apps.square import SQUARE_VERSION

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
