"""Shopify's GraphQL Admin API and webhooks, offline, in Shopify's own shapes.

Served (as on ``https://<shop>.myshopify.com``): ``POST /admin/api/<version>/graphql.json`` - the
queries and mutations :mod:`apps.shopify.client` sends (``order``, ``productVariants``, ``nodes``,
``inventoryItem``, ``inventoryAdjustQuantities``, ``inventorySetQuantities``), parsed and answered
with exactly the fields asked for (:mod:`.graphql`) from a small bakery's shop (:mod:`.seed`,
:mod:`.shop`). Every answer is a 200 carrying ``extensions.cost``; errors are in ``errors[]``.

Checks as Shopify makes them:

* ``X-Shopify-Access-Token``: a missing or wrong token is a 401 with Shopify's body
  ``{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}``
  (https://shopify.dev/docs/api/admin-graphql#status-and-error-codes);
* the version in the path: the answer's ``X-Shopify-API-Version`` names the version served - the
  asked one if it is supported, else the oldest supported, as Shopify falls forward
  (https://shopify.dev/docs/api/usage/versioning);
* the query cost leaky bucket, per access token: :data:`apps.shopify.BUCKET_POINTS` points restored at
  :data:`apps.shopify.RESTORE_PER_S` a second (the standard plan). A query whose requested cost the
  bucket cannot hold is answered ``{"errors": [{"message": "Throttled", "extensions": {"code":
  "THROTTLED", ...}}], "extensions": {"cost": {"requestedQueryCost", "actualQueryCost": null,
  "throttleStatus": {...}}}}``; one that costs more than the bucket at all is ``MAX_COST_EXCEEDED``.
  https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits. Lifted like every
  stand-in's limits (``limits=False``, ``SWITCHBOARD_SANDBOX_LIMITS=off``, ``POST /_limits``).

Webhooks (:attr:`ShopifySandbox.webhooks`): signed as Shopify signs them (:func:`shopify_signature`,
written from Shopify's documentation, not from :mod:`shared.webhooks`), with ``X-Shopify-Topic``,
``X-Shopify-Webhook-Id``, ``X-Shopify-Event-Id``, ``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``
and ``X-Shopify-Triggered-At``. An inventory mutation sends ``inventory_levels/update``; the controls
``POST /_orders`` (an order, REST shape: kept for ``order(id:)`` and sent as ``orders/paid``) and
``POST /_refunds`` (sent as ``refunds/create``, and added to its order's ``refunds`` when the stand-in
has that order) stand for a checkout and a refund made in Shopify.
``POST /_stock {"sku", "location_id", "available"}`` sets a count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Unpack

from apps.shopify import BUCKET_POINTS, CONNECTION, RESTORE_PER_S, SHOPIFY_API_VERSION
from apps.shopify.webhooks import TOPIC_INVENTORY_LEVELS_UPDATE, TOPIC_ORDERS_PAID, TOPIC_REFUNDS_CREATE
from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse
from sandbox.limits import RateLimit, header_token
from sandbox.sender import WebhookSender

from .graphql import Field, GraphQLSyntaxError, UndefinedField, actual_cost, execute, parse, requested_cost
from .graphql import resolve_args as _resolve_args
from .seed import LOCATIONS, SEED_ORDERS, SEED_VARIANTS, SHOP_CURRENCY, SHOP_DOMAIN, SeedVariant
from .shop import RequestError, Shop

__all__ = ["DEFAULT_TOKEN", "SUPPORTED_VERSIONS", "ShopifySandbox", "shopify_signature"]

#: The local connection's token (:data:`apps.shopify.CONNECTION`'s ``local`` value).
DEFAULT_TOKEN: Final = CONNECTION.local["token"]
#: Versions the stand-in serves as themselves (four quarters, as Shopify supports a year of them).
SUPPORTED_VERSIONS: Final = ("2026-01", "2026-04", "2026-07", "2026-10")
_UNAUTHORIZED: Final = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_DOCS: Final = "https://shopify.dev/api/usage/rate-limits"


def shopify_signature(url: str, body: bytes, secret: str, now: float) -> dict[str, str]:
    """Shopify's webhook signature, from Shopify's documentation (not from shared/webhooks).

    "Each webhook request includes a base64-encoded X-Shopify-Hmac-SHA256 header, which is generated
    using the app's client secret along with the data sent in the request." The URL and the time are
    not signed. https://shopify.dev/docs/apps/build/webhooks/subscribe/https
    """
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return {"x-shopify-hmac-sha256": base64.b64encode(digest).decode("ascii")}


@dataclass
class _Bucket:
    available: float
    at: float


class ShopifySandbox(SandboxApp):
    """Shopify stand-in. See the module docstring for what it serves and checks."""

    name: ClassVar[str] = "shopify"
    #: The request count the cost bucket implies: every query costs at least 1 point, so no 20 s holds
    #: more than the full bucket plus 20 s of restore (1,000 + 50 x 20) - never stricter than Shopify.
    #: The bucket itself, on query cost, is enforced in :meth:`_graphql` (the limiter counts requests).
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit(
            name="graphql_bucket_requests",
            requests=int(BUCKET_POINTS + RESTORE_PER_S * 20),
            per_s=20.0,
            scope="access token",
            key=header_token("x-shopify-access-token"),
            path="/graphql.json",
            source="https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits",
        ),
    )

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        variants: Sequence[SeedVariant] = SEED_VARIANTS,
        bucket_points: int = BUCKET_POINTS,
        restore_per_s: float = RESTORE_PER_S,
        clock: Callable[[], float] = time.time,
        **options: Unpack[SandboxOptions],
    ) -> None:
        self.token = token
        self.seed = tuple(variants)
        self.bucket_points = bucket_points
        self.restore_per_s = restore_per_s
        self.webhooks = WebhookSender(shopify_signature, clock=clock)
        self._outbox: list[tuple[str, dict[str, Any]]] = []
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (("POST", "/admin/api/{version}/graphql.json", self._graphql),)

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        return {
            ("POST", "/_orders"): self._paid_order,
            ("POST", "/_refunds"): self._refund,
            ("POST", "/_stock"): self._set_stock,
        }

    def reset_data(self) -> None:
        self.shop = Shop(self._sandbox_now(), SHOP_CURRENCY, self.seed)
        # Deep copies: a test's refund or order must not change the seed for the next reset.
        self.shop.orders = {o["id"]: json.loads(json.dumps(o)) for o in SEED_ORDERS}
        self.buckets: dict[str, _Bucket] = {}
        self._outbox = []

    def state(self) -> Any:
        return {
            "locations": [{"id": f"gid://shopify/Location/{k}", "name": v} for k, v in LOCATIONS.items()],
            "items": [
                {
                    "sku": item.sku,
                    "inventory_item_id": item.number,
                    "tracked": item.tracked,
                    "levels": {str(loc): dict(level.quantities) for loc, level in item.levels.items()},
                }
                for item in self.shop.items.values()
            ],
            "orders": sorted(self.shop.orders),
            "adjustment_groups": self.shop.groups,
            "buckets": {k[:12] + "...": round(b.available, 1) for k, b in self.buckets.items()},
        }

    # --- Shopify's own answers -----------------------------------------------------------------

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        if (req.header("x-shopify-access-token") or "").strip() != self.token:
            return SandboxResponse.json({"errors": _UNAUTHORIZED}, 401)
        return None

    def error_response(self, status: int, message: str) -> SandboxResponse:
        return SandboxResponse.json({"errors": message}, status)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return SandboxResponse.json({"errors": "Exceeded the rate limit for this shop. Retry later."}, 429)

    # --- serving: webhooks are sent once the lock is released ----------------------------------

    def handle(self, req: SandboxRequest, *, read_timeout: float | None = None) -> SandboxResponse:
        control = self.controls().get((req.method.upper(), req.path.split("?", 1)[0]))
        try:
            if control is None:
                return super().handle(req, read_timeout=read_timeout)
            with self.lock:
                self.shop.now = self._sandbox_now()
                return control(req, {})
        finally:
            self._flush()

    def _flush(self) -> None:
        with self.lock:
            outbox, self._outbox = self._outbox, []
            outbox += [(TOPIC_INVENTORY_LEVELS_UPDATE, p) for p in self.shop.level_updates]
            self.shop.level_updates = []
        for topic, payload in outbox:
            self.send_webhook(topic, payload)

    def send_webhook(self, topic: str, payload: Mapping[str, Any]) -> str:
        """Send one event to the subscriptions that want ``topic``; returns its webhook id."""
        webhook_id = str(uuid.uuid4())
        now = self._sandbox_now()
        headers = {
            "x-shopify-topic": topic,
            "x-shopify-webhook-id": webhook_id,
            "x-shopify-event-id": str(uuid.uuid4()),
            "x-shopify-shop-domain": SHOP_DOMAIN,
            "x-shopify-api-version": SHOPIFY_API_VERSION,
            "x-shopify-triggered-at": datetime.fromtimestamp(now, UTC).isoformat(),
        }
        if self.webhooks is not None:
            self.webhooks.send(payload, event_type=topic, event_id=webhook_id, headers=headers)
        return webhook_id

    # --- the GraphQL endpoint ------------------------------------------------------------------

    def _graphql(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        version = params["version"]
        served = version if version in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]
        headers = {"x-shopify-api-version": served}
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return SandboxResponse.json({"errors": {"query": "Required parameter missing or invalid"}}, 400)
        variables = body.get("variables") or {}
        self.shop.now = self._sandbox_now()
        try:
            doc = parse(body["query"])
        except GraphQLSyntaxError as exc:
            return SandboxResponse.json({"errors": [{"message": str(exc)}]}, headers=headers)
        requested = requested_cost(doc, variables)
        if requested > self.bucket_points:
            message = f"Query cost is {requested}, which exceeds the single query max cost limit ({self.bucket_points})."
            error = {"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested}}
            return SandboxResponse.json({"errors": [error]}, headers=headers)
        bucket = self._bucket(req)
        if self.limiter.enforce and requested > bucket.available:
            throttled = {"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": _DOCS}}
            return SandboxResponse.json(
                {"errors": [throttled], "extensions": {"cost": self._cost(requested, None, bucket)}},
                headers=headers,
            )
        try:
            if doc.kind == "mutation":
                keys = {
                    f.name: _resolve_args(f.directives.get("idempotent", {}), variables).get("key")
                    for f in doc.selections
                    if isinstance(f, Field)
                }
                data = execute(self.shop.mutation_root(keys), doc.selections, variables)
            else:
                data = execute(self.shop.query_root(), doc.selections, variables)
        except UndefinedField as exc:
            extensions = {"code": "undefinedField", "typeName": exc.type_name, "fieldName": exc.field_name}
            return SandboxResponse.json(
                {"errors": [{"message": str(exc), "extensions": extensions}]}, headers=headers
            )
        except RequestError as exc:
            return SandboxResponse.json({"errors": [exc.as_json()]}, headers=headers)
        actual = actual_cost(doc, data)
        bucket.available -= actual
        return SandboxResponse.json(
            {"data": data, "extensions": {"cost": self._cost(requested, actual, bucket)}}, headers=headers
        )

    def _bucket(self, req: SandboxRequest) -> _Bucket:
        """This token's bucket, refilled for the time since it was last used."""
        now = self._sandbox_now()
        key = req.header("x-shopify-access-token") or ""
        bucket = self.buckets.setdefault(key, _Bucket(float(self.bucket_points), now))
        bucket.available = min(
            float(self.bucket_points), bucket.available + (now - bucket.at) * self.restore_per_s
        )
        bucket.at = now
        return bucket

    def _cost(self, requested: int, actual: int | None, bucket: _Bucket) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": float(self.bucket_points),
                # Rounded down, so a wait computed from it is never short.
                "currentlyAvailable": math.floor(max(0.0, bucket.available) * 10) / 10,
                "restoreRate": self.restore_per_s,
            },
        }

    # --- controls ------------------------------------------------------------------------------

    def _paid_order(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        order = _object(req)
        if not isinstance(order.get("id"), int) or not order.get("current_total_price"):
            return SandboxResponse.json({"error": "an order needs a numeric id and current_total_price"}, 400)
        self.shop.orders[order["id"]] = order
        self._outbox.append((TOPIC_ORDERS_PAID, order))
        return SandboxResponse.json({"id": order["id"], "topic": TOPIC_ORDERS_PAID}, 201)

    def _refund(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        refund = _object(req)
        if not isinstance(refund.get("id"), int) or not isinstance(refund.get("order_id"), int):
            return SandboxResponse.json({"error": "a refund needs numeric id and order_id"}, 400)
        order = self.shop.orders.get(refund["order_id"])
        if order is not None:
            order.setdefault("refunds", []).append(refund)
            if refund.get("created_at"):
                order["updated_at"] = refund["created_at"]
        self._outbox.append((TOPIC_REFUNDS_CREATE, refund))
        return SandboxResponse.json({"id": refund["id"], "topic": TOPIC_REFUNDS_CREATE}, 201)

    def _set_stock(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        body = _object(req)
        sku, location, available = body.get("sku"), body.get("location_id"), body.get("available")
        if not isinstance(sku, str) or not isinstance(location, int) or not isinstance(available, int):
            return SandboxResponse.json(
                {"error": "give sku (text), location_id and available (numbers)"}, 400
            )
        done = self.shop.set_available(sku, location, available)
        if done is None:
            return SandboxResponse.json({"error": f"no item {sku!r} or no location {location}"}, 404)
        return SandboxResponse.json(done)


def _object(req: SandboxRequest) -> dict[str, Any]:
    try:
        data = req.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
