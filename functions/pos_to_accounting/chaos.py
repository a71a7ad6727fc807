"""pos_to_accounting under the chaos harness: till and web shop money (Square, Stripe, Shopify) -> one
entry each in the books the settings choose.

Which books is the run's ``accounting_app`` (``settings.local.json``, or ``switchboard chaos --setting
pos_to_accounting.accounting_app=xero``): each factory is made for it (``EventFactory.configure``).

* QuickBooks: a sale must cause one Sales Receipt, a refund one Refund Receipt, each for the money
  taken (or refunded): ``qb.sales_receipt`` / ``qb.refund_receipt`` and ``qb.total``, counted by the
  QuickBooks observer (``apps/quickbooks/chaos.py``) against what :func:`_expect` tells it to expect;
* Xero: a sale one invoice, a refund one credit note, each for the money and paid: ``xero.invoice`` /
  ``xero.credit_note`` and ``xero.total`` (``apps/xero/chaos.py``).

Shopify events are ``orders/paid`` (the order of the ``shopify_orders_paid`` sample - its lines, a
discount, shipping, zero-rated croissants and a tip - under an order id of the event's own) and
``refunds/create`` (a refund of some of an order, its amount drawn), signed as Shopify signs, with its
topic and shop headers. Poison: an order with a line the books refuse (the poison mark in its name), a
refund paid back in dollars (refused, never booked at the wrong value).

Under ``--reorder`` (``SEQUENCES``), one payment has its whole story delivered shuffled and
duplicated: Square's ``payment.created``, ``payment.updated`` (the fee), and per refund (one or two)
``refund.created``, ``refund.updated`` and the ``payment.updated`` it causes - the notifications
the Square sandbox built, in the order it built them; Stripe's ``charge.succeeded``, a
``charge.updated`` (a new description) and one or two ``charge.refunded`` with the cumulative
``amount_refunded``. The books must end with one sale entry for the payment and one refund entry per
refund, each with its total.
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apps.quickbooks.chaos import ExpectedReceipt, expect_receipt
from apps.xero.chaos import ExpectedDocument, expect_document
from infra.ops.chaos.config import POISON_MARK
from infra.ops.chaos.generate import ALNUM, compact, rng, sample, token, uuid4
from infra.ops.chaos.protocol import EffectKey, EventFactory, Outgoing, Planned
from infra.ops.chaos.state import ChaosRun

__all__ = ["FACTORIES", "SEQUENCES"]

#: The share of Square / Stripe / Shopify events that are refunds (the rest are sales).
REFUND_SHARE = 0.35
_MONEY = "pos_to_accounting.money"
_STORIES = "pos_to_accounting.stories"


def _is_refund(p: Planned) -> bool:
    return rng(p, "money-kind").random() < REFUND_SHARE


@dataclass(frozen=True)
class _Money:
    """One pos_to_accounting event: the webhook, and the entry it must cause in the books."""

    event_id: str
    body: bytes
    #: A refund (Refund Receipt, credit note) or a sale (Sales Receipt, invoice).
    refund: bool
    #: The id the entry's note (Reference) names: the payment, order (sale) or refund id.
    money_id: str
    #: The entry's total in pence.
    total: int
    #: The provider's own headers (Shopify's topic and shop).
    headers: Mapping[str, str] | None = None


#: The effect kinds of a sale and a refund in each books, and of its total check.
_KINDS: dict[str, tuple[str, str, str]] = {
    "quickbooks": ("qb.sales_receipt", "qb.refund_receipt", "qb.total"),
    "xero": ("xero.invoice", "xero.credit_note", "xero.total"),
}


def _expect(run: ChaosRun, app: str, refund: bool, money_id: str, key: str, total: int) -> None:
    """Tell the books' observer which entry ``key`` must cause."""
    if app == "xero":
        expect_document(run, ExpectedDocument("creditnote" if refund else "invoice", money_id, key, total))
    else:
        entity = "refundreceipt" if refund else "salesreceipt"
        expect_receipt(run, ExpectedReceipt(entity, money_id, key, total))


def _remember(run: ChaosRun, p: Planned, make: Callable[[], _Money], app: str) -> _Money:
    money = run.remember(_MONEY, p.index, make)
    _expect(run, app, money.refund, money.money_id, p.key, money.total)
    return money


def _money_of(run: ChaosRun, p: Planned, app: str) -> _Money:
    found: _Money | None = run.memory(_MONEY).get(p.index)
    if found is not None:
        return found
    if p.factory.trigger == "stripe":  # Stripe and Shopify events are made on demand; Square's in prepare
        return _remember(run, p, lambda: _stripe_money(run, p), app)
    if p.factory.trigger == "shopify":
        return _remember(run, p, lambda: _shopify_money(run, p), app)
    raise RuntimeError(f"{p.key}: no Square payment was prepared for this event")


