"""Shopify's typed GraphQL Admin API client, over :class:`shared.http.ApiClient`.

One endpoint, ``POST /admin/api/<version>/graphql.json`` (:data:`apps.shopify.GRAPHQL_PATH`), every
answer a 200 whose body says what happened. This module reads it once, in :meth:`ShopifyClient.execute`:

* ``errors[].extensions.code == "THROTTLED"`` -> :class:`~shared.errors.RateLimited`, waiting
  ``(requestedQueryCost - currentlyAvailable) / restoreRate`` seconds - the time the leaky bucket needs
  to hold this query again (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits).
  The worker turns it into the message's visibility: nothing sleeps in Lambda;
* ``INTERNAL_SERVER_ERROR`` (and a 200 without ``data``) -> :class:`~shared.errors.TargetUnavailable`;
* any other top-level error (a query the version does not know, ``ACCESS_DENIED`` for a missing scope,
  ``MAX_COST_EXCEEDED``) -> :class:`~shared.errors.TargetRejected`: retrying the same query cannot help;
* a mutation's ``userErrors`` -> :class:`~shared.errors.TargetRejected` with Shopify's messages and codes
  (:class:`QuantityStale`, a subclass, when a ``changeFromQuantity`` was stale).

The queries select only what is read (the cost of a query grows with what it selects):

* ``order(id:)`` - the order's totals and lines: https://shopify.dev/docs/api/admin-graphql/2026-04/queries/order
* ``productVariants(first:, query: "sku:...")`` with each variant's inventory item:
  https://shopify.dev/docs/api/admin-graphql/2026-04/queries/productVariants (search syntax:
  https://shopify.dev/docs/api/usage/search-syntax); at most 250 a page.
* ``nodes(ids:)`` of inventory items with ``inventoryLevels`` and ``quantities(names: ["available"])``:
  https://shopify.dev/docs/api/admin-graphql/2026-04/objects/InventoryItem
* ``orders(first:, after:, query:, sortKey:)`` with the search syntax's ``updated_at:>=`` and cursor
  pagination through ``pageInfo { hasNextPage endCursor }``:
  https://shopify.dev/docs/api/admin-graphql/2026-04/queries/orders,
  https://shopify.dev/docs/api/usage/search-syntax, https://shopify.dev/docs/api/usage/pagination-graphql
* ``inventoryAdjustQuantities`` / ``inventorySetQuantities`` with ``changeFromQuantity`` on each change
  (compare-and-swap; mandatory from 2026-04, ``null`` opts out) and ``@idempotent(key:)`` (required
  from 2026-04): https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/inventoryAdjustQuantities,
  https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/inventorySetQuantities,
  https://shopify.dev/docs/api/usage/idempotent-requests

Worker path only. httpx (via :mod:`shared.http`) is imported for type checking only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.errors import RateLimited, TargetRejected, TargetUnavailable
from shared.redact import redact_text

from . import APP, GRAPHQL_PATH
from .models import (
    AdjustmentGroup,
    Cost,
    Envelope,
    GraphQLError,
    InventoryItem,
    Order,
    ProductVariant,
    SalesOrder,
    SalesOrders,
    UserError,
)

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = [
    "ITEMS_PER_QUERY",
    "MAX_PAGE",
    "ORDERS_PER_PAGE",
    "REFUNDS_PER_ORDER",
    "SKUS_PER_QUERY",
    "InventoryChange",
    "InventorySet",
    "QuantityStale",
    "ShopifyClient",
    "gid",
    "throttle_wait",
]

#: The largest ``first:`` a connection takes.
MAX_PAGE: Final = 250
#: SKUs per variant search, and variants asked per SKU (SKUs are not unique in Shopify). A query's
#: cost is priced on ``first`` (2 + first x the objects of one node - 3 for a variant with its product
#: and inventory item), so 50 SKUs x 4 = 200 variants cost 602 of the bucket's 1,000 points.
SKUS_PER_QUERY: Final = 50
_VARIANTS_PER_SKU: Final = 4
#: Locations one inventory item is read at (a small business has a few), and items per query:
#: each costs 1 + 2 + 10 x 2 = 23 points, so 40 of them stay under 1,000.
_MAX_LEVELS: Final = 10
ITEMS_PER_QUERY: Final = 40
_UNAVAILABLE_CODES: Final = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})
_GID: Final = re.compile(r"^gid://shopify/(\w+)/(\d+)$")

#: Orders per page of the sales read, and refunds read per order. A page is priced before it runs as a
#: connection (2 + first x one order's objects: 1 + 2 money bags x 2 + refunds 2 + 5 x 3 = 22), so 25
#: orders ask for 552 of the bucket's 1,000 points and the bucket still holds the next page after one
#: (a page *costs* what it returned, ~6 points an order). 100 a page would ask for more than the bucket
#: (``MAX_COST_EXCEEDED``). An order refunded 5 times or more is refused (:class:`TooManyRefunds`)
#: rather than summed short.
ORDERS_PER_PAGE: Final = 25
REFUNDS_PER_ORDER: Final = 5
#: A day of a small shop is a few pages; a runaway cursor stops here.
_MAX_ORDER_PAGES: Final = 400

M = TypeVar("M", bound=BaseModel)

ORDERS_QUERY: Final = """
query SwitchboardSales($first: Int!, $after: String, $query: String!, $refunds: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: ID) {
    nodes {
      id name processedAt displayFinancialStatus test
      totalPriceSet { shopMoney { amount currencyCode } }
      totalTipReceivedSet { shopMoney { amount currencyCode } }
      refunds(first: $refunds) { id createdAt totalRefundedSet { shopMoney { amount currencyCode } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ORDER_QUERY: Final = """
query SwitchboardOrder($id: ID!) {
  order(id: $id) {
    id name currencyCode createdAt processedAt displayFinancialStatus test taxesIncluded
    currentTotalPriceSet { shopMoney { amount currencyCode } }
    totalTaxSet { shopMoney { amount currencyCode } }
    totalTipReceivedSet { shopMoney { amount currencyCode } }
    lineItems(first: 100) {
      nodes {
        id title sku quantity
        originalUnitPriceSet { shopMoney { amount currencyCode } }
        taxLines { title rate priceSet { shopMoney { amount currencyCode } } }
        discountAllocations { allocatedAmountSet { shopMoney { amount currencyCode } } }
      }
    }
  }
}
"""

VARIANTS_QUERY: Final = """
query SwitchboardVariantsBySku($first: Int!, $query: String!) {
  productVariants(first: $first, query: $query) {
    nodes { id sku title product { id title } inventoryItem { id tracked } }
  }
}
"""

LEVELS_QUERY: Final = """
query SwitchboardInventoryLevels($ids: [ID!]!, $first: Int!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id sku tracked
      inventoryLevels(first: $first) {
        nodes { id updatedAt location { id } quantities(names: ["available"]) { name quantity updatedAt } }
      }
    }
  }
}
"""

_GROUP = (
    "inventoryAdjustmentGroup { id createdAt reason referenceDocumentUri "
    "changes { name delta quantityAfterChange item { id } location { id } } } "
    "userErrors { field message code }"
)

ADJUST_MUTATION: Final = f"""
mutation SwitchboardAdjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {{
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {{ {_GROUP} }}
}}
"""

SET_MUTATION: Final = f"""
mutation SwitchboardSet($input: InventorySetQuantitiesInput!, $key: String!) {{
  inventorySetQuantities(input: $input) @idempotent(key: $key) {{ {_GROUP} }}
}}
"""


class TooManyRefunds(TargetRejected):
    """An order has more refunds than one read holds (:data:`REFUNDS_PER_ORDER`): the sums would be short."""

    code = "too_many_refunds"


class QuantityStale(TargetRejected):
    """An inventory mutation's ``changeFromQuantity`` was not the quantity there (``CHANGE_FROM_QUANTITY_STALE``).

    Nothing was applied. Permanent for this very input, but the caller that read the quantity can
    read again and retry (the stock actions turn it into the retryable ``StockChanged``).
    """

    code = "quantity_stale"


def gid(kind: str, number: int | str) -> str:
    """A global id: ``("InventoryItem", 123)`` -> ``gid://shopify/InventoryItem/123``; a gid stays itself."""
    text = str(number)
    if _GID.match(text):
        return text
    if not text.isdigit():
        raise ValueError(f"{text!r} is neither a numeric Shopify id nor a gid://shopify/... id")
    return f"gid://shopify/{kind}/{text}"


def throttle_wait(cost: Cost | None) -> float | None:
    """Seconds until the bucket holds the query again: ``(requested - available) / restoreRate``.

    Rounded up to a whole second (an SQS visibility timeout is whole seconds, and a wait a hair short
    is throttled again); ``None`` if Shopify sent no cost (the worker's back-off decides then).
    """
    if cost is None or cost.throttleStatus is None or cost.requestedQueryCost is None:
        return None
    status = cost.throttleStatus
    return float(
        max(0, math.ceil((cost.requestedQueryCost - status.currentlyAvailable) / status.restoreRate))
    )


def _search_term(sku: str) -> str:
    """``sku:"..."`` with the search syntax's quotes and backslashes escaped."""
    return 'sku:"' + sku.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class InventoryChange:
    """One ``InventoryChangeInput``: ``delta`` units at a location, ``expected`` before it (or ``None``)."""

    inventory_item_id: str
    location_id: str
    delta: int
    #: ``changeFromQuantity``: the quantity expected now; ``None`` skips the compare-and-swap check.
    expected: int | None

    def as_input(self) -> dict[str, Any]:
        return {
            "inventoryItemId": gid("InventoryItem", self.inventory_item_id),
            "locationId": gid("Location", self.location_id),
            "delta": self.delta,
            "changeFromQuantity": self.expected,
        }


@dataclass(frozen=True)
class InventorySet:
    """One ``InventoryQuantityInput``: set ``quantity``, if ``expected`` is what is there now."""

    inventory_item_id: str
    location_id: str
    quantity: int
    expected: int | None

    def as_input(self) -> dict[str, Any]:
        return {
            "inventoryItemId": gid("InventoryItem", self.inventory_item_id),
            "locationId": gid("Location", self.location_id),
            "quantity": self.quantity,
            "changeFromQuantity": self.expected,
        }


class ShopifyClient:
    """Typed Shopify calls on top of :class:`shared.http.ApiClient` (auth header, timeouts, HTTP errors)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    # --- the one endpoint ------------------------------------------------------------------------

    def execute(self, query: str, variables: Mapping[str, Any], *, operation: str) -> dict[str, Any]:
        """``data`` of one GraphQL request, or the error its body describes (see the module docstring)."""
        response = self._api.request(
            "POST",
            GRAPHQL_PATH,
            json={"query": query, "variables": dict(variables)},
            template=f"{GRAPHQL_PATH} {operation}",
            # A query is a read; a mutation is repeated only by the next attempt, under its key.
            safe=not query.lstrip().startswith("mutation"),
        )
        envelope = self._api.parse(Envelope, response, f"graphql {operation}")
        where = f"{APP.name} {operation}"
        if envelope.errors:
            raise _error(where, envelope.errors, envelope.cost)
        if envelope.data is None:
            raise TargetUnavailable(f"{where}: an answer with neither data nor errors")
        return envelope.data

    # --- reads -----------------------------------------------------------------------------------

    def order(self, order_id: int | str) -> Order | None:
        """The order (totals and its first 100 lines), or ``None`` if the shop has no such order.

        100, not the page maximum of 250: a line with its money, taxes and discounts is 9 objects,
        and 250 of them would price the query past the 1,000-point bucket (``MAX_COST_EXCEEDED``).
        """
        data = self.execute(ORDER_QUERY, {"id": gid("Order", order_id)}, operation="order")
        found = data.get("order")
        return None if found is None else _read(Order, found, f"{APP.name} order")

    def orders_updated_since(self, begin: datetime) -> list[SalesOrder]:
        """Every order updated at or after ``begin`` (UTC), every page, oldest id first.

        ``updated_at``, not ``processed_at``: a refund made today of last week's order updates that
        order today, so one search finds both the day's sales and the day's refunds. No upper bound on
        purpose - an order refunded in the day and touched again since is still found; the caller keeps
        what falls in its period (``processedAt`` of a sale, ``createdAt`` of a refund).
        """
        query = f"updated_at:>='{begin.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        found: list[SalesOrder] = []
        after: str | None = None
        for _ in range(_MAX_ORDER_PAGES):
            variables = {
                "first": ORDERS_PER_PAGE,
                "after": after,
                "query": query,
                "refunds": REFUNDS_PER_ORDER,
            }
            data = self.execute(ORDERS_QUERY, variables, operation="orders")
            page = _read(SalesOrders, data.get("orders") or {}, f"{APP.name} orders")
            for order in page.nodes:
                if len(order.refunds) >= REFUNDS_PER_ORDER:
                    raise TooManyRefunds(
                        f"{APP.name} order {order.name or order.id} has {REFUNDS_PER_ORDER} or more refunds; "
                        "its refunds cannot be read in one request",
                        status=200,
                        app=APP.name,
                    )
            found.extend(page.nodes)
            if not page.pageInfo.hasNextPage:
                return found
            if not page.pageInfo.endCursor or page.pageInfo.endCursor == after:
                raise TargetUnavailable(f"{APP.name} orders: a next page without a new cursor")
            after = page.pageInfo.endCursor
        raise TargetUnavailable(f"{APP.name} orders: more than {_MAX_ORDER_PAGES} pages")

    def variants_by_sku(self, skus: Sequence[str]) -> dict[str, ProductVariant]:
        """The variant of each SKU that has one, keyed by the SKU as asked.

        Shopify's ``sku:`` search is a filter, not an exact match on every shop (and SKUs are not
        unique): the answer is matched here exactly, case-insensitively; of several variants with one
        SKU the exact spelling wins, then the lowest id, so the answer is stable between calls.
        """
        wanted = list(dict.fromkeys(s for s in skus if s))
        found: dict[str, ProductVariant] = {}
        for start in range(0, len(wanted), SKUS_PER_QUERY):
            chunk = wanted[start : start + SKUS_PER_QUERY]
            first = min(MAX_PAGE, _VARIANTS_PER_SKU * len(chunk))
            variables = {"first": first, "query": " OR ".join(_search_term(s) for s in chunk)}
            data = self.execute(VARIANTS_QUERY, variables, operation="productVariants")
            nodes = (data.get("productVariants") or {}).get("nodes") or []
            variants = _read_list(ProductVariant, nodes, f"{APP.name} productVariants")
            for sku in chunk:
                matches = [v for v in variants if v.sku and v.sku.casefold() == sku.casefold()]
                if matches:
                    found[sku] = min(matches, key=lambda v: (v.sku != sku, _number(v.id)))
        return found

    def inventory_items(self, item_ids: Sequence[str]) -> dict[str, InventoryItem]:
        """Inventory items by gid, each with its levels (``available``) at every location it is stocked."""
        ids = [gid("InventoryItem", i) for i in dict.fromkeys(item_ids)]
        found: dict[str, InventoryItem] = {}
        for start in range(0, len(ids), ITEMS_PER_QUERY):
            chunk = ids[start : start + ITEMS_PER_QUERY]
            data = self.execute(LEVELS_QUERY, {"ids": chunk, "first": _MAX_LEVELS}, operation="nodes")
            # ``nodes`` answers null for an id it does not know, {} for a node of another type.
            items = [n for n in (data.get("nodes") or []) if n]
            for item in _read_list(InventoryItem, items, f"{APP.name} nodes"):
                found[item.id] = item
        return found

    # --- writes ----------------------------------------------------------------------------------

    def adjust_available(
        self,
        changes: Sequence[InventoryChange],
        *,
        reason: str,
        key: str,
        ledger_uri: str | None = None,
        reference_uri: str | None = None,
    ) -> AdjustmentGroup:
        """Add each change's delta to ``available``; ``key`` makes a retry answer the first result.

        ``reference_uri`` is the group's ``referenceDocumentUri``: what caused the change, kept by
        Shopify in the adjustment history.
        """
        payload: dict[str, Any] = {
            "name": "available",
            "reason": reason,
            "changes": [
                {**c.as_input(), **({"ledgerDocumentUri": ledger_uri} if ledger_uri else {})} for c in changes
            ],
        }
        if reference_uri:
            payload["referenceDocumentUri"] = reference_uri
        data = self.execute(
            ADJUST_MUTATION, {"input": payload, "key": key}, operation="inventoryAdjustQuantities"
        )
        return _group(data, "inventoryAdjustQuantities")

    def set_available(
        self, quantities: Sequence[InventorySet], *, reason: str, key: str, reference_uri: str | None = None
    ) -> AdjustmentGroup:
        """Set ``available`` to each quantity, where it still is what ``expected`` says."""
        payload: dict[str, Any] = {
            "name": "available",
            "reason": reason,
            "quantities": [q.as_input() for q in quantities],
        }
        if reference_uri:
            payload["referenceDocumentUri"] = reference_uri
        data = self.execute(SET_MUTATION, {"input": payload, "key": key}, operation="inventorySetQuantities")
        return _group(data, "inventorySetQuantities")


def _number(global_id: str) -> int:
    match = _GID.match(global_id)
    return int(match.group(2)) if match else 0


def _error(where: str, errors: Sequence[GraphQLError], cost: Cost | None) -> Exception:
    codes = [e.code for e in errors]
    text = redact_text("; ".join(f"{e.code or 'ERROR'}: {e.message}" for e in errors)[:500])
    if "THROTTLED" in codes:
        return RateLimited(f"{where}: throttled (query cost bucket empty)", retry_after=throttle_wait(cost))
    if any(code in _UNAVAILABLE_CODES for code in codes):
        return TargetUnavailable(f"{where}: {text}")
    return TargetRejected(f"{where}: {text}", status=200, app=APP.name)


def _group(data: Mapping[str, Any], root: str) -> AdjustmentGroup:
    where = f"{APP.name} {root}"
    answer = data.get(root)
    if not isinstance(answer, dict):
        raise TargetUnavailable(f"{where}: no {root} in the answer")
    errors = _read_list(UserError, answer.get("userErrors") or [], where)
    if errors:
        text = "; ".join(
            f"{e.code or 'ERROR'}: {e.message}" + (f" ({'.'.join(e.field)})" if e.field else "")
            for e in errors
        )
        kind = (
            QuantityStale if any(e.code == "CHANGE_FROM_QUANTITY_STALE" for e in errors) else TargetRejected
        )
        raise kind(f"{where}: {redact_text(text[:500])}", status=200, app=APP.name)
    group = answer.get("inventoryAdjustmentGroup")
    if group is None:
        raise TargetUnavailable(f"{where}: neither an adjustment group nor user errors")
    return _read(AdjustmentGroup, group, where)


def _read(model: type[M], value: Any, where: str) -> M:
    """A part of ``data`` validated; a shape Shopify did not mean is retryable, like an HTML 200."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise TargetUnavailable(f"{where}: unexpected answer ({exc.error_count()} error(s))") from exc


def _read_list(model: type[M], values: Any, where: str) -> list[M]:
    try:
        return TypeAdapter(list[model]).validate_python(values)  # type: ignore[valid-type]
    except ValidationError as exc:
        raise TargetUnavailable(f"{where}: unexpected answer ({exc.error_count()} error(s))") from exc
