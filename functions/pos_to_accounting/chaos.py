"""pos_to_accounting under the chaos harness: till money (Square, Stripe) -> one QuickBooks receipt each.

A sale must cause one Sales Receipt, a refund one Refund Receipt, each for the money taken (or
refunded): ``qb.sales_receipt`` / ``qb.refund_receipt`` and ``qb.total``, counted by the QuickBooks
observer (``apps/quickbooks/chaos.py``) against what :func:`_remember` tells it to expect.

Under ``--reorder`` (``SEQUENCES``), one payment has its whole story delivered shuffled and
duplicated: Square's ``payment.created``, ``payment.updated`` (the fee), and per refund (one or two)
``refund.created``, ``refund.updated`` and the ``payment.updated`` it causes - the notifications
the Square sandbox built, in the order it built them; Stripe's ``charge.succeeded``, a
``charge.updated`` (a new description) and one or two ``charge.refunded`` with the cumulative
``amount_refunded``. QuickBooks must end with one Sales Receipt for the payment and one Refund
Receipt per refund, each with its total.
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from apps.quickbooks.chaos import ExpectedReceipt, expect_receipt
from infra.ops.chaos.config import POISON_MARK
from infra.ops.chaos.generate import ALNUM, compact, rng, sample, token, uuid4
from infra.ops.chaos.protocol import EffectKey, EventFactory, Outgoing, Planned
from infra.ops.chaos.state import ChaosRun

__all__ = ["FACTORIES", "SEQUENCES"]

#: The share of Square / Stripe events that are refunds (the rest are sales).
REFUND_SHARE = 0.35
_MONEY = "pos_to_accounting.money"
_STORIES = "pos_to_accounting.stories"


def _is_refund(p: Planned) -> bool:
    return rng(p, "money-kind").random() < REFUND_SHARE


@dataclass(frozen=True)
class _Money:
    """One pos_to_accounting event: the webhook, and the QuickBooks receipt it must cause."""

    event_id: str
    body: bytes
    #: ``salesreceipt`` or ``refundreceipt``.
    entity: str
    #: The id the receipt's PrivateNote names: the payment (sale) or refund id.
    money_id: str
    #: The receipt's ``TotalAmt`` in pence.
    total: int


def _remember(run: ChaosRun, p: Planned, make: Callable[[], _Money]) -> _Money:
    money = run.remember(_MONEY, p.index, make)
    expect_receipt(run, ExpectedReceipt(money.entity, money.money_id, p.key, money.total))
    return money


def _money_of(run: ChaosRun, p: Planned) -> _Money:
    found: _Money | None = run.memory(_MONEY).get(p.index)
    if found is not None:
        return found
    if p.factory.trigger != "stripe":  # Stripe events are made on demand; Square ones in prepare
        raise RuntimeError(f"{p.key}: no Square payment was prepared for this event")
    return _remember(run, p, lambda: _stripe_money(run, p))


def money_event(run: ChaosRun, p: Planned) -> Outgoing:
    money = _money_of(run, p)
    return Outgoing(money.event_id, money.body)


def effects(p: Planned) -> Sequence[EffectKey]:
    kind = "qb.refund_receipt" if _is_refund(p) else "qb.sales_receipt"
    return [(kind, p.key), ("qb.total", p.key)]


# --- Square ------------------------------------------------------------------------------------------


@contextmanager
def _square_webhooks_muted(sandbox: Any) -> Iterator[None]:
    """Square would announce the set-up payments itself; the harness sends them, under faults, later."""
    with sandbox.lock:
        saved, sandbox.webhooks.subscriptions = sandbox.webhooks.subscriptions, []
    try:
        yield
    finally:
        with sandbox.lock:
            sandbox.webhooks.subscriptions = saved


def prepare_square(run: ChaosRun, planned: Sequence[Planned]) -> None:
    """Orders rung up at the till, paid (CreatePayment) and some refunded (RefundPayment) in Square.

    pos_to_accounting reads each sale's order back (RetrieveOrder) to itemise it, so the order and
    the payment must exist in the Square sandbox. The sandbox has no Orders API to create an order
    with, so the order is put in place in-process (as the till would have made it, VAT on cakes),
    then paid and refunded through the sandbox's own Payments and Refunds APIs; the webhook bodies
    are the notifications the sandbox built for them (``payment.updated`` COMPLETED,
    ``refund.updated`` COMPLETED), sent later by the harness, under faults.

    Poison: a sale with a line QuickBooks cannot book (an item withdrawn, named with the poison mark:
    QuickBooks answers a ValidationFault), a refund of a payment taken in euros (pos_to_accounting
    refuses to book another currency at the wrong value).
    """
    sandbox: Any = run.runtime.sandboxes["square"]
    with _square_webhooks_muted(sandbox):
        for p in planned:
            _remember(run, p, functools.partial(_square_money, run, sandbox, p))


def _square_money(run: ChaosRun, sandbox: Any, p: Planned) -> _Money:
    from apps.square.standin import LOCATIONS, SeedLine

    draw = rng(p, "square")
    refund = _is_refund(p)
    currency = "EUR" if p.poison and refund else "GBP"
    location = draw.choice(sorted(LOCATIONS))
    with sandbox.lock:
        variations = {
            o.data["sku"]: o
            for o in sandbox.catalog.values()
            if o.type == "ITEM_VARIATION" and not o.is_deleted
        }
    lines: list[tuple[Any, Any]] = []
    for sku in draw.sample(sorted(variations), draw.randint(1, 3)):
        price = int(variations[sku].data["price_money"]["amount"])
        lines.append((variations[sku], SeedLine(sku, str(draw.randint(1, 3)), price)))
    if p.poison and not refund:
        lines.append((None, SeedLine(f"{POISON_MARK} {p.key} (withdrawn item)", "1", 450)))
    order_id = token(p, "square-order", 27)
    with sandbox.lock:
        order = sandbox._order_json(order_id, location, lines, currency, time.time() - 120)
        sandbox.orders[order_id] = order
        amount = int(order["total_money"]["amount"])
    base = f"{run.runtime.url}/_sandbox/square"
    headers = {"authorization": f"Bearer {sandbox.token}"}
    tip = 0 if refund else draw.choice((0, 0, 0, 50, 100, 150))
    request: dict[str, Any] = {
        "idempotency_key": f"chaos-{p.key}-payment",
        "amount_money": {"amount": amount, "currency": currency},
        "order_id": order_id,
        "location_id": location,
        "autocomplete": True,
        "note": f"Chaos sale {p.key}",
    }
    if tip:
        request["tip_money"] = {"amount": tip, "currency": currency}
    if draw.random() < 0.25:
        given = -(-(amount + tip) // 500) * 500
        request |= {
            "source_id": "CASH",
            "cash_details": {"buyer_supplied_money": {"amount": given, "currency": currency}},
        }
    else:
        request["source_id"] = "cnon:card-nonce-ok"
    answer = run.http.post(f"{base}/v2/payments", json=request, headers=headers)
    if answer.status_code != 200:
        raise RuntimeError(
            f"could not create the Square payment of {p.key}: {answer.status_code} {answer.text[:300]}"
        )
    payment = answer.json()["payment"]
    if not refund:
        payload = _square_notification(sandbox, "payment.updated", payment["id"])
        total = int(payment["total_money"]["amount"])
        return _Money(
            f"square:payment:{payment['id']}", compact(payload), "salesreceipt", payment["id"], total
        )
    refunded = max(100, amount * draw.choice((25, 50, 100)) // 100) if amount > 100 else amount
    request = {
        "idempotency_key": f"chaos-{p.key}-refund",
        "payment_id": payment["id"],
        "amount_money": {"amount": refunded, "currency": currency},
        "reason": f"Chaos refund {p.key}: cake damaged in transit",
    }
    answer = run.http.post(f"{base}/v2/refunds", json=request, headers=headers)
    if answer.status_code != 200:
        raise RuntimeError(
            f"could not refund the Square payment of {p.key}: {answer.status_code} {answer.text[:300]}"
        )
    refund_id = answer.json()["refund"]["id"]
    payload = _square_notification(sandbox, "refund.updated", refund_id)
    return _Money(f"square:refund:{refund_id}", compact(payload), "refundreceipt", refund_id, refunded)


def _square_notification(sandbox: Any, event_type: str, object_id: str) -> dict[str, Any]:
    """The last notification the Square sandbox built of ``event_type`` for ``object_id``."""
    with sandbox.lock:
        for payload in reversed(sandbox.notifications):
            if payload["type"] == event_type and payload["data"]["id"] == object_id:
                return copy.deepcopy(dict(payload))
    raise RuntimeError(f"the Square sandbox built no {event_type} for {object_id}")


# --- Stripe ------------------------------------------------------------------------------------------


def _stripe_money(run: ChaosRun, p: Planned) -> _Money:
    """``charge.succeeded`` or ``charge.refunded`` (Stripe API 2026-04), from the samples.

    Poison: a charge for an item QuickBooks refuses (the poison mark in the description: a
    ValidationFault), a refund of a charge taken in dollars (refused, never booked at the wrong value).
    """
    draw = rng(p, "stripe")
    refund = _is_refund(p)
    body = sample(
        "pos_to_accounting", "stripe_charge_refunded_partial" if refund else "stripe_charge_succeeded"
    )
    charge = body["data"]["object"]
    charge_id = "ch_3" + token(p, "stripe-charge", 23, ALNUM)
    amount = draw.randrange(300, 9000, 5)
    description = f"Online order #{p.key}: celebration cake (collection Saturday)"
    if p.poison and not refund:
        description = f"Online order #{p.key}: {POISON_MARK} gift box (item withdrawn)"
    brand = draw.choice(("visa", "visa", "mastercard", "amex"))
    card = charge["payment_method_details"]["card"]
    card |= {"brand": brand, "network": brand, "amount_authorized": amount}
    card["overcapture"]["maximum_amount_capturable"] = amount
    charge |= {
        "id": charge_id,
        "amount": amount,
        "amount_captured": amount,
        "currency": "usd" if p.poison and refund else "gbp",
        "description": description,
        "created": int(run.t0) - 3600,
        "metadata": {"order_number": p.key},
        "payment_intent": "pi_3" + token(p, "stripe-pi", 23, ALNUM),
        "balance_transaction": "txn_3" + token(p, "stripe-txn", 23, ALNUM),
    }
    body |= {
        "id": "evt_3" + token(p, "stripe-event", 23, ALNUM),
        "created": int(run.t0),
        "request": {
            "id": "req_" + token(p, "stripe-req", 14, ALNUM),
            "idempotency_key": uuid4(p, "stripe-idem"),
        },
    }
    if not refund:
        return _Money(f"stripe:payment:{charge_id}", compact(body), "salesreceipt", charge_id, amount)
    before = draw.choice((0, 0, amount // 4))
    delta = max(1, (amount - before) * draw.choice((25, 50, 100)) // 100)
    after = before + delta
    charge |= {"amount_refunded": after, "refunded": after == amount}
    body["data"]["previous_attributes"] = {"amount_refunded": before}
    refund_id = f"{charge_id}:{after}"
    return _Money(f"stripe:refund:{refund_id}", compact(body), "refundreceipt", refund_id, delta)


def prepare_stripe(run: ChaosRun, planned: Sequence[Planned]) -> None:
    for p in planned:
        _money_of(run, p)


# --- sequences (--reorder) --------------------------------------------------------------------------


def _refunds(p: Planned) -> int:
    """One or two refunds of the payment."""
    return 1 + int(rng(p, "seq-refunds").random() < 0.5)


def _refund_key(p: Planned, j: int) -> str:
    return f"{p.key}/refund{j + 1}"


def _square_changes(p: Planned) -> int:
    return 2 + 3 * _refunds(p)


def _stripe_changes(p: Planned) -> int:
    return 2 + _refunds(p)


def _expected_receipts(p: Planned) -> list[EffectKey]:
    refunds = [_refund_key(p, j) for j in range(_refunds(p))]
    return [
        ("qb.sales_receipt", p.key),
        ("qb.total", p.key),
        *(("qb.refund_receipt", k) for k in refunds),
        *(("qb.total", k) for k in refunds),
    ]


def prepare_square_stories(run: ChaosRun, planned: Sequence[Planned]) -> None:
    """Each story made in the Square sandbox - order, payment, refunds - with its webhooks muted:
    the notifications it built are what the harness sends later, shuffled."""
    sandbox: Any = run.runtime.sandboxes["square"]
    with _square_webhooks_muted(sandbox):
        for p in planned:
            run.remember(_STORIES, p.index, functools.partial(_square_story, run, sandbox, p))


def _square_story(run: ChaosRun, sandbox: Any, p: Planned) -> list[Outgoing]:
    from apps.square.standin import LOCATIONS, SeedLine

    draw = rng(p, "seq-square")
    with sandbox.lock:
        variations = {
            o.data["sku"]: o
            for o in sandbox.catalog.values()
            if o.type == "ITEM_VARIATION" and not o.is_deleted
        }
        lines = []
        for sku in draw.sample(sorted(variations), draw.randint(1, 3)):
            price = int(variations[sku].data["price_money"]["amount"])
            lines.append((variations[sku], SeedLine(sku, str(draw.randint(2, 4)), price)))
        order_id = token(p, "seq-square-order", 27)
        location = draw.choice(sorted(LOCATIONS))
        sandbox.orders[order_id] = sandbox._order_json(order_id, location, lines, "GBP", time.time() - 120)
        amount = int(sandbox.orders[order_id]["total_money"]["amount"])
        first_notification = len(sandbox.notifications)
    base, headers = f"{run.runtime.url}/_sandbox/square", {"authorization": f"Bearer {sandbox.token}"}
    answer = run.http.post(
        f"{base}/v2/payments",
        json={
            "idempotency_key": f"chaos-{p.key}-seq-payment",
            "amount_money": {"amount": amount, "currency": "GBP"},
            "order_id": order_id,
            "location_id": location,
            "autocomplete": True,
            "source_id": "cnon:card-nonce-ok",
            "note": f"Chaos story {p.key}",
        },
        headers=headers,
    )
    if answer.status_code != 200:
        raise RuntimeError(
            f"could not create the Square payment of {p.key}: {answer.status_code} {answer.text[:300]}"
        )
    payment = answer.json()["payment"]
    expect_receipt(
        run, ExpectedReceipt("salesreceipt", payment["id"], p.key, int(payment["total_money"]["amount"]))
    )
    left = amount
    for j in range(_refunds(p)):
        refunded = max(1, left // (2 if j + 1 < _refunds(p) else 3))
        left -= refunded
        answer = run.http.post(
            f"{base}/v2/refunds",
            json={
                "idempotency_key": f"chaos-{p.key}-seq-refund-{j}",
                "payment_id": payment["id"],
                "amount_money": {"amount": refunded, "currency": "GBP"},
                "reason": f"Chaos story refund {j + 1}",
            },
            headers=headers,
        )
        if answer.status_code != 200:
            raise RuntimeError(f"could not refund {p.key}: {answer.status_code} {answer.text[:300]}")
        refund_id = answer.json()["refund"]["id"]
        expect_receipt(run, ExpectedReceipt("refundreceipt", refund_id, _refund_key(p, j), refunded))
    with sandbox.lock:
        built = [copy.deepcopy(dict(n)) for n in sandbox.notifications[first_notification:]]
    if len(built) != _square_changes(p):
        raise RuntimeError(
            f"{p.key}: the Square sandbox built {len(built)} notifications, {_square_changes(p)} expected"
        )
    return [Outgoing(str(n["event_id"]), compact(n)) for n in built]


def _square_change(run: ChaosRun, p: Planned, n: int) -> Outgoing:
    story: list[Outgoing] | None = run.memory(_STORIES).get(p.index)
    if story is None:
        raise RuntimeError(f"{p.key}: no Square story was prepared for this event")
    return story[n]


def _stripe_change(run: ChaosRun, p: Planned, n: int) -> Outgoing:
    """Change ``n`` of a Stripe charge: succeeded, updated, then each refund (cumulative amounts)."""
    return run.remember(_STORIES, p.index, lambda: _stripe_story(run, p))[n]


def _stripe_story(run: ChaosRun, p: Planned) -> list[Outgoing]:
    draw = rng(p, "seq-stripe")
    charge_id = "ch_3" + token(p, "seq-stripe-charge", 23, ALNUM)
    amount = draw.randrange(1000, 9000, 5)
    out: list[Outgoing] = []

    def event(template: str, n: int, refunded: int, before: int | None) -> dict[str, Any]:
        body = sample("pos_to_accounting", template)
        charge = body["data"]["object"]
        card = charge["payment_method_details"]["card"]
        card |= {"amount_authorized": amount}
        card["overcapture"]["maximum_amount_capturable"] = amount
        charge |= {
            "id": charge_id,
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": refunded,
            "refunded": refunded == amount,
            "currency": "gbp",
            "description": f"Online order {p.seed}x{p.index}" + (" (gift wrapped)" if n else ""),
            "created": int(run.t0) - 3600,
            "metadata": {"order_number": f"{p.seed}x{p.index}"},
            "payment_intent": "pi_3" + token(p, "seq-stripe-pi", 23, ALNUM),
            "balance_transaction": "txn_3" + token(p, "seq-stripe-txn", 23, ALNUM),
        }
        body |= {
            "id": "evt_3" + token(p, f"seq-stripe-event-{n}", 23, ALNUM),
            "created": int(run.t0) - 3600 + 60 * n,
            "request": {"id": "req_" + token(p, f"seq-stripe-req-{n}", 14, ALNUM), "idempotency_key": None},
        }
        if before is not None:
            body["data"]["previous_attributes"] = {"amount_refunded": before}
        else:
            body["data"].pop("previous_attributes", None)
        return body

    out.append(Outgoing(f"stripe:payment:{charge_id}", compact(event("stripe_charge_succeeded", 0, 0, None))))
    updated = event("stripe_charge_succeeded", 1, 0, None)
    updated["type"] = "charge.updated"
    updated["data"]["previous_attributes"] = {"description": f"Online order {p.seed}x{p.index}"}
    out.append(Outgoing(f"stripe:ignored:{updated['id']}", compact(updated)))
    expect_receipt(run, ExpectedReceipt("salesreceipt", charge_id, p.key, amount))
    refunded = 0
    for j in range(_refunds(p)):
        delta = (amount - refunded) // (2 if j + 1 < _refunds(p) else 3)
        before, refunded = refunded, refunded + delta
        body = event("stripe_charge_refunded_partial", 2 + j, refunded, before)
        out.append(Outgoing(f"stripe:refund:{charge_id}:{refunded}", compact(body)))
        expect_receipt(
            run, ExpectedReceipt("refundreceipt", f"{charge_id}:{refunded}", _refund_key(p, j), delta)
        )
    return out


def prepare_stripe_stories(run: ChaosRun, planned: Sequence[Planned]) -> None:
    for p in planned:
        _stripe_change(run, p, 0)


FACTORIES = (
    EventFactory(
        "pos_to_accounting", "square", weight=1.5, build=money_event, effects=effects, prepare=prepare_square
    ),
    EventFactory(
        "pos_to_accounting", "stripe", weight=1.0, build=money_event, effects=effects, prepare=prepare_stripe
    ),
)
SEQUENCES = (
    EventFactory(
        "pos_to_accounting",
        "square",
        weight=1.5,
        build=lambda run, p: _square_change(run, p, 0),
        effects=_expected_receipts,
        prepare=prepare_square_stories,
        versions=_square_changes,
        build_version=_square_change,
    ),
    EventFactory(
        "pos_to_accounting",
        "stripe",
        weight=1.0,
        build=lambda run, p: _stripe_change(run, p, 0),
        effects=_expected_receipts,
        prepare=prepare_stripe_stories,
        versions=_stripe_changes,
        build_version=_stripe_change,
    ),
)
