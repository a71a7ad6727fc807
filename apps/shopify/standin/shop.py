"""The Shopify stand-in's data and what its GraphQL fields answer: variants, inventory, orders, mutations.

Objects are rendered as the Admin API's types (``ProductVariant``, ``InventoryItem``,
``InventoryLevel``, ``InventoryQuantity``, ``Order``, ``LineItem``, ``MoneyBag``,
``InventoryAdjustmentGroup``), with connections as ``{nodes, edges, pageInfo}``; the GraphQL layer
(:mod:`.graphql`) picks the fields a query asked for. Sources are the object pages of
https://shopify.dev/docs/api/admin-graphql/2026-04 (see :mod:`apps.shopify.models`).

The inventory mutations behave as 2026-04 documents them:

* ``inventoryAdjustQuantities`` adds each change's ``delta`` to the named quantity (``available``
  also moves ``on_hand``, as in Shopify, and both appear in the group's ``changes``);
  ``inventorySetQuantities`` sets it. Every change must carry ``changeFromQuantity`` - ``null`` opts
  out of the compare-and-swap check, a number that is not the current quantity fails the whole
  mutation with ``CHANGE_FROM_QUANTITY_STALE``. Nothing is applied unless every change is valid.
* ``reason`` must be one of Shopify's reasons (``INVALID_REASON``); an unknown item or location is
  ``INVALID_INVENTORY_ITEM`` / ``INVALID_LOCATION``, an item not stocked there
  ``ITEM_NOT_STOCKED_AT_LOCATION`` (codes of ``InventoryAdjustQuantitiesUserErrorCode``).
* ``@idempotent(key:)`` is required; the same key with the same input answers the first result and
  changes nothing again; the same key with another input is refused. Where Shopify's reference gives
  no exact text (the missing directive, a reused key, a missing ``changeFromQuantity``), the message
  is ours, in Shopify's error shapes.

Every adjustment queues an ``inventory_levels/update`` webhook per level it changed, in the REST
shape that topic delivers (:class:`apps.shopify.webhooks.InventoryLevel`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from .seed import LOCATIONS, SeedVariant

__all__ = ["REASONS", "RequestError", "Shop", "gid", "number_of"]

#: ``reason`` values the inventory mutations accept (Shopify's inventory state reasons).
REASONS: Final = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
_NAMES: Final = frozenset({"available", "on_hand"})
_GID: Final = re.compile(r"^gid://shopify/(\w+)/(\d+)(\?.*)?$")
_SKU_TERM: Final = re.compile(r'sku:(?:"((?:\\.|[^"\\])*)"|([^\s)]+))', re.IGNORECASE)
_ORDER_TERM: Final = re.compile(
    r"\b(updated_at|processed_at|created_at|financial_status):(>=|<=|>|<)?(?:'([^']*)'|\"([^\"]*)\"|([^\s]+))"
)
_ADJUST_FIELDS: Final = frozenset({"name", "reason", "referenceDocumentUri", "changes"})
_SET_FIELDS: Final = frozenset({"name", "reason", "referenceDocumentUri", "quantities"})


class RequestError(Exception):
    """A top-level GraphQL error (``errors[]``, no ``data``): ``code`` goes to ``extensions.code``."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def as_json(self) -> dict[str, Any]:
        return {"message": self.message, **({"extensions": {"code": self.code}} if self.code else {})}


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def number_of(global_id: Any, kind: str) -> int | None:
    match = _GID.match(str(global_id or ""))
    return int(match.group(2)) if match and match.group(1) == kind else None


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(amount: Any, currency: str) -> dict[str, Any]:
    money = {"__typename": "MoneyV2", "amount": str(amount), "currencyCode": currency}
    return {"__typename": "MoneyBag", "shopMoney": money, "presentmentMoney": money}


