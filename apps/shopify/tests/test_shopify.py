"""The Shopify app module: the webhook verifier, the webhook models against the samples, and that
importing the declaration stays cheap."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from apps.shopify import GRAPHQL_PATH, SHOPIFY_API_VERSION, SIGNING, VERIFIER, WEBHOOK_ID_HEADER
from apps.shopify.standin import shopify_signature
from apps.shopify.webhooks import InventoryLevel, Order, Refund
from shared.errors import MissingSecret, SignatureMismatch, SignatureMissing
from shared.webhooks.base import WebhookRequest

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "events" / "pos_to_accounting"
SECRET = "shpss_0123456789abcdef0123456789abcdef"
BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'
#: ``printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64`` - an outside reference.
VECTOR = "8++5uqaSbZMvfZWESSDj93PLZ220nqZIKaoc0fiVLe4="
URL = "https://hooks.example.test/hooks/pos_to_accounting/shopify"


def request(signature: str | None, body: bytes = BODY) -> WebhookRequest:
    headers = {"content-type": "application/json", "x-shopify-topic": "orders/paid"}
    if signature is not None:
        headers["x-shopify-hmac-sha256"] = signature
    return WebhookRequest(method="POST", url=URL, headers=headers, body=body)


def sample_body(name: str) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / f"{name}.json").read_text())["body"])


# --- the verifier --------------------------------------------------------------------------------


def test_a_fixed_vector_verifies_and_both_signers_agree_with_it() -> None:
    VERIFIER.verify(request(VECTOR), [SECRET], now=0)
    assert shopify_signature(URL, BODY, SECRET, 0) == {"x-shopify-hmac-sha256": VECTOR}
    signed = VERIFIER.sign(method="POST", url=URL, body=BODY, secret=SECRET, now=0, msg_id="wh-1")
    assert signed == {"x-shopify-hmac-sha256": VECTOR, WEBHOOK_ID_HEADER: "wh-1"}


def test_a_signature_of_another_body_or_secret_is_refused() -> None:
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(request(VECTOR, body=BODY + b" "), [SECRET], now=0)
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(request(VECTOR), ["another-secret"], now=0)
    with pytest.raises(SignatureMismatch):
        VERIFIER.verify(request("not base64 at all!"), [SECRET], now=0)


@pytest.mark.parametrize("sent", [None, "", "   "])
def test_a_missing_signature_is_refused_before_anything_is_compared(sent: str | None) -> None:
    with pytest.raises(SignatureMissing, match="x-shopify-hmac-sha256"):
        VERIFIER.verify(request(sent), [SECRET], now=0)


def test_a_doubled_header_is_refused() -> None:
    """API Gateway joins a repeated header with a comma, which base64 never holds."""
    with pytest.raises(SignatureMissing, match="more than once"):
        VERIFIER.verify(request(f"{VECTOR},{VECTOR}"), [SECRET], now=0)


def test_the_previous_secret_verifies_during_a_rotation_and_no_secret_fails_closed() -> None:
    VERIFIER.verify(request(VECTOR), ["the-new-secret", SECRET], now=0)
    assert SIGNING.optional == ("previous_secret",)
    with pytest.raises(MissingSecret):
        VERIFIER.verify(request(VECTOR), [], now=0)
    with pytest.raises(MissingSecret):
        VERIFIER.verify(request(VECTOR), [""], now=0)


def test_nothing_but_the_body_is_signed() -> None:
    """No timestamp to check: an old delivery verifies (the ledger keys make a replay a duplicate)."""
    VERIFIER.verify(request(VECTOR), [SECRET], now=10**10)


# --- the webhook models --------------------------------------------------------------------------


def test_the_order_sample_reads_as_shopify_renders_it() -> None:
    order = Order.model_validate(sample_body("shopify_orders_paid"))
    assert (order.id, order.currency, order.taxes_included) == (5923412345678, "GBP", True)
    assert order.current_total_price == Decimal("37.65")
    assert order.total_shipping_price_set is not None
    assert order.total_shipping_price_set.shop_money.amount == Decimal("3.95")
    loaf = order.line_items[0]
    assert (loaf.sku, loaf.quantity, loaf.price) == ("LOAF-SOURDOUGH", 2, Decimal("4.50"))
    assert [(t.title, t.price, t.rate) for t in loaf.tax_lines] == [
        ("GB VAT", Decimal("1.50"), Decimal("0.2"))
    ]
    cake = order.line_items[1]
    assert [d.amount for d in cake.discount_allocations] == [Decimal("1.80")]
    tip = order.line_items[3]
    assert (tip.product_id, tip.variant_id, tip.sku) == (None, None, None)


def test_the_refund_sample_reads_with_its_numbers_and_strings_exact() -> None:
    refund = Refund.model_validate(sample_body("shopify_refunds_create"))
    [line] = refund.refund_line_items
    assert (line.subtotal, line.total_tax) == (Decimal("16.2"), Decimal("2.7"))  # JSON numbers, read exactly
    [transaction] = refund.transactions
    assert (transaction.kind, transaction.status, transaction.amount) == (
        "refund",
        "success",
        Decimal("16.20"),
    )


def test_an_inventory_level_update_reads_and_unknown_fields_are_ignored() -> None:
    level = InventoryLevel.model_validate(
        {
            "inventory_item_id": 271878346596,
            "location_id": 24826418,
            "available": 6,
            "updated_at": "2026-11-20T10:41:53-05:00",
            "admin_graphql_api_id": "gid://shopify/InventoryLevel/24826418?inventory_item_id=271878346596",
            "something_new": True,
        }
    )
    assert (level.available, level.updated_at.utcoffset() is not None) == (6, True)
    with pytest.raises(ValueError, match="current_total_price"):
        Order.model_validate({**sample_body("shopify_orders_paid"), "current_total_price": None})


# --- the declaration ------------------------------------------------------------------------------


def test_every_url_is_built_from_the_one_version_pin() -> None:
    assert f"/admin/api/{SHOPIFY_API_VERSION}/graphql.json" == GRAPHQL_PATH
    written = re.compile(r"/admin/api/\d{4}-\d{2}")
    for path in (REPO / "apps" / "shopify").rglob("*.py"):
        if path.parent.name == "tests":
            continue  # tests ask for versions on purpose
        assert not written.search(path.read_text()), f"{path} writes an API URL with a version of its own"


def test_importing_the_declaration_and_the_webhooks_stays_cheap() -> None:
    code = (
        "import sys, apps.shopify, apps.shopify.webhooks\n"
        "bad = [m for m in ('httpx', 'apps.shopify.client', 'apps.shopify.models') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_manual_webhook_steps_name_the_url_the_events_and_where_the_key_goes() -> None:
    from apps.shopify.subscriptions import manual_steps
    from shared.subscriptions import ManualSetup

    steps = manual_steps(
        ManualSetup(
            "pos_to_accounting", "shopify", URL, ("orders/paid", "refunds/create"), SIGNING, " --stage prod"
        )
    )
    text = "\n".join(steps)
    assert URL in text and f"webhook API version {SHOPIFY_API_VERSION}" in text
    assert "Order payment (orders/paid)" in text and "Refund create (refunds/create)" in text
    assert "switchboard secrets set shopify_signing secret=- --stage prod" in text
