"""Shopify's sales read (``payments.list_online``) against the stand-in, in-process: the ``orders``
search with cursor pagination, the cost bucket, and how orders and refunds become payments.

Expectations are worked out from the seed orders (:data:`apps.shopify.standin.seed.SEED_ORDERS`,
REST shape) with plain ``Decimal`` arithmetic here, not with the action's own mapping.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from apps.shopify import APP, CONNECTION
from apps.shopify.actions import LIST_ONLINE_PAYMENTS, as_money
from apps.shopify.client import (
    ORDERS_PER_PAGE,
    ORDERS_QUERY,
    REFUNDS_PER_ORDER,
    ShopifyClient,
    TooManyRefunds,
)
from apps.shopify.models import MoneyBag
from apps.shopify.standin import DEFAULT_TOKEN, ShopifySandbox
from apps.shopify.standin.seed import SEED_ORDERS
from sandbox.base import SandboxRequest
from shared.actions import catalogue, provider
from shared.actions.payments import ListOnlinePayments
from shared.app import App
from shared.errors import PermanentError, RateLimited, TargetRejected
from shared.http import ApiClient
from shared.spec import Connection

from .test_client import Clock, api, client, posts

BEGIN = datetime(2026, 11, 20, tzinfo=UTC)
END = datetime(2026, 11, 21, tzinfo=UTC)


class Ctx:
    rt: Any = None

    def __init__(self, sandbox: ShopifySandbox) -> None:
        self.sandbox = sandbox

    def api(self, app: App, connection: Connection) -> ApiClient:
        assert (app, connection) == (APP, CONNECTION)
        return api(self.sandbox)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> ShopifySandbox:
    return ShopifySandbox(clock=clock)


def _in_day(text: str) -> bool:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return BEGIN <= when < END


def pence(text: str) -> int:
    return int(Decimal(text) * 100)


def test_the_day_is_read_in_pages_through_the_cursor_with_only_the_fields_asked(
    sandbox: ShopifySandbox,
) -> None:
    orders = client(sandbox).orders_updated_since(BEGIN)
    updated = [
        o for o in SEED_ORDERS if datetime.fromisoformat(o["updated_at"].replace("Z", "+00:00")) >= BEGIN
    ]
    assert [o.id for o in orders] == [
        f"gid://shopify/Order/{o['id']}" for o in sorted(updated, key=lambda o: o["id"])
    ]
    sent = posts(sandbox)
    assert len(sent) == -(-len(updated) // ORDERS_PER_PAGE) >= 2
    first, second = (s["json"]["variables"] for s in sent[:2])
    assert first["after"] is None and second["after"]
    assert first["query"] == "updated_at:>='2026-11-20T00:00:00Z'"
    assert first["first"] == ORDERS_PER_PAGE
    # The answer holds what the query selected and nothing else (no customer, no lines).
    page = sandbox.handle(
        SandboxRequest(
            "POST",
            "/admin/api/2026-04/graphql.json",
            headers={"x-shopify-access-token": DEFAULT_TOKEN},
            body=json.dumps({"query": ORDERS_QUERY, "variables": first}).encode(),
        )
    ).parsed()
    node = page["data"]["orders"]["nodes"][0]
    assert set(node) == {
        "id",
        "name",
        "processedAt",
        "displayFinancialStatus",
        "test",
        "totalPriceSet",
        "totalTipReceivedSet",
        "refunds",
    }
    assert page["extensions"]["cost"]["requestedQueryCost"] <= 1000


def test_the_action_counts_orders_processed_and_refunds_made_in_the_period(sandbox: ShopifySandbox) -> None:
    listed = LIST_ONLINE_PAYMENTS(Ctx(sandbox), ListOnlinePayments(begin_time=BEGIN, end_time=END))
    wanted = [o for o in SEED_ORDERS if _in_day(o["processed_at"]) and not o["test"]]
    assert sorted(p.id for p in listed.payments) == sorted(f"gid://shopify/Order/{o['id']}" for o in wanted)
    completed = [p for p in listed.payments if p.status == "completed"]
    paid = [o for o in wanted if o["financial_status"] in ("paid", "partially_refunded", "refunded")]
    assert len(completed) == len(paid)
    # Sales are the totals before returns, less tips; tips beside them.
    assert sum(p.amount.amount for p in completed if p.amount) == sum(
        pence(o["total_price"]) - pence(o["total_tip_received"]) for o in paid
    )
    assert sum(p.tip.amount for p in completed if p.tip) == sum(pence(o["total_tip_received"]) for o in paid)
    assert {p.status for p in listed.payments} == {"completed", "pending"}
    refunds = [r for o in SEED_ORDERS for r in o["refunds"] if _in_day(r["created_at"])]
    assert [r.id for r in listed.refunds] == [f"gid://shopify/Refund/{r['id']}" for r in refunds]
    assert [r.amount.amount for r in listed.refunds if r.amount] == [
        pence(r["transactions"][0]["amount"]) for r in refunds
    ]


def test_a_refund_made_later_is_found_on_its_own_day(sandbox: ShopifySandbox) -> None:
    order = next(o for o in SEED_ORDERS if o["financial_status"] == "paid" and _in_day(o["processed_at"]))
    refund = {
        "id": 9299999999999,
        "order_id": order["id"],
        "created_at": "2026-12-01T10:00:00Z",
        "transactions": [{"kind": "refund", "status": "success", "amount": "1.50"}],
    }
    sandbox.handle(SandboxRequest("POST", "/_refunds", body=json.dumps(refund).encode()))
    day = ListOnlinePayments(
        begin_time=datetime(2026, 12, 1, tzinfo=UTC), end_time=datetime(2026, 12, 2, tzinfo=UTC)
    )
    listed = LIST_ONLINE_PAYMENTS(Ctx(sandbox), day)
    assert listed.payments == []
    assert [(r.id, r.amount.amount if r.amount else None) for r in listed.refunds] == [
        ("gid://shopify/Refund/9299999999999", 150)
    ]


def test_the_read_is_throttled_by_the_bucket_and_the_wait_is_enough(
    sandbox: ShopifySandbox, clock: Clock
) -> None:
    shopify = client(sandbox)
    waited: RateLimited | None = None
    for _ in range(20):
        try:
            shopify.orders_updated_since(BEGIN)
        except RateLimited as exc:
            waited = exc
            break
    assert waited is not None and waited.retry_after is not None and waited.retry_after > 0
    clock.now += waited.retry_after
    assert shopify.orders_updated_since(END)  # the bucket holds a page again


def test_an_order_with_more_refunds_than_a_read_holds_is_refused(sandbox: ShopifySandbox) -> None:
    order = sandbox.shop.orders[SEED_ORDERS[5]["id"]]
    order["refunds"] = [
        {"id": 9300000000000 + i, "created_at": "2026-11-20T20:00:00Z", "transactions": []}
        for i in range(REFUNDS_PER_ORDER)
    ]
    with pytest.raises(TooManyRefunds, match=f"{REFUNDS_PER_ORDER} or more refunds"):
        client(sandbox).orders_updated_since(BEGIN)


def test_the_stand_in_refuses_a_search_term_it_cannot_filter_and_a_bad_cursor(
    sandbox: ShopifySandbox,
) -> None:
    shopify: ShopifyClient = client(sandbox)
    variables = {"first": 5, "after": None, "query": "tag:wholesale", "refunds": 1}
    with pytest.raises(TargetRejected, match="tag:wholesale"):
        shopify.execute(ORDERS_QUERY, variables, operation="orders")
    with pytest.raises(TargetRejected, match="Invalid cursor"):
        shopify.execute(ORDERS_QUERY, {**variables, "query": "", "after": "nope"}, operation="orders")


def test_money_is_exact_minor_units() -> None:
    bag = MoneyBag.model_validate({"shopMoney": {"amount": "1234.5", "currencyCode": "GBP"}})
    money = as_money(bag)
    assert money is not None and (money.amount, money.currency, money.exponent) == (123450, "GBP", 2)
    yen = as_money(MoneyBag.model_validate({"shopMoney": {"amount": "1200.0", "currencyCode": "JPY"}}))
    assert yen is not None and (yen.amount, yen.exponent) == (1200, 0)
    with pytest.raises(PermanentError, match="not whole minor units"):
        as_money(MoneyBag.model_validate({"shopMoney": {"amount": "1.005", "currencyCode": "GBP"}}))


def test_the_catalogue_keeps_offering_squares_payments_list() -> None:
    offered = {a.name: a.app for a in catalogue()}
    assert offered["payments.list"] == "square"
    assert offered["payments.list_online"] == "shopify"
    assert provider("payments.list_online", "shopify") is LIST_ONLINE_PAYMENTS
