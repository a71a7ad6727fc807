"""Stripe's webhook signature (``apps.stripe.VERIFIER``) against vectors computed here with the
standard library from Stripe's documented scheme, and the cases stripe-python's own tests cover
(``tests/test_webhook.py``: v0 only, a bad signature beside a good one, outside the tolerance, a
malformed header); plus minor units per Stripe's currency rules."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest

from apps import stripe
from apps.stripe.webhooks import Event
from shared.errors import MissingSecret, SignatureMismatch, SignatureMissing, TimestampOutOfTolerance
from shared.webhooks.base import WebhookRequest

SECRET = "whsec_test_secret"
BODY = b'{\n  "id": "evt_test_webhook",\n  "object": "event",\n  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n}'
NOW = 1_795_173_013
URL = "https://hooks.example.test/hooks/pos_to_accounting/stripe"


def v1(t: int | str, body: bytes = BODY, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def verify(
    header: str | None, *, body: bytes = BODY, secrets: list[str] | None = None, now: float = NOW
) -> None:
    headers = {} if header is None else {"stripe-signature": header}
    request = WebhookRequest(method="POST", url=URL, headers=headers, body=body)
    stripe.VERIFIER.verify(request, [SECRET] if secrets is None else secrets, now)


def test_a_fixed_vector() -> None:
    # HMAC-SHA256("whsec_test_secret", "1795173013." + BODY), computed independently of the verifier.
    expected = hmac.new(b"whsec_test_secret", b"1795173013." + BODY, hashlib.sha256).hexdigest()
    assert len(expected) == 64
    verify(f"t={NOW},v1={expected}")


def test_what_the_verifier_signs_is_what_stripe_signs() -> None:
    headers = stripe.VERIFIER.sign(method="POST", url=URL, body=BODY, secret=SECRET, now=NOW, msg_id="")
    assert headers == {"stripe-signature": f"t={NOW},v1={v1(NOW)}"}


def test_several_v1_values_any_one_matching_is_enough() -> None:
    verify(f"t={NOW},v1={v1(NOW, secret='whsec_rolled')},v1={v1(NOW)}")
    verify(f"t={NOW},v1={v1(NOW)},v1=bad_signature")


def test_v0_and_unknown_schemes_are_ignored() -> None:
    with pytest.raises(SignatureMissing):  # "No signatures found with expected scheme v1"
        verify(f"t={NOW},v0={v1(NOW)}")
    verify(f"t={NOW},v1={v1(NOW)},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39,v9=xyz")


def test_a_bad_signature_is_refused() -> None:
    with pytest.raises(SignatureMismatch):
        verify(f"t={NOW},v1=bad_signature")
    with pytest.raises(SignatureMismatch):
        verify(f"t={NOW},v1={v1(NOW, secret='whsec_other')}")
    with pytest.raises(SignatureMismatch):  # the body was changed after signing
        verify(f"t={NOW},v1={v1(NOW)}", body=BODY + b" ")


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_outside_the_300_second_tolerance_is_refused(age: int) -> None:
    t = NOW - age
    with pytest.raises(TimestampOutOfTolerance):
        verify(f"t={t},v1={v1(t)}")


@pytest.mark.parametrize("age", [0, 299, -299])
def test_inside_the_tolerance_is_accepted(age: int) -> None:
    t = NOW - age
    verify(f"t={t},v1={v1(t)}")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "i'm not even a real signature header",
        f"v1={v1(NOW)}",
        f"t=abc,v1={v1('abc')}",
        f"t={NOW},t={NOW},v1={v1(NOW)}",
    ],
)
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises((SignatureMissing, SignatureMismatch)):
        verify(header)


def test_the_previous_secret_works_during_a_roll_and_no_secret_fails_closed() -> None:
    verify(f"t={NOW},v1={v1(NOW, secret='whsec_old')}", secrets=["whsec_new", "whsec_old"])
    with pytest.raises(MissingSecret):
        verify(f"t={NOW},v1={v1(NOW)}", secrets=[""])


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1999, "usd", Decimal("19.99")),
        (1999, "GBP", Decimal("19.99")),
        (1500, "jpy", Decimal("1500")),
        (50000, "krw", Decimal("50000")),
        (5120, "kwd", Decimal("5.120")),
        (50000, "isk", Decimal("500.00")),  # ISK stays two-decimal in Stripe's API
        (1, "eur", Decimal("0.01")),
    ],
)
def test_minor_units(amount: int, currency: str, expected: Decimal) -> None:
    assert stripe.to_decimal(amount, currency) == expected


def test_an_event_reads_its_charge_and_previous_amount() -> None:
    event = Event.model_validate(
        {
            "id": "evt_3QmB7rLkDf2xYz9A1cDeF1gH",
            "object": "event",
            "api_version": stripe.STRIPE_API_VERSION,
            "created": NOW,
            "data": {
                "object": {
                    "id": "ch_3QmB7rLkDf2xYz9A1gH4jK5p",
                    "object": "charge",
                    "amount": 2400,
                    "amount_captured": 2400,
                    "amount_refunded": 600,
                    "currency": "gbp",
                    "created": NOW,
                    "status": "succeeded",
                    "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "0002"}},
                    "some_future_field": {"x": 1},
                },
                "previous_attributes": {"amount_refunded": 0},
            },
            "type": "charge.refunded",
        }
    )
    charge = event.charge()
    assert (
        charge.amount_refunded,
        charge.payment_method_details.brand if charge.payment_method_details else None,
    ) == (600, "visa")
    assert event.previous_int("amount_refunded") == 0
    assert event.previous_int("refunded") is None
