"""pos_to_accounting in any order: each sale and each refund booked once, whatever order they arrive in.

A payment's life - Square: created (APPROVED), completed (version 2), updated again after its refund
(version 3), two refunds each created PENDING then COMPLETED; Stripe: a charge, then two partial
refunds - is delivered in a seeded sample of its orders, one webhook sent twice, the queue drained
after each (so the order is the order of processing), then in one batch (processed concurrently).
The QuickBooks stand-in must end with one Sales Receipt for the sale and one Refund Receipt per
refund, at their amounts: nothing booked from a payment that is not complete, nothing twice.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from apps.quickbooks.standin import QuickBooksSandbox
from infra.local.samples import Sample
from sandbox.base import SandboxApp
from shared.runtime import Runtime
from tests.support import dlq_messages, drain, send_sample

from .test_pos_to_accounting import sample

PAYMENT = "GPZG3XWOBY6CFFET2CJAS74WTNQJ7"
REFUNDS = {"R1_ORDER_TEST": 1200, "R2_ORDER_TEST": 500}
CHARGE = "ch_3QmB7rLkDf2xYz9A1gH4jK5p"


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    made: Runtime = make_runtime("pos_to_accounting", retry_scale=0)
    return made


@pytest.fixture
def books(sandboxes: dict[str, SandboxApp]) -> QuickBooksSandbox:
    app = sandboxes["quickbooks"]
    assert isinstance(app, QuickBooksSandbox)
    return app


def _square(kind: str, n: int, obj: dict[str, Any]) -> Sample:
    s = sample("square_payment_completed")
    body = json.loads(s.body)
    body.update(type=kind, event_id=f"00000000-0000-4000-8000-{n:012d}")
    body["data"] = {
        "type": kind.split(".", maxsplit=1)[0],
        "id": obj["id"],
        "object": {kind.split(".", maxsplit=1)[0]: obj},
    }
    return replace(s, body=json.dumps(body).encode())


def square_story() -> list[Sample]:
    """One Square payment's webhooks, in the order Square sends them."""
    payment = json.loads(sample("square_payment_completed").body)["data"]["object"]["payment"]
    hooks = [
        _square("payment.created", 1, {**payment, "status": "APPROVED", "version": 1}),
        _square("payment.updated", 2, {**payment, "status": "COMPLETED", "version": 2}),
    ]
    refund = json.loads(sample("square_refund_completed").body)["data"]["object"]["refund"]
    for i, (refund_id, amount) in enumerate(REFUNDS.items()):
        money = {"amount": amount, "currency": "GBP"}
        one = {**refund, "id": refund_id, "payment_id": PAYMENT, "amount_money": money}
        hooks += [
            _square("refund.created", 10 + i, {**one, "status": "PENDING"}),
            _square("refund.updated", 20 + i, {**one, "status": "COMPLETED"}),
        ]
    refunded = {"amount": sum(REFUNDS.values()), "currency": "GBP"}
    hooks.append(_square("payment.updated", 3, {**payment, "version": 3, "refunded_money": refunded}))
    return hooks


def stripe_story() -> list[Sample]:
    """One Stripe charge's webhooks: captured, refunded 6.00, then 4.00 more."""
    charge = sample("stripe_charge_succeeded")
    refunded = sample("stripe_charge_refunded_partial")
    hooks = [charge]
    for i, (before, after) in enumerate(((0, 600), (600, 1000))):
        body = json.loads(refunded.body)
        body["id"] = f"evt_3QmB7rLkDf2xYz9A1OrderRf{i}"
        body["created"] += i
        body["data"]["object"]["amount_refunded"] = after
        body["data"]["previous_attributes"] = {"amount_refunded": before}
        hooks.append(replace(refunded, body=json.dumps(body).encode()))
    return hooks


def orders(n: int, seed: int, limit: int) -> list[tuple[int, ...]]:
    """A seeded sample of the orders of ``n`` deliveries, one of them sent twice."""
    rng = random.Random(seed)
    every = list(itertools.permutations(range(n)))
    out = []
    for order in rng.sample(every, min(limit, len(every))):
        again = rng.randrange(n)
        at = rng.randrange(order.index(again) + 1, n + 1)
        out.append((*order[:at], again, *order[at:]))
    return out


def totals(books: QuickBooksSandbox, entity: str) -> list[Decimal]:
    return sorted(Decimal(str(r["TotalAmt"])) for r in books.receipts_of(entity))


def square_judge(rt: Runtime, books: QuickBooksSandbox) -> None:
    assert totals(books, "salesreceipt") == [Decimal("38.50")]
    assert totals(books, "refundreceipt") == [Decimal("5.00"), Decimal("12.00")]
    assert not dlq_messages(rt)


def stripe_judge(rt: Runtime, books: QuickBooksSandbox) -> None:
    assert totals(books, "salesreceipt") == [Decimal("24.00")]
    assert totals(books, "refundreceipt") == [Decimal("4.00"), Decimal("6.00")]
    assert not dlq_messages(rt)


@pytest.mark.parametrize("order", orders(7, 31, 10), ids=lambda o: "-".join(map(str, o)))
def test_a_square_payment_and_its_refunds_in_any_order_are_each_booked_once(
    order: tuple[int, ...], rt: Runtime, books: QuickBooksSandbox
) -> None:
    hooks = square_story()
    for i in order:
        assert send_sample(rt, hooks[i])["statusCode"] == 202
        drain(rt)
    square_judge(rt, books)


def test_a_square_payment_and_its_refunds_in_one_batch_are_each_booked_once(
    rt: Runtime, books: QuickBooksSandbox
) -> None:
    hooks = square_story()
    for hook in reversed([*hooks, hooks[4], hooks[1]]):  # refunds first, duplicates racing their originals
        assert send_sample(rt, hook)["statusCode"] == 202
    drain(rt)
    square_judge(rt, books)


@pytest.mark.parametrize("order", orders(3, 32, 6), ids=lambda o: "-".join(map(str, o)))
def test_a_stripe_charge_and_its_refunds_in_any_order_are_each_booked_once(
    order: tuple[int, ...], rt: Runtime, books: QuickBooksSandbox
) -> None:
    hooks = stripe_story()
    for i in order:
        assert send_sample(rt, hooks[i])["statusCode"] == 202
        drain(rt)
    stripe_judge(rt, books)


def test_two_stripe_refunds_racing_in_one_batch_are_both_booked(
    rt: Runtime, books: QuickBooksSandbox
) -> None:
    hooks = stripe_story()
    for hook in (hooks[2], hooks[1], hooks[2], hooks[0]):
        assert send_sample(rt, hook)["statusCode"] == 202
    drain(rt)
    stripe_judge(rt, books)
