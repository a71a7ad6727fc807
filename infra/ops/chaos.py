"""``switchboard chaos``: prove on the local runtime that no event is lost or doubled under faults.

One run, in this process, on free ports of 127.0.0.1:

1. start a :class:`~infra.local.runtime.LocalRuntime` (embedded moto, gateway, pollers, sandboxes);
2. prepare what the events need in the sandboxes (contacts "created in HubSpot by hand", orders rung
   up and paid or refunded in Square, bookings already on the Google calendar for the reschedules
   and cancels);
3. make the targets flaky - every sandbox app answers a share of the requests with 5xx, with 429 +
   ``Retry-After``, late (the effect happens, the client times out: ``serve_first`` slow faults), or
   with a crash mark (the worker dies after the target acted and before its step is recorded); the
   poison share is refused with a 400 for good (a marker in the payload, or a contact that does not
   exist; a QuickBooks ValidationFault, a Google 400 or 403, a sale in another currency); the OAuth
   apps (QuickBooks, Google) also expire their access tokens every few seconds
   (``token_expiry_s``), so that their token endpoints, under the same faults, are called all along;
4. send N signed webhook events spread over the integrations (a table of event factories, one per
   integration trigger: :data:`FACTORIES`), the providers re-sending a share of them - some at the
   same moment from another thread, some later;
5. wait until every queue is empty; clear the faults (poison stays poison: it is the target's
   answer, not a fault); redrive every DLQ; wait again;
6. count the effects the sandboxes and the embedded SES recorded - domain effects, not requests:
   contacts per email, notes per lead, Slack messages per lead, emails per lead, QuickBooks receipts
   per payment or refund (and their totals), Google Calendar events per booking (at the booked
   times, or deleted), booking emails per change - and compare them with what every accepted event
   should have caused, exactly once.

The result is one JSON object (:class:`ChaosReport`); the run fails (exit 1) if an effect is missing
(``lost``), doubled or unexpected, if a poison event is not in a DLQ, if a non-poison event is still
in one after the redrive, or if the queues did not drain in time. Every wait is bounded.

What is counted is what a customer would see: two notes on a contact for one form post are a defect
even when every request was "handled". Identity comes from the events themselves: each event has a
key (``R<seed>N<index>``) that appears in its email address, its name and its message, so an effect
is attributed to its event whatever ids the targets gave it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import math
import random
import re
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_string
from email.header import decode_header, make_header
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TextIO

import httpx

from infra.ops.target import CliError, Target
from shared import trace

if TYPE_CHECKING:
    from infra.local.runtime import LocalRuntime
    from shared.spec import IntegrationSpec

__all__ = [
    "FACTORIES",
    "ChaosConfig",
    "ChaosReport",
    "EventFactory",
    "Planned",
    "parse_faults",
    "run_chaos",
]

#: Fault kinds of ``--faults`` that the target apps inject, and the ones the providers cause.
TARGET_FAULTS = ("5xx", "429", "timeout", "crash")
PROVIDER_FAULTS = ("dup", "poison")
DEFAULT_FAULTS = "5xx=0.2,429=0.05,timeout=0.02,dup=0.1,poison=0.01,crash=0.01"
#: Marks a payload every target refuses (the sandboxes get a permanent 400 rule for it).
POISON_MARK = "chaos-poison"
#: The HubSpot portal of the local settings (``hubspot_portal_id``), as its webhooks carry it.
PORTAL_ID = 24681357
#: The API clients' read timeout during a run, and how late a "timeout" answer comes.
CLIENT_TIMEOUT_S = 2.0
LATE_BY_S = 1.0

EffectKey = tuple[str, str]  # (kind, event key): ("slack.message", "R7N12")
_KEY = re.compile(r"r(\d+)n(\d+)", re.IGNORECASE)


# --- configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultRate:
    rate: float
    #: Sandbox apps the fault is limited to; empty: every app.
    apps: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChaosConfig:
    events: int
    seed: int
    faults: Mapping[str, FaultRate]
    #: Seconds to wait for the queues to drain, each time (after sending, after the redrive).
    drain_timeout_s: float = 600.0
    #: Threads sending webhooks, like several providers at once.
    senders: int = 8
    #: Messages allowed to wait in the queues before the providers slow down (moto's SQS scans its
    #: queue on every receive: a backlog of thousands would measure moto, not Switchboard).
    backlog: int = 300
    #: Only these integrations' factories (default: every integration that has one).
    integrations: tuple[str, ...] = ()
    #: Every this many seconds the OAuth apps in play (QuickBooks, Google) expire their access
    #: tokens, so that the token endpoints - under the same faults - are called throughout the run,
    #: not once at its start (0: never).
    token_expiry_s: float = 5.0
    #: Whether late answers and crashes also hit the OAuth token endpoints (5xx and 429 always do).
    #: Off by default: a provider that spends a refresh token the moment it answers (Intuit's
    #: rotation; the QuickBooks sandbox) loses the connection to *any* client whose refresh answer is
    #: lost - no retry can recover a token it never received. Turned on, the run shows exactly that
    #: (``connection_revoked`` dead letters naming the lost answer); see ``shared/oauth.py``.
    token_endpoint_faults: bool = False

    def rate(self, kind: str) -> float:
        fault = self.faults.get(kind)
        return fault.rate if fault else 0.0


def parse_faults(text: str) -> dict[str, FaultRate]:
    """``5xx=0.2,429=0.05,timeout=0.02@hubspot+peopledatalabs,dup=0.1`` -> rates (and app scopes)."""
    known = (*TARGET_FAULTS, *PROVIDER_FAULTS)
    faults: dict[str, FaultRate] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        rate_text, _, scope = value.partition("@")
        name = name.strip().lower()
        if not eq or name not in known:
            raise CliError(f"--faults {part!r}: expected kind=rate with kind one of {', '.join(known)}")
        try:
            rate = float(rate_text)
        except ValueError:
            raise CliError(f"--faults {part!r}: {rate_text!r} is not a number between 0 and 1") from None
        if not 0 <= rate <= 1 or math.isnan(rate):
            raise CliError(f"--faults {part!r}: the rate must be between 0 and 1")
        apps = tuple(a.strip() for a in scope.split("+") if a.strip())
        if apps and name in PROVIDER_FAULTS:
            raise CliError(f"--faults {part!r}: {name} is the provider's doing; it takes no @apps")
        faults[name] = FaultRate(rate, apps)
    if sum(faults[k].rate for k in TARGET_FAULTS if k in faults) > 0.9:
        raise CliError("--faults: the target faults add up to more than 0.9; nothing would get through")
    return faults


# --- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One event of the run."""

    index: int
    seed: int
    factory: EventFactory
    poison: bool

    @property
    def key(self) -> str:
        """``R<seed>N<index>``: written into the event so that its effects can be attributed to it."""
        return f"R{self.seed}N{self.index}"


@dataclass(frozen=True)
class Outgoing:
    """What a provider POSTs for one event (signed per delivery: a re-send is signed afresh)."""

    event_id: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventFactory:
    """How one integration trigger's provider makes events, and what each must cause.

    ``build`` makes the request body (and the event id Switchboard will key it on); ``effects`` names
    the effects a non-poison event must cause once each, as ``(kind, key)`` pairs the observers in
    :data:`OBSERVERS` count; ``prepare`` sets the sandboxes up before the faults start (``None``: no
    set-up). A poison event must cause no effect and end in ``dlq`` (the integration's DLQ).
    """

    integration: str
    trigger: str
    weight: float
    build: Callable[[ChaosRun, Planned], Outgoing]
    effects: Callable[[Planned], Sequence[EffectKey]]
    prepare: Callable[[ChaosRun, Sequence[Planned]], None] | None = None
    #: Which DLQ a poison event of this factory must end in (default: the integration's own).
    dlq: str | None = None