def connection(
    nodes: Sequence[dict[str, Any]],
    args: Mapping[str, Any],
    type_name: str,
    cursor: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """A page of ``nodes`` (already past ``after``); ``cursor`` names each node's cursor."""
    first = args.get("first")
    if not isinstance(first, int):
        raise RequestError("you must provide one of first or last", "argumentLiteralsIncompatible")
    if not 0 <= first <= 250:
        raise RequestError(f"first: must be between 0 and 250, not {first}", "argumentLiteralsIncompatible")
    page = list(nodes[:first])
    cursors = [cursor(n) if cursor else f"cursor-{i}" for i, n in enumerate(page)]
    return {
        "__typename": f"{type_name}Connection",
        "nodes": page,
        "edges": [
            {"__typename": f"{type_name}Edge", "node": n, "cursor": c}
            for n, c in zip(page, cursors, strict=True)
        ],
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": len(nodes) > first,
            "hasPreviousPage": False,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


@dataclass
class _Level:
    quantities: dict[str, int]
    updated_at: float


@dataclass
class _Item:
    number: int
    sku: str
    tracked: bool
    #: Location number -> its level.
    levels: dict[int, _Level] = field(default_factory=dict)


@dataclass
class Shop:
    """One shop's data. Not thread-safe: the stand-in's lock guards it.

    Plain data only (it is what ``switchboard dev --keep`` saves, :mod:`sandbox.snapshot`): the time
    is :attr:`now`, set by the stand-in before each request, not a clock held here.
    """

    now: float
    currency: str
    variants: Sequence[SeedVariant]
    items: dict[int, _Item] = field(default_factory=dict)
    #: Orders as ``orders/paid`` delivered them (REST shape), by number.
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: (mutation, key) -> (the input as JSON, the payload it answered).
    answered: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    groups: int = 0
    #: ``inventory_levels/update`` payloads waiting to be sent.
    level_updates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        now = self.now
        for v in self.variants:
            levels = {loc: _Level({"available": n, "on_hand": n}, now) for loc, n in v.available.items()}
            self.items[v.inventory_item_id] = _Item(v.inventory_item_id, v.sku, v.tracked, levels)

    # --- rendering -------------------------------------------------------------------------------

    def _location(self, number: int) -> dict[str, Any]:
        return {"__typename": "Location", "id": gid("Location", number), "name": LOCATIONS.get(number)}

    def _level(self, item: _Item, location: int) -> dict[str, Any]:
        level = item.levels[location]
        return {
            "__typename": "InventoryLevel",
            # A level has no number of its own: Shopify names it by its location and item.
            "id": f"{gid('InventoryLevel', location)}?inventory_item_id={item.number}",
            "location": self._location(location),
            "updatedAt": _iso(level.updated_at),
            "quantities": lambda a: [
                {
                    "__typename": "InventoryQuantity",
                    "name": name,
                    "quantity": level.quantities.get(name, 0),
                    "updatedAt": _iso(level.updated_at),
                }
                for name in a.get("names") or []
            ],
        }

    def _item(self, item: _Item) -> dict[str, Any]:
        def one(a: Mapping[str, Any]) -> dict[str, Any] | None:
            location = number_of(a.get("locationId"), "Location")
            return self._level(item, location) if location in item.levels else None

        return {
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", item.number),
            "sku": item.sku,
            "tracked": item.tracked,
            "inventoryLevels": lambda a: connection(
                [self._level(item, loc) for loc in sorted(item.levels)], a, "InventoryLevel"
            ),
            "inventoryLevel": one,
        }

    def _variant(self, v: SeedVariant) -> dict[str, Any]:
        return {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", v.variant_id),
            "sku": v.sku,
            "title": v.title,
            "price": v.price,
            "product": {
                "__typename": "Product",
                "id": gid("Product", v.product_id),
                "title": v.product_title,
            },
            "inventoryItem": self._item(self.items[v.inventory_item_id]),
        }

    def _order(self, number: int) -> dict[str, Any] | None:
        order = self.orders.get(number)
        if order is None:
            return None
        currency = str(order.get("currency") or self.currency)
        lines = [
            {
                "__typename": "LineItem",
                "id": gid("LineItem", int(li["id"])),
                "title": li.get("title"),
                "sku": li.get("sku"),
                "quantity": li.get("quantity"),
                "originalUnitPriceSet": _money(li.get("price"), currency),
                "taxLines": [
                    {
                        "__typename": "TaxLine",
                        "title": t.get("title"),
                        "rate": t.get("rate"),
                        "priceSet": _money(t.get("price"), currency),
                    }
                    for t in li.get("tax_lines") or []
                ],
                "discountAllocations": [
                    {
                        "__typename": "DiscountAllocation",
                        "allocatedAmountSet": _money(d.get("amount"), currency),
                    }
                    for d in li.get("discount_allocations") or []
                ],
            }
            for li in order.get("line_items") or []
        ]
        return {
            "__typename": "Order",
            "id": gid("Order", number),
            "name": order.get("name"),
            "currencyCode": currency,
            "createdAt": order.get("created_at"),
            "processedAt": order.get("processed_at"),
            "displayFinancialStatus": str(order.get("financial_status") or "paid").upper(),
            "test": bool(order.get("test")),
            "taxesIncluded": bool(order.get("taxes_included")),
            "currentTotalPriceSet": _money(order.get("current_total_price"), currency),
            "totalTaxSet": _money(order.get("total_tax", "0.00"), currency),
            "totalTipReceivedSet": _money(order.get("total_tip_received", "0.00"), currency),
            "totalPriceSet": _money(order.get("total_price", order.get("current_total_price")), currency),
            "refunds": lambda a: _first([self._refund(r, currency) for r in order.get("refunds") or []], a),
            "lineItems": lambda a: connection(lines, a, "LineItem"),
        }

    @staticmethod
    def _refund(refund: Mapping[str, Any], currency: str) -> dict[str, Any]:
        """A REST refund as ``Refund``: ``totalRefundedSet`` is its successful refund transactions."""
        total = sum(
            (
                Decimal(str(t.get("amount") or "0"))
                for t in refund.get("transactions") or []
                if t.get("kind") == "refund" and t.get("status") == "success"
            ),
            Decimal("0.00"),
        )
        return {
            "__typename": "Refund",
            "id": gid("Refund", int(refund["id"])),
            "createdAt": refund.get("created_at"),
            "totalRefundedSet": _money(f"{total:.2f}", currency),
        }

    def _orders(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """``orders(first:, after:, query:)``: the matching orders by id, a page after the cursor."""
        terms = _order_terms(str(args.get("query") or ""))
        matching = [
            number
            for number in sorted(self.orders)
            if all(_order_matches(self.orders[number], key, op, value) for key, op, value in terms)
        ]
        after = args.get("after")
        if after is not None:
            start = _cursor_number(after)
            matching = [n for n in matching if n > start]
        nodes = [o for o in (self._order(n) for n in matching) if o is not None]
        return connection(nodes, args, "Order", cursor=lambda o: _cursor(number_of(o["id"], "Order") or 0))

    def _node(self, global_id: Any) -> dict[str, Any] | None:
        match = _GID.match(str(global_id or ""))
        if match is None:
            raise RequestError(f"Invalid global id '{global_id}'", "argumentLiteralsIncompatible")
        kind, number = match.group(1), int(match.group(2))
        if kind == "InventoryItem" and number in self.items:
            return self._item(self.items[number])
        if kind == "ProductVariant":
            found = next((v for v in self.variants if v.variant_id == number), None)
            return self._variant(found) if found else None
        if kind == "Order":
            return self._order(number)
        return None

    # --- roots -----------------------------------------------------------------------------------

    def query_root(self) -> dict[str, Any]:
        return {
            "__typename": "QueryRoot",
            "shop": {"__typename": "Shop", "currencyCode": self.currency},
            "order": lambda a: self._order(number_of(a.get("id"), "Order") or 0),
            "orders": self._orders,
            "productVariants": lambda a: connection(
                [self._variant(v) for v in self._search(str(a.get("query") or ""))], a, "ProductVariant"
            ),
            "inventoryItem": lambda a: (
                self._node(a.get("id")) if number_of(a.get("id"), "InventoryItem") else None
            ),
            "nodes": lambda a: [self._node(i) for i in a.get("ids") or []],
        }

    def _search(self, query: str) -> list[SeedVariant]:
        """``sku:"A" OR sku:B``: the variants with one of those SKUs (case-insensitive); ``""``: all."""
        terms = {
            (quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted else bare).casefold()
            for quoted, bare in _SKU_TERM.findall(query)
        }
        if not query.strip():
            return sorted(self.variants, key=lambda v: v.variant_id)
        return sorted((v for v in self.variants if v.sku.casefold() in terms), key=lambda v: v.variant_id)

    def mutation_root(self, keys: Mapping[str, str | None]) -> dict[str, Any]:
        """The mutations, each with the ``@idempotent`` key its field carried (``None``: none)."""
        return {
            "__typename": "Mutation",
            "inventoryAdjustQuantities": lambda a: self._once(
                "inventoryAdjustQuantities", keys.get("inventoryAdjustQuantities"), a, self._adjust
            ),
            "inventorySetQuantities": lambda a: self._once(
                "inventorySetQuantities", keys.get("inventorySetQuantities"), a, self._set
            ),
        }

    # --- mutations -------------------------------------------------------------------------------

    def _once(
        self,
        mutation: str,
        key: str | None,
        args: Mapping[str, Any],
        run: Callable[[Mapping[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        if not key:
            raise RequestError(
                f"The @idempotent directive with a key is required for {mutation} in this API version",
                "BAD_REQUEST",
            )
        fingerprint = json.dumps(args, sort_keys=True, default=str)
        earlier = self.answered.get((mutation, key))
        if earlier is not None:
            if earlier[0] != fingerprint:
                raise RequestError(
                    f"The idempotency key {key!r} was already used for {mutation} with different input",
                    "BAD_REQUEST",
                )
            return earlier[1]
        answer = run(args.get("input") or {})
        if answer["inventoryAdjustmentGroup"] is not None:  # a refusal changed nothing: not remembered
            self.answered[(mutation, key)] = (fingerprint, answer)
        return answer

    def _adjust(self, data: Mapping[str, Any]) -> dict[str, Any]:
        _check_fields(data, _ADJUST_FIELDS, "InventoryAdjustQuantitiesInput")
        rows = [
            (
                i,
                c.get("inventoryItemId"),
                c.get("locationId"),
                c,
                lambda current, c=c: current + int(c.get("delta") or 0),
            )
            for i, c in enumerate(data.get("changes") or [])
        ]
        return self._apply(data, rows, "changes", "InventoryAdjustQuantitiesUserError")

    def _set(self, data: Mapping[str, Any]) -> dict[str, Any]:
        _check_fields(data, _SET_FIELDS, "InventorySetQuantitiesInput")
        rows = [
            (
                i,
                q.get("inventoryItemId"),
                q.get("locationId"),
                q,
                lambda _current, q=q: int(q.get("quantity") or 0),
            )
            for i, q in enumerate(data.get("quantities") or [])
        ]
        return self._apply(data, rows, "quantities", "InventorySetQuantitiesUserError")

    def _apply(
        self,
        data: Mapping[str, Any],
        rows: Sequence[tuple[int, Any, Any, Mapping[str, Any], Callable[[int], int]]],
        field_name: str,
        error_type: str,
    ) -> dict[str, Any]:
        name, reason = data.get("name"), data.get("reason")
        errors: list[dict[str, Any]] = []

        def fail(path: Sequence[str], message: str, code: str | None) -> None:
            errors.append({"__typename": error_type, "field": list(path), "message": message, "code": code})

        if name not in _NAMES:
            fail(["input", "name"], f"The quantity name '{name}' is not valid.", "INVALID_QUANTITY_NAME")
        if reason not in REASONS:
            fail(["input", "reason"], f"The specified reason '{reason}' is invalid.", "INVALID_REASON")
        if not rows:
            fail(["input", field_name], f"At least one entry of {field_name} is required.", None)
        planned: list[tuple[_Item, int, int, int]] = []
        for i, item_id, location_id, row, after in rows:
            at = ["input", field_name, str(i)]
            item = self.items.get(number_of(item_id, "InventoryItem") or -1)
            location = number_of(location_id, "Location")
            if "changeFromQuantity" not in row:
                fail([*at, "changeFromQuantity"], "changeFromQuantity must be given (null opts out).", None)
            if item is None:
                fail(
                    [*at, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                    "INVALID_INVENTORY_ITEM",
                )
                continue
            if location not in LOCATIONS:
                fail([*at, "locationId"], "The specified location could not be found.", "INVALID_LOCATION")
                continue
            level = item.levels.get(location)
            if level is None:
                fail(at, "The item is not stocked at the location.", "ITEM_NOT_STOCKED_AT_LOCATION")
                continue
            current = level.quantities.get(str(name), 0)
            expected = row.get("changeFromQuantity")
            if expected is not None and expected != current:
                fail(
                    [*at, "changeFromQuantity"],
                    f"The quantity changed: it is {current}, not {expected}.",
                    "CHANGE_FROM_QUANTITY_STALE",
                )
                continue
            planned.append((item, location, current, after(current)))
        if errors:
            return {"__typename": "Payload", "inventoryAdjustmentGroup": None, "userErrors": errors}
        return {
            "__typename": "Payload",
            "inventoryAdjustmentGroup": self._commit(data, planned),
            "userErrors": [],
        }

    def _commit(
        self, data: Mapping[str, Any], planned: Sequence[tuple[_Item, int, int, int]]
    ) -> dict[str, Any]:
        now = self.now
        name = str(data.get("name"))
        changes = []
        for item, location, before, after in planned:
            level = item.levels[location]
            delta = after - before
            moved = [name] if name == "on_hand" else [name, "on_hand"]
            for quantity in moved:
                level.quantities[quantity] = level.quantities.get(quantity, 0) + delta
                changes.append(
                    {
                        "__typename": "InventoryChange",
                        "name": quantity,
                        "delta": delta,
                        "quantityAfterChange": level.quantities[quantity],
                        "item": {"__typename": "InventoryItem", "id": gid("InventoryItem", item.number)},
                        "location": self._location(location),
                    }
                )
            level.updated_at = now
            self.level_updates.append(
                {
                    "inventory_item_id": item.number,
                    "location_id": location,
                    "available": level.quantities["available"] if item.tracked else None,
                    "updated_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
                    "admin_graphql_api_id": self._level(item, location)["id"],
                }
            )
        self.groups += 1
        return {
            "__typename": "InventoryAdjustmentGroup",
            "id": gid("InventoryAdjustmentGroup", 50000000000 + self.groups),
            "createdAt": _iso(now),
            "reason": data.get("reason"),
            "referenceDocumentUri": data.get("referenceDocumentUri"),
            "changes": changes,
        }

    def set_available(self, sku: str, location: int, available: int) -> dict[str, Any] | None:
        """A physical count (the control ``POST /_stock``): no webhook, as a count made in Shopify's
        admin sends one - the stand-in's control is the tests' way to set the scene, not an event."""
        item = next((i for i in self.items.values() if i.sku.casefold() == sku.casefold()), None)
        if item is None or location not in LOCATIONS:
            return None
        level = item.levels.setdefault(location, _Level({"available": 0, "on_hand": 0}, self.now))
        level.quantities = {"available": available, "on_hand": available}
        level.updated_at = self.now
        return {"sku": item.sku, "location_id": location, "available": available}


def _first(items: list[dict[str, Any]], args: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A list field's ``first:`` (``Order.refunds(first:)``): at most that many, all without it."""
    first = args.get("first")
    return items[:first] if isinstance(first, int) else items


def _cursor(number: int) -> str:
    """An opaque cursor, as Shopify's are (base64 of JSON holding the last id)."""
    return base64.urlsafe_b64encode(json.dumps({"last_id": number}).encode()).decode()


def _cursor_number(cursor: Any) -> int:
    try:
        value = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
        return int(value["last_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise RequestError(f"Invalid cursor for current pagination sort: {cursor}", "BAD_REQUEST") from exc


def _order_terms(query: str) -> list[tuple[str, str, str]]:
    """``updated_at:>='2026-11-20T00:00:00Z' financial_status:paid``: (field, operator, value), ANDed.

    Shopify's search syntax (https://shopify.dev/docs/api/usage/search-syntax) for the fields the
    ``orders`` query documents that the stand-in filters on; a term it does not know is refused
    rather than ignored, so a client never gets more orders than it asked for by mistake.
    """
    terms = []
    for match in _ORDER_TERM.finditer(query):
        key, op, single, double, bare = match.groups()
        value = next(v for v in (single, double, bare) if v is not None)
        terms.append((key, op or ":", value))
    rest = _ORDER_TERM.sub("", query).strip()
    if rest:
        raise RequestError(f"The stand-in does not filter orders on {rest!r}", "BAD_REQUEST")
    return terms


def _order_matches(order: Mapping[str, Any], key: str, op: str, value: str) -> bool:
    if key == "financial_status":
        return str(order.get("financial_status") or "paid").casefold() == value.casefold()
    text = order.get(key)
    if not text:
        return False
    when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if bound.tzinfo is None:
        bound = bound.replace(tzinfo=UTC)
    return {
        ">=": when >= bound,
        ">": when > bound,
        "<": when < bound,
        "<=": when <= bound,
        ":": when == bound,
    }[op]


def _check_fields(data: Mapping[str, Any], known: frozenset[str], type_name: str) -> None:
    """An input field the version does not define is refused as GraphQL variable coercion refuses it."""
    for key in data:
        if key not in known:
            raise RequestError(
                f"Variable $input of type {type_name}! was provided invalid value for {key} "
                f"(Field is not defined on {type_name})",
                "INVALID_VARIABLE",
            )
