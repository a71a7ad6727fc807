"""daily_sales_report with online sales (``online: shopify``): through the production handler with the
Square, Shopify and Slack stand-ins, and the online arithmetic and templates on their own.

The online figures expected are worked out here from the Shopify stand-in's seed orders
(:data:`apps.shopify.standin.seed.SEED_ORDERS`, REST shape) with ``Decimal`` - not with the
integration's or the Shopify action's own code.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from apps.shopify.standin import ShopifySandbox
from apps.shopify.standin.seed import SEED_ORDERS
from apps.slack.standin import SlackSandbox
from functions.daily_sales_report.content import template_context
from functions.daily_sales_report.models import Report, Settings
from functions.daily_sales_report.report import MixedCurrency, build_online, build_report
from functions.daily_sales_report.spec import TIMEZONE
from functions.daily_sales_report.worker import TEMPLATES
from sandbox.base import SandboxApp
from shared.actions.payments import Payment, Refund
from shared.runtime import Runtime
from tests.support import dlq_messages, drain

from .test_daily_sales_report import (
    OWNER,
    SETTINGS,
    control,
    emails,
    expected_for,
    money,
    payment,
    pounds,
    requests,
    tick,
)

DAY = date(2026, 11, 20)
BEGIN, END = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)  # GMT: London = UTC


def _in_day(text: str) -> bool:
    return BEGIN <= datetime.fromisoformat(text.replace("Z", "+00:00")) < END


def _pence(text: str) -> int:
    return int(Decimal(text) * 100)


def expected_online() -> tuple[int, int, int, int, int]:
    """(paid orders, their sales less tips, tips, refunds made that day, their sum) from the seed."""
    paid = [
        o
        for o in SEED_ORDERS
        if _in_day(o["processed_at"])
        and not o["test"]
        and o["financial_status"] in ("paid", "partially_refunded", "refunded")
    ]
    refunds = [
        t["amount"]
        for o in SEED_ORDERS
        for r in o["refunds"]
        if _in_day(r["created_at"])
        for t in r["transactions"]
        if t["status"] == "success"
    ]
    gross = sum(_pence(o["total_price"]) - _pence(o["total_tip_received"]) for o in paid)
    tips = sum(_pence(o["total_tip_received"]) for o in paid)
    return len(paid), gross, tips, len(refunds), sum(_pence(a) for a in refunds)


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    settings = {**SETTINGS.model_dump(mode="json"), "online": "shopify"}
    runtime: Runtime = make_runtime("daily_sales_report", retry_scale=0, settings_json=json.dumps(settings))
    return runtime


@pytest.fixture
def slack(sandboxes: dict[str, SandboxApp]) -> SlackSandbox:
    app = sandboxes["slack"]
    assert isinstance(app, SlackSandbox)
    return app


@pytest.fixture
def shopify(sandboxes: dict[str, SandboxApp]) -> ShopifySandbox:
    app = sandboxes["shopify"]
    assert isinstance(app, ShopifySandbox)
    return app


@pytest.fixture(autouse=True)
def _no_email_yet(aws: Any) -> None:
    assert emails() == []


def test_the_report_adds_the_online_shops_day_beside_the_tills(
    rt: Runtime, slack: SlackSandbox, shopify: ShopifySandbox
) -> None:
    tick(rt, "2026-11-21T07:00:00+00:00")
    drain(rt)
    assert dlq_messages(rt) == []
    till = expected_for(DAY)
    count, gross, tips, refund_count, refunded = expected_online()
    assert count > 25 and refund_count == 1 and tips > 0  # two pages, a refund of an older order, a tip
    assert len(requests(shopify, "graphql.json")) == 2
    total = till.net + gross - refunded
    (mail,) = emails(OWNER)
    assert mail.subject == (
        f"Bramble Bakery sales for Fri 20 Nov: net {pounds(total)} from {till.count} payments "
        f"and {count} online orders"
    )
    html = mail.body
    assert "Online (Shopify)" in html and "In shop (Square)" in html
    for figure in (total, till.net, gross - refunded, gross, refunded, tips):
        assert pounds(figure) in html
    assert "1 online order(s) were not paid" in html  # the pending one; the test order is not an order
    (message,) = slack.state()["messages"]
    blob = json.dumps(message, ensure_ascii=False)
    assert pounds(total) in blob and pounds(gross - refunded) in blob and f"({count} orders)" in blob


def test_without_online_sales_shopify_is_not_asked(
    make_runtime: Any, slack: SlackSandbox, shopify: ShopifySandbox
) -> None:
    rt: Runtime = make_runtime("daily_sales_report", retry_scale=0)
    tick(rt, "2026-11-21T07:00:00+00:00")
    drain(rt)
    (mail,) = emails(OWNER)
    assert requests(shopify, "graphql.json") == []
    assert "Online" not in mail.body and "online" not in mail.subject


def test_shopify_5xx_is_retried_and_the_report_sent_once(
    rt: Runtime, slack: SlackSandbox, shopify: ShopifySandbox
) -> None:
    control(
        shopify, "POST", "/_faults", {"kind": "status", "status": 503, "count": 1, "path": "graphql.json"}
    )
    tick(rt, "2026-11-21T07:00:00+00:00")
    drain(rt)
    assert dlq_messages(rt) == []
    assert [r["status"] for r in requests(shopify, "graphql.json")] == [503, 200, 200]
    assert len(emails(OWNER)) == 1 and len(slack.state()["messages"]) == 1


# --- the arithmetic and the templates on their own --------------------------------------------------


def order(pid: str, at: str, amount: int, currency: str = "GBP", **extra: Any) -> Payment:
    return Payment.model_validate(
        {"id": pid, "created_at": at, "status": "completed", "amount": money(amount, currency), **extra}
    )


def refund(rid: str, at: str, amount: int, currency: str = "GBP") -> Refund:
    return Refund.model_validate(
        {"id": rid, "created_at": at, "status": "completed", "amount": money(amount, currency)}
    )


def online(payments: list[Payment], refunds: list[Refund] | None = None) -> Any:
    return build_online(
        day=DAY,
        timezone=TIMEZONE,
        currency="GBP",
        label="Online (Shopify)",
        where="Shopify",
        payments=payments,
        refunds=refunds or [],
    )


def test_online_orders_count_on_their_day_once_and_only_when_paid() -> None:
    got = online(
        [
            order("O1", "2026-11-20T00:00:00Z", 1000, tip=money(100)),
            order("O1", "2026-11-20T00:00:00Z", 1000, tip=money(100)),  # on two pages
            order("O2", "2026-11-21T00:00:00Z", 2000),  # the next day
            order("O3", "2026-11-20T10:00:00Z", 500, status="pending"),
            order("O4", "2026-11-20T10:00:00Z", 700, status=None),  # a status Shopify added later
        ],
        [refund("R1", "2026-11-20T12:00:00Z", 300), refund("R2", "2026-11-19T23:59:59Z", 900)],
    )
    assert (got.count, got.gross, got.tips, got.not_completed) == (1, 1000, 100, 2)
    assert (got.refund_count, got.refunds, got.net) == (1, 300, 700)


def test_online_amounts_in_another_currency_stop_the_report_naming_shopify() -> None:
    with pytest.raises(MixedCurrency, match=r"in GBP, but Shopify has amounts in EUR \(1: O2\)"):
        online([order("O1", "2026-11-20T10:00:00Z", 500), order("O2", "2026-11-20T11:00:00Z", 700, "EUR")])


def _report(with_online: bool) -> Report:
    till = build_report(
        day=DAY,
        timezone=TIMEZONE,
        currency="GBP",
        payments=[payment("A", "2026-11-20T08:00:00Z", 650, tip=money(50))],
        refunds=[],
        locations=SETTINGS.locations,
    )
    if not with_online:
        return till
    shop = online([order("O1", "2026-11-20T09:00:00Z", 2400)], [refund("R1", "2026-11-20T12:00:00Z", 400)])
    return till.model_copy(update={"online": shop})


def test_totals_add_the_till_and_the_online_shop() -> None:
    both = _report(with_online=True)
    assert (both.net, both.total_net, both.total_count) == (650, 650 + 2000, 2)
    alone = _report(with_online=False)
    assert (alone.total_net, alone.total_count) == (alone.net, alone.count)
    # A report recorded before online sales existed still reads.
    assert Report.model_validate(alone.model_dump(mode="json")).online is None


def test_the_templates_show_the_online_row_only_when_there_is_one() -> None:
    mail = TEMPLATES.email("daily_report", template_context(_report(with_online=True), "Bramble Bakery"))
    assert mail.subject == "Bramble Bakery sales for Fri 20 Nov: net £26.50 from 1 payment and 1 online order"
    assert "Net sales       £26.50" in mail.text
    assert "In shop (Square)  £6.50" in mail.text and "Online (Shopify)  £20.00" in mail.text
    assert "Orders paid   £24.00  (1)" in mail.text and "Refunds       £4.00  (1)" in mail.text
    assert "Online (Shopify)" in mail.html and "£20.00" in mail.html
    plain = TEMPLATES.email("daily_report", template_context(_report(with_online=False), "Bramble Bakery"))
    assert "Online" not in plain.text + plain.html and plain.subject.endswith("from 1 payment")


def test_the_setting_names_a_shop_the_report_knows() -> None:
    with pytest.raises(ValidationError, match="online"):
        Settings.model_validate({**SETTINGS.model_dump(), "online": "etsy"})
    assert Settings.model_validate({**SETTINGS.model_dump(), "online": "shopify"}).online == "shopify"