def _website_lead(run: ChaosRun, p: Planned) -> Outgoing:
    """A signed lead (Standard Webhooks) from the site's backend; ``webhook-id`` is the event id."""
    local = f"{POISON_MARK}-{p.key}" if p.poison else f"chaos-{p.key}"
    body = {
        "type": "form.submitted",
        "timestamp": "2026-11-20T09:14:03.512Z",
        "data": {
            "form_id": "chaos",
            "name": f"Chaos {p.key}",
            "email": f"{local.lower()}@chaos-test.example",
            "company": "Chaos Monkeys Ltd",
            "message": f"Chaos lead {p.key}: a quote for 40 loaves a week, please.",
            "consent": True,
            "utm_source": "chaos",
        },
    }
    return Outgoing(f"msg_chaos{p.seed}n{p.index}", json.dumps(body).encode())


def _website_effects(p: Planned) -> Sequence[EffectKey]:
    kinds = ("hubspot.contact", "hubspot.qualified", "hubspot.note", "ses.sales", "ses.ack", "slack.message")
    return [(kind, p.key) for kind in kinds]


def _hubspot_contact_ids(run: ChaosRun) -> dict[str, str]:
    return run.scratch.setdefault("hubspot_contacts", {})  # type: ignore[no-any-return]


def _precreate_contacts(run: ChaosRun, planned: Sequence[Planned]) -> None:
    """Contacts someone created in HubSpot by hand; HubSpot's webhook then announces each.

    A poison event's contact is not created: HubSpot sends ``contact.creation`` for a contact that
    was deleted straight after, and reading it answers 404 for good.
    """
    sandbox = run.runtime.sandboxes["hubspot"]
    token = str(getattr(sandbox, "token", "sandbox-hubspot-token"))
    wanted = [p for p in planned if not p.poison]
    ids = _hubspot_contact_ids(run)
    url = f"{run.runtime.url}/_sandbox/hubspot/crm/v3/objects/contacts/batch/upsert"
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        inputs = [
            {
                "id": f"prep-{p.key.lower()}@chaos-test.example",
                "idProperty": "email",
                "properties": {"firstname": "Chaos", "lastname": p.key, "company": "Chaos Monkeys Ltd"},
            }
            for p in chunk
        ]
        answer = run.http.post(url, json={"inputs": inputs}, headers={"authorization": f"Bearer {token}"})
        if answer.status_code != 200:
            raise RuntimeError(
                f"could not create the HubSpot contacts: {answer.status_code} {answer.text[:200]}"
            )
        for result in answer.json()["results"]:
            ids[result["properties"]["email"]] = result["id"]


def _hubspot_creation(run: ChaosRun, p: Planned) -> Outgoing:
    """HubSpot's ``contact.creation`` webhook (a JSON array, ``X-HubSpot-Signature-v3``)."""
    ids = _hubspot_contact_ids(run)
    contact = ids.get(f"prep-{p.key.lower()}@chaos-test.example") or str(900_000_000 + p.index)
    event = {
        "eventId": 1_000_000 + p.index,
        "subscriptionId": 2981734,
        "portalId": PORTAL_ID,
        "appId": 4127781,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "contact.creation",
        "attemptNumber": 0,
        "objectId": int(contact),
        "changeFlag": "CREATED",
        "changeSource": "CRM_UI",
        "sourceId": "userId:41629779",
    }
    # The URL is signed with its scheme; API Gateway tells the function the scheme in this header.
    return Outgoing(
        f"contact:{PORTAL_ID}:{contact}", json.dumps([event]).encode(), {"x-forwarded-proto": "http"}
    )


def _hubspot_effects(p: Planned) -> Sequence[EffectKey]:
    return [("ses.sales", p.key), ("slack.message", p.key)]


# --- pos_to_accounting: till money (Square, Stripe) -> one QuickBooks receipt each -----------------

#: Sample events the generated ones are derived from (real provider payloads).
_EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
#: The share of Square / Stripe events that are refunds (the rest are sales).
REFUND_SHARE = 0.35
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@functools.cache
def _sample_text(integration: str, name: str) -> str:
    return (_EVENTS_DIR / integration / f"{name}.json").read_text(encoding="utf-8")


def _sample(integration: str, name: str) -> dict[str, Any]:
    """A fresh copy of a sample's provider body (``events/<integration>/<name>.json``)."""
    body: dict[str, Any] = json.loads(_sample_text(integration, name))["body"]
    return body


def _rng(p: Planned, what: str) -> random.Random:
    """A generator of its own for one event and one purpose: the same draws on every build."""
    return random.Random(f"chaos:{p.seed}:{p.index}:{what}")


def _token(p: Planned, what: str, length: int, alphabet: str = _UPPER) -> str:
    """A provider-style id for one event (unique per seed, index and purpose)."""
    number = int.from_bytes(hashlib.sha256(f"{p.seed}:{p.index}:{what}".encode()).digest(), "big")
    chars = []
    for _ in range(length):
        number, rest = divmod(number, len(alphabet))
        chars.append(alphabet[rest])
    return "".join(chars)


def _uuid4(p: Planned, what: str) -> str:
    return str(
        uuid.UUID(bytes=hashlib.sha256(f"{p.seed}:{p.index}:{what}".encode()).digest()[:16], version=4)
    )


def _is_refund(p: Planned) -> bool:
    return _rng(p, "money-kind").random() < REFUND_SHARE


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


def _remember_money(run: ChaosRun, p: Planned, money: _Money) -> _Money:
    with run._lock:
        run.scratch.setdefault("money", {})[p.index] = money
        run.scratch.setdefault("money_ids", {})[(money.entity, money.money_id)] = (p.key, money.total)
    return money


def _money_of(run: ChaosRun, p: Planned) -> _Money:
    found: _Money | None = run.scratch.get("money", {}).get(p.index)
    if found is None:  # Stripe events are made on demand; Square ones in prepare
        if p.factory.trigger != "stripe":
            raise RuntimeError(f"{p.key}: no Square payment was prepared for this event")
        found = _remember_money(run, p, _stripe_money(run, p))
    return found


def _money_event(run: ChaosRun, p: Planned) -> Outgoing:
    money = _money_of(run, p)
    return Outgoing(money.event_id, money.body)


def _money_effects(p: Planned) -> Sequence[EffectKey]:
    kind = "qb.refund_receipt" if _is_refund(p) else "qb.sales_receipt"
    return [(kind, p.key), ("qb.total", p.key)]


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


def _prepare_square(run: ChaosRun, planned: Sequence[Planned]) -> None:
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
            _remember_money(run, p, _square_money(run, sandbox, p))


