"""Square's Catalog, Inventory, Payments, Refunds and Orders APIs, offline, in Square's own shapes.

Served (paths as on ``https://connect.squareup.com``, API version :data:`apps.square.SQUARE_VERSION`),
one module per API:

* :mod:`.catalog` - ``POST /v2/catalog/search`` (SearchCatalogObjects);
* :mod:`.inventory` - ``POST /v2/inventory/counts/batch-retrieve`` (BatchRetrieveInventoryCounts),
  and the control ``POST /_stock`` that sets a count;
* :mod:`.inventory_changes` - ``POST /v2/inventory/changes/batch-create`` (BatchChangeInventory), which
  sends ``inventory.count.updated``;
* :mod:`.payments` - ``GET /v2/payments`` (ListPayments), ``GET /v2/payments/{payment_id}``,
  ``POST /v2/payments`` (CreatePayment);
* :mod:`.refunds` - ``GET /v2/refunds`` (ListPaymentRefunds), ``POST /v2/refunds`` (RefundPayment);
* :mod:`.orders` - ``GET /v2/orders/{order_id}`` (RetrieveOrder);
* :mod:`.notifications` - the ``payment.*`` / ``refund.*`` webhooks, signed as Square signs them;
* :mod:`.subscriptions` - the Webhook Subscriptions API (``/v2/webhooks/subscriptions``): the
  notifications go to the subscriptions made through it, signed with the key it returned.

Checks as Square makes them (:mod:`.base`): a bearer token (401 ``AUTHENTICATION_ERROR``/
``UNAUTHORIZED`` with Square's own ``detail`` texts), the ``Square-Version`` format (400
``INVALID_SQUARE_VERSION_FORMAT``), cursors (400 ``INVALID_CURSOR``), enum values, limits. Every
answer carries the ``Square-Version`` it was served with, as Square's do. Error bodies are
``{"errors": [{"category", "code", "detail", "field"}]}`` (:mod:`.wire`); where Square documents no
exact ``detail`` text, the text is ours, in that shape.

The seeded data is a small bakery (:mod:`.seed`: :data:`LOCATIONS`, :data:`SEED_ITEMS`,
:data:`SEED_PAYMENTS`, :data:`SEED_REFUNDS`). Besides the base class's control endpoints,
``POST /_stock {"sku": "LOAF-RYE", "quantity": "12", "location_id": "...", "state": "IN_STOCK"}``
sets a count (as a physical count would), for tests and demos.

Rate limits: Square does not publish its limits ("Square does have rate limits but we don't
document the limits" - Square's developer forum,
https://developer.squareup.com/forums/t/square-catalog-batch-load-issues/15492), so the stand-in
declares none and enforces none (:mod:`sandbox.limits`): a number of ours would be a guess that
fails the till's own calls as readily as Switchboard's. Square's 429 - ``RATE_LIMITED`` /
``RATE_LIMIT_ERROR`` (https://developer.squareup.com/reference/square/objects/ErrorCategory) - is
what a ``rate_limit`` fault answers.

Each API is a class of its own (its data, its reset, its handlers); :class:`SquareSandbox` puts them
together and lists the routes. Adding a Square API is adding a module beside these.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Unpack

from apps.square import MAX_COUNTS_PAGE
from sandbox.base import Handler, SandboxOptions, SandboxRequest, SandboxResponse
from sandbox.sender import WebhookSender

from .base import DEFAULT_TOKEN
from .inventory_changes import InventoryChangesApi
from .notifications import square_signature
from .refunds import RefundsApi
from .seed import (
    LOCATIONS,
    MERCHANT_ID,
    SEED_ITEMS,
    SEED_PAYMENTS,
    SEED_REFUNDS,
    TIMEZONE,
    SeedItem,
    SeedLine,
    SeedPayment,
    SeedRefund,
    SeedVariation,
)
from .subscriptions import WebhookSubscriptionsApi, new_subscription_id

__all__ = [
    "DEFAULT_TOKEN",
    "LOCATIONS",
    "MERCHANT_ID",
    "SEED_ITEMS",
    "SEED_PAYMENTS",
    "SEED_REFUNDS",
    "TIMEZONE",
    "SeedItem",
    "SeedLine",
    "SeedPayment",
    "SeedRefund",
    "SeedVariation",
    "SquareSandbox",
    "square_signature",
]


class SquareSandbox(InventoryChangesApi, RefundsApi, WebhookSubscriptionsApi):
    """Square stand-in. See the module docstring for what it serves and checks."""

    name: ClassVar[str] = "square"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        items: Sequence[SeedItem] = SEED_ITEMS,
        max_page_size: int = MAX_COUNTS_PAGE,
        payments: Sequence[SeedPayment] = SEED_PAYMENTS,
        refunds: Sequence[SeedRefund] = SEED_REFUNDS,
        clock: Callable[[], float] = time.time,
        **options: Unpack[SandboxOptions],
    ) -> None:
        self.token = token
        self.seed = tuple(items)
        self.seed_payments = tuple(payments)
        self.seed_refunds = tuple(refunds)
        #: Square's webhooks: payment.created/updated, refund.created/updated, signed as Square does.
        self.webhooks = WebhookSender(
            square_signature,
            event_id=lambda p: str(p.get("event_id", "")),
            new_id=new_subscription_id,
            clock=clock,
        )
        self.max_page_size = max_page_size
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("POST", "/v2/catalog/search", self._search_catalog),
            ("POST", "/v2/inventory/counts/batch-retrieve", self._batch_retrieve_counts),
            ("POST", "/v2/inventory/changes/batch-create", self._batch_change_inventory),
            ("GET", "/v2/payments", self._list_payments),
            ("POST", "/v2/payments", self._create_payment),
            ("GET", "/v2/payments/{payment_id}", self._get_payment),
            ("GET", "/v2/refunds", self._list_refunds),
            ("POST", "/v2/refunds", self._refund_payment),
            ("GET", "/v2/orders/{order_id}", self._retrieve_order),
            ("GET", "/v2/webhooks/subscriptions", self._list_subscriptions),
            ("POST", "/v2/webhooks/subscriptions", self._create_subscription),
            ("GET", "/v2/webhooks/subscriptions/{subscription_id}", self._retrieve_subscription),
            ("PUT", "/v2/webhooks/subscriptions/{subscription_id}", self._update_subscription),
            ("DELETE", "/v2/webhooks/subscriptions/{subscription_id}", self._delete_subscription),
            (
                "POST",
                "/v2/webhooks/subscriptions/{subscription_id}/signature-key",
                self._update_signature_key,
            ),
        )

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        """This app's own control endpoints (beside the base class's ``/_requests``, ``/_faults`` ...)."""
        return {("POST", "/_stock"): self._set_stock}

    def reset_data(self) -> None:
        now = self.clock()
        self._reset_catalog(now)
        self._reset_counts(now)
        self._reset_notifications()
        self._reset_orders()
        self._reset_payments()
        self._reset_refunds()
        self._reset_subscription_requests()

    def state(self) -> Any:
        return {
            "locations": [{"id": k, "name": v} for k, v in LOCATIONS.items()],
            "variations": [
                {"id": o.id, "sku": o.data["sku"], "name": o.data["name"], "item_id": o.parent_id}
                for o in self.catalog.values()
                if o.type == "ITEM_VARIATION" and not o.is_deleted
            ],
            "counts": [c.as_json() for c in self.counts.values()],
            "payments": len(self.payments),
            "refunds": len(self.refunds),
            "orders": len(self.orders),
            "notifications": [
                {"event_id": n["event_id"], "type": n["type"], "id": n["data"]["id"]}
                for n in self.notifications
            ],
        }

    # --- serving: controls under the lock, webhooks once it is released ------------------------

    def handle(self, req: SandboxRequest, *, read_timeout: float | None = None) -> SandboxResponse:
        control = self.controls().get((req.method.upper(), req.path.split("?", 1)[0]))
        if control is None:
            try:
                return super().handle(req, read_timeout=read_timeout)
            finally:
                # Outside the lock: a subscriber may take its time, other requests go on meanwhile.
                self._flush_webhooks()
        with self.lock:
            return control(req, {})
