"""``switchboard webhooks register pos_to_accounting`` on a running local runtime, end to end.

A real runtime (moto server, gateway, pollers, the stand-ins over HTTP), the CLI run from the directory
that holds its state file, the registration made through the Square and Stripe stand-ins' own
subscription APIs over HTTP; then a payment made at each stand-in arrives signed with the key that API
returned, is accepted, and is booked in the QuickBooks stand-in.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import boto3
import httpx
import pytest

from apps.square.standin import DEFAULT_TOKEN
from apps.stripe.standin import DEFAULT_SECRET_KEY
from infra.local.runtime import LocalRuntime
from sandbox.sender import Subscription

pytestmark = pytest.mark.e2e


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def stored(rt: LocalRuntime, connection: str) -> dict[str, str]:
    """A signing connection's value: its SSM SecureString parameter, decrypted."""
    client = boto3.client("ssm", endpoint_url=rt.aws_endpoint, region_name="us-east-1")
    found = client.get_parameter(Name=f"/switchboard/local/{connection}", WithDecryption=True)["Parameter"]
    assert found["Type"] == "SecureString"
    value: dict[str, str] = json.loads(found["Value"])
    return value


def subscriptions(rt: LocalRuntime, app: str, integration: str = "pos_to_accounting") -> list[Subscription]:
    """The app's subscriptions for ``integration``'s URLs (inventory_sync subscribes at Square too)."""
    sender = rt.sandboxes[app].webhooks
    assert sender is not None
    return [s for s in sender.subscriptions if f"/hooks/{integration}/" in s.url]


def test_register_at_square_and_stripe_then_payments_arrive_signed_with_the_returned_keys(
    runtime: LocalRuntime, cli: Any
) -> None:
    ok(cli("webhooks", "remove", "pos_to_accounting"))  # forget what make dev wired up at start
    assert subscriptions(runtime, "square") == [] and subscriptions(runtime, "stripe") == []
    local_square_key = stored(runtime, "square_signing")["secret"]

    printed = ok(cli("webhooks", "register", "pos_to_accounting"))

    (square,) = subscriptions(runtime, "square")
    (stripe,) = subscriptions(runtime, "stripe")
    assert square.url == f"{runtime.url}/hooks/pos_to_accounting/square"
    assert stripe.url == f"{runtime.url}/hooks/pos_to_accounting/stripe"
    assert stored(runtime, "square_signing")["secret"] == square.secret != local_square_key
    assert stored(runtime, "square_signing")["previous_secret"] == local_square_key
    assert stored(runtime, "square_signing")["notification_url"] == square.url
    assert stored(runtime, "stripe_signing")["secret"] == stripe.secret
    assert f"created {square.id}" in printed and f"created {stripe.id}" in printed
    assert square.secret not in printed and stripe.secret not in printed

    paid = httpx.post(
        f"{runtime.url}/_sandbox/square/v2/payments",
        headers={"authorization": f"Bearer {DEFAULT_TOKEN}"},
        json={
            "source_id": "cnon:ok",
            "idempotency_key": "e2e-1",
            "amount_money": {"amount": 650, "currency": "GBP"},
        },
        timeout=10,
    )
    assert paid.status_code == 200, paid.text
    charged = httpx.post(
        f"{runtime.url}/_sandbox/stripe/v1/charges",
        headers={"authorization": f"Bearer {DEFAULT_SECRET_KEY}"},
        data={"amount": "1800", "currency": "gbp", "source": "tok_visa"},
        timeout=10,
    )
    assert charged.status_code == 200, charged.text
    assert runtime.wait_drained(30)

    for app in ("square", "stripe"):
        deliveries = httpx.get(f"{runtime.url}/_sandbox/{app}/_webhooks", timeout=5).json()["deliveries"]
        assert deliveries and {d["status"] for d in deliveries} == {202}, (app, deliveries)
    receipts = httpx.get(f"{runtime.url}/_sandbox/quickbooks/_state", timeout=5).json()["sales_receipts"]
    assert len(receipts) == 2  # the Square sale and the Stripe sale, each booked once

    listed = ok(cli("webhooks", "list", "pos_to_accounting"))
    assert listed.count(" current ") == 2 and "Fix:" not in listed


def test_on_a_fresh_runtime_register_adopts_what_make_dev_wired_up(runtime: LocalRuntime, cli: Any) -> None:
    before = {
        app: [s.id for s in subscriptions(runtime, app, "booking_to_calendar")]
        for app in ("calendly", "calcom")
    }
    assert all(before.values())

    printed = ok(cli("webhooks", "register", "booking_to_calendar"))

    after = {
        app: [s.id for s in subscriptions(runtime, app, "booking_to_calendar")]
        for app in ("calendly", "calcom")
    }
    assert after == before  # reused, nothing created
    assert printed.count("is kept") == 2 and "  created " not in printed
    assert ok(cli("webhooks", "list", "booking_to_calendar")).count(" current ") == 2


def test_cli_errors_are_one_line_with_the_fix(runtime: LocalRuntime, cli: Any) -> None:
    done = cli("webhooks", "register", "no_such_thing")
    assert done.returncode == 2 and done.stderr.startswith("switchboard: no integration 'no_such_thing'")
    done = cli("webhooks", "register", "stock_level")
    assert done.returncode == 2 and "has no webhook triggers" in done.stderr
    # The operator's Stripe key is kept nowhere (locally register uses the stand-in's sample key).
    done = cli("secrets", "set", "stripe", "api_key=sk_test_revoked")
    assert done.returncode == 2 and "stripe is not stored" in done.stderr and "STRIPE_API_KEY" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    ok(cli("secrets", "set", "square", "token=revoked"))
    done = cli("webhooks", "register", "pos_to_accounting")
    assert done.returncode == 2 and "Square refused the square connection's credentials (401)" in done.stderr
    assert "switchboard secrets set square token=-" in done.stderr and len(done.stderr.splitlines()) == 1
