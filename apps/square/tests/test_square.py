"""The Square app module: the typed client against the sandbox (in-process, no sockets), error
mapping, pagination, the webhook verifier, and that importing it stays cheap."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from apps.square import APP, CONNECTION, SIGNING, SQUARE_VERSION, VERIFIER
from apps.square.client import SquareClient, rfc3339
from apps.square.models import parse_error
from apps.square.standin import (
    DEFAULT_TOKEN,
    LOCATIONS,
    SEED_ITEMS,
    SEED_PAYMENTS,
    SEED_REFUNDS,
    TIMEZONE,
    SeedItem,
    SeedPayment,
    SeedVariation,
    SquareSandbox,
)
from apps.square.webhooks import PaymentUpdatedEvent, RefundUpdatedEvent
from sandbox.base import SandboxRequest, as_transport
from shared.errors import RateLimited, SignatureMismatch, TargetRejected, TargetUnavailable
from shared.http import ApiClient
from shared.webhooks.base import WebhookRequest

REPO = Path(__file__).resolve().parents[3]
HIGH_STREET, MARKET, KITCHEN = LOCATIONS


@pytest.fixture
def sandbox() -> SquareSandbox:
    return SquareSandbox()


def make_client(sandbox: SquareSandbox, token: str = DEFAULT_TOKEN) -> SquareClient:
    return SquareClient(ApiClient(APP, {"token": token}, transport=as_transport(sandbox)))


def client_answering(handler: Any) -> SquareClient:
    return SquareClient(ApiClient(APP, {"token": "t"}, transport=httpx.MockTransport(handler)))


def requests_to(sandbox: SquareSandbox, path: str) -> list[dict[str, Any]]:
    res = sandbox.handle(SandboxRequest("GET", "/_requests", query={"path": [path]}))
    return list(res.parsed()["requests"])


def add_fault(sandbox: SquareSandbox, fault: dict[str, Any]) -> None:
    assert sandbox.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode())).status == 201


def variation_id(sku: str) -> str:
    return next(v.id for item in SEED_ITEMS for v in item.variations if v.sku == sku)


# --- the app --------------------------------------------------------------------------------------


def test_every_request_pins_the_version_and_sends_the_bearer_token(sandbox: SquareSandbox) -> None:
    make_client(sandbox).search_variations_by_sku(["LOAF-RYE"])
    (sent,) = requests_to(sandbox, "/v2/catalog/search")
    assert sent["headers"]["square-version"] == SQUARE_VERSION == "2025-10-16"
    assert sent["headers"]["authorization"] == "Bearer ***"  # masked in the record, but present
    assert sent["status"] == 200


def test_connection_and_signing_secret_shapes() -> None:
    assert CONNECTION.name == "square" and CONNECTION.fields == ("token",)
    assert CONNECTION.local["token"] == DEFAULT_TOKEN  # the sandbox accepts the local secret
    assert CONNECTION.local["base_url"] == "{sandbox}/square"
    assert SIGNING.kind == "signing" and SIGNING.fields == ("secret",)
    assert APP.base_url == "https://connect.squareup.com"


def test_importing_the_module_does_not_import_httpx() -> None:
    code = "import sys, apps.square; print('httpx' in sys.modules, 'shared.http' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False"]


def test_the_ingress_half_of_the_package_loads_no_worker_module() -> None:
    """A spec imports ``apps.square`` and ``apps.square.webhooks``; neither pulls in the client."""
    code = (
        "import sys, apps.square, apps.square.webhooks; "
        "print(*(m in sys.modules for m in ('httpx', 'apps.square.models', 'apps.square.client')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False", "False"]


# --- catalog --------------------------------------------------------------------------------------


def test_variations_are_found_by_sku_in_one_call(sandbox: SquareSandbox) -> None:
    found = make_client(sandbox).search_variations_by_sku(["LOAF-RYE", "CAKE-CHOC-8IN", "NO-SUCH-SKU"])
    assert {sku: v.id for sku, v in found.items()} == {
        "LOAF-RYE": variation_id("LOAF-RYE"),
        "CAKE-CHOC-8IN": variation_id("CAKE-CHOC-8IN"),
    }
    rye = found["LOAF-RYE"]
    assert rye.type == "ITEM_VARIATION" and rye.item_variation_data is not None
    assert (
        rye.item_variation_data.price_money is not None and rye.item_variation_data.price_money.amount == 595
    )
    assert isinstance(rye.updated_at, datetime)
    (sent,) = requests_to(sandbox, "/v2/catalog/search")
    assert sent["json"]["object_types"] == ["ITEM_VARIATION"]
    assert sent["json"]["query"] == {
        "set_query": {
            "attribute_name": "sku",
            "attribute_values": ["LOAF-RYE", "CAKE-CHOC-8IN", "NO-SUCH-SKU"],
        }
    }


def test_skus_match_case_insensitively_keyed_as_asked(sandbox: SquareSandbox) -> None:
    found = make_client(sandbox).search_variations_by_sku(["loaf-rye", "Loaf-Rye"])
    assert {k: v.sku for k, v in found.items()} == {"loaf-rye": "LOAF-RYE", "Loaf-Rye": "LOAF-RYE"}


def test_deleted_variations_are_not_found(sandbox: SquareSandbox) -> None:
    assert make_client(sandbox).search_variations_by_sku(["BAGUETTE-CLASSIC"]) == {}


def test_a_shared_sku_resolves_to_one_variation_stably() -> None:
    items = (
        SeedItem(
            "ITEM1",
            "Tart",
            "",
            (
                SeedVariation("VAR-B", "Big", "TART", 900),
                SeedVariation("VAR-A", "Also big", "TART", 900),
                SeedVariation("VAR-0", "lower case", "tart", 900),
            ),
        ),
    )
    client = make_client(SquareSandbox(items=items))
    assert client.search_variations_by_sku(["TART"])["TART"].id == "VAR-A"  # exact case, then lowest id
    assert client.search_variations_by_sku(["tart"])["tart"].id == "VAR-0"


def test_more_than_250_skus_are_searched_in_chunks(sandbox: SquareSandbox) -> None:
    skus = [f"SKU-{i:03d}" for i in range(300)] + ["LOAF-RYE"]
    found = make_client(sandbox).search_variations_by_sku(skus)
    assert list(found) == ["LOAF-RYE"]
    sizes = [len(r["json"]["query"]["set_query"]["attribute_values"]) for r in requests_to(sandbox, "/v2/")]
    assert sizes == [250, 51]


def test_search_follows_the_cursor() -> None:
    sandbox = SquareSandbox(max_page_size=2)
    skus = ["LOAF-SOURDOUGH", "LOAF-RYE", "CAKE-CHOC-8IN", "CAKE-CHOC-6IN", "CROISSANT-BUTTER"]
    assert sorted(make_client(sandbox).search_variations_by_sku(skus)) == sorted(skus)
    sent = requests_to(sandbox, "/v2/catalog/search")
    assert len(sent) == 3
    assert "cursor" not in sent[0]["json"] and sent[1]["json"]["cursor"] and sent[2]["json"]["cursor"]


# --- inventory ------------------------------------------------------------------------------------


def test_counts_are_exact_decimals_at_the_asked_locations(sandbox: SquareSandbox) -> None:
    ids = [variation_id(s) for s in ("LOAF-SOURDOUGH", "FLOUR-RYE-KG", "CAKE-CHOC-8IN")]
    got = make_client(sandbox).batch_retrieve_counts(ids, [HIGH_STREET, MARKET], states=["IN_STOCK"])
    table = {(c.catalog_object_id, c.location_id): c.quantity for c in got}
    assert table == {
        (ids[0], HIGH_STREET): Decimal("12"),
        (ids[0], MARKET): Decimal("6"),
        (ids[1], HIGH_STREET): Decimal("7.25"),
        (ids[2], HIGH_STREET): Decimal("2"),
    }
    assert all(c.state == "IN_STOCK" and c.calculated_at is not None for c in got)
    (sent,) = requests_to(sandbox, "/v2/inventory/counts/batch-retrieve")
    assert sent["json"] == {
        "catalog_object_ids": ids,
        "location_ids": [HIGH_STREET, MARKET],
        "limit": 1000,
        "states": ["IN_STOCK"],
    }


def test_without_states_every_tracked_state_comes_back(sandbox: SquareSandbox) -> None:
    got = make_client(sandbox).batch_retrieve_counts([variation_id("LOAF-SOURDOUGH")], [HIGH_STREET])
    assert sorted(c.state for c in got) == ["IN_STOCK", "WASTE"]


def test_counts_follow_the_cursor() -> None:
    sandbox = SquareSandbox(max_page_size=1)
    ids = [variation_id(s) for s in ("LOAF-SOURDOUGH", "CROISSANT-BUTTER")]
    got = make_client(sandbox).batch_retrieve_counts(ids, [HIGH_STREET, MARKET], states=["IN_STOCK"])
    assert len(got) == 4
    assert len(requests_to(sandbox, "/v2/inventory/counts/batch-retrieve")) == 4


def test_no_variations_means_no_request_and_no_locations_is_refused(sandbox: SquareSandbox) -> None:
    client = make_client(sandbox)
    assert client.batch_retrieve_counts([], [HIGH_STREET]) == []
    assert requests_to(sandbox, "/v2/") == []
    with pytest.raises(ValueError, match="location"):
        client.batch_retrieve_counts([variation_id("LOAF-RYE")], [])


# --- errors ---------------------------------------------------------------------------------------


def test_a_wrong_token_is_refused_with_squares_text(sandbox: SquareSandbox) -> None:
    with pytest.raises(TargetRejected) as info:
        make_client(sandbox, token="EAAAl-revoked").search_variations_by_sku(["LOAF-RYE"])
    assert info.value.status == 401 and info.value.app == "square"
    assert "UNAUTHORIZED" in info.value.message


def test_5xx_is_retryable_and_429_carries_retry_after(sandbox: SquareSandbox) -> None:
    client = make_client(sandbox)
    add_fault(sandbox, {"kind": "status", "status": 503, "count": 3})  # a search is tried 3 times
    with pytest.raises(TargetUnavailable):
        client.search_variations_by_sku(["LOAF-RYE"])
    add_fault(sandbox, {"kind": "rate_limit", "retry_after": 7})
    with pytest.raises(RateLimited) as info:
        client.batch_retrieve_counts([variation_id("LOAF-RYE")], [HIGH_STREET])
    assert info.value.retry_after == 7


def test_errors_inside_a_2xx_answer_are_a_refusal() -> None:
    body = {"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_VALUE", "detail": "bad id"}]}
    client = client_answering(lambda request: httpx.Response(200, json=body))
    with pytest.raises(TargetRejected, match="INVALID_VALUE: bad id"):
        client.batch_retrieve_counts(["X"], [HIGH_STREET])


def test_a_repeating_cursor_stops_instead_of_looping() -> None:
    client = client_answering(lambda request: httpx.Response(200, json={"counts": [], "cursor": "again"}))
    with pytest.raises(TargetUnavailable, match="cursor repeated"):
        client.batch_retrieve_counts(["X"], [HIGH_STREET])


def test_a_body_square_did_not_mean_is_retryable() -> None:
    client = client_answering(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(TargetUnavailable, match="unexpected 200 body"):
        client.search_variations_by_sku(["LOAF-RYE"])


def test_parse_error_reads_squares_error_body() -> None:
    text = '{"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED","detail":"slow down"}]}'
    body = parse_error(text)
    assert body is not None and body.errors[0].code == "RATE_LIMITED" and body.errors[0].field is None
    assert parse_error("<html>502 Bad Gateway</html>") is None
    assert parse_error('{"errors": []}') is None


# --- webhooks -------------------------------------------------------------------------------------


def test_the_verifier_checks_url_plus_body_base64() -> None:
    key = "sig-key-123"
    url = "https://hooks.example.test/hooks/square"
    body = b'{"merchant_id":"ML8M2Q9ZB3XW1","type":"inventory.count.updated"}'
    expected = base64.b64encode(hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()).decode()
    request = WebhookRequest("POST", url, {"x-square-hmacsha256-signature": expected}, body)
    VERIFIER.verify(request, [key], now=0)
    assert VERIFIER.sign(method="POST", url=url, body=body, secret=key, now=0, msg_id="") == {
        "x-square-hmacsha256-signature": expected
    }
    moved = WebhookRequest("POST", url + "/other", dict(request.headers), body)
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(moved, [key], now=0)


# --- payments, refunds, orders --------------------------------------------------------------------

LONDON = ZoneInfo(TIMEZONE)


def london_day(day: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(day).replace(tzinfo=LONDON)
    return start, start + timedelta(days=1)


def seed_in(begin: datetime, end: datetime, location: str) -> list[SeedPayment]:
    """The seed payments Square should answer, worked out from the seed data alone."""
    out = []
    for p in SEED_PAYMENTS:
        created = datetime.fromisoformat(p.created_at.replace("Z", "+00:00"))
        if p.location_id == location and begin <= created < end:
            out.append(p)
    return out


def test_list_payments_follows_the_cursor_over_every_page() -> None:
    sandbox = SquareSandbox(max_page_size=7)
    begin, end = london_day("2026-11-20")
    payments = list(
        make_client(sandbox).list_payments(begin_time=begin, end_time=end, location_id=HIGH_STREET)
    )
    expected = seed_in(begin, end, HIGH_STREET)
    assert len(expected) > 100  # more than one page even at Square's maximum page size
    assert [p.id for p in payments] == [p.id for p in expected]  # oldest first (ASC)
    sent = requests_to(sandbox, "/v2/payments")
    assert len(sent) == -(-len(expected) // 7)
    assert "cursor" not in sent[0]["query"] and all("cursor" in r["query"] for r in sent[1:])
    assert sent[0]["query"]["begin_time"] == ["2026-11-20T00:00:00Z"]
    assert sent[0]["query"]["end_time"] == ["2026-11-21T00:00:00Z"]
    assert sent[0]["query"]["location_id"] == [HIGH_STREET]
    assert sent[0]["query"]["limit"] == ["100"]


def test_list_payments_at_squares_page_size_needs_two_pages(sandbox: SquareSandbox) -> None:
    begin, end = london_day("2026-11-20")
    payments = list(
        make_client(sandbox).list_payments(begin_time=begin, end_time=end, location_id=HIGH_STREET)
    )
    assert len(payments) == len(seed_in(begin, end, HIGH_STREET))
    assert len(requests_to(sandbox, "/v2/payments")) == 2


def test_the_day_boundary_is_local_midnight_in_summer_time(sandbox: SquareSandbox) -> None:
    begin, end = london_day("2026-07-14")  # BST: 2026-07-13T23:00Z .. 2026-07-14T23:00Z
    assert begin.astimezone(UTC).hour == 23
    payments = list(
        make_client(sandbox).list_payments(begin_time=begin, end_time=end, location_id=HIGH_STREET)
    )
    times = [p.created_at for p in payments]
    assert times[0] == datetime(2026, 7, 13, 23, 0, tzinfo=UTC)  # 00:00 BST: in (begin is inclusive)
    assert datetime(2026, 7, 13, 22, 59, 59, tzinfo=UTC) not in times  # 23:59:59 BST the day before
    assert datetime(2026, 7, 14, 23, 10, tzinfo=UTC) not in times  # 00:10 BST the day after
    assert [p.id for p in payments] == [p.id for p in seed_in(begin, end, HIGH_STREET)]
    sent = requests_to(sandbox, "/v2/payments")[0]
    assert sent["query"]["begin_time"] == ["2026-07-13T23:00:00Z"]


def test_payments_parse_into_the_model(sandbox: SquareSandbox) -> None:
    begin, end = london_day("2026-11-20")
    payments = {
        p.id: p
        for location in (HIGH_STREET, MARKET)
        for p in make_client(sandbox).list_payments(begin_time=begin, end_time=end, location_id=location)
    }
    seed = {p.id: p for p in SEED_PAYMENTS}
    for payment in payments.values():
        expected = seed[payment.id]
        assert payment.status == expected.status and payment.source_type == expected.source_type
        assert payment.amount_money is not None and payment.amount_money.amount == expected.amount
        assert payment.total_money is not None and payment.total_money.amount == expected.total
        assert (payment.tip_money.amount if payment.tip_money else 0) == expected.tip
        assert (
            sum(f.amount_money.amount or 0 for f in payment.processing_fee if f.amount_money) == expected.fee
        )
        if expected.source_type == "CARD":
            assert payment.card_details is not None and payment.card_details.card is not None
            assert payment.card_details.card.card_brand == expected.card_brand
        if expected.source_type == "CASH":
            assert payment.cash_details is not None and payment.cash_details.change_back_money is not None
    assert {p.status for p in payments.values()} >= {"COMPLETED", "FAILED", "CANCELED", "APPROVED"}


def test_list_refunds_covers_every_location_and_parses(sandbox: SquareSandbox) -> None:
    begin, end = london_day("2026-11-20")
    refunds = list(make_client(sandbox).list_refunds(begin_time=begin, end_time=end))
    expected = [
        r for r in SEED_REFUNDS if begin <= datetime.fromisoformat(r.created_at.replace("Z", "+00:00")) < end
    ]
    assert sorted(r.id for r in refunds) == sorted(r.id for r in expected)
    by_id = {r.id: r for r in expected}
    for refund in refunds:
        assert refund.amount_money is not None and refund.amount_money.amount == by_id[refund.id].amount
        assert refund.status == by_id[refund.id].status and refund.payment_id == by_id[refund.id].payment_id
    completed = list(make_client(sandbox).list_refunds(begin_time=begin, end_time=end, status="COMPLETED"))
    assert {r.status for r in completed} == {"COMPLETED"}


def test_an_empty_range_is_an_empty_iterator(sandbox: SquareSandbox) -> None:
    begin, end = london_day("2026-01-01")
    assert list(make_client(sandbox).list_payments(begin_time=begin, end_time=end)) == []
    assert list(make_client(sandbox).list_refunds(begin_time=begin, end_time=end)) == []


def test_list_arguments_are_checked_before_any_call(sandbox: SquareSandbox) -> None:
    begin, end = london_day("2026-11-20")
    client = make_client(sandbox)
    with pytest.raises(ValueError, match="time zone"):
        list(client.list_payments(begin_time=begin.replace(tzinfo=None), end_time=end))
    with pytest.raises(ValueError, match="after"):
        list(client.list_payments(begin_time=end, end_time=begin))
    with pytest.raises(ValueError, match="limit"):
        list(client.list_refunds(begin_time=begin, end_time=end, limit=101))
    assert requests_to(sandbox, "/v2/") == []


def test_rfc3339_is_utc_with_z() -> None:
    assert rfc3339(datetime(2026, 7, 14, tzinfo=LONDON)) == "2026-07-13T23:00:00Z"
    assert rfc3339(datetime(2026, 7, 14, 1, 2, 3, 456789, tzinfo=UTC)) == "2026-07-14T01:02:03.456Z"


def test_retrieve_order_parses_lines_taxes_and_tenders(sandbox: SquareSandbox) -> None:
    cake = next(p for p in SEED_PAYMENTS if p.status == "COMPLETED" and p.lines[0].sku == "CAKE-CHOC-8IN")
    order = make_client(sandbox).retrieve_order(cake.order_id)
    assert order.id == cake.order_id and order.state == "COMPLETED" and order.location_id == cake.location_id
    line = order.line_items[0]
    assert line.quantity == Decimal("1") and line.catalog_object_id == variation_id("CAKE-CHOC-8IN")
    assert line.base_price_money is not None and line.base_price_money.amount == 3200
    (tax,) = order.taxes
    assert tax.percentage == Decimal("20") and tax.type == "INCLUSIVE" and tax.scope == "LINE_ITEM"
    assert line.applied_taxes[0].tax_uid == tax.uid
    assert order.tenders[0].payment_id == cake.id
    (sent,) = requests_to(sandbox, "/v2/orders/")
    assert sent["path"] == f"/v2/orders/{cake.order_id}"


def test_an_unknown_order_is_a_permanent_not_found(sandbox: SquareSandbox) -> None:
    with pytest.raises(TargetRejected, match="NOT_FOUND") as info:
        make_client(sandbox).retrieve_order("NO-SUCH-ORDER")
    assert info.value.status == 404


def test_payment_reads_are_retryable_on_5xx(sandbox: SquareSandbox) -> None:
    # A read is repeated within the call (shared.http.SAFE_RETRIES): three 503s in a row fail it.
    add_fault(sandbox, {"kind": "status", "status": 503, "path": "/v2/payments", "count": 3})
    begin, end = london_day("2026-11-20")
    with pytest.raises(TargetUnavailable):
        list(make_client(sandbox).list_payments(begin_time=begin, end_time=end))


def test_a_stuck_payments_cursor_stops() -> None:
    client = client_answering(lambda request: httpx.Response(200, json={"payments": [], "cursor": "same"}))
    begin, end = london_day("2026-11-20")
    with pytest.raises(TargetUnavailable, match="GET /v2/payments: the cursor repeated"):
        list(client.list_payments(begin_time=begin, end_time=end))


def test_webhook_envelopes_parse() -> None:
    payment = {"id": "P1", "status": "COMPLETED", "amount_money": {"amount": 650, "currency": "GBP"}}
    event = {
        "merchant_id": "M",
        "type": "payment.updated",
        "event_id": "e1",
        "created_at": "2026-11-20T10:00:00Z",
        "data": {"type": "payment", "id": "P1", "object": {"payment": payment}, "new": "ignored"},
    }
    parsed = PaymentUpdatedEvent.model_validate(event)
    assert parsed.data.object.payment.amount_money is not None
    assert parsed.data.object.payment.amount_money.amount == 650
    refund = {"id": "R1", "status": "PENDING", "payment_id": "P1"}
    event = {
        **event,
        "type": "refund.updated",
        "data": {"type": "refund", "id": "R1", "object": {"refund": refund}},
    }
    assert RefundUpdatedEvent.model_validate(event).data.object.refund.payment_id == "P1"


def test_the_sandbox_webhooks_verify_with_our_verifier(sandbox: SquareSandbox) -> None:
    """The sandbox signs on its own (apps.square.standin.square_signature); our verifier must agree."""
    url = "https://hooks.example.test/hooks/pos_to_accounting/square"
    received: list[tuple[dict[str, str], bytes]] = []

    def deliver(to: str, headers: Mapping[str, str], body: bytes) -> int:
        received.append((dict(headers), body))
        return 200

    assert sandbox.webhooks is not None
    sandbox.webhooks.subscribe(url, SIGNING.local["secret"], deliver=deliver)
    client = ApiClient(APP, {"token": DEFAULT_TOKEN}, transport=as_transport(sandbox))
    body = {
        "source_id": "cnon:card-nonce-ok",
        "idempotency_key": "k-1",
        "amount_money": {"amount": 650, "currency": "GBP"},
        "location_id": HIGH_STREET,
    }
    created = client.request("POST", "/v2/payments", json=body).json()["payment"]
    assert [json.loads(b)["type"] for _, b in received] == ["payment.created", "payment.updated"]
    for headers, raw in received:
        VERIFIER.verify(WebhookRequest("POST", url, headers, raw), [SIGNING.local["secret"]], now=0)
        event = PaymentUpdatedEvent.model_validate_json(raw)
        assert event.data.object.payment.id == created["id"] and event.merchant_id
    forged = WebhookRequest("POST", url, received[0][0], received[0][1] + b" ")
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(forged, [SIGNING.local["secret"]], now=0)