def money_event(run: ChaosRun, p: Planned, *, app: str) -> Outgoing:
    money = _money_of(run, p, app)
    return Outgoing(money.event_id, money.body, money.headers or {})


def effects(p: Planned, *, app: str) -> Sequence[EffectKey]:
    sale, refund, total = _KINDS[app]
    return [(refund if _is_refund(p) else sale, p.key), (total, p.key)]


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


def prepare_square(run: ChaosRun, planned: Sequence[Planned], *, app: str) -> None:
    """Orders rung up at the till, paid (CreatePayment) and some refunded (RefundPayment) in Square.

    pos_to_accounting reads each sale's order back (RetrieveOrder) to itemise it, so the order and
    the payment must exist in the Square sandbox. The sandbox has no Orders API to create an order
    with, so the order is put in place in-process (as the till would have made it, VAT on cakes),
    then paid and refunded through the sandbox's own Payments and Refunds APIs; the webhook bodies
    are the notifications the sandbox built for them (``payment.updated`` COMPLETED,
    ``refund.updated`` COMPLETED), sent later by the harness, under faults.

    Poison: a sale with a line the books cannot book (an item withdrawn, named with the poison mark:
    QuickBooks answers a ValidationFault, Xero a ValidationException), a refund of a payment taken in
    euros (pos_to_accounting refuses to book another currency at the wrong value).
    """
    sandbox: Any = run.runtime.sandboxes["square"]
    with _square_webhooks_muted(sandbox):
        for p in planned:
            _remember(run, p, functools.partial(_square_money, run, sandbox, p), app)


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
        return _Money(f"square:payment:{payment['id']}", compact(payload), False, payment["id"], total)
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
    return _Money(f"square:refund:{refund_id}", compact(payload), True, refund_id, refunded)


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

    Poison: a charge for an item the books refuse (the poison mark in the description: a
    ValidationFault / ValidationException), a refund of a charge taken in dollars (refused, never booked at the wrong value).
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
        return _Money(f"stripe:payment:{charge_id}", compact(body), False, charge_id, amount)
    before = draw.choice((0, 0, amount // 4))
    delta = max(1, (amount - before) * draw.choice((25, 50, 100)) // 100)
    after = before + delta
    charge |= {"amount_refunded": after, "refunded": after == amount}
    body["data"]["previous_attributes"] = {"amount_refunded": before}
    refund_id = f"{charge_id}:{after}"
    return _Money(f"stripe:refund:{refund_id}", compact(body), True, refund_id, delta)


def prepare_on_demand(run: ChaosRun, planned: Sequence[Planned], *, app: str) -> None:
    for p in planned:
        _money_of(run, p, app)


# --- Shopify -----------------------------------------------------------------------------------------


def _shopify_money(run: ChaosRun, p: Planned) -> _Money:
    """``orders/paid`` or ``refunds/create`` (Admin API 2026-04), from the samples.

    A sale is the sample order (lines, a discount, shipping, VAT, a tip: £37.65) under an order id of
    its own; a refund gives back part or all of an order, its amount drawn. Poison: an order with a
    line the books refuse (the poison mark in its name), a refund paid back in dollars.
    """
    draw = rng(p, "shopify")
    refund = _is_refund(p)
    template = sample_file("shopify_refunds_create" if refund else "shopify_orders_paid")
    body: dict[str, Any] = template["body"]
    headers = {k.lower(): str(v) for k, v in template["headers"].items()}
    headers["x-shopify-event-id"] = uuid4(p, "shopify-event")
    order_id = draw.randrange(10**12, 10**13)
    if not refund:
        body |= {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{p.key}",
            "order_number": 1000 + p.index,
            "confirmation_number": token(p, "shopify-confirmation", 9, ALNUM).upper(),
        }
        if p.poison:
            body["line_items"][0]["name"] = f"{POISON_MARK} {p.key} (withdrawn item)"
        total = int(Decimal(str(body["current_total_price"])) * 100)
        return _Money(f"shopify:order:{order_id}", compact(body), False, str(order_id), total, headers)
    refund_id = draw.randrange(10**12, 10**13)
    amount = draw.randrange(100, 3765)
    body |= {
        "id": refund_id,
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "order_id": order_id,
        "note": f"Chaos refund {p.key}",
    }
    for transaction in body["transactions"]:
        transaction |= {
            "order_id": order_id,
            "amount": str(Decimal(amount) / 100),
            "currency": "USD" if p.poison else transaction["currency"],
        }
    return _Money(f"shopify:refund:{refund_id}", compact(body), True, str(refund_id), amount, headers)


def sample_file(name: str) -> dict[str, Any]:
    """A whole sample file of pos_to_accounting (its body and its headers), as a fresh copy."""
    import json

    from infra.local.samples import EVENTS_DIR

    raw: dict[str, Any] = json.loads((EVENTS_DIR / "pos_to_accounting" / f"{name}.json").read_text("utf-8"))
    return raw


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


def _expected_entries(p: Planned, *, app: str) -> list[EffectKey]:
    sale, refund, total = _KINDS[app]
    refunds = [_refund_key(p, j) for j in range(_refunds(p))]
    return [
        (sale, p.key),
        (total, p.key),
        *((refund, k) for k in refunds),
        *((total, k) for k in refunds),
    ]


def prepare_square_stories(run: ChaosRun, planned: Sequence[Planned], *, app: str) -> None:
    """Each story made in the Square sandbox - order, payment, refunds - with its webhooks muted:
    the notifications it built are what the harness sends later, shuffled."""
    sandbox: Any = run.runtime.sandboxes["square"]
    with _square_webhooks_muted(sandbox):
        for p in planned:
            run.remember(_STORIES, p.index, functools.partial(_square_story, run, sandbox, p, app))


def _square_story(run: ChaosRun, sandbox: Any, p: Planned, app: str) -> list[Outgoing]:
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
    _expect(run, app, False, payment["id"], p.key, int(payment["total_money"]["amount"]))
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
        _expect(run, app, True, refund_id, _refund_key(p, j), refunded)
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


def _stripe_change(run: ChaosRun, p: Planned, n: int, *, app: str) -> Outgoing:
    """Change ``n`` of a Stripe charge: succeeded, updated, then each refund (cumulative amounts)."""
    return run.remember(_STORIES, p.index, lambda: _stripe_story(run, p, app))[n]


def _stripe_story(run: ChaosRun, p: Planned, app: str) -> list[Outgoing]:
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
    _expect(run, app, False, charge_id, p.key, amount)
    refunded = 0
    for j in range(_refunds(p)):
        delta = (amount - refunded) // (2 if j + 1 < _refunds(p) else 3)
        before, refunded = refunded, refunded + delta
        body = event("stripe_charge_refunded_partial", 2 + j, refunded, before)
        out.append(Outgoing(f"stripe:refund:{charge_id}:{refunded}", compact(body)))
        _expect(run, app, True, f"{charge_id}:{refunded}", _refund_key(p, j), delta)
    return out


def prepare_stripe_stories(run: ChaosRun, planned: Sequence[Planned], *, app: str) -> None:
    for p in planned:
        _stripe_change(run, p, 0, app=app)


def _factories(app: str) -> tuple[EventFactory, ...]:
    """The one-change factories for the books ``app``."""
    on = functools.partial
    return tuple(
        EventFactory(
            "pos_to_accounting",
            trigger,
            weight=weight,
            build=on(money_event, app=app),
            effects=on(effects, app=app),
            prepare=on(prepare, app=app),
            configure=on(_configured, trigger=trigger, sequence=False),
        )
        for trigger, weight, prepare in (
            ("square", 1.5, prepare_square),
            ("stripe", 1.0, prepare_on_demand),
            ("shopify", 1.0, prepare_on_demand),
        )
    )


def _sequences(app: str) -> tuple[EventFactory, ...]:
    """The sequence factories (``--reorder``) for the books ``app``."""
    on = functools.partial
    expected = on(_expected_entries, app=app)
    return (
        EventFactory(
            "pos_to_accounting",
            "square",
            weight=1.5,
            build=lambda run, p: _square_change(run, p, 0),
            effects=expected,
            prepare=on(prepare_square_stories, app=app),
            versions=_square_changes,
            build_version=_square_change,
            configure=on(_configured, trigger="square", sequence=True),
        ),
        EventFactory(
            "pos_to_accounting",
            "stripe",
            weight=1.0,
            build=lambda run, p: _stripe_change(run, p, 0, app=app),
            effects=expected,
            prepare=on(prepare_stripe_stories, app=app),
            versions=_stripe_changes,
            build_version=on(_stripe_change, app=app),
            configure=on(_configured, trigger="stripe", sequence=True),
        ),
    )


def _configured(settings: Mapping[str, Any], *, trigger: str, sequence: bool) -> EventFactory:
    """The factory of ``trigger`` for the books the run's settings choose (``accounting_app``)."""
    app = _books(settings)
    return next(f for f in (_sequences(app) if sequence else _factories(app)) if f.trigger == trigger)


def _books(settings: Mapping[str, Any]) -> str:
    app = str(settings.get("accounting_app") or "quickbooks")
    if app not in _KINDS:
        raise ValueError(f"accounting_app {app!r}: the chaos factories know {', '.join(sorted(_KINDS))}")
    return app


FACTORIES = _factories("quickbooks")
SEQUENCES = _sequences("quickbooks")