def _square_money(run: ChaosRun, sandbox: Any, p: Planned) -> _Money:
    from apps.square.standin import LOCATIONS, SeedLine

    rng = _rng(p, "square")
    refund = _is_refund(p)
    currency = "EUR" if p.poison and refund else "GBP"
    location = rng.choice(sorted(LOCATIONS))
    with sandbox.lock:
        variations = {
            o.data["sku"]: o
            for o in sandbox.catalog.values()
            if o.type == "ITEM_VARIATION" and not o.is_deleted
        }
    lines: list[tuple[Any, Any]] = []
    for sku in rng.sample(sorted(variations), rng.randint(1, 3)):
        price = int(variations[sku].data["price_money"]["amount"])
        lines.append((variations[sku], SeedLine(sku, str(rng.randint(1, 3)), price)))
    if p.poison and not refund:
        lines.append((None, SeedLine(f"{POISON_MARK} {p.key} (withdrawn item)", "1", 450)))
    order_id = _token(p, "square-order", 27)
    with sandbox.lock:
        order = sandbox._order_json(order_id, location, lines, currency, time.time() - 120)
        sandbox.orders[order_id] = order
        amount = int(order["total_money"]["amount"])
    base = f"{run.runtime.url}/_sandbox/square"
    headers = {"authorization": f"Bearer {sandbox.token}"}
    tip = 0 if refund else rng.choice((0, 0, 0, 50, 100, 150))
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
    if rng.random() < 0.25:
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
            f"square:payment:{payment['id']}", _compact(payload), "salesreceipt", payment["id"], total
        )
    refunded = max(100, amount * rng.choice((25, 50, 100)) // 100) if amount > 100 else amount
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
    return _Money(f"square:refund:{refund_id}", _compact(payload), "refundreceipt", refund_id, refunded)


def _square_notification(sandbox: Any, event_type: str, object_id: str) -> dict[str, Any]:
    """The last notification the Square sandbox built of ``event_type`` for ``object_id``."""
    with sandbox.lock:
        for payload in reversed(sandbox.notifications):
            if payload["type"] == event_type and payload["data"]["id"] == object_id:
                return copy.deepcopy(dict(payload))
    raise RuntimeError(f"the Square sandbox built no {event_type} for {object_id}")


def _compact(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _stripe_money(run: ChaosRun, p: Planned) -> _Money:
    """``charge.succeeded`` or ``charge.refunded`` (Stripe API 2026-04), from the samples.

    Poison: a charge for an item QuickBooks refuses (the poison mark in the description: a
    ValidationFault), a refund of a charge taken in dollars (refused, never booked at the wrong value).
    """
    rng = _rng(p, "stripe")
    refund = _is_refund(p)
    body = _sample(
        "pos_to_accounting", "stripe_charge_refunded_partial" if refund else "stripe_charge_succeeded"
    )
    charge = body["data"]["object"]
    charge_id = "ch_3" + _token(p, "stripe-charge", 23, _ALNUM)
    amount = rng.randrange(300, 9000, 5)
    description = f"Online order #{p.key}: celebration cake (collection Saturday)"
    if p.poison and not refund:
        description = f"Online order #{p.key}: {POISON_MARK} gift box (item withdrawn)"
    brand = rng.choice(("visa", "visa", "mastercard", "amex"))
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
        "payment_intent": "pi_3" + _token(p, "stripe-pi", 23, _ALNUM),
        "balance_transaction": "txn_3" + _token(p, "stripe-txn", 23, _ALNUM),
    }
    body |= {
        "id": "evt_3" + _token(p, "stripe-event", 23, _ALNUM),
        "created": int(run.t0),
        "request": {
            "id": "req_" + _token(p, "stripe-req", 14, _ALNUM),
            "idempotency_key": _uuid4(p, "stripe-idem"),
        },
    }
    if not refund:
        return _Money(f"stripe:payment:{charge_id}", _compact(body), "salesreceipt", charge_id, amount)
    before = rng.choice((0, 0, amount // 4))
    delta = max(1, (amount - before) * rng.choice((25, 50, 100)) // 100)
    after = before + delta
    charge |= {"amount_refunded": after, "refunded": after == amount}
    body["data"]["previous_attributes"] = {"amount_refunded": before}
    refund_id = f"{charge_id}:{after}"
    return _Money(f"stripe:refund:{refund_id}", _compact(body), "refundreceipt", refund_id, delta)


def _prepare_stripe(run: ChaosRun, planned: Sequence[Planned]) -> None:
    for p in planned:
        _money_of(run, p)


# --- booking_to_calendar: Calendly and Cal.com bookings -> Google Calendar + confirmation email -------

#: Invitees of the run get addresses at this domain: the SES observer tells booking emails by it.
BOOKING_DOMAIN = "chaos-bookings.example"
#: Where the run's bookings start (one slot of 30 minutes per event index, from here on).
_FIRST_SLOT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
_CALENDLY_API = "https://api.calendly.com"


def _booking_kind(p: Planned) -> str:
    """``create`` (half), ``reschedule`` or ``cancel`` (a quarter each), fixed by the seed."""
    draw = _rng(p, "booking-kind").random()
    return "create" if draw < 0.5 else "reschedule" if draw < 0.75 else "cancel"


@dataclass(frozen=True)
class _Booking:
    """One booking_to_calendar event: the webhook, the calendar event it acts on and its times."""

    event_id: str
    body: bytes
    kind: str
    #: The Google event id the change must land on (derived from the booking that created it).
    google_id: str
    #: The booking key the calendar event was made for (the replaced one, for a reschedule).
    booking_key: str
    provider: str
    start: datetime
    end: datetime
    #: Where the calendar event was before the run (reschedule, cancel); ``None`` for a create.
    before: tuple[datetime, datetime] | None
    title: str
    email: str


def _slot(p: Planned) -> tuple[datetime, datetime]:
    start = _FIRST_SLOT + timedelta(days=p.seed % 7, minutes=30 * p.index)
    return start, start + timedelta(minutes=30)


def _guest(p: Planned) -> tuple[str, str]:
    """The invitee's name and email; the poison mark in the name makes Google refuse the event."""
    name = f"{POISON_MARK} {p.key}" if p.poison else f"Chaos Guest {p.key}"
    return name, f"guest-{p.key.lower()}@{BOOKING_DOMAIN}"


def _calendly_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _calendly_booking(run: ChaosRun, p: Planned) -> _Booking:
    """``invitee.created`` (new, or the second half of a reschedule) or ``invitee.canceled``."""
    from apps import google_calendar
    from shared.events import derived_id

    kind = _booking_kind(p)
    rng = _rng(p, "calendly")
    start, end = _slot(p)
    name, email = _guest(p)
    sample = {
        "create": "calendly_1_invitee_created",
        "reschedule": "calendly_2_reschedule_b_invitee_created",
        "cancel": "calendly_3_invitee_canceled",
    }[kind]
    body = _sample("booking_to_calendar", sample)
    event_uuid, invitee_uuid = _uuid4(p, "calendly-event"), _uuid4(p, "calendly-invitee")
    event_uri = f"{_CALENDLY_API}/scheduled_events/{event_uuid}"
    invitee_uri = f"{event_uri}/invitees/{invitee_uuid}"
    booking_key = f"calendly:{event_uuid}"
    before: tuple[datetime, datetime] | None = None
    payload, event = body["payload"], body["payload"]["scheduled_event"]
    first, _, last = name.rpartition(" ")
    booked_at = _calendly_time(datetime.fromtimestamp(run.t0 - 600, UTC))
    payload |= {
        "uri": invitee_uri,
        "event": event_uri,
        "name": name,
        "first_name": first,
        "last_name": last,
        "email": email,
        "timezone": rng.choice(("Europe/London", "Europe/Warsaw", "America/New_York")),
        "cancel_url": f"https://calendly.com/cancellations/{invitee_uuid}",
        "reschedule_url": f"https://calendly.com/reschedulings/{invitee_uuid}",
        "created_at": booked_at,
        "updated_at": booked_at,
        "questions_and_answers": [
            {"question": "What are we celebrating?", "answer": f"Chaos booking {p.key}", "position": 0}
        ],
    }
    event |= {
        "uri": event_uri,
        "start_time": _calendly_time(start),
        "end_time": _calendly_time(end),
        "created_at": booked_at,
        "updated_at": booked_at,
    }
    if kind == "reschedule":
        old_event = _uuid4(p, "calendly-old-event")
        payload["old_invitee"] = (
            f"{_CALENDLY_API}/scheduled_events/{old_event}/invitees/{_uuid4(p, 'calendly-old')}"
        )
        booking_key = f"calendly:{old_event}"
        before = (start - timedelta(days=2), end - timedelta(days=2))
    elif kind == "cancel":
        before = (start, end)
        payload["cancellation"] = {
            "canceled_by": name,
            "reason": f"Chaos cancel {p.key}",
            "canceler_type": "invitee",
            "created_at": _calendly_time(datetime.fromtimestamp(run.t0 - 60, UTC)),
        }
    body["created_at"] = _calendly_time(datetime.fromtimestamp(run.t0, UTC))
    return _Booking(
        event_id=derived_id("calendly", f"{body['event']}:{invitee_uuid}"),
        body=_compact(body),
        kind=kind,
        google_id=google_calendar.event_id(booking_key),
        booking_key=booking_key,
        provider="calendly",
        start=start,
        end=end,
        before=before,
        title=str(event["name"]),
        email=email,
    )


def _calcom_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _calcom_booking(run: ChaosRun, p: Planned) -> _Booking:
    """``BOOKING_CREATED``, ``BOOKING_RESCHEDULED`` (a new uid, ``rescheduleUid``) or ``BOOKING_CANCELLED``."""
    from apps import google_calendar
    from shared.events import derived_id

    kind = _booking_kind(p)
    start, end = _slot(p)
    name, email = _guest(p)
    sample = {
        "create": "calcom_1_booking_created",
        "reschedule": "calcom_3_booking_rescheduled",
        "cancel": "calcom_4_booking_cancelled",
    }[kind]
    body = _sample("booking_to_calendar", sample)
    payload = body["payload"]
    uid = _token(p, "calcom-uid", 22, _ALNUM)
    booking_key = f"calcom:{uid}"
    before: tuple[datetime, datetime] | None = None
    first, _, last = name.rpartition(" ")
    attendee = {
        "email": email,
        "name": name,
        "firstName": first,
        "lastName": last,
        "timeZone": "Europe/London",
        "language": {"locale": "en"},
        "utcOffset": 0,
    }
    title = f"Wedding cake tasting between Rosa Bramble and {name}"
    payload |= {
        "title": title,
        "startTime": _calcom_time(start),
        "endTime": _calcom_time(end),
        "attendees": [attendee],
        "uid": uid,
        "iCalUID": f"{uid}@Cal.com",
        "bookingId": 5_000_000 + p.index,
        "additionalNotes": f"Chaos booking {p.key}",
        "description": f"Chaos booking {p.key}",
    }
    payload["responses"]["name"]["value"] = name
    payload["responses"]["email"]["value"] = email
    payload["responses"]["guests"]["value"] = []
    payload["responses"]["notes"]["value"] = f"Chaos booking {p.key}"
    if kind == "reschedule":
        previous = _token(p, "calcom-previous", 22, _ALNUM)
        before = (start - timedelta(days=2), end - timedelta(days=2))
        payload |= {
            "rescheduleUid": previous,
            "rescheduleId": 4_000_000 + p.index,
            "rescheduleStartTime": _calcom_time(before[0]),
            "rescheduleEndTime": _calcom_time(before[1]),
        }
        booking_key = f"calcom:{previous}"
    elif kind == "cancel":
        before = (start, end)
        payload["cancellationReason"] = f"Chaos cancel {p.key}"
    body["createdAt"] = (
        datetime.fromtimestamp(run.t0, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    return _Booking(
        event_id=derived_id("calcom", f"{body['triggerEvent']}:{uid}"),
        body=_compact(body),
        kind=kind,
        google_id=google_calendar.event_id(booking_key),
        booking_key=booking_key,
        provider="calcom",
        start=start,
        end=end,
        before=before,
        title=title,
        email=email,
    )


_BOOKING_BUILDERS: dict[str, Callable[[ChaosRun, Planned], _Booking]] = {
    "calendly": _calendly_booking,
    "calcom": _calcom_booking,
}


def _booking_of(run: ChaosRun, p: Planned) -> _Booking:
    found: _Booking | None = run.scratch.get("bookings", {}).get(p.index)
    if found is None:
        found = _BOOKING_BUILDERS[p.factory.trigger](run, p)
        with run._lock:
            run.scratch.setdefault("bookings", {})[p.index] = found
            run.scratch.setdefault("booking_keys", {})[p.key] = found
    return found


def _booking_event(run: ChaosRun, p: Planned) -> Outgoing:
    booking = _booking_of(run, p)
    return Outgoing(booking.event_id, booking.body)


def _booking_effects(p: Planned) -> Sequence[EffectKey]:
    kind = _booking_kind(p)
    if kind == "cancel":
        return [("gcal.deleted", p.key), ("ses.booking.cancellation", p.key)]
    email = "ses.booking.rescheduled" if kind == "reschedule" else "ses.booking.confirmation"
    return [("gcal.event", p.key), ("gcal.at_time", p.key), (email, p.key)]


def _prepare_bookings(run: ChaosRun, planned: Sequence[Planned]) -> None:
    """Bookings made before the run: on the calendar already, so that a reschedule or cancel has one.

    Each is inserted through the Google Calendar sandbox's API under the id the integration derives
    from the booking (as its earlier create would have), titled without the event key so that it
    counts as set-up, not as an effect. A poison cancel's event cannot be deleted: Google answers
    ``403 forbiddenForNonOrganizer`` for it (a path fault, kept when the other faults are cleared).
    """
    from apps.google_calendar.standin import google_error

    bookings = [_booking_of(run, p) for p in planned]
    earlier = [(p, b) for p, b in zip(planned, bookings, strict=True) if b.before is not None]
    if not earlier:
        return
    base = f"{run.runtime.url}/_sandbox/google_calendar"
    app = "google_calendar"
    form = {
        "grant_type": "refresh_token",
        "client_id": f"sandbox-{app}-client_id",
        "client_secret": f"sandbox-{app}-client_secret",
        "refresh_token": f"sandbox-{app}-refresh_token",
    }
    answer = run.http.post(f"{base}/token", data=form)
    if answer.status_code != 200:
        raise RuntimeError(
            f"could not get a Google token for the set-up: {answer.status_code} {answer.text[:200]}"
        )
    headers = {"authorization": f"Bearer {answer.json()['access_token']}"}
    poison = run.scratch.setdefault("poison_faults", {}).setdefault(app, [])
    for p, b in earlier:
        assert b.before is not None  # filtered above; for mypy
        event = {
            "id": b.google_id,
            "summary": f"{b.title.split(' between ')[0]} - booked before the chaos run",
            "start": {"dateTime": b.before[0].isoformat(), "timeZone": "Europe/London"},
            "end": {"dateTime": b.before[1].isoformat(), "timeZone": "Europe/London"},
            "attendees": [{"email": b.email}],
            "extendedProperties": {
                "private": {"switchboardBooking": b.booking_key, "switchboardSource": b.provider}
            },
        }
        made = run.http.post(
            f"{base}/calendar/v3/calendars/primary/events",
            params={"sendUpdates": "none"},
            json=event,
            headers=headers,
        )
        if made.status_code != 200:
            raise RuntimeError(
                f"could not put {p.key}'s earlier booking on the calendar: {made.status_code} {made.text[:200]}"
            )
        if p.poison and b.kind == "cancel":
            message = "Shared properties can only be changed by the organizer of the event."
            poison.append(
                {
                    "kind": "status",
                    "status": 403,
                    "rate": 1,
                    "method": "DELETE",
                    "path": b.google_id,
                    "body": google_error(403, "forbiddenForNonOrganizer", message),
                }
            )


#: One entry per integration trigger the harness drives: ``(integration, trigger) -> factory``.
#: Adding an integration to the chaos run is one entry here (and an observer for a new kind of
#: effect in :data:`OBSERVERS`).
FACTORIES: dict[tuple[str, str], EventFactory] = {
    ("website_to_crm", "webhook"): EventFactory(
        "website_to_crm", "webhook", weight=3.0, build=_website_lead, effects=_website_effects
    ),
    ("new_lead_notify", "hubspot"): EventFactory(
        "new_lead_notify",
        "hubspot",
        weight=1.0,
        build=_hubspot_creation,
        effects=_hubspot_effects,
        prepare=_precreate_contacts,
    ),
    ("pos_to_accounting", "square"): EventFactory(
        "pos_to_accounting",
        "square",
        weight=1.5,
        build=_money_event,
        effects=_money_effects,
        prepare=_prepare_square,
    ),
    ("pos_to_accounting", "stripe"): EventFactory(
        "pos_to_accounting",
        "stripe",
        weight=1.0,
        build=_money_event,
        effects=_money_effects,
        prepare=_prepare_stripe,
    ),
    ("booking_to_calendar", "calendly"): EventFactory(
        "booking_to_calendar",
        "calendly",
        weight=1.0,
        build=_booking_event,
        effects=_booking_effects,
        prepare=_prepare_bookings,
    ),
    ("booking_to_calendar", "calcom"): EventFactory(
        "booking_to_calendar",
        "calcom",
        weight=1.0,
        build=_booking_event,
        effects=_booking_effects,
        prepare=_prepare_bookings,
    ),
}


# --- observing effects -----------------------------------------------------------------------------


def _keys(text: str) -> list[str]:
    return [f"R{m.group(1)}N{m.group(2)}" for m in _KEY.finditer(text)]


def _hubspot_effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    seen: Counter[EffectKey] = Counter()
    sandbox: Any = run.runtime.sandboxes["hubspot"]
    with sandbox.lock:
        contacts = [dict(c.properties) for c in sandbox.contacts.values()]
        notes = [dict(n.properties) for n in sandbox.notes.values()]
    for props in contacts:
        email = props.get("email", "")
        if email.startswith("chaos-"):  # prepared contacts ("prep-") are set-up, not effects
            seen.update(("hubspot.contact", k) for k in _keys(email)[:1])
            if props.get("hubspot_owner_id"):  # qualified: a new lead gets an owner (round robin)
                seen.update(("hubspot.qualified", k) for k in _keys(email)[:1])
    for props in notes:
        seen.update(("hubspot.note", k) for k in _keys(props.get("hs_note_body", ""))[:1])
    return seen


def _slack_effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    sandbox: Any = run.runtime.sandboxes["slack"]
    with sandbox.lock:
        texts = [str(m.get("text", "")) for m in sandbox.messages]
    return Counter(("slack.message", k) for t in texts for k in _keys(t)[:1])


#: Booking emails by the start of their subject (the templates of booking_to_calendar).
_BOOKING_MAILS: dict[str, str] = {
    "Confirmed": "confirmation",
    "New time": "rescheduled",
    "Cancelled": "cancellation",
}


def _ses_effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    """Emails the embedded SES accepted (read from moto's memory: SES cannot list sent mail).

    A simple message has ``destinations`` ``{"ToAddresses": [...]}`` and a ``subject``; a raw one
    (an email with an ``.ics`` attachment) a list of addresses and the MIME text.
    """
    from infra.local.aws_process import ses_messages

    aws = run.runtime.aws_process
    seen: Counter[EffectKey] = Counter()
    for fields in aws.ses_sent() if aws is not None else ses_messages():
        to, subject = _to_and_subject(SimpleNamespace(**fields))
        if BOOKING_DOMAIN in to:
            kind = _BOOKING_MAILS.get(subject.split(":", 1)[0].strip(), "other")
            seen.update((f"ses.booking.{kind}", k) for k in _keys(to)[:1])
        elif "chaos-" in to:
            seen.update(("ses.ack", k) for k in _keys(to)[:1])
        else:
            seen.update(("ses.sales", k) for k in _keys(subject)[:1])
    return seen


def _to_and_subject(message: Any) -> tuple[str, str]:
    raw = getattr(message, "raw_data", None)
    if isinstance(raw, str):
        mime = message_from_string(raw)
        to = " ".join([str(mime.get("to", "")), *map(str, getattr(message, "destinations", None) or [])])
        return to, str(make_header(decode_header(str(mime.get("subject", "")))))
    destinations = getattr(message, "destinations", None) or {}
    return " ".join(destinations.get("ToAddresses", [])), str(getattr(message, "subject", ""))


_QB_NOTE = re.compile(r"\b(?:Square|Stripe) (?:payment|refund) ([A-Za-z0-9_:]+)")


def _quickbooks_effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    """Receipts in the QuickBooks company, by the payment or refund their PrivateNote names.

    ``qb.total`` counts the receipts whose ``TotalAmt`` is the money taken (or refunded).
    """
    seen: Counter[EffectKey] = Counter()
    sandbox: Any = run.runtime.sandboxes.get("quickbooks")
    if sandbox is None:
        return seen
    with sandbox.lock:
        receipts = [
            (r.entity, str(r.body.get("PrivateNote", "")), r.body.get("TotalAmt"))
            for r in sandbox.receipts.values()
        ]
    known: Mapping[tuple[str, str], tuple[str, int]] = run.scratch.get("money_ids", {})
    for entity, note, total in receipts:
        found = _QB_NOTE.search(note)
        if found is None:
            continue
        kind = "qb.sales_receipt" if entity == "salesreceipt" else "qb.refund_receipt"
        key, expected = known.get((entity, found.group(1)), (f"?{found.group(1)}", -1))
        seen[(kind, key)] += 1
        if total is not None and Decimal(str(total)) * 100 == expected:
            seen[("qb.total", key)] += 1
    return seen


def _when(value: Any) -> datetime | None:
    text = value.get("dateTime") if isinstance(value, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _google_effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    """Google Calendar events: live ones by the event key in their title (``gcal.event``); per booking
    of the run, whether its event is at the booked times (``gcal.at_time``) or deleted (``gcal.deleted``).
    """
    seen: Counter[EffectKey] = Counter()
    sandbox: Any = run.runtime.sandboxes.get("google_calendar")
    if sandbox is None:
        return seen
    with sandbox.lock:
        events = [copy.deepcopy(e) for calendar in sandbox.calendars.values() for e in calendar.values()]
    by_id = {e["id"]: e for e in events}
    for event in events:
        if event.get("status") != "cancelled":
            seen.update(("gcal.event", k) for k in _keys(str(event.get("summary", "")))[:1])
    bookings: Mapping[str, _Booking] = run.scratch.get("booking_keys", {})
    for key, booking in bookings.items():
        event = by_id.get(booking.google_id)
        if event is None:
            continue
        if booking.kind == "cancel":
            if event.get("status") == "cancelled":
                seen[("gcal.deleted", key)] += 1
        elif (
            event.get("status") != "cancelled"
            and _when(event.get("start")) == booking.start
            and _when(event.get("end")) == booking.end
        ):
            seen[("gcal.at_time", key)] += 1
    return seen


#: Effect observers, by the sandbox app (or service) whose records they read.
OBSERVERS: dict[str, Callable[[ChaosRun], Counter[EffectKey]]] = {
    "hubspot": _hubspot_effects_seen,
    "slack": _slack_effects_seen,
    "ses": _ses_effects_seen,
    "quickbooks": _quickbooks_effects_seen,
    "google_calendar": _google_effects_seen,
}


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class ChaosReport:
    """The run's result; ``ok`` is what the exit status says."""

    ok: bool = False
    events: int = 0
    seed: int = 0
    faults: dict[str, Any] = field(default_factory=dict)
    integrations: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    deliveries: int = 0
    duplicates_sent: int = 0
    accepted: int = 0
    not_accepted: int = 0
    poison_sent: int = 0
    effects_expected: int = 0
    effects_observed: int = 0
    duplicate_effects: int = 0
    unexpected_effects: int = 0
    effects_missing: int = 0
    lost: int = 0
    dlq_poison: int = 0
    poison_missing: int = 0
    dlq_other: int = 0
    dlq_before_redrive: int = 0
    redriven: int = 0
    faults_served: dict[str, int] = field(default_factory=dict)
    #: The same, per sandbox app (apps that served none are left out).
    faults_by_app: dict[str, dict[str, int]] = field(default_factory=dict)
    crashes: int = 0
    runtime_errors: int = 0
    #: Per OAuth app: access-token expiries forced, refreshes served, refusals (``invalid_grant`` ...).
    oauth: dict[str, Any] = field(default_factory=dict)
    drained: bool = False
    send_s: float = 0.0
    drain_s: float = 0.0
    elapsed_s: float = 0.0
    events_per_s: float = 0.0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _Progress:
    """Counts what the workers report (``shared.trace``), for the progress line."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stages: Counter[str] = Counter()

    def __call__(self, entry: dict[str, Any]) -> None:
        stage = str(entry.get("stage"))
        if stage in ("processed", "duplicate", "dlq", "retry"):
            with self.lock:
                self.stages[stage] += 1


class ChaosRun:
    """One run's shared state: the runtime, an HTTP client, scratch space for factories."""

    def __init__(self, runtime: LocalRuntime, config: ChaosConfig, err: TextIO) -> None:
        self.runtime = runtime
        self.config = config
        self.err = err
        self.http = httpx.Client(timeout=15)
        self.scratch: dict[str, Any] = {}
        self.progress = _Progress()
        self.started = time.monotonic()
        self._backlog = 0
        self._lock = threading.Lock()
        self.results: dict[int, list[int]] = {}
        #: When the run started (epoch seconds): the events' own timestamps are taken from it.
        self.t0 = time.time()
        #: Sandbox apps with an OAuth token endpoint that the run's integrations use.
        self.oauth_apps: tuple[str, ...] = ()
        self.token_expiries = 0

    def say(self, text: str) -> None:
        print(f"[chaos {time.monotonic() - self.started:6.1f}s] {text}", file=self.err, flush=True)

    def backlog(self) -> int:
        return sum(self.runtime.queued().values())


def _choose(factories: Sequence[EventFactory], rng: random.Random) -> EventFactory:
    return rng.choices(list(factories), weights=[f.weight for f in factories])[0]


def plan(
    config: ChaosConfig, factories: Sequence[EventFactory]
) -> tuple[list[Planned], list[tuple[Planned, bool]]]:
    """The events and the order of deliveries (``(event, is_duplicate)``), from the seed alone.

    A duplicate is either sent at the same moment as the first delivery (the next two deliveries run
    on two sender threads at once) or later, after a random number of other deliveries.
    """
    rng = random.Random(config.seed)
    events = [
        Planned(i, config.seed, _choose(factories, rng), rng.random() < config.rate("poison"))
        for i in range(config.events)
    ]
    schedule: list[tuple[Planned, bool]] = []
    later: dict[int, list[Planned]] = {}
    for i, p in enumerate(events):
        schedule.append((p, False))
        if rng.random() < config.rate("dup"):
            if rng.random() < 0.5:
                schedule.append((p, True))  # concurrently
            else:
                later.setdefault(i + rng.randint(5, 300), []).append(p)
        schedule.extend((d, True) for d in later.pop(i, []))
    for pending in later.values():
        schedule.extend((d, True) for d in pending)
    return events, schedule


#: The API paths of the sandbox apps with an OAuth token endpoint (everything but that endpoint).
_OAUTH_API_PATHS: Mapping[str, str] = {"quickbooks": "/v3/company/", "google_calendar": "/calendar/v3/"}


def _sandbox_faults(config: ChaosConfig, app: str) -> list[dict[str, Any]]:
    """The rate faults one sandbox app gets: poison first (rate 1, by body marker), then the rest."""
    faults: list[dict[str, Any]] = [
        {"kind": "status", "status": 400, "rate": 1, "body_contains": POISON_MARK, "body": _poison_body(app)}
    ]

    def applies(kind: str) -> bool:
        fault = config.faults.get(kind)
        return bool(fault and fault.rate > 0 and (not fault.apps or app in fault.apps))

    if applies("5xx"):
        faults.append({"kind": "status", "status": 503, "rate": config.rate("5xx")})
    if applies("429"):
        faults.append({"kind": "rate_limit", "retry_after": 1, "rate": config.rate("429")})
    # Late answers and crashes on an OAuth app's API only, if the token endpoint is to be spared.
    api_only = {} if config.token_endpoint_faults else {"path": _OAUTH_API_PATHS.get(app)}
    api_only = {k: v for k, v in api_only.items() if v}
    if applies("timeout"):
        delay = CLIENT_TIMEOUT_S + LATE_BY_S
        faults.append(
            {
                "kind": "slow",
                "delay_s": delay,
                "serve_first": True,
                "rate": config.rate("timeout"),
                **api_only,
            }
        )
    if applies("crash"):
        faults.append({"kind": "crash", "rate": config.rate("crash"), **api_only})
    return faults


def _poison_body(app: str) -> dict[str, Any] | None:
    if app == "hubspot":
        return {
            "status": "error",
            "message": "Property values were not valid: the lead is marked as poison by the chaos run",
            "correlationId": "00000000-0000-4000-8000-000000000000",
            "category": "VALIDATION_ERROR",
        }
    if app == "slack":
        return {"ok": False, "error": "invalid_blocks"}
    if app == "quickbooks":
        return {
            "Fault": {
                "Error": [
                    {
                        "Message": "Invalid Reference Id",
                        "Detail": "Invalid Reference Id : Item assigned to this line is inactive (marked as poison by the chaos run)",
                        "code": "2500",
                        "element": "ItemRef",
                    }
                ],
                "type": "ValidationFault",
            },
            "time": "2026-11-20T08:14:03.112-00:00",
        }
    if app == "google_calendar":
        from apps.google_calendar.standin import google_error

        return google_error(400, "invalid", "Invalid attendee email.")
    return None


def _set_faults(run: ChaosRun, *, poison_only: bool) -> None:
    for app, sandbox in run.runtime.sandboxes.items():
        base = f"{run.runtime.url}/_sandbox/{app}/_faults"
        run.http.delete(base).raise_for_status()
        faults = _sandbox_faults(run.config, app)
        # Poison the factories set up for this app (a path fault: a request without a body).
        extra: list[dict[str, Any]] = run.scratch.get("poison_faults", {}).get(app, [])
        faults = [faults[0], *extra, *faults[1:]]
        if poison_only:
            faults = faults[: 1 + len(extra)]
        else:
            # A seed of its own per app: the same seed everywhere would give every app the same
            # sequence of draws (the same requests failing in each), and a seed whose first draws
            # miss a fault's band would starve that fault in every app at once.
            sandbox.reseed(
                int.from_bytes(hashlib.sha256(f"{run.config.seed}:{app}".encode()).digest()[:8], "big")
            )
        run.http.post(base, json=faults).raise_for_status()


def _deliver(run: ChaosRun, p: Planned, signing: Mapping[tuple[str, str], tuple[str, str]]) -> int:
    """POST one delivery of ``p``, signed now; re-sent up to 5 times if not answered 2xx (as providers do)."""
    spec_trigger = (p.factory.integration, p.factory.trigger)
    url, secret = signing[spec_trigger]
    out = p.factory.build(run, p)
    trigger: Any = run.scratch["triggers"][spec_trigger]
    status = 0
    for attempt in range(5):
        headers = {"content-type": "application/json", **out.headers}
        headers.update(
            trigger.verifier.sign(
                method=trigger.method,
                url=url,
                body=out.body,
                secret=secret,
                now=time.time(),
                msg_id=out.event_id,
            )
        )
        try:
            status = run.http.post(url, headers=headers, content=out.body).status_code
        except httpx.HTTPError:
            status = 0
        if 200 <= status < 300:
            break
        time.sleep(0.2 * (attempt + 1))
    with run._lock:
        run.results.setdefault(p.index, []).append(status)
    return status


def _send_all(run: ChaosRun, schedule: Sequence[tuple[Planned, bool]], deadline: float) -> None:
    signing: dict[tuple[str, str], tuple[str, str]] = {}
    for (name, trig), trigger in run.scratch["triggers"].items():
        spec = next(s for s in run.runtime.specs if s.name == name)
        secret = run.runtime.signing_secret(spec, trig)
        if not secret:
            raise RuntimeError(f"{name}.{trig} has no signing secret in the local runtime")
        signing[(name, trig)] = (run.runtime.url + trigger.path, secret)
    in_flight = threading.BoundedSemaphore(run.config.senders * 4)
    last_note = 0.0
    with ThreadPoolExecutor(max_workers=run.config.senders, thread_name_prefix="chaos-send") as pool:
        futures: list[Future[int]] = []
        for n, (p, _dup) in enumerate(schedule):
            while run._backlog > run.config.backlog and time.monotonic() < deadline:
                time.sleep(0.05)
            if time.monotonic() >= deadline:
                run.say("send deadline reached; stopping early")
                break
            in_flight.acquire()
            future = pool.submit(_deliver, run, p, signing)
            future.add_done_callback(lambda _f: in_flight.release())
            futures.append(future)
            if time.monotonic() - last_note > 2:
                last_note = time.monotonic()
                _progress_line(run, f"sending {n}/{len(schedule)}")
        for future in futures:
            future.result()


def _progress_line(run: ChaosRun, what: str) -> None:
    with run.progress.lock:
        stages = dict(run.progress.stages)
    run.say(
        f"{what}; queued {run._backlog}; processed {stages.get('processed', 0)}, "
        f"duplicates {stages.get('duplicate', 0)}, retries {stages.get('retry', 0)}, "
        f"dead-lettered {stages.get('dlq', 0)}, crashes {run.runtime.crashes}"
    )


@contextmanager
def _monitor(run: ChaosRun) -> Iterator[None]:
    """Refresh the backlog every second (the senders slow down on it)."""
    stop = threading.Event()
    every = run.config.token_expiry_s
    next_expiry = time.monotonic() + every

    def loop() -> None:
        nonlocal next_expiry
        while not stop.wait(1.0):
            with contextlib.suppress(Exception):  # moto busy: keep the last value
                run._backlog = run.backlog()
            if every > 0 and run.oauth_apps and time.monotonic() >= next_expiry:
                next_expiry = time.monotonic() + every
                for app in run.oauth_apps:
                    with contextlib.suppress(httpx.HTTPError):
                        run.http.post(f"{run.runtime.url}/_sandbox/{app}/_oauth/expire")
                run.token_expiries += 1

    thread = threading.Thread(target=loop, name="chaos-monitor", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _wait(run: ChaosRun, what: str) -> bool:
    deadline = time.monotonic() + run.config.drain_timeout_s
    while time.monotonic() < deadline:
        if run.runtime.wait_drained(
            timeout_s=min(5.0, deadline - time.monotonic()), settle_s=1.0, poll_s=0.5
        ):
            return True
        _progress_line(run, what)
    return False


def _dlq_letters(run: ChaosRun, target: Target) -> dict[str, list[tuple[str, str]]]:
    """integration -> [(event id, error)] of every message in its DLQ (released again afterwards)."""
    from infra.ops.dlq import DlqScan

    out: dict[str, list[tuple[str, str]]] = {}
    for spec in run.runtime.specs:
        if not spec.queued_triggers:
            continue
        with DlqScan(target, spec.name, limit=max(1000, 4 * run.config.events)) as scan:
            out[spec.name] = [(d.event_id, d.error) for d in scan.letters]
    return out


def _redrive(run: ChaosRun, target: Target, letters: Mapping[str, list[tuple[str, str]]]) -> int:
    from infra.ops import dlq

    moved = 0
    for name, found in letters.items():
        if found:
            log = StringIO()
            dlq.redrive(target, name, log)
            moved += len(found)
    return moved


def run_chaos(config: ChaosConfig, err: TextIO = sys.stderr) -> ChaosReport:
    """One chaos run (see the module docstring). Starts and stops its own local runtime."""
    from infra.local.runtime import LocalRuntime
    from shared.registry import load_specs

    specs = load_specs()
    names = {s.name for s in specs}
    wanted = [
        f
        for f in FACTORIES.values()
        if f.integration in names and (not config.integrations or f.integration in config.integrations)
    ]
    if not wanted:
        raise CliError("no event factory for the integrations asked for; see infra/ops/chaos.py FACTORIES")
    report = ChaosReport(
        events=config.events,
        seed=config.seed,
        faults={
            k: {"rate": v.rate, **({"apps": list(v.apps)} if v.apps else {})}
            for k, v in config.faults.items()
        },
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="switchboard-chaos-") as logs:
        runtime = LocalRuntime(
            port=0,
            retry_scale=0.02,
            invocations=2,
            # Visibility 30 s = the 30 s function timeout: a crashed batch comes back once its
            # in-progress records expired, as on Lambda (visibility = 6 x timeout).
            visibility_scale=0.17,
            http_read_timeout_s=CLIENT_TIMEOUT_S,
            log_dir=logs,
            state_file=None,
            aws_process=True,  # the emulation on the second core: the run is bound by interpreter time
        )
        progress = _Progress()
        trace.add_sink(progress)
        try:
            with runtime:
                run = ChaosRun(runtime, config, err)
                run.progress = progress
                _run(run, wanted, report)
        finally:
            trace.remove_sink(progress)
    report.elapsed_s = round(time.monotonic() - started, 1)
    return report


def _run(run: ChaosRun, factories: Sequence[EventFactory], report: ChaosReport) -> None:
    config, runtime = run.config, run.runtime
    specs: dict[str, IntegrationSpec] = {s.name: s for s in runtime.specs}
    run.scratch["triggers"] = {
        (f.integration, f.trigger): specs[f.integration].trigger(f.trigger) for f in factories
    }
    events, schedule = plan(config, factories)
    report.sent = len(events)
    report.deliveries = len(schedule)
    report.duplicates_sent = sum(1 for _, dup in schedule if dup)
    report.poison_sent = sum(1 for p in events if p.poison)
    report.integrations = dict(Counter(f"{p.factory.integration}.{p.factory.trigger}" for p in events))
    run.say(
        f"{len(events)} events ({report.poison_sent} poison), {report.duplicates_sent} re-sends, seed {config.seed}; "
        f"runtime at {runtime.url}"
    )
    for f in factories:
        if f.prepare is not None:
            f.prepare(run, [p for p in events if p.factory is f])
    used = {c.app for f in factories for c in specs[f.integration].connections}
    run.oauth_apps = tuple(
        sorted(a for a, s in runtime.sandboxes.items() if a in used and getattr(s, "oauth", None) is not None)
    )
    _set_faults(run, poison_only=False)

    target = Target(
        stage=runtime.stage, region="us-east-1", endpoint=runtime.aws_endpoint, gateway=runtime.url
    )
    send_started = time.monotonic()
    with _monitor(run):
        _send_all(run, schedule, send_started + config.drain_timeout_s)
        report.send_s = round(time.monotonic() - send_started, 1)
        run.say(f"sent {len(schedule)} deliveries in {report.send_s} s; waiting for the queues to drain")
        drained = _wait(run, "draining")
        report.drain_s = round(time.monotonic() - send_started, 1)
        report.faults_served = _served(run)
        report.faults_by_app = _served_by_app(run)
        _set_faults(run, poison_only=True)
        letters = _dlq_letters(run, target)
        report.dlq_before_redrive = sum(len(v) for v in letters.values())
        run.say(f"drained={drained}; {report.dlq_before_redrive} dead letter(s); faults cleared, redriving")
        report.redriven = _redrive(run, target, letters)
        drained = _wait(run, "draining after the redrive") and drained
    report.drained = drained
    report.crashes = runtime.crashes
    report.runtime_errors = len(runtime.errors)
    report.oauth = _oauth_report(run)
    for name, exc in runtime.errors[:3]:
        run.say(f"runtime error in {name}: {type(exc).__name__}: {exc}")
    _judge(run, events, _dlq_letters(run, target), report)


def _oauth_report(run: ChaosRun) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for app in run.oauth_apps:
        sandbox: Any = run.runtime.sandboxes[app]
        with sandbox.lock:
            state = sandbox.oauth.state()
        out[app] = {
            "access_token_expiries": run.token_expiries,
            "refreshes": state["refresh_calls"],
            "refused": state["refused"],
        }
    return out


def _served_by_app(run: ChaosRun) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for app, sandbox in run.runtime.sandboxes.items():
        with sandbox.lock:
            if sandbox.faults_served:
                out[app] = dict(sorted(sandbox.faults_served.items()))
    return out


def _served(run: ChaosRun) -> dict[str, int]:
    total: Counter[str] = Counter()
    for sandbox in run.runtime.sandboxes.values():
        with sandbox.lock:
            total.update(sandbox.faults_served)
    return dict(total)


def _judge(
    run: ChaosRun,
    events: Sequence[Planned],
    letters: Mapping[str, list[tuple[str, str]]],
    report: ChaosReport,
) -> None:
    observed: Counter[EffectKey] = Counter()
    for observe in OBSERVERS.values():
        observed.update(observe(run))
    accepted = [p for p in events if any(200 <= s < 300 for s in run.results.get(p.index, []))]
    report.accepted = len(accepted)
    report.not_accepted = len(events) - len(accepted)
    in_dlq: dict[str, set[str]] = {name: {e for e, _ in found} for name, found in letters.items()}
    expected: set[EffectKey] = set()
    lost: list[str] = []
    poison_missing: list[str] = []
    for p in accepted:
        event_id = p.factory.build(run, p).event_id
        if p.poison:
            if event_id in in_dlq.get(p.factory.dlq or p.factory.integration, set()):
                report.dlq_poison += 1
            else:
                poison_missing.append(p.key)
            continue
        keys = list(p.factory.effects(p))
        expected.update(keys)
        missing = [k for k in keys if observed[k] == 0]
        report.effects_missing += len(missing)
        if missing:
            lost.append(f"{p.key} ({event_id}): no {', '.join(kind for kind, _ in missing)}")
    report.poison_missing = len(poison_missing)
    poison_ids = {p.factory.build(run, p).event_id for p in events if p.poison}
    report.dlq_other = sum(1 for found in letters.values() for e, _ in found if e not in poison_ids)
    report.lost = len(lost)
    report.effects_expected = len(expected)
    report.effects_observed = sum(observed.values())
    doubled = {k: c for k, c in observed.items() if k in expected and c > 1}
    report.duplicate_effects = sum(c - 1 for c in doubled.values())
    unexpected = {k: c for k, c in observed.items() if k not in expected}
    report.unexpected_effects = sum(unexpected.values())
    examples = {
        "lost": lost[:5],
        "doubled": [f"{kind} {key} x{c}" for (kind, key), c in list(doubled.items())[:5]],
        "unexpected": [f"{kind} {key} x{c}" for (kind, key), c in list(unexpected.items())[:5]],
        "poison_missing": poison_missing[:5],
        "dlq_other": [
            f"{n}: {e} ({err})" for n, found in letters.items() for e, err in found if e not in poison_ids
        ][:5],
    }
    report.examples = {k: v for k, v in examples.items() if v}
    accepted_s = max(report.drain_s, 0.001)
    report.events_per_s = round(report.accepted / accepted_s, 1)
    report.ok = (
        report.drained
        and report.lost == 0
        and report.duplicate_effects == 0
        and report.unexpected_effects == 0
        and report.poison_missing == 0
        and report.dlq_other == 0
        and report.not_accepted == 0
        and report.runtime_errors == 0
    )


def print_report(report: ChaosReport, out: TextIO) -> None:
    """The human-readable form (``--json`` prints :meth:`ChaosReport.as_json` instead)."""
    rows = [
        ("events sent / accepted", f"{report.sent} / {report.accepted}  ({report.duplicates_sent} re-sent)"),
        ("effects expected / observed", f"{report.effects_expected} / {report.effects_observed}"),
        ("lost (events with a missing effect)", str(report.lost)),
        ("duplicate effects", str(report.duplicate_effects)),
        ("unexpected effects", str(report.unexpected_effects)),
        ("poison in DLQ / missing", f"{report.dlq_poison} / {report.poison_missing}"),
        (
            "other dead letters after redrive",
            f"{report.dlq_other} (before redrive: {report.dlq_before_redrive})",
        ),
        ("faults served", ", ".join(f"{k} {v}" for k, v in sorted(report.faults_served.items())) or "-"),
        ("crashed invocations", str(report.crashes)),
        (
            "OAuth refreshes (token expiries)",
            ", ".join(f"{a} {o['refreshes']} ({o['access_token_expiries']})" for a, o in report.oauth.items())
            or "-",
        ),
        ("elapsed", f"{report.elapsed_s} s ({report.events_per_s} events/s until drained)"),
    ]
    for label, value in rows:
        out.write(f"{label:<38} {value}\n")
    for kind, items in report.examples.items():
        out.write(f"  {kind}: {'; '.join(items)}\n")
    out.write(("OK: nothing lost, nothing doubled\n") if report.ok else "FAILED\n")
