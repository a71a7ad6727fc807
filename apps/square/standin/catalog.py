"""SearchCatalogObjects, offline: the catalog half of the Square stand-in.

``POST /v2/catalog/search`` - ``object_types``, ``query`` with ``exact_query``, ``set_query`` (at most
250 values) or ``prefix_query`` on ``sku`` or ``name``, ``include_deleted_objects``,
``include_related_objects`` (a variation's parent item), ``begin_time``, ``limit`` and ``cursor``;
answers ``objects``, ``related_objects``, ``cursor``, ``latest_time``. Value matching is
case-insensitive, as Square documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from apps.square import MAX_COUNTS_PAGE, MAX_SET_QUERY_VALUES
from sandbox.base import SandboxRequest, SandboxResponse, iso_ms

from .base import SquareApi
from .seed import CURRENCY, SeedItem
from .wire import Invalid, Page, invalid_request, json_object, parse_time

__all__ = ["CatalogApi", "CatalogEntry"]

#: Searchable attributes the sandbox knows, per object type.
_SEARCHABLE: Final[Mapping[str, frozenset[str]]] = {
    "ITEM": frozenset({"name", "description"}),
    "ITEM_VARIATION": frozenset({"name", "sku"}),
}
#: Page size when a search sends no usable ``limit`` (Square documents no default; ours).
_DEFAULT_SEARCH_PAGE: Final = 100


@dataclass
class CatalogEntry:
    """A catalog object as the sandbox stores it (``ITEM`` or ``ITEM_VARIATION``)."""

    type: str
    id: str
    data: dict[str, Any]
    updated_at: float
    version: int
    is_deleted: bool = False
    parent_id: str | None = None


class CatalogApi(SquareApi):
    """The catalog: seeded items and their variations, and the search over them."""

    #: The items the catalog is built from on every reset.
    seed: tuple[SeedItem, ...]
    #: Object id -> object, items and variations alike.
    catalog: dict[str, CatalogEntry]

    def _reset_catalog(self, now: float) -> None:
        self.catalog = {}
        for n, item in enumerate(self.seed):
            updated = now - 86_400 + n * 60  # created a day ago, a minute apart
            version = int(updated * 1000)
            variations = []
            for ordinal, v in enumerate(item.variations):
                data = {
                    "item_id": item.id,
                    "name": v.name,
                    "sku": v.sku,
                    "ordinal": ordinal,
                    "pricing_type": "FIXED_PRICING",
                    "price_money": {"amount": v.price, "currency": CURRENCY},
                    "track_inventory": True,
                }
                obj = CatalogEntry("ITEM_VARIATION", v.id, data, updated, version, v.is_deleted, item.id)
                self.catalog[v.id] = obj
                variations.append(obj)
            item_data = {"name": item.name, "description": item.description, "product_type": "REGULAR"}
            deleted = all(v.is_deleted for v in variations)
            self.catalog[item.id] = CatalogEntry("ITEM", item.id, item_data, updated, version, deleted)

    def _search_catalog(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            body = json_object(req)
            types = self._object_types(body.get("object_types"))
            matches = self._query(body.get("query"), types)
            if body.get("begin_time") is not None:
                since = parse_time(body["begin_time"], "begin_time")
                matches = [o for o in matches if o.updated_at > since]
            if body.get("include_deleted_objects") is not True:
                matches = [o for o in matches if not o.is_deleted]
            limit = body.get("limit")
            size = limit if isinstance(limit, int) and 0 < limit <= MAX_COUNTS_PAGE else _DEFAULT_SEARCH_PAGE
            page = Page.open(
                "catalog/search",
                body.get("cursor"),
                sorted(matches, key=lambda o: o.id),
                min(size, self.max_page_size),
            )
        except Invalid as invalid:
            return invalid.response
        cursor = page.take()
        out: dict[str, Any] = {"objects": [self._object_json(o) for o in page.out]}
        if body.get("include_related_objects") is True:
            parents = {o.parent_id for o in page.out if o.parent_id} - {o.id for o in page.out}
            related = [self._object_json(self.catalog[p]) for p in sorted(parents) if p in self.catalog]
            if related:
                out["related_objects"] = related
        if cursor:
            out["cursor"] = cursor
        out["latest_time"] = iso_ms(max((o.updated_at for o in self.catalog.values()), default=0))
        return SandboxResponse.json(out)

    @staticmethod
    def _object_types(value: Any) -> frozenset[str]:
        if value is None:
            return frozenset({"ITEM"})  # ITEM_VARIATION is nested: not among the default types
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise invalid_request(
                "EXPECTED_ARRAY", "Expected `object_types` to be an array of strings.", "object_types"
            )
        unknown = [t for t in value if t not in _SEARCHABLE]
        if unknown:
            detail = f"The sandbox catalog holds ITEM and ITEM_VARIATION objects, not {', '.join(unknown)}."
            raise invalid_request("INVALID_ENUM_VALUE", detail, "object_types")
        return frozenset(value)

    def _query(self, query: Any, types: frozenset[str]) -> list[CatalogEntry]:
        candidates = [o for o in self.catalog.values() if o.type in types]
        if query is None:
            return candidates
        if not isinstance(query, dict) or len(query) != 1:
            raise invalid_request(
                "BAD_REQUEST", "The sandbox supports exactly one of exact_query, set_query, prefix_query."
            )
        ((kind, spec),) = query.items()
        if not isinstance(spec, dict) or not isinstance(spec.get("attribute_name"), str):
            raise invalid_request("MISSING_REQUIRED_PARAMETER", "Missing `attribute_name`.", f"query.{kind}")
        attribute = spec["attribute_name"]
        wanted: Any
        if kind == "exact_query":
            wanted = [spec.get("attribute_value")]
        elif kind == "set_query":
            wanted = spec.get("attribute_values")
            where = "query.set_query.attribute_values"
            if not isinstance(wanted, list) or not wanted:
                raise invalid_request("ARRAY_EMPTY", "`attribute_values` must not be empty.", where)
            if len(wanted) > MAX_SET_QUERY_VALUES:
                detail = f"A maximum of {MAX_SET_QUERY_VALUES} values may be searched in a request."
                raise invalid_request("ARRAY_LENGTH_TOO_LONG", detail, where)
        elif kind == "prefix_query":
            prefix = spec.get("attribute_prefix")
            if not isinstance(prefix, str) or not prefix:
                raise invalid_request(
                    "VALUE_EMPTY", "`attribute_prefix` must not be empty.", "query.prefix_query"
                )
            return [
                o for o in candidates if self._attr(o, attribute).casefold().startswith(prefix.casefold())
            ]
        else:
            raise invalid_request("BAD_REQUEST", f"The sandbox does not support `{kind}`.", "query")
        if not all(isinstance(w, str) for w in wanted):
            raise invalid_request("EXPECTED_STRING", "Attribute values must be strings.", f"query.{kind}")
        folded = {w.casefold() for w in wanted}
        return [o for o in candidates if self._attr(o, attribute).casefold() in folded]

    @staticmethod
    def _attr(obj: CatalogEntry, attribute: str) -> str:
        if attribute not in _SEARCHABLE[obj.type]:
            return ""
        value = obj.data.get(attribute)
        return value if isinstance(value, str) else ""

    def _object_json(self, obj: CatalogEntry) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": obj.type,
            "id": obj.id,
            "updated_at": iso_ms(obj.updated_at),
            "version": obj.version,
            "is_deleted": obj.is_deleted,
            "present_at_all_locations": True,
        }
        if obj.type == "ITEM_VARIATION":
            out["item_variation_data"] = dict(obj.data)
        else:
            variations = [
                self._object_json(v)
                for v in self.catalog.values()
                if v.parent_id == obj.id and (obj.is_deleted or not v.is_deleted)
            ]
            out["item_data"] = {**obj.data, "variations": variations}
        return out
