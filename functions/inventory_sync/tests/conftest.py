"""Fixtures of inventory_sync's tests: the runtime, both stand-ins holding their webhooks back, a till and a web shop.

The stand-ins' webhooks are caught, not delivered: a test decides when (and in what order, and how
often) each reaches the production ingress, which is how echoes, repeats and re-orderings are shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from apps.shopify.standin import DEFAULT_TOKEN as SHOPIFY_TOKEN
from apps.shopify.standin import ShopifySandbox
from apps.square.standin import DEFAULT_TOKEN as SQUARE_TOKEN
from apps.square.standin import SquareSandbox
from infra.local.gateway import api_gateway_event
from sandbox.base import SandboxApp, SandboxRequest
from shared.entry import dispatch
from shared.registry import load_spec
from shared.runtime import Runtime
from shared.secrets import signing_secrets
from shared.spec import WebhookTrigger

SPEC = load_spec("inventory_sync")
HOST = "hooks.example.test"
SKU = "LOAF-SOURDOUGH"
SQUARE_LOCATION = "LQ7T4N1V6K2RD"
SQUARE_VARIATION = "GZ4BN6QYT2XWCM7RLVKP3HDJ"
SHOPIFY_LOCATION = 71834255449
SHOPIFY_ITEM = 48234567890001


@dataclass
class Hook:
    """One webhook a stand-in sent, held back."""

    side: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Shops:
    rt: Runtime
    square: SquareSandbox
    shopify: ShopifySandbox
    held: list[Hook] = field(default_factory=list)
    _sales: int = 0

    # --- the scene ---------------------------------------------------------------------------------

    def stock(self, square: int, shopify: int) -> None:
        """Set both counts, as a physical count would (no webhook)."""
        ok = self.square.handle(
            SandboxRequest(
                method="POST",
                path="/_stock",
                body=json.dumps(
                    {"sku": SKU, "quantity": str(square), "location_id": SQUARE_LOCATION}
                ).encode(),
            )
        )
        assert ok.status == 200, ok.body
        done = self.shopify.shop.set_available(SKU, SHOPIFY_LOCATION, shopify)
        assert done is not None

    def counts(self) -> tuple[int, int]:
        square = self.square.counts[(SQUARE_VARIATION, SQUARE_LOCATION, "IN_STOCK")].quantity
        shopify = self.shopify.shop.items[SHOPIFY_ITEM].levels[SHOPIFY_LOCATION].quantities["available"]
        return int(square), shopify

    def till_sale(self, units: int = 1) -> None:
        """A sale at the till: Square moves the units from IN_STOCK to SOLD and sends inventory.count.updated."""
        self._sales += 1
        body = {
            "idempotency_key": f"till-sale-{self._sales}",
            "changes": [
                {
                    "type": "ADJUSTMENT",
                    "adjustment": {
                        "catalog_object_id": SQUARE_VARIATION,
                        "location_id": SQUARE_LOCATION,
                        "from_state": "IN_STOCK",
                        "to_state": "SOLD",
                        "quantity": str(units),
                        "occurred_at": "2026-11-21T10:00:00Z",
                    },
                }
            ],
        }
        res = self.square.handle(
            SandboxRequest(
                method="POST",
                path="/v2/inventory/changes/batch-create",
                headers={"authorization": f"Bearer {SQUARE_TOKEN}", "content-type": "application/json"},
                body=json.dumps(body).encode(),
            )
        )
        assert res.status == 200, res.body

    def online_sale(self, units: int = 1) -> None:
        """A checkout online: Shopify takes the units off ``available`` and sends inventory_levels/update."""
        self._sales += 1
        query = (
            "mutation Sale($input: InventoryAdjustQuantitiesInput!, $key: String!) { "
            "inventoryAdjustQuantities(input: $input) @idempotent(key: $key) { "
            "inventoryAdjustmentGroup { id } userErrors { code message } } }"
        )
        variables = {
            "key": f"checkout-{self._sales}",
            "input": {
                "name": "available",
                "reason": "other",
                "changes": [
                    {
                        "inventoryItemId": f"gid://shopify/InventoryItem/{SHOPIFY_ITEM}",
                        "locationId": f"gid://shopify/Location/{SHOPIFY_LOCATION}",
                        "delta": -units,
                        "changeFromQuantity": None,
                    }
                ],
            },
        }
        res = self.shopify.handle(
            SandboxRequest(
                method="POST",
                path="/admin/api/2026-04/graphql.json",
                headers={"x-shopify-access-token": SHOPIFY_TOKEN, "content-type": "application/json"},
                body=json.dumps({"query": query, "variables": variables}).encode(),
            )
        )
        answer = res.parsed()
        assert answer["data"]["inventoryAdjustQuantities"]["userErrors"] == [], answer

    def record_counts(self, scheduled_at: str = "2026-11-20T05:00:00+00:00") -> None:
        """Run the daily check once, as a new installation does: both counts become the record."""
        from infra.local.scheduler import schedule_message
        from shared.spec import ScheduleTrigger
        from tests.support import drain

        trigger = next(t for t in SPEC.triggers if isinstance(t, ScheduleTrigger))
        due = datetime.fromisoformat(scheduled_at)
        self.rt.aws("sqs").send_message(
            QueueUrl=self.rt.queue_url, MessageBody=schedule_message(SPEC.name, trigger, due)
        )
        drain(self.rt)

    # --- the webhooks ------------------------------------------------------------------------------

    def take(self) -> list[Hook]:
        out, self.held = self.held, []
        return out

    def deliver(self, hook: Hook) -> dict[str, Any]:
        path = f"/hooks/inventory_sync/{hook.side}"
        event = api_gateway_event(
            method="POST",
            path=path,
            query="",
            headers={**hook.headers, "host": HOST},
            body=hook.body,
            route_key=f"POST {path}",
        )
        answer = dispatch(self.rt, event)
        assert answer["statusCode"] == 202, answer
        return answer


def _catch(shops: Shops, side: str) -> Callable[[str, Any, bytes], int]:
    def keep(_url: str, headers: Any, body: bytes) -> int:
        shops.held.append(Hook(side, dict(headers), body))
        return 200

    return keep


@pytest.fixture
def new_shops(make_runtime: Any, sandboxes: dict[str, SandboxApp]) -> Shops:
    """Both shops at 10 loaves, the sync installed but no count recorded yet."""
    rt = make_runtime("inventory_sync", retry_scale=0)
    square, shopify = sandboxes["square"], sandboxes["shopify"]
    assert isinstance(square, SquareSandbox) and isinstance(shopify, ShopifySandbox)
    found = Shops(rt, square, shopify)
    for side, app in (("square", square), ("shopify", shopify)):
        trigger = SPEC.trigger(side)
        assert isinstance(trigger, WebhookTrigger) and app.webhooks is not None
        secret = signing_secrets(rt, trigger.secret)[0]
        app.webhooks.subscribe(
            f"https://{HOST}/hooks/inventory_sync/{side}", secret, deliver=_catch(found, side)
        )
    found.stock(10, 10)
    return found


@pytest.fixture
def shops(new_shops: Shops) -> Shops:
    """Both shops at 10 loaves, recorded by a first daily check (as a new installation is started)."""
    new_shops.record_counts()
    return new_shops


@pytest.fixture
def traced() -> Any:
    """Every trace entry (received, processed + summary, effect, dlq ...) while the test runs."""
    from shared import trace

    entries: list[dict[str, Any]] = []
    trace.add_sink(entries.append)
    yield entries
    trace.remove_sink(entries.append)
