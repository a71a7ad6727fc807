"""BatchRetrieveInventoryCounts, offline: the inventory half of the Square stand-in.

``POST /v2/inventory/counts/batch-retrieve`` - ``catalog_object_ids``, ``location_ids``, ``states``,
``updated_after``, ``limit`` (1-1000) and ``cursor``; answers ``counts`` newest ``calculated_at``
first, quantities as decimal strings. The control ``POST /_stock {"sku": "LOAF-RYE", "quantity":
"12", "location_id": "...", "state": "IN_STOCK"}`` sets a count (as a physical count would), for
tests and demos.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from apps.square import MAX_COUNTS_PAGE
from sandbox.base import SandboxRequest, SandboxResponse, iso_ms

from .catalog import CatalogApi
from .seed import LOCATIONS
from .wire import Invalid, Page, invalid_request, json_object, parse_time

__all__ = ["InventoryApi"]

#: States BatchRetrieveInventoryCounts accepts in ``states`` (``InventoryState``).
_STATES: Final = frozenset(
    {
        "CUSTOM",
        "IN_STOCK",
        "SOLD",
        "RETURNED_BY_CUSTOMER",
        "RESERVED_FOR_SALE",
        "SOLD_ONLINE",
        "ORDERED_FROM_VENDOR",
        "RECEIVED_FROM_VENDOR",
        "IN_TRANSIT_TO",
        "NONE",
        "WASTE",
        "UNLINKED_RETURN",
        "COMPOSED",
        "DECOMPOSED",
        "SUPPORTED_BY_NEWER_VERSION",
        "IN_TRANSIT",
    }
)
#: "Ignored are untracked states of NONE, SOLD, and UNLINKED_RETURN."
_UNTRACKED: Final = frozenset({"NONE", "SOLD", "UNLINKED_RETURN"})
_QUANTITY: Final = re.compile(r"^-?\d{1,12}(\.\d{1,5})?$")


def _quantity_text(value: Decimal) -> str:
    """``Decimal("12.50")`` -> ``"12.5"``; ``Decimal("1E+1")`` -> ``"10"``: Square's decimal strings."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass
class _Count:
    catalog_object_id: str
    location_id: str
    state: str
    quantity: Decimal
    calculated_at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "catalog_object_id": self.catalog_object_id,
            "catalog_object_type": "ITEM_VARIATION",
            "state": self.state,
            "location_id": self.location_id,
            "quantity": _quantity_text(self.quantity),
            "calculated_at": iso_ms(self.calculated_at),
        }


class InventoryApi(CatalogApi):
    """Counts per variation, location and state; read in batches, set through ``POST /_stock``."""

    #: (variation id, location id, state) -> count.
    counts: dict[tuple[str, str, str], _Count]

    def _reset_counts(self, now: float) -> None:
        self.counts = {}
        for n, item in enumerate(self.seed):
            for v in item.variations:
                for location, state, quantity in v.counts:
                    self.counts[(v.id, location, state)] = _Count(
                        v.id, location, state, Decimal(quantity), now - 3600 + n * 60
                    )

    def _batch_retrieve_counts(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            body = json_object(req)
            ids = self._strings(body, "catalog_object_ids")
            locations = self._strings(body, "location_ids")
            states = self._strings(body, "states")
            bad = [s for s in states or () if s not in _STATES]
            if bad:
                raise invalid_request(
                    "INVALID_ENUM_VALUE", f"`{bad[0]}` is not a valid InventoryState.", "states"
                )
            since = None
            if body.get("updated_after") is not None:
                since = parse_time(body["updated_after"], "updated_after")
            limit = body.get("limit", MAX_COUNTS_PAGE)
            if not isinstance(limit, int) or isinstance(limit, bool):
                raise invalid_request("EXPECTED_INTEGER", "Expected an integer value for `limit`.", "limit")
            if limit < 1:
                raise invalid_request("VALUE_TOO_LOW", "`limit` must be at least 1.", "limit")
            if limit > MAX_COUNTS_PAGE:
                raise invalid_request(
                    "VALUE_TOO_HIGH", f"`limit` must be at most {MAX_COUNTS_PAGE}.", "limit"
                )
            found = [
                c
                for c in self.counts.values()
                if (ids is None or c.catalog_object_id in ids)
                and (locations is None or c.location_id in locations)
                and (states is None or c.state in set(states) - _UNTRACKED)
                and (since is None or c.calculated_at > since)
            ]
            found.sort(key=lambda c: (-c.calculated_at, c.catalog_object_id, c.location_id, c.state))
            page = Page.open("inventory/counts", body.get("cursor"), found, min(limit, self.max_page_size))
        except Invalid as invalid:
            return invalid.response
        cursor = page.take()
        # As in Square's documented example answer: an empty "errors" array beside the counts.
        out: dict[str, Any] = {"errors": [], "counts": [c.as_json() for c in page.out]}
        if cursor:
            out["cursor"] = cursor
        return SandboxResponse.json(out)

    @staticmethod
    def _strings(body: Mapping[str, Any], name: str) -> list[str] | None:
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid_request("EXPECTED_ARRAY", f"Expected `{name}` to be an array of strings.", name)
        return value

    def _set_stock(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """``POST /_stock``: set one count, as a physical count in Square's dashboard would."""
        try:
            data = req.json()
        except ValueError:
            return SandboxResponse.json({"error": "body must be JSON"}, 400)
        if not isinstance(data, dict):
            return SandboxResponse.json({"error": "body must be a JSON object"}, 400)
        sku, quantity = data.get("sku"), str(data.get("quantity", ""))
        location = data.get("location_id", next(iter(LOCATIONS)))
        state = data.get("state", "IN_STOCK")
        variation = next(
            (
                o
                for o in self.catalog.values()
                if o.type == "ITEM_VARIATION" and not o.is_deleted and o.data.get("sku") == sku
            ),
            None,
        )
        problems = []
        if variation is None:
            problems.append(f"no live variation has sku {sku!r}")
        if not _QUANTITY.match(quantity):
            problems.append("quantity must be a decimal string with at most 5 places")
        if location not in LOCATIONS:
            problems.append(f"location_id must be one of {sorted(LOCATIONS)}")
        if state not in _STATES - _UNTRACKED:
            problems.append(f"state {state!r} is not a tracked InventoryState")
        if problems or variation is None:
            return SandboxResponse.json({"error": "; ".join(problems)}, 400)
        try:
            amount = Decimal(quantity)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            return SandboxResponse.json({"error": "quantity is not a decimal"}, 400)
        count = _Count(variation.id, location, state, amount, self.clock())
        self.counts[(variation.id, location, state)] = count
        return SandboxResponse.json(count.as_json())
